/**
 * Client side of cursors (docs/PROTOCOL.md §14): opens a remote cursor and
 * reads it as an async iterator, one record per call (`N`) or in bulks
 * (`NB`).
 *
 * @module
 */
import { packCursorHandle, parseCursorHandle } from "./cursor_handle.ts";
import type { CallOptions, RpcClient } from "./rpc_client.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

/** Options of {@linkcode openCursor}. */
export interface OpenCursorOptions extends CallOptions {
  /**
   * Records fetched per call: 0 or absent reads one record per `N` call, a
   * positive number reads bulks of that size with `NB`.
   */
  bulk?: number;
  /** Method returning one record. Default `"N"`. */
  nextMethod?: string;
  /** Method returning a bulk of records. Default `"NB"`. */
  nextBulkMethod?: string;
}

/**
 * A cursor open on a remote service. Iterate it with `for await`; records
 * are decoded from MessagePack.
 *
 * @example Iterate the customers of a city
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { CursorServer, openCursor, RpcClient } from "./mod.ts";
 * interface Customer {
 *   name: string;
 *   city: string;
 * }
 * const customers: Customer[] = [{ name: "Ann", city: "Prague" }, { name: "Bob", city: "Brno" }];
 * const broker = new Broker();
 * const cursors = new CursorServer();
 * const db = new RpcClient(broker.registerClient("db"), {
 *   handlers: {
 *     onCall(call) {
 *       switch (call.method) {
 *         case "Ccustomers": {
 *           const { city } = call.unpack<{ city: string }>();
 *           return cursors.open(customers.filter((c) => c.city === city));
 *         }
 *         case "NB":
 *           return cursors.nextBulk(call);
 *       }
 *     },
 *   },
 * });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const cursor = await openCursor<Customer>(rpc, "db", "Ccustomers", { city: "Prague" }, { bulk: 100 });
 * const names: string[] = [];
 * for await (const customer of cursor) names.push(customer.name);
 * assert.deepEqual(names, ["Ann"]);
 * await rpc.close();
 * await db.close();
 * await cursors.close();
 * await broker.close();
 * ```
 */
export class RemoteCursor<T = unknown> implements AsyncIterable<T> {
  /** The RPC client used. */
  readonly rpc: RpcClient;
  /** The service holding the cursor. */
  readonly target: string;
  /** The cursor id (16 bytes). */
  readonly id: Uint8Array;
  /** Records per call when iterating (0: one by one). */
  readonly bulk: number;
  readonly #options: OpenCursorOptions;
  readonly #handle: Uint8Array;

  /**
   * Wraps an open cursor id (see {@linkcode openCursor}).
   *
   * @param rpc the RPC client used for the calls
   * @param target the service holding the cursor
   * @param id the cursor id (16 bytes)
   * @param options bulk size, method names and call options
   * @throws {RangeError} when `options.bulk` is not an integer ≥ 0
   */
  constructor(rpc: RpcClient, target: string, id: Uint8Array, options: OpenCursorOptions = {}) {
    const bulk = options.bulk ?? 0;
    if (!Number.isSafeInteger(bulk) || bulk < 0) {
      throw new RangeError(`Invalid bulk size "${bulk}": must be an integer ≥ 0`);
    }
    this.rpc = rpc;
    this.target = target;
    this.id = id;
    this.bulk = bulk;
    this.#options = options;
    this.#handle = packCursorHandle(id);
  }

  /**
   * Fetches one record; `done` when the cursor is exhausted.
   *
   * @throws {RpcError} -32001 when the cursor is unknown or expired
   */
  async next(): Promise<IteratorResult<T, undefined>> {
    const reply = await this.rpc.call(
      this.target,
      this.#options.nextMethod ?? "N",
      this.#handle,
      this.#options,
    );
    if (reply.isEmpty) return { value: undefined, done: true };
    return { value: reply.unpack<T>(), done: false };
  }

  /**
   * Fetches up to `n` records; fewer than `n` means the cursor is exhausted.
   *
   * @param n the maximum number of records
   * @returns the records fetched
   * @throws {RpcError} -32001 when the cursor is unknown or expired, -32700
   * when the reply is not an array
   */
  async nextBulk(n: number): Promise<T[]> {
    const method = this.#options.nextBulkMethod ?? "NB";
    const reply = await this.rpc.call(this.target, method, packCursorHandle(this.id, n), this.#options);
    const records = reply.unpack<T[]>();
    if (!Array.isArray(records)) {
      throw new RpcError(RpcErrorCode.Parse, `Invalid "${method}" reply: expected an array`);
    }
    return records;
  }

  /** Iterates the records until the cursor is exhausted. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const bulk = this.bulk;
    if (bulk > 0) {
      for (;;) {
        const records = await this.nextBulk(bulk);
        yield* records;
        if (records.length < bulk) return;
      }
    }
    for (;;) {
      const r = await this.next();
      if (r.done) return;
      yield r.value;
    }
  }
}

/**
 * Opens a remote cursor: calls `method` on `target` with `params` and wraps
 * the returned handle.
 *
 * @param rpc the RPC client making the calls
 * @param target the service holding the cursor
 * @param method the method opening the cursor
 * @param params the params of that call
 * @param options bulk size, method names and call options
 * @returns the open cursor
 *
 * @example Read a cursor in bulks of 100
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { CursorServer, openCursor, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * const cursors = new CursorServer();
 * const db = new RpcClient(broker.registerClient("db"), {
 *   handlers: {
 *     onCall(call) {
 *       if (call.method === "Ccustomers") return cursors.open(Array.from({ length: 250 }, (_, id) => ({ id })));
 *       if (call.method === "NB") return cursors.nextBulk(call);
 *     },
 *   },
 * });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * let rows = 0;
 * for await (const row of await openCursor<{ id: number }>(rpc, "db", "Ccustomers", undefined, { bulk: 100 })) {
 *   assert.equal(row.id, rows++);
 * }
 * assert.equal(rows, 250);
 * await rpc.close();
 * await db.close();
 * await cursors.close();
 * await broker.close();
 * ```
 *
 * @throws {RpcError} (as a rejection) when the call fails or the reply is not a cursor handle
 */
export async function openCursor<T = unknown>(
  rpc: RpcClient,
  target: string,
  method: string,
  params?: unknown,
  options: OpenCursorOptions = {},
): Promise<RemoteCursor<T>> {
  const reply = await rpc.call(target, method, params, options);
  const { id } = parseCursorHandle(reply.payload);
  return new RemoteCursor<T>(rpc, target, id, options);
}
