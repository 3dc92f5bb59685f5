/**
 * The table of calls waiting for a reply: call ids, and timeouts kept with
 * one timer for all calls instead of a timer per call (a timer per call costs
 * several microseconds, more than the rest of a call).
 *
 * Calls with the same timeout expire in the order they were made, so each
 * distinct timeout gets an insertion-ordered set whose head expires first;
 * the one timer is armed for the earliest head. It is not cleared when the
 * last call settles (that would cost a timer per sequential call): when it
 * fires with nothing left, it is simply not armed again. {@linkcode
 * PendingCalls.close} clears it.
 *
 * @module
 */
import { MAX_CALL_ID } from "./payload.ts";

/** One call waiting for its reply. */
export interface PendingCall<R> {
  /** Call id. */
  readonly id: number;
  /** `performance.now()` deadline, or Infinity. */
  readonly deadline: number;
  /** The timeout the call was made with, in milliseconds. */
  readonly timeoutMs: number;
  /** Settles the call with a reply. */
  readonly resolve: (reply: R) => void;
  /** Settles the call with an error. */
  readonly reject: (err: Error) => void;
  /** @internal The expiry group holding the call. */
  group: Set<PendingCall<R>> | null;
}

/**
 * Pending calls by id, with expiry.
 *
 * @example Settle a call, then close the table
 * ```ts
 * import assert from "node:assert/strict";
 * import { PendingCalls } from "./pending_calls.ts";
 * const calls = new PendingCalls<string>(() => new Error("timed out"));
 * const { id, promise } = calls.add(1000);
 * assert.ok(calls.resolve(id, "done"));
 * assert.equal(await promise, "done");
 * assert.equal(calls.size, 0);
 * assert.ok(!calls.resolve(id, "again"));
 * calls.close(new Error("closed"));
 * assert.throws(() => calls.add(1000), /closed/);
 * ```
 */
export class PendingCalls<R> {
  readonly #calls = new Map<number, PendingCall<R>>();
  readonly #groups = new Map<number, Set<PendingCall<R>>>();
  readonly #timeoutError: (id: number, timeoutMs: number) => Error;
  #lastId = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerAt = Infinity;
  #closed: Error | null = null;

  /**
   * Creates the table; `timeoutError` builds the error of an expired call.
   * `lastId` is the id issued before the first call (0: the first id is 1).
   *
   * @param timeoutError builds the error of an expired call from its id and timeout
   * @param lastId the id issued before the first call
   */
  constructor(timeoutError: (id: number, timeoutMs: number) => Error, lastId = 0) {
    this.#timeoutError = timeoutError;
    this.#lastId = lastId;
  }

  /** Calls waiting. */
  get size(): number {
    return this.#calls.size;
  }

  /** Calls tracked for expiry (equals the waiting calls that have a timeout). @internal */
  get expiring(): number {
    let n = 0;
    for (const group of this.#groups.values()) n += group.size;
    return n;
  }

  /** Whether the expiry timer is armed. @internal */
  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  /** The id issued last. @internal Settable to test wrapping. */
  get lastId(): number {
    return this.#lastId;
  }
  set lastId(id: number) {
    this.#lastId = id;
  }

  /**
   * Whether a call id is waiting.
   *
   * @param id the call id
   * @returns true while the call waits for its reply
   */
  has(id: number): boolean {
    return this.#calls.has(id);
  }

  /**
   * Registers a call with a new id (1…2³²−1, wrapping to 1) that expires
   * after `timeoutMs` (Infinity or 0: never).
   *
   * @param timeoutMs the timeout in milliseconds
   * @returns the call id and the promise of the reply
   * @throws {Error} the close reason once {@linkcode PendingCalls.close} was called
   */
  add(timeoutMs: number): { id: number; promise: Promise<R> } {
    if (this.#closed !== null) throw this.#closed;
    let id = this.#lastId;
    do {
      id = id >= MAX_CALL_ID ? 1 : id + 1;
    } while (this.#calls.has(id));
    this.#lastId = id;
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    const finite = timeoutMs > 0 && timeoutMs < Infinity;
    const deadline = finite ? performance.now() + timeoutMs : Infinity;
    const call: PendingCall<R> = { id, deadline, timeoutMs, resolve, reject, group: null };
    this.#calls.set(id, call);
    if (finite) {
      let group = this.#groups.get(timeoutMs);
      if (group === undefined) {
        group = new Set();
        this.#groups.set(timeoutMs, group);
      }
      group.add(call);
      call.group = group;
      if (deadline < this.#timerAt) this.#arm(deadline);
    }
    return { id, promise };
  }

  /**
   * Settles call `id` with a reply. Returns false for an unknown id (orphaned reply).
   *
   * @param id the call id
   * @param reply the reply
   * @returns false for an unknown id
   */
  resolve(id: number, reply: R): boolean {
    const call = this.#take(id);
    if (call === undefined) return false;
    call.resolve(reply);
    return true;
  }

  /**
   * Fails call `id`. Returns false for an unknown id.
   *
   * @param id the call id
   * @param err the error the call rejects with
   * @returns false for an unknown id
   */
  reject(id: number, err: Error): boolean {
    const call = this.#take(id);
    if (call === undefined) return false;
    call.reject(err);
    return true;
  }

  /**
   * Rejects every pending call with `err` and forgets them; new calls are
   * still accepted (unlike {@linkcode PendingCalls.close}). Used when the
   * connection drops under a client that reconnects.
   *
   * @param err the rejection of each pending call
   * @returns how many calls were rejected
   */
  failAll(err: Error): number {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#groups.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const call of calls) call.reject(err);
    return calls.length;
  }

  /**
   * Fails every waiting call with `err`, stops the timer and refuses new calls.
   *
   * @param err the error waiting and later calls fail with
   */
  close(err: Error): void {
    if (this.#closed === null) this.#closed = err;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#groups.clear();
    for (const call of calls) call.reject(err);
  }

  #take(id: number): PendingCall<R> | undefined {
    const call = this.#calls.get(id);
    if (call === undefined) return undefined;
    this.#calls.delete(id);
    if (call.group !== null) {
      call.group.delete(call);
      call.group = null;
    }
    return call;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#expire, Math.max(1, Math.ceil(at - performance.now())));
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    const expired: PendingCall<R>[] = [];
    for (const [timeoutMs, group] of this.#groups) {
      for (const call of group) {
        if (call.deadline > now) {
          if (call.deadline < next) next = call.deadline;
          break;
        }
        group.delete(call);
        call.group = null;
        this.#calls.delete(call.id);
        expired.push(call);
      }
      if (group.size === 0) this.#groups.delete(timeoutMs);
    }
    if (next < Infinity) this.#arm(next);
    for (const call of expired) call.reject(this.#timeoutError(call.id, call.timeoutMs));
  };
}
