/**
 * The timer wheel (transport/timer_wheel.ts): many timers with a manual
 * clock (never early, at most one step late, each fired once), cancelling,
 * rescheduling (also from inside a callback), timers beyond one round, a
 * throwing timer, and its own interval (stops when empty).
 */
import assert from "node:assert/strict";
import { TimerWheel, WheelTimer } from "../transport/timer_wheel.ts";

class Probe extends WheelTimer {
  firedAt: number[] = [];
  due = 0;
  onFire: ((now: number) => void) | null = null;
  onTimer(now: number): void {
    this.firedAt.push(now);
    this.onFire?.(now);
  }
}

function manualWheel(resolutionMs = 10, slots = 64): { wheel: TimerWheel; clock: { t: number } } {
  const clock = { t: 1000 };
  return { wheel: new TimerWheel({ resolutionMs, slots, now: () => clock.t, autoAdvance: false }), clock };
}

/** Runs the clock to `until` in steps of `step`, advancing the wheel each time. */
function runTo(wheel: TimerWheel, clock: { t: number }, until: number, step: number): void {
  while (clock.t < until) {
    clock.t = Math.min(until, clock.t + step);
    wheel.advance();
  }
}

Deno.test("10,000 timers fire once each, never early and at most one step (+ one advance) late", () => {
  const { wheel, clock } = manualWheel(10, 64);
  const probes: Probe[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 10_000; i++) {
    const p = new Probe();
    // up to 3 s: many timers are several rounds (64 × 10 ms) away
    const delay = Math.floor(random() * 3000);
    p.due = clock.t + delay;
    wheel.schedule(p, delay);
    probes.push(p);
  }
  assert.equal(wheel.size, 10_000);
  runTo(wheel, clock, 1000 + 3100, 3);
  assert.equal(wheel.size, 0);
  for (const p of probes) {
    assert.equal(p.firedAt.length, 1, "fired exactly once");
    const late = p.firedAt[0] - p.due;
    assert.ok(late >= 0, `fired ${-late} ms early`);
    assert.ok(late < 10 + 3, `fired ${late} ms late`);
    assert.ok(!p.scheduled);
  }
});

Deno.test("cancelled timers never fire; cancelling twice or an unscheduled timer is harmless", () => {
  const { wheel, clock } = manualWheel();
  const probes = Array.from({ length: 1000 }, (_, i) => {
    const p = new Probe();
    wheel.schedule(p, 5 + i);
    return p;
  });
  for (let i = 0; i < probes.length; i += 2) wheel.cancel(probes[i]);
  wheel.cancel(probes[0]);
  wheel.cancel(new Probe());
  assert.equal(wheel.size, 500);
  runTo(wheel, clock, 3000, 7);
  probes.forEach((p, i) => assert.equal(p.firedAt.length, i % 2 === 0 ? 0 : 1, `probe ${i}`));
  assert.equal(wheel.size, 0);
});

Deno.test("rescheduling moves a timer later or earlier, and from inside callbacks", () => {
  const { wheel, clock } = manualWheel(10, 16);
  const later = new Probe();
  const earlier = new Probe();
  wheel.schedule(later, 50);
  wheel.schedule(earlier, 2000);
  wheel.schedule(later, 500); // moved later
  wheel.schedule(earlier, 20); // moved earlier
  assert.equal(wheel.size, 2);
  runTo(wheel, clock, 1000 + 100, 5);
  assert.equal(earlier.firedAt.length, 1);
  assert.equal(later.firedAt.length, 0, "not at its first due time");
  runTo(wheel, clock, 1000 + 520, 5);
  assert.equal(later.firedAt.length, 1);
  assert.ok(later.firedAt[0] >= 1500);

  // a periodic timer (as a keepalive): reschedules itself every 100 ms, 20 times
  const periodic = new Probe();
  let n = 0;
  periodic.onFire = () => {
    if (++n < 20) wheel.schedule(periodic, 100);
  };
  const start = clock.t;
  wheel.schedule(periodic, 100);
  // one callback cancels another timer of the same slot before it fires
  const victim = new Probe();
  const killer = new Probe();
  killer.onFire = () => wheel.cancel(victim);
  wheel.schedule(killer, 30);
  wheel.schedule(victim, 30);
  // one reschedules a neighbour of its slot to later
  const moved = new Probe();
  const mover = new Probe();
  mover.onFire = () => wheel.schedule(moved, 1000);
  wheel.schedule(mover, 40);
  wheel.schedule(moved, 40);
  runTo(wheel, clock, start + 2500, 5);
  assert.equal(periodic.firedAt.length, 20);
  for (let i = 1; i < 20; i++) {
    const gap = periodic.firedAt[i] - periodic.firedAt[i - 1];
    assert.ok(gap >= 100 && gap < 100 + 10 + 5, `gap ${gap}`);
  }
  assert.equal(killer.firedAt.length, 1);
  assert.equal(victim.firedAt.length, 0);
  assert.equal(mover.firedAt.length, 1);
  assert.equal(moved.firedAt.length, 1);
  assert.ok(moved.firedAt[0] >= mover.firedAt[0] + 1000);
  assert.equal(wheel.size, 0);
});

Deno.test("a clock jump past several rounds fires everything due, once", () => {
  const { wheel, clock } = manualWheel(10, 8);
  const probes = Array.from({ length: 100 }, (_, i) => {
    const p = new Probe();
    wheel.schedule(p, i * 3);
    return p;
  });
  const far = new Probe();
  wheel.schedule(far, 10_000);
  clock.t += 5000; // 500 steps, 62 rounds of 8 slots
  assert.equal(wheel.advance(), 100);
  for (const p of probes) assert.equal(p.firedAt.length, 1);
  assert.equal(far.firedAt.length, 0);
  clock.t += 5000;
  assert.equal(wheel.advance(), 1);
});

Deno.test("a timer that throws is reported and the others still fire", () => {
  const { wheel, clock } = manualWheel();
  const bad = new Probe();
  bad.onFire = () => {
    throw new Error("boom");
  };
  const good = new Probe();
  wheel.schedule(bad, 10);
  wheel.schedule(good, 10);
  const reported: unknown[] = [];
  const handler = (e: ErrorEvent) => {
    reported.push(e.error);
    e.preventDefault();
  };
  globalThis.addEventListener("error", handler);
  try {
    clock.t += 50;
    assert.equal(wheel.advance(), 2);
  } finally {
    globalThis.removeEventListener("error", handler);
  }
  assert.equal(good.firedAt.length, 1);
  assert.equal(reported.length, 1);
});

Deno.test("the wheel's own interval fires timers and stops when none is left", async () => {
  const wheel = new TimerWheel({ resolutionMs: 5 });
  const fired: number[] = [];
  const all = Promise.withResolvers<void>();
  class T extends WheelTimer {
    constructor(readonly i: number) {
      super();
    }
    onTimer(): void {
      fired.push(this.i);
      if (fired.length === 50) all.resolve();
    }
  }
  const started = performance.now();
  for (let i = 0; i < 50; i++) wheel.schedule(new T(i), 20 + i);
  await all.promise;
  assert.ok(performance.now() - started >= 20, "not before the first due time");
  assert.equal(wheel.size, 0);
  assert.equal(new Set(fired).size, 50);
  // the interval has stopped (the test's timer sanitizer fails otherwise); close() is final
  wheel.close();
  wheel.schedule(new T(99), 1);
  assert.equal(wheel.size, 0);
});
