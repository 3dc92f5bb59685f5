/**
 * A bounded FIFO of incoming frames, consumed as an async iterator.
 *
 * @module
 */

/**
 * A single-consumer queue. `push` never blocks; producers that must respect
 * the bound check {@linkcode FrameQueue.full} and await
 * {@linkcode FrameQueue.waitSpace}.
 */
export class FrameQueue<T> implements AsyncIterable<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #capacity: number;
  #reader: ((r: IteratorResult<T>) => void) | null = null;
  #readerReject: ((e: unknown) => void) | null = null;
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  #error: unknown = null;
  readonly #onTake: ((item: T) => void) | null;

  /**
   * Creates a queue holding up to `capacity` items before it reports full.
   *
   * @param capacity the number of items at which the queue reports full
   * @param onTake called with each item as the consumer takes it (in order)
   */
  constructor(capacity: number, onTake?: (item: T) => void) {
    this.#capacity = capacity;
    this.#onTake = onTake ?? null;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Whether the queue holds `capacity` items or more. */
  get full(): boolean {
    return this.length >= this.#capacity;
  }

  /** Whether the queue was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Appends an item, handing it straight to a waiting reader if there is one.
   *
   * @param item the item to append
   */
  push(item: T): void {
    if (this.#closed) return;
    const reader = this.#reader;
    if (reader !== null) {
      this.#reader = this.#readerReject = null;
      this.#onTake?.(item);
      reader({ value: item, done: false });
      return;
    }
    this.#items.push(item);
  }

  /** Resolves when the queue has room. */
  waitSpace(): Promise<void> {
    if (!this.full || this.#closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#spaceWaiters.push(resolve);
    return promise;
  }

  /**
   * Ends the iteration once the queued items are consumed; with `error`, it throws it.
   *
   * @param error what the iteration throws at the end, or `null` to end it normally
   */
  close(error: unknown = null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    const reader = this.#reader;
    const reject = this.#readerReject;
    this.#reader = this.#readerReject = null;
    if (reader !== null) {
      if (error !== null) reject!(error);
      else reader({ value: undefined, done: true });
    }
    for (const w of this.#spaceWaiters) w();
    this.#spaceWaiters.length = 0;
  }

  /** Takes the next item without waiting, or `undefined`. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.#spaceWaiters.length > 0 && !this.full) {
      const waiters = this.#spaceWaiters;
      this.#spaceWaiters = [];
      for (const w of waiters) w();
    }
    this.#onTake?.(item as T);
    return item;
  }

  /** Resolves with the next item, or done when the queue is closed and empty. */
  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      return Promise.resolve({ value: this.shift() as T, done: false });
    }
    if (this.#closed) {
      if (this.#error !== null) return Promise.reject(this.#error);
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#reader !== null) {
      return Promise.reject(new TypeError("Cannot read frames: another reader is already waiting"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<IteratorResult<T>>();
    this.#reader = resolve;
    this.#readerReject = reject;
    return promise;
  }

  /** Iterates until the queue is closed. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next(), return: () => Promise.resolve({ value: undefined, done: true }) };
  }
}
