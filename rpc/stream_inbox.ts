/**
 * The receiving end of one direction of a stream: items that arrived, handed
 * to the consumer in order as an async iterator, with the credit window
 * (`credit.ts`) and the inactivity timeout of the consumer's wait.
 *
 * @module
 */
import type { CreditWindow } from "./credit.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

/** What the inbox tells its stream. */
export interface InboxEvents {
  /** Grant `items` more credit to the producer. */
  grant(items: number): void;
  /**
   * The consumer stopped before the end: `null` when it left on its own
   * (`break`, `return()`), or why (an inactivity timeout, an item that does
   * not decode, credit overrun).
   */
  abandon(reason: RpcError | null): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Items of one stream direction, consumed with `for await`.
 *
 * @example Items pushed, consumed in order, credit granted back
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreditWindow } from "./credit.ts";
 * import { ItemInbox } from "./stream_inbox.ts";
 * const grants: number[] = [];
 * const inbox = new ItemInbox<string>(new CreditWindow(2), 0, (b) => new TextDecoder().decode(b), {
 *   grant: (n) => grants.push(n),
 *   abandon: () => {},
 * });
 * inbox.push(new TextEncoder().encode("a"));
 * inbox.push(new TextEncoder().encode("b"));
 * inbox.end(new Uint8Array(0));
 * const got: string[] = [];
 * for await (const item of inbox) got.push(item);
 * assert.deepEqual(got, ["a", "b"]);
 * assert.deepEqual(grants, [1, 1]);
 * ```
 */
export class ItemInbox<T> implements AsyncIterableIterator<T> {
  #items: Uint8Array[] = [];
  #head = 0;
  #ended = false;
  #endBody: Uint8Array | null = null;
  #failed: Error | null = null;
  #left = false;
  #waiter: PromiseWithResolvers<IteratorResult<T>> | null = null;
  #lastActivity = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly #window: CreditWindow;
  readonly #idleMs: number;
  readonly #decode: (bytes: Uint8Array) => T;
  readonly #events: InboxEvents;

  /**
   * @param window the credit window (its first grant went with the open)
   * @param idleMs how long the consumer waits for an item before failing with -32120 (0: forever)
   * @param decode turns an item's bytes into what the consumer gets
   * @param events where grants and abandonment go
   */
  constructor(window: CreditWindow, idleMs: number, decode: (bytes: Uint8Array) => T, events: InboxEvents) {
    this.#window = window;
    this.#idleMs = idleMs > 0 ? idleMs : Infinity;
    this.#decode = decode;
    this.#events = events;
  }

  /** Items received and not consumed yet. */
  get buffered(): number {
    return this.#items.length - this.#head;
  }

  /** Whether the producer's end arrived or the inbox failed or was left. */
  get finished(): boolean {
    return this.#ended || this.#failed !== null || this.#left;
  }

  /** The body of the end marker (an upload's result), once ended. */
  get endBody(): Uint8Array | null {
    return this.#endBody;
  }

  /**
   * Adds an item that arrived.
   *
   * @param bytes the item
   * @returns false when it exceeds the credit granted (the caller then fails the stream)
   */
  push(bytes: Uint8Array): boolean {
    if (this.finished) return true;
    if (!this.#window.arrived(bytes.length)) return false;
    this.#lastActivity = performance.now();
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      try {
        waiter.resolve({ done: false, value: this.#take(bytes) });
      } catch (err) {
        waiter.reject(err);
      }
    } else {
      this.#items.push(bytes);
    }
    return true;
  }

  /**
   * The producer's end: items already received are still handed out.
   *
   * @param body the end marker's body
   */
  end(body: Uint8Array): void {
    if (this.finished) return;
    this.#ended = true;
    this.#endBody = body;
    this.#stopTimer();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve(DONE);
  }

  /**
   * Fails the consumer: items not consumed yet are dropped.
   *
   * @param err what the consumer's next wait rejects with
   */
  fail(err: Error): void {
    if (this.#failed !== null || this.#left) return;
    this.#failed = err;
    this.#drop()?.reject(err);
  }

  /**
   * Waits for the next item.
   *
   * @returns the next item, or done once the producer ended
   */
  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const bytes = this.#items[this.#head];
      this.#items[this.#head++] = undefined as unknown as Uint8Array;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      try {
        return Promise.resolve({ done: false, value: this.#take(bytes) });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#ended || this.#left) return Promise.resolve(DONE);
    if (this.#waiter !== null) return Promise.reject(new TypeError("Concurrent next() on a stream"));
    this.#waiter = Promise.withResolvers<IteratorResult<T>>();
    const now = performance.now();
    if (now > this.#lastActivity) this.#lastActivity = now;
    if (this.#timer === undefined && this.#idleMs !== Infinity) {
      this.#timer = setTimeout(this.#checkIdle, this.#idleMs);
    }
    return this.#waiter.promise;
  }

  /** Leaves the stream early (`break`): the producer is told to stop. */
  return(): Promise<IteratorResult<T>> {
    if (this.close()) this.#events.abandon(null);
    return Promise.resolve(DONE);
  }

  /**
   * Ends the consumer's iteration at once, dropping items not consumed yet,
   * without telling anyone (the stream was cancelled).
   *
   * @returns false when the inbox was already finished
   */
  close(): boolean {
    if (this.finished) return false;
    this.#left = true;
    this.#drop()?.resolve(DONE);
    return true;
  }

  /** Drops the items and the timer; returns the consumer's wait, if any, to settle. */
  #drop(): PromiseWithResolvers<IteratorResult<T>> | null {
    this.#items = [];
    this.#head = 0;
    this.#stopTimer();
    const waiter = this.#waiter;
    this.#waiter = null;
    return waiter;
  }

  /**
   * The inbox itself.
   *
   * @returns this inbox
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Decodes an item handed to the consumer and grants credit for it; a decoding failure fails the stream. */
  #take(bytes: Uint8Array): T {
    let value: T;
    try {
      value = this.#decode(bytes);
    } catch (err) {
      const reason = err instanceof RpcError ? err : new RpcError(RpcErrorCode.Parse, String(err));
      this.fail(reason);
      this.#events.abandon(reason);
      throw reason;
    }
    const grant = this.#window.consumed();
    if (grant > 0) this.#events.grant(grant);
    return value;
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // one timer per idle period, not per item: it re-arms for what is left since the last activity
  readonly #checkIdle = (): void => {
    this.#timer = undefined;
    if (this.#waiter === null) return;
    const idle = performance.now() - this.#lastActivity;
    if (idle < this.#idleMs) {
      this.#timer = setTimeout(this.#checkIdle, Math.max(1, Math.ceil(this.#idleMs - idle)));
      return;
    }
    const err = new RpcError(RpcErrorCode.Timeout, `No stream item within ${this.#idleMs} ms`);
    this.fail(err);
    this.#events.abandon(err);
  };
}
