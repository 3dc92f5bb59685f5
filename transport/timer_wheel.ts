/**
 * A hashed timer wheel: many timers behind one interval. Scheduling,
 * rescheduling and cancelling are O(1) and allocate nothing (a timer is a
 * node of an intrusive list); a timer fires at or after its due time, at
 * most one resolution step late (plus the event loop's own lateness). The
 * interval runs only while a timer is scheduled.
 *
 * For keepalive and timeouts of many connections: one wheel instead of a
 * timer per connection, each connection being its own {@linkcode WheelTimer}.
 *
 * @module
 */

/** A node of a slot's circular list: a timer or a slot's sentinel. @internal */
export interface WheelNode {
  /** Next node. */
  wheelNext: WheelNode;
  /** Previous node. */
  wheelPrev: WheelNode;
}

/**
 * A timer of a {@linkcode TimerWheel}: extend it (or make one) and implement
 * {@linkcode WheelTimer.onTimer}. One timer is scheduled at most once at a
 * time; scheduling it again moves it.
 */
export abstract class WheelTimer implements WheelNode {
  /** @internal next node in the slot's list (this timer itself when unlinked). */
  wheelNext: WheelNode = this;
  /** @internal previous node in the slot's list. */
  wheelPrev: WheelNode = this;
  /** Due time (the wheel's clock, ms), or -1 when not scheduled. */
  wheelDue: number = -1;

  /**
   * Called once when the timer is due (it is no longer scheduled then; it may
   * schedule itself again).
   *
   * @param now the wheel's clock at firing, ms
   */
  abstract onTimer(now: number): void;

  /** Whether the timer is scheduled. */
  get scheduled(): boolean {
    return this.wheelDue >= 0;
  }
}

/** The sentinel of one slot's circular list. */
class SlotHead implements WheelNode {
  wheelNext: WheelNode = this;
  wheelPrev: WheelNode = this;
}

/** Options of a {@linkcode TimerWheel}. */
export interface TimerWheelOptions {
  /** Step of the wheel in ms: timers fire at most this late. Default 10. */
  resolutionMs?: number;
  /** Number of slots (a timer further away than slots × resolution waits extra rounds). Default 256. */
  slots?: number;
  /** The clock, ms. Default `performance.now`. */
  now?: () => number;
  /**
   * Whether the wheel runs its own interval while timers are scheduled.
   * Default true; false leaves driving it to {@linkcode TimerWheel.advance}
   * (tests with a manual clock).
   */
  autoAdvance?: boolean;
}

/**
 * Many timers behind one interval.
 *
 * @example Schedule, reschedule and cancel with a manual clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimerWheel, WheelTimer } from "./timer_wheel.ts";
 * let clock = 0;
 * const wheel = new TimerWheel({ resolutionMs: 10, now: () => clock, autoAdvance: false });
 * const fired: string[] = [];
 * class Named extends WheelTimer {
 *   constructor(readonly name: string) {
 *     super();
 *   }
 *   onTimer(): void {
 *     fired.push(this.name);
 *   }
 * }
 * const a = new Named("a"), b = new Named("b"), c = new Named("c");
 * wheel.schedule(a, 25);
 * wheel.schedule(b, 50);
 * wheel.schedule(c, 30);
 * wheel.schedule(b, 5); // moved earlier
 * wheel.cancel(c);
 * clock = 20;
 * assert.equal(wheel.advance(), 1); // b (due at 5)
 * clock = 40;
 * wheel.advance();
 * assert.deepEqual(fired, ["b", "a"]);
 * assert.equal(wheel.size, 0);
 * ```
 */
export class TimerWheel {
  readonly #slots: SlotHead[];
  readonly #mask: number;
  readonly #resolution: number;
  readonly #now: () => number;
  readonly #auto: boolean;
  /** Ticks up to this one have been processed. */
  #tick: number;
  #size = 0;
  #interval: ReturnType<typeof setInterval> | undefined = undefined;
  #closed = false;
  /** The list being processed by {@linkcode advance}. */
  readonly #pending = new SlotHead();

  /**
   * Creates an empty wheel.
   *
   * @param options resolution, slot count, clock and driving
   */
  constructor(options: TimerWheelOptions = {}) {
    const resolution = options.resolutionMs ?? 10;
    if (!(resolution > 0)) throw new RangeError(`Invalid resolutionMs ${resolution}: must be positive`);
    let slots = 1;
    while (slots < (options.slots ?? 256)) slots *= 2;
    this.#slots = Array.from({ length: slots }, () => new SlotHead());
    this.#mask = slots - 1;
    this.#resolution = resolution;
    this.#now = options.now ?? (() => performance.now());
    this.#auto = options.autoAdvance ?? true;
    this.#tick = Math.floor(this.#now() / resolution);
  }

  /** Timers scheduled. */
  get size(): number {
    return this.#size;
  }

  /** The wheel's step, ms. */
  get resolutionMs(): number {
    return this.#resolution;
  }

  /** The wheel's clock, ms. */
  now(): number {
    return this.#now();
  }

  /**
   * Schedules `timer` to fire `delayMs` from now (moving it if it was
   * scheduled already).
   *
   * @param timer the timer
   * @param delayMs how long from now, ms (0 or negative: at the next step)
   */
  schedule(timer: WheelTimer, delayMs: number): void {
    this.scheduleAt(timer, this.#now() + Math.max(0, delayMs));
  }

  /**
   * Schedules `timer` to fire at `due` on the wheel's clock (moving it if it
   * was scheduled already).
   *
   * @param timer the timer
   * @param due when, ms on the wheel's clock
   */
  scheduleAt(timer: WheelTimer, due: number): void {
    if (this.#closed) return;
    if (timer.wheelDue >= 0) this.#unlink(timer);
    else this.#size++;
    timer.wheelDue = due;
    // ceil: the slot's tick starts at or after `due`, so a timer never fires early
    const tick = Math.max(Math.ceil(due / this.#resolution), this.#tick + 1);
    this.#link(timer, this.#slots[tick & this.#mask]);
    if (this.#auto && this.#interval === undefined) {
      this.#interval = setInterval(() => this.advance(), this.#resolution);
    }
  }

  /**
   * Cancels `timer` (nothing happens when it is not scheduled).
   *
   * @param timer the timer
   */
  cancel(timer: WheelTimer): void {
    if (timer.wheelDue < 0) return;
    this.#unlink(timer);
    timer.wheelDue = -1;
    if (--this.#size === 0) this.#stopInterval();
  }

  /**
   * Fires every timer due by now; called by the wheel's interval, or by hand.
   * A timer that throws is reported (`reportError`) and the others still fire.
   *
   * @returns the number of timers fired
   */
  advance(): number {
    const now = this.#now();
    const last = Math.floor(now / this.#resolution);
    let fired = 0;
    // past a full round every slot is visited once
    const from = Math.max(this.#tick + 1, last - this.#mask);
    const pending = this.#pending;
    for (let tick = from; tick <= last; tick++) {
      const slot = this.#slots[tick & this.#mask];
      if (slot.wheelNext === slot) continue;
      // move the slot's list to `pending`: timers rescheduled while firing go to slots, never here
      pending.wheelNext = slot.wheelNext;
      pending.wheelPrev = slot.wheelPrev;
      pending.wheelNext.wheelPrev = pending;
      pending.wheelPrev.wheelNext = pending;
      slot.wheelNext = slot.wheelPrev = slot;
      this.#tick = tick; // timers scheduled meanwhile go to a later tick
      while (pending.wheelNext !== pending) {
        const t = pending.wheelNext as WheelTimer;
        this.#unlink(t);
        if (t.wheelDue > now) {
          this.#link(t, slot); // a later round
          continue;
        }
        t.wheelDue = -1;
        this.#size--;
        fired++;
        try {
          t.onTimer(now);
        } catch (err) {
          reportError(err);
        }
      }
    }
    if (last > this.#tick) this.#tick = last;
    if (this.#size === 0) this.#stopInterval();
    return fired;
  }

  /** Cancels every timer and stops the interval; later schedules are ignored. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) {
      while (slot.wheelNext !== slot) {
        const t = slot.wheelNext as WheelTimer;
        this.#unlink(t);
        t.wheelDue = -1;
      }
    }
    this.#size = 0;
    this.#stopInterval();
  }

  #stopInterval(): void {
    if (this.#interval !== undefined) {
      clearInterval(this.#interval);
      this.#interval = undefined;
    }
  }

  #link(t: WheelTimer, slot: SlotHead): void {
    const last = slot.wheelPrev;
    t.wheelPrev = last;
    t.wheelNext = slot;
    last.wheelNext = t;
    slot.wheelPrev = t;
  }

  #unlink(t: WheelTimer): void {
    t.wheelPrev.wheelNext = t.wheelNext;
    t.wheelNext.wheelPrev = t.wheelPrev;
    t.wheelNext = t.wheelPrev = t;
  }
}
