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

/** Default bound on the bytes of a stream's items in flight or buffered at the receiver: 1 MiB. */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
/** Credit of the first grant, before any item size is known ("slow start"). */
export const INITIAL_CREDIT = 4;

/**
 * The receiving side of a credit window of at most `window` items and about
 * `windowBytes` bytes: counts items that arrive (refusing any beyond the
 * credit granted) and items the consumer took, and says when to grant more.
 *
 * The first grant is {@linkcode INITIAL_CREDIT} items (at most `window`):
 * item sizes are unknown then. After that the target is `window` items, or
 * fewer when the largest item seen times the target would pass
 * `windowBytes`; the receiver grants up to the target in batches of half of
 * it, so a consumer that keeps up never makes the producer wait and one that
 * does not holds at most the target.
 *
 * @example A window of 4 grants 2 back after 2 items were consumed
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreditWindow } from "./credit.ts";
 * const w = new CreditWindow(4);
 * assert.equal(w.initial, 4);
 * for (let i = 0; i < 4; i++) assert.ok(w.arrived(100));
 * assert.equal(w.arrived(100), false); // a fifth item is beyond the credit
 * assert.equal(w.consumed(), 0);
 * assert.equal(w.consumed(), 2);
 * assert.equal(w.outstanding, 2);
 * ```
 *
 * @example Large items: the byte bound wins over the item count
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreditWindow } from "./credit.ts";
 * const w = new CreditWindow(64, 4_000_000); // 64 items, but about 4 MB
 * assert.equal(w.initial, 4);
 * for (let i = 0; i < 4; i++) w.arrived(1_000_000);
 * let granted = 0;
 * for (let i = 0; i < 4; i++) granted += w.consumed();
 * assert.equal(granted, 4); // never more than 4 items of 1 MB in flight
 * ```
 */
export class CreditWindow {
  /** Items granted that have not arrived yet. */
  outstanding: number;
  /** The credit of the first grant. */
  readonly initial: number;
  readonly #window: number;
  readonly #windowBytes: number;
  #held = 0;
  #largest = 0;

  /**
   * @param window the most items ever outstanding or held
   * @param windowBytes about the most bytes outstanding or held (default {@linkcode DEFAULT_WINDOW_BYTES})
   */
  constructor(window: number, windowBytes: number = DEFAULT_WINDOW_BYTES) {
    this.#window = window;
    this.#windowBytes = windowBytes;
    this.initial = Math.min(window, INITIAL_CREDIT);
    this.outstanding = this.initial;
  }

  /**
   * Counts an item that arrived.
   *
   * @param size the item's size in bytes
   * @returns false when the item exceeds the credit granted (the sender broke the protocol)
   */
  arrived(size: number): boolean {
    if (this.outstanding <= 0) return false;
    this.outstanding--;
    this.#held++;
    if (size > this.#largest) this.#largest = size;
    return true;
  }

  /**
   * Counts an item the consumer took.
   *
   * @returns the credit to grant now (0: none yet)
   */
  consumed(): number {
    this.#held--;
    const target = this.#largest === 0
      ? this.#window
      : Math.max(1, Math.min(this.#window, Math.floor(this.#windowBytes / this.#largest)));
    const used = this.outstanding + this.#held;
    const room = target - used;
    if (room <= 0 || (room < Math.ceil(target / 2) && used > 0)) return 0;
    this.outstanding += room;
    return room;
  }
}
