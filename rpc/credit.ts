/**
 * Credit-based flow control of streaming calls (docs/PROTOCOL.md §25.4): the
 * receiver of items grants credit, the sender never sends beyond it. So at
 * most `window` items of a stream are ever on their way or waiting at the
 * receiver, and a fast producer cannot fill a slow consumer's broker queue.
 *
 * - {@linkcode CreditGate}, the sending side: items wait for credit, in order.
 * - {@linkcode CreditWindow}, the receiving side: counts what arrives and
 *   what the consumer took, and says when to grant more.
 *
 * @module
 */

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The sending side of a credit window. {@linkcode CreditGate.take} returns
 * `undefined` at once while credit is left (no promise per item), and a
 * promise otherwise; waiters are served in order. While someone waits,
 * `onStall` is called every `stallMs` (the stream then probes its peer).
 *
 * @example Two items of credit, the third waits for a grant
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreditGate } from "./credit.ts";
 * const gate = new CreditGate(2, 0, () => {});
 * assert.equal(gate.take(), undefined);
 * assert.equal(gate.take(), undefined);
 * const third = gate.take();
 * assert.ok(third instanceof Promise);
 * gate.grant(1);
 * await third;
 * assert.equal(gate.available, 0);
 * ```
 */
export class CreditGate {
  #credit: number;
  #waiters: Waiter[] = [];
  #head = 0;
  #failed: Error | null = null;
  readonly #stallMs: number;
  readonly #onStall: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param credit the initial credit
   * @param stallMs how often `onStall` runs while someone waits (0: never)
   * @param onStall called while someone waits for credit
   */
  constructor(credit: number, stallMs: number, onStall: () => void) {
    this.#credit = credit;
    this.#stallMs = stallMs;
    this.#onStall = onStall;
  }

  /** Credit left. */
  get available(): number {
    return this.#credit;
  }

  /** Senders waiting for credit. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /**
   * Takes one item of credit.
   *
   * @returns `undefined` when taken at once, or a promise that resolves once taken
   * @throws {Error} the failure given to {@linkcode CreditGate.fail}
   */
  take(): Promise<void> | undefined {
    if (this.#failed !== null) throw this.#failed;
    if (this.#credit > 0 && this.waiting === 0) {
      this.#credit--;
      return undefined;
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiters.push({ resolve, reject });
    this.#arm();
    return promise;
  }

  /**
   * Adds credit and serves waiters with it.
   *
   * @param items how many more items may be sent
   */
  grant(items: number): void {
    if (this.#failed !== null) return;
    this.#credit += items;
    while (this.#credit > 0 && this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head];
      this.#waiters[this.#head++] = undefined as unknown as Waiter;
      this.#credit--;
      waiter.resolve();
    }
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
      this.#disarm();
    }
  }

  /**
   * Fails every waiter and every later {@linkcode CreditGate.take}.
   *
   * @param err the failure
   */
  fail(err: Error): void {
    if (this.#failed !== null) return;
    this.#failed = err;
    this.#disarm();
    const waiters = this.#waiters.slice(this.#head);
    this.#waiters = [];
    this.#head = 0;
    for (const w of waiters) w.reject(err);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#stallMs <= 0 || this.#stallMs === Infinity) return;
    this.#timer = setTimeout(this.#stalled, this.#stallMs);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #stalled = (): void => {
    this.#timer = undefined;
    if (this.waiting === 0 || this.#failed !== null) return;
    this.#arm();
    this.#onStall();
  };
}

/**
 * The receiving side of a credit window of `window` items: counts items that
 * arrive (refusing any beyond the credit granted) and items the consumer
 * took, and grants them back in batches of half the window, so a consumer
 * that keeps up never makes the producer wait and one that does not holds
 * at most `window` items.
 *
 * @example A window of 4 grants 2 back after 2 items were consumed
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreditWindow } from "./credit.ts";
 * const w = new CreditWindow(4);
 * for (let i = 0; i < 4; i++) assert.ok(w.arrived());
 * assert.equal(w.arrived(), false); // a fifth item is beyond the credit
 * assert.equal(w.consumed(), 0);
 * assert.equal(w.consumed(), 2);
 * assert.equal(w.outstanding, 2);
 * ```
 */
export class CreditWindow {
  /** Items granted that have not arrived yet. */
  outstanding: number;
  readonly #batch: number;
  #taken = 0;

  /**
   * @param window the credit granted at the start, and the most ever outstanding
   */
  constructor(window: number) {
    this.outstanding = window;
    this.#batch = Math.max(1, Math.ceil(window / 2));
  }

  /**
   * Counts an item that arrived.
   *
   * @returns false when the item exceeds the credit granted (the sender broke the protocol)
   */
  arrived(): boolean {
    if (this.outstanding <= 0) return false;
    this.outstanding--;
    return true;
  }

  /**
   * Counts an item the consumer took.
   *
   * @returns the credit to grant now (0: none yet)
   */
  consumed(): number {
    if (++this.#taken < this.#batch) return 0;
    const grant = this.#taken;
    this.#taken = 0;
    this.outstanding += grant;
    return grant;
  }
}
