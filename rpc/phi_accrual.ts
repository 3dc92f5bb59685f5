/**
 * The phi-accrual failure detector (Hayashibara et al., 2004), as Akka and
 * Cassandra use it: instead of a yes/no verdict after a fixed timeout, it
 * gives a suspicion level φ that grows with the time since the last
 * heartbeat, scaled by how regular the heartbeats have been. φ = 1 means a
 * 10 % chance that the peer is still alive and the heartbeat is merely
 * late, φ = 8 a chance of 10⁻⁸.
 *
 * The intervals between heartbeats are kept in a bounded window; their mean
 * and standard deviation describe a normal distribution, and φ is
 * `-log10(P(the next heartbeat comes later than now))`, computed with the
 * logistic approximation of the normal CDF that Akka uses.
 * `acceptablePauseMs` is added to the mean (a pause that long raises no
 * suspicion), and `minStdDevMs` keeps very regular heartbeats from making
 * the detector jumpy.
 *
 * @example A peer that stops sending heartbeats becomes suspected
 * ```ts
 * import assert from "node:assert/strict";
 * import { PhiAccrualDetector } from "./phi_accrual.ts";
 * const detector = new PhiAccrualDetector({ threshold: 8, minStdDevMs: 20, firstIntervalMs: 100 });
 * for (let t = 0; t <= 1000; t += 100) detector.heartbeat(t); // regular, every 100 ms
 * assert.ok(detector.phi(1100) < 1); // the next one is due now
 * assert.equal(detector.isSuspected(1150), false);
 * assert.ok(detector.phi(1400) > 8); // three heartbeats missed
 * assert.equal(detector.isSuspected(1400), true);
 * detector.heartbeat(1500); // it answers again
 * assert.equal(detector.isSuspected(1500), false);
 * ```
 *
 * @module
 */

/** Options of {@linkcode PhiAccrualDetector}. */
export interface PhiAccrualOptions {
  /** φ at and above which the peer is suspected. Default 8. */
  threshold?: number;
  /** Intervals kept to estimate the distribution. Default 200. */
  maxSamples?: number;
  /** Lower bound of the standard deviation, in ms. Default 100. */
  minStdDevMs?: number;
  /** A pause this long (ms) on top of the mean interval raises no suspicion. Default 0. */
  acceptablePauseMs?: number;
  /**
   * The expected interval (ms) before any was measured: the first heartbeat
   * seeds the window with it (and a deviation of a quarter of it). Default 1000.
   */
  firstIntervalMs?: number;
}

/**
 * A phi-accrual failure detector for one peer. Times are milliseconds on
 * any monotonic clock (`performance.now()`), passed in by the caller.
 *
 * @example Irregular heartbeats make the detector more patient
 * ```ts
 * import assert from "node:assert/strict";
 * import { PhiAccrualDetector } from "./phi_accrual.ts";
 * const steady = new PhiAccrualDetector({ minStdDevMs: 1, firstIntervalMs: 100 });
 * const jittery = new PhiAccrualDetector({ minStdDevMs: 1, firstIntervalMs: 100 });
 * let t = 0;
 * for (let i = 0; i < 50; i++) {
 *   steady.heartbeat(i * 100);
 *   jittery.heartbeat(t += i % 2 === 0 ? 40 : 160);
 * }
 * assert.ok(steady.phi(4900 + 250) > jittery.phi(t + 250));
 * ```
 */
export class PhiAccrualDetector {
  /** φ at and above which the peer is suspected. */
  readonly threshold: number;
  readonly #maxSamples: number;
  readonly #minStdDev: number;
  readonly #pause: number;
  readonly #firstInterval: number;
  readonly #intervals: number[] = [];
  #next = 0;
  #sum = 0;
  #squares = 0;
  #last = NaN;

  /**
   * Creates a detector that has seen no heartbeat yet (φ is 0 until the first one).
   *
   * @param options threshold, window size, deviation floor, acceptable pause, first interval
   */
  constructor(options: PhiAccrualOptions = {}) {
    this.threshold = positive(options.threshold ?? 8, "threshold");
    this.#maxSamples = Math.floor(positive(options.maxSamples ?? 200, "maxSamples"));
    this.#minStdDev = positive(options.minStdDevMs ?? 100, "minStdDevMs");
    this.#pause = nonNegative(options.acceptablePauseMs ?? 0, "acceptablePauseMs");
    this.#firstInterval = positive(options.firstIntervalMs ?? 1000, "firstIntervalMs");
  }

  /** The time of the last heartbeat, or `NaN` before the first. */
  get lastHeartbeat(): number {
    return this.#last;
  }

  /** Intervals in the window. */
  get samples(): number {
    return this.#intervals.length;
  }

  /**
   * Records a heartbeat at `now`. A heartbeat that comes while the peer is
   * suspected starts the window afresh: the long silence says nothing about
   * the peer's rhythm once it is back, and would make it slow to suspect
   * next time.
   *
   * @param now the arrival time, in ms
   */
  heartbeat(now: number): void {
    const last = this.#last;
    if (Number.isNaN(last) || this.isSuspected(now)) {
      this.#reset();
      const first = this.#firstInterval;
      const dev = first / 4;
      // two samples whose mean is `first` and deviation `dev`
      this.#add(first - dev);
      this.#add(first + dev);
    } else if (now >= last) {
      this.#add(now - last);
    }
    this.#last = now;
  }

  /**
   * The suspicion level at `now`: 0 before the first heartbeat and right
   * after one, growing as the next one is overdue.
   *
   * @param now the current time, in ms
   * @returns φ, ≥ 0
   */
  phi(now: number): number {
    const last = this.#last;
    if (Number.isNaN(last)) return 0;
    const n = this.#intervals.length;
    const mean = this.#sum / n;
    const variance = Math.max(0, this.#squares / n - mean * mean);
    const std = Math.max(Math.sqrt(variance), this.#minStdDev);
    return phiOf(now - last, mean + this.#pause, std);
  }

  /**
   * Whether φ at `now` is at or above the threshold.
   *
   * @param now the current time, in ms
   * @returns true when the peer is suspected
   */
  isSuspected(now: number): boolean {
    return this.phi(now) >= this.threshold;
  }

  #add(interval: number): void {
    const window = this.#intervals;
    if (window.length < this.#maxSamples) {
      window.push(interval);
    } else {
      const old = window[this.#next];
      this.#sum -= old;
      this.#squares -= old * old;
      window[this.#next] = interval;
      this.#next = (this.#next + 1) % this.#maxSamples;
    }
    this.#sum += interval;
    this.#squares += interval * interval;
  }

  #reset(): void {
    this.#intervals.length = 0;
    this.#next = 0;
    this.#sum = 0;
    this.#squares = 0;
  }
}

/** -log10 of the probability that an interval of a normal(mean, std) exceeds `elapsed` (logistic approximation). */
function phiOf(elapsed: number, mean: number, std: number): number {
  const y = (elapsed - mean) / std;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  const p = elapsed > mean ? e / (1 + e) : 1 - 1 / (1 + e);
  // p underflows to 0 long after any threshold matters
  return p <= 0 ? Infinity : Math.max(0, -Math.log10(p));
}

function positive(n: number, what: string): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`Invalid ${what} "${n}": must be a number > 0`);
  return n;
}

function nonNegative(n: number, what: string): number {
  if (!(n >= 0) || !Number.isFinite(n)) throw new RangeError(`Invalid ${what} "${n}": must be a number ≥ 0`);
  return n;
}
