/**
 * Server side of cursors (docs/PROTOCOL.md §14): exposes any iterable or
 * async iterable as a cursor a remote client pulls records from, one (`N`)
 * or many (`NB`) at a time. Cursors expire when idle; a periodic cleaner
 * removes expired and exhausted ones.
 *
 * @module
 */
import { msgpack } from "./msgpack.ts";
import { packCursorHandle, parseCursorHandle, randomCursorId } from "./cursor_handle.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";
import type { RpcCall } from "./rpc_event.ts";

/** Options of {@linkcode CursorServer}. */
export interface CursorServerOptions {
  /** Seconds a cursor lives without a `next` call. Default 30. */
  ttl?: number;
  /** Seconds between sweeps of expired and exhausted cursors. Default 30. */
  cleanInterval?: number;
  /** Milliseconds clock used for expiry (tests pass a fake one). Default `performance.now`. */
  clock?: () => number;
}

/** A source of records. */
export type CursorSource<T = unknown> = AsyncIterable<T> | Iterable<T>;

interface Cursor {
  iterator: AsyncIterator<unknown> | Iterator<unknown>;
  expiresAt: number;
  finished: boolean;
  /** Serializes `next` calls on one cursor (concurrent handlers may overlap). */
  tail: Promise<unknown>;
}

const EMPTY = new Uint8Array(0);
/** MessagePack empty array. */
const EMPTY_ARRAY = new Uint8Array([0x90]);

/**
 * Cursors by id, with idle expiry.
 *
 * @example Serve `Ccustomers`, `N` and `NB`
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { CursorServer, openCursor, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * const cursors = new CursorServer({ ttl: 30 });
 * const server = new RpcClient(broker.registerClient("db"), {
 *   handlers: {
 *     onCall(call) {
 *       switch (call.method) {
 *         case "Ccustomers": return cursors.open([{ id: 1 }, { id: 2 }, { id: 3 }]);
 *         case "N": return cursors.next(call);
 *         case "NB": return cursors.nextBulk(call);
 *       }
 *     },
 *   },
 * });
 * const client = new RpcClient(broker.registerClient("reader"));
 * const ids: number[] = [];
 * for await (const c of await openCursor<{ id: number }>(client, "db", "Ccustomers", undefined, { bulk: 2 })) {
 *   ids.push(c.id);
 * }
 * assert.deepEqual(ids, [1, 2, 3]);
 * await client.close();
 * await server.close();
 * await cursors.close();
 * await broker.close();
 * ```
 */
export class CursorServer {
  readonly #cursors = new Map<string, Cursor>();
  readonly #ttlMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #cleaner: ReturnType<typeof setInterval> | undefined = undefined;
  #closed = false;

  /**
   * Creates an empty cursor table.
   *
   * @param options idle time-to-live, sweep interval and clock
   */
  constructor(options: CursorServerOptions = {}) {
    this.#ttlMs = seconds(options.ttl ?? 30, "ttl") * 1000;
    this.#intervalMs = seconds(options.cleanInterval ?? 30, "cleanInterval") * 1000;
    this.#now = options.clock ?? (() => performance.now());
  }

  /** Cursors currently held (including exhausted ones not yet swept). */
  get size(): number {
    return this.#cursors.size;
  }

  /**
   * Registers a cursor over `source` and returns its handle `{u: bin16}`
   * (MessagePack), ready to be returned from a call handler.
   *
   * @param source the records, an iterable or async iterable
   * @returns the cursor handle as MessagePack
   * @throws {RpcError} -32255 once the server is closed
   */
  open(source: CursorSource): Uint8Array {
    if (this.#closed) {
      throw new RpcError(RpcErrorCode.Eof, "Cannot open a cursor: the cursor server is closed");
    }
    const iterator = Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (source as Iterable<unknown>)[Symbol.iterator]();
    const id = randomCursorId();
    this.#cursors.set(key(id), {
      iterator,
      expiresAt: this.#now() + this.#ttlMs,
      finished: false,
      tail: Promise.resolve(),
    });
    if (this.#cleaner === undefined) this.#cleaner = setInterval(this.#sweep, this.#intervalMs);
    return packCursorHandle(id);
  }

  /**
   * Method `N`: the next record as MessagePack, or an empty payload when the
   * cursor is exhausted. `params` is the cursor handle (or the call carrying it).
   *
   * @param params the cursor handle, or the call carrying it
   * @returns the next record as MessagePack, empty when exhausted
   * @throws {RpcError} -32700 for bad params, -32001 for an unknown or expired cursor
   */
  next(params: Uint8Array | RpcCall): Promise<Uint8Array> {
    try {
      const handle = parseCursorHandle(params instanceof Uint8Array ? params : params.params);
      return this.#run(handle.id, EMPTY, async (cursor) => {
        const r = await cursor.iterator.next();
        if (r.done) {
          cursor.finished = true;
          return EMPTY;
        }
        return msgpack.encode(r.value);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Method `NB`: a MessagePack array of up to `n` records (`n` from the
   * handle, default 1); a shorter array means the cursor is exhausted.
   *
   * @param params the cursor handle, or the call carrying it
   * @returns a MessagePack array of up to `n` records
   * @throws {RpcError} -32700 for bad params, -32001 for an unknown or expired cursor
   */
  nextBulk(params: Uint8Array | RpcCall): Promise<Uint8Array> {
    try {
      const handle = parseCursorHandle(params instanceof Uint8Array ? params : params.params);
      const n = handle.n ?? 1;
      return this.#run(handle.id, EMPTY_ARRAY, async (cursor) => {
        const records: unknown[] = [];
        while (records.length < n) {
          const r = await cursor.iterator.next();
          if (r.done) {
            cursor.finished = true;
            break;
          }
          records.push(r.value);
        }
        return msgpack.encode(records);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #run(
    id: Uint8Array,
    exhausted: Uint8Array,
    step: (cursor: Cursor) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const k = key(id);
    const cursor = this.#cursors.get(k);
    const now = this.#now();
    if (cursor === undefined || cursor.expiresAt < now) {
      if (cursor !== undefined) this.#remove(k, cursor);
      return Promise.reject(new RpcError(RpcErrorCode.NotFound));
    }
    cursor.expiresAt = now + this.#ttlMs;
    const result = cursor.tail.then(() => cursor.finished ? exhausted : step(cursor)).catch((err) => {
      this.#remove(k, cursor);
      if (err instanceof RpcError) throw err;
      throw new RpcError(RpcErrorCode.Internal, err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    });
    cursor.tail = result.catch(() => {});
    return result;
  }

  /** Removes expired and exhausted cursors now; returns how many were removed. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [k, cursor] of this.#cursors) {
      if (cursor.finished || cursor.expiresAt < now) {
        this.#remove(k, cursor);
        removed++;
      }
    }
    if (this.#cursors.size === 0) this.#stopCleaner();
    return removed;
  }

  readonly #sweep = (): void => {
    this.sweep();
  };

  #remove(k: string, cursor: Cursor): void {
    if (this.#cursors.get(k) !== cursor) return;
    this.#cursors.delete(k);
    if (!cursor.finished) {
      cursor.finished = true;
      // let the source release what it holds (files, database cursors)
      try {
        const r = cursor.iterator.return?.();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // the source's own cleanup failed: nothing to do for the cursor
      }
    }
  }

  #stopCleaner(): void {
    clearInterval(this.#cleaner);
    this.#cleaner = undefined;
  }

  /** Stops the cleaner and drops every cursor (releasing their sources). */
  close(): Promise<void> {
    this.#closed = true;
    this.#stopCleaner();
    for (const [k, cursor] of [...this.#cursors]) this.#remove(k, cursor);
    return Promise.resolve();
  }
}

function key(id: Uint8Array): string {
  return String.fromCharCode.apply(null, id as unknown as number[]);
}

function seconds(value: number, what: string): number {
  if (!(value > 0) || value === Infinity) {
    throw new RangeError(`Invalid ${what} "${value}": must be a positive number of seconds`);
  }
  return value;
}
