/**
 * Flow control for pipelined workloads: receivers count what they got,
 * senders wait until every receiver is within a window of what was sent, so
 * no broker ever has to drop (or buffer without bound) on our account.
 *
 * @module
 */

/**
 * Counts messages per receiver and lets senders wait for the slowest one.
 *
 * @example
 * ```ts
 * import { ReceiveProgress } from "./flow_control.ts";
 * const p = new ReceiveProgress(2);
 * const ready = p.waitForAll(1);
 * p.received(0);
 * p.received(1);
 * await ready;
 * ```
 */
export class ReceiveProgress {
  /** Messages received, per receiver. */
  readonly counts: number[];
  #waitAt = Infinity;
  #waiters: { at: number; resolve: () => void }[] = [];

  /** Creates the counters for `receivers` receivers. */
  constructor(receivers: number) {
    this.counts = new Array<number>(receivers).fill(0);
  }

  /** Records one message at receiver `i`. */
  received(i: number): void {
    if (++this.counts[i] >= this.#waitAt) this.#release();
  }

  /** The count of the slowest receiver. */
  min(): number {
    let m = Infinity;
    for (const c of this.counts) if (c < m) m = c;
    return m;
  }

  /** Resolves when every receiver has received at least `n` messages. */
  waitForAll(n: number): Promise<void> {
    if (this.min() >= n) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ at: n, resolve });
    if (n < this.#waitAt) this.#waitAt = n;
    return promise;
  }

  #release(): void {
    const min = this.min();
    if (min < this.#waitAt) return;
    let next = Infinity;
    const keep: { at: number; resolve: () => void }[] = [];
    for (const w of this.#waiters) {
      if (w.at <= min) w.resolve();
      else {
        keep.push(w);
        if (w.at < next) next = w.at;
      }
    }
    this.#waiters = keep;
    this.#waitAt = next;
  }
}
