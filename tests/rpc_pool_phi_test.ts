/**
 * The phi-accrual failure detector on its own: how φ grows, the bounded
 * window, a fresh start after a suspected peer comes back, option checks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PhiAccrualDetector } from "../rpc/phi_accrual.ts";

/** A detector fed `count` heartbeats `every` ms apart, from t = 0. */
function fed(every: number, count: number, options = {}): PhiAccrualDetector {
  const d = new PhiAccrualDetector({ firstIntervalMs: every, ...options });
  for (let i = 0; i < count; i++) d.heartbeat(i * every);
  return d;
}

Deno.test("phi is 0 before any heartbeat and grows monotonically with the silence after one", () => {
  const d = new PhiAccrualDetector();
  assert.equal(d.phi(1e9), 0);
  assert.ok(Number.isNaN(d.lastHeartbeat));
  const regular = fed(100, 50, { minStdDevMs: 10 });
  let last = -1;
  for (let t = 4900; t < 5400; t += 10) {
    const phi = regular.phi(t);
    assert.ok(phi >= last, `φ(${t}) = ${phi} < ${last}`);
    last = phi;
  }
  assert.ok(regular.phi(4900) < 0.5);
  assert.ok(regular.phi(5100) > regular.threshold);
});

Deno.test("the acceptable pause and the deviation floor postpone suspicion", () => {
  const plain = fed(100, 50, { minStdDevMs: 10 });
  const patient = fed(100, 50, { minStdDevMs: 10, acceptablePauseMs: 500 });
  const loose = fed(100, 50, { minStdDevMs: 100 });
  const t = 4900 + 300;
  assert.ok(plain.isSuspected(t));
  assert.ok(!patient.isSuspected(t));
  assert.ok(!loose.isSuspected(t));
});

Deno.test("the window keeps maxSamples intervals: old rhythm is forgotten", () => {
  const d = new PhiAccrualDetector({ maxSamples: 20, minStdDevMs: 5, firstIntervalMs: 1000 });
  let t = 0;
  for (let i = 0; i < 20; i++) d.heartbeat(t += 1000);
  assert.equal(d.samples, 20);
  // now every 100 ms: after 20 more, the 1 s intervals are gone from the window
  for (let i = 0; i < 20; i++) d.heartbeat(t += 100);
  assert.equal(d.samples, 20);
  assert.ok(d.isSuspected(t + 400), "a 400 ms silence is suspicious at a 100 ms rhythm");
});

Deno.test("a heartbeat while suspected starts afresh: the long silence does not slow the next detection", () => {
  const d = fed(100, 30, { minStdDevMs: 20 });
  const silentUntil = 2900 + 60_000; // a minute of silence (SIGSTOP)
  assert.ok(d.isSuspected(silentUntil));
  d.heartbeat(silentUntil);
  assert.equal(d.isSuspected(silentUntil), false);
  for (let i = 1; i <= 10; i++) d.heartbeat(silentUntil + i * 100);
  // had the minute been kept as an interval, a second of silence would raise no suspicion
  assert.ok(d.isSuspected(silentUntil + 1000 + 1000));
});

Deno.test("PhiAccrualDetector checks its options", () => {
  assert.throws(() => new PhiAccrualDetector({ threshold: 0 }), RangeError);
  assert.throws(() => new PhiAccrualDetector({ maxSamples: -1 }), RangeError);
  assert.throws(() => new PhiAccrualDetector({ minStdDevMs: NaN }), RangeError);
  assert.throws(() => new PhiAccrualDetector({ acceptablePauseMs: -1 }), RangeError);
  assert.throws(() => new PhiAccrualDetector({ firstIntervalMs: Infinity }), RangeError);
  assert.equal(new PhiAccrualDetector({ acceptablePauseMs: 0 }).threshold, 8);
});
