/**
 * The broker's core RPC (docs/PROTOCOL.md §12): the internal client
 * `.broker` answering `test`, `info`, `stats`, `client.list` and
 * `benchmark.test`, byte-exact with the reference, plus methods the
 * embedding application adds. `info` has the reference's fields with this
 * package's name and version in them (`{"author": "@busrt/busrt", "version":
 * "0.1.0"}`).
 *
 * `client.list` filters are regular expressions in Rust `regex` syntax (the
 * subset described in `broker/name_filter.ts`), searched in linear time and
 * in slices that give the event loop back: no filter can freeze the broker.
 *
 * @module
 */
import { AUTHOR, VERSION } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import type { Logger } from "../log/logger.ts";
import { msgpack } from "./msgpack.ts";
import { RpcClient } from "./rpc_client.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";
import type { RpcCall, RpcNotification } from "./rpc_event.ts";
import type { Broker, ClientInfo } from "../broker/broker.ts";
import type { InProcessClient } from "../broker/inprocess_client.ts";
import { FilterTooCostlyError, NameFilter, NameFilterError, selectByName } from "../broker/name_filter.ts";

/**
 * A `.broker` method: receives the call and the broker; returns the result
 * like any RPC call handler (`Uint8Array` as it is, `undefined` empty,
 * anything else MessagePack) or throws an {@linkcode RpcError}.
 */
export type CoreMethod = (call: RpcCall, broker: Broker) => unknown;

/** Options of {@linkcode enableCoreRpc}. */
export interface CoreRpcOptions {
  /** Extra methods by name; they take precedence over built-ins of the same name. */
  methods?: Record<string, CoreMethod>;
  /** Whether to serve the built-in methods. Default true. */
  builtins?: boolean;
  /** Handles RPC notifications sent to `.broker` (ignored by default). */
  onNotification?: (notification: RpcNotification) => void | Promise<void>;
  /** Handles broadcasts and publications received by `.broker` (ignored by default). */
  onFrame?: (frame: Frame) => void | Promise<void>;
  /** Handlers running at once. Default 64. */
  concurrency?: number;
  /** Where handler failures are logged. Default: the broker's logger. */
  logger?: Logger;
}

/**
 * Most work one `client.list` call may spend on its filter: about 0.2 s of
 * CPU, spread over slices of 2 ms (docs/SECURITY.md). A usual filter costs a
 * few steps per character of the names searched.
 */
export const CLIENT_LIST_MAX_FILTER_WORK = 20_000_000;

const TEST_REPLY = msgpack.encode({ ok: true });
const INFO_REPLY = msgpack.encode({ author: AUTHOR, version: VERSION });

/** The built-in `.broker` methods. */
export const CORE_METHODS: Readonly<Record<string, CoreMethod>> = Object.freeze({
  "test": (call: RpcCall): Uint8Array => {
    requireNoParams(call);
    return TEST_REPLY;
  },
  "info": (call: RpcCall): Uint8Array => {
    requireNoParams(call);
    return INFO_REPLY;
  },
  "stats": (call: RpcCall, broker: Broker): Uint8Array => {
    requireNoParams(call);
    const s = broker.stats();
    return msgpack.encode({
      uptime: s.uptime,
      r_frames: s.r_frames,
      r_bytes: s.r_bytes,
      w_frames: s.w_frames,
      w_bytes: s.w_bytes,
      ...(s.bridge === undefined ? {} : { bridge: s.bridge }),
    });
  },
  "client.list": async (call: RpcCall, broker: Broker): Promise<Uint8Array> => {
    const filter = parseClientListFilter(call.params);
    const rows = filter === undefined ? broker.clientList() : await selectClients(filter, broker);
    const clients = rows.map((c) => ({
      name: c.name,
      kind: c.kind,
      source: c.source,
      port: c.port,
      r_frames: c.r_frames,
      r_bytes: c.r_bytes,
      w_frames: c.w_frames,
      w_bytes: c.w_bytes,
      queue: c.queue,
      instances: c.instances,
    }));
    return msgpack.encode({ clients });
  },
  "benchmark.test": (call: RpcCall): Uint8Array => call.params,
});

/**
 * The `.broker` core RPC of one broker. Create it with {@linkcode enableCoreRpc}.
 */
export class CoreRpc {
  /** The broker served. */
  readonly broker: Broker;
  /** The internal client `.broker`. */
  readonly client: InProcessClient;
  /** The RPC endpoint over it. */
  readonly rpc: RpcClient;
  readonly #methods = new Map<string, CoreMethod>();

  /**
   * @internal Use {@linkcode enableCoreRpc}.
   *
   * @param broker the broker to serve
   * @param options methods and handler options
   */
  constructor(broker: Broker, options: CoreRpcOptions) {
    this.broker = broker;
    if (options.builtins ?? true) {
      for (const [name, fn] of Object.entries(CORE_METHODS)) this.#methods.set(name, fn);
    }
    for (const [name, fn] of Object.entries(options.methods ?? {})) this.#methods.set(name, fn);
    this.client = broker.registerCoreClient();
    this.rpc = new RpcClient(this.client, {
      mode: "concurrent",
      concurrency: options.concurrency,
      logger: options.logger ?? broker.log,
      handlers: {
        onCall: (call) => this.#dispatch(call),
        onNotification: options.onNotification,
        onFrame: options.onFrame,
      },
    });
  }

  /**
   * Adds (or replaces) a method.
   *
   * @param name the method name
   * @param method the function serving it
   *
   * @example Add a method to a running core RPC
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { enableCoreRpc, RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * const core = enableCoreRpc(broker);
   * core.addMethod("hello", (call) => ({ hello: call.sender }));
   * const rpc = new RpcClient(broker.registerClient("app"));
   * assert.deepEqual((await rpc.call(".broker", "hello")).unpack(), { hello: "app" });
   * await rpc.close();
   * await broker.close();
   * ```
   */
  addMethod(name: string, method: CoreMethod): void {
    this.#methods.set(name, method);
  }

  /**
   * Removes a method (built-in or added).
   *
   * @param name the method name
   * @returns whether it existed
   */
  removeMethod(name: string): boolean {
    return this.#methods.delete(name);
  }

  /** Names of the methods served. */
  methodNames(): string[] {
    return [...this.#methods.keys()];
  }

  /** Whether the `.broker` client is still registered. */
  isActive(): boolean {
    return this.rpc.isConnected();
  }

  /** Unregisters `.broker` (announcements stop too). */
  close(): Promise<void> {
    return this.rpc.close();
  }

  #dispatch(call: RpcCall): unknown {
    const method = this.#methods.get(call.method);
    if (method === undefined) throw new RpcError(RpcErrorCode.MethodNotFound);
    return method(call, this.broker);
  }
}

const active = new WeakMap<Broker, CoreRpc>();

/**
 * Registers the internal client `.broker` on `broker` and serves the core
 * RPC methods on it (this also turns on `reg`/`unreg` announcements). Calling
 * it again for the same broker returns the running instance, with the new
 * options' `methods` added.
 *
 * @param broker the broker to serve
 * @param options extra methods and handler options
 * @returns the core RPC of `broker`
 *
 * @example Core RPC with a custom method
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { enableCoreRpc } from "./core_rpc.ts";
 * import { RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker, { methods: { "hello": (call) => `hello, ${call.sender}` } });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * assert.equal((await rpc.call(".broker", "hello")).unpack(), "hello, app");
 * assert.equal((await rpc.call(".broker", "test")).unpack<{ ok: boolean }>().ok, true);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export function enableCoreRpc(broker: Broker, options: CoreRpcOptions = {}): CoreRpc {
  const existing = active.get(broker);
  if (existing !== undefined && existing.isActive()) {
    for (const [name, fn] of Object.entries(options.methods ?? {})) existing.addMethod(name, fn);
    return existing;
  }
  const core = new CoreRpc(broker, options);
  active.set(broker, core);
  return core;
}

function requireNoParams(call: RpcCall): void {
  if (call.params.length > 0) throw new RpcError(RpcErrorCode.InvalidParams);
}

/** The clients whose names `filter` matches, searched in slices within the work limit. */
async function selectClients(filter: NameFilter, broker: Broker): Promise<ClientInfo[]> {
  try {
    return await selectByName(filter, broker.clientList(), (c) => c.name, {
      maxWork: CLIENT_LIST_MAX_FILTER_WORK,
    });
  } catch (err) {
    if (err instanceof FilterTooCostlyError) throw new RpcError(RpcErrorCode.InvalidParams, err.message);
    throw err;
  }
}

/**
 * Parses `client.list` params: empty, or a map whose `filter` is a string
 * or nil. Returns the compiled filter.
 *
 * @param params the MessagePack params of the call
 * @returns the filter, or undefined when there is none
 * @throws {RpcError} -32700 for undecodable params or an invalid or too large filter
 */
export function parseClientListFilter(params: Uint8Array): NameFilter | undefined {
  if (params.length === 0) return undefined;
  const value = msgpack.decode(params);
  let filter: unknown;
  if (Array.isArray(value)) filter = value[0]; // serde also reads a struct from a sequence
  else if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    filter = (value as { filter?: unknown }).filter;
  } else {
    throw new RpcError(
      RpcErrorCode.Parse,
      `invalid type: ${describeType(value)}, expected struct ClientListParams`,
    );
  }
  if (filter === undefined || filter === null) return undefined;
  if (typeof filter !== "string") {
    throw new RpcError(RpcErrorCode.Parse, `invalid type: ${describeType(filter)}, expected a string`);
  }
  return compileFilter(filter);
}

/** Compiles a Rust-`regex`-style filter (unanchored search, linear time). */
function compileFilter(pattern: string): NameFilter {
  try {
    return NameFilter.parse(pattern);
  } catch (err) {
    if (err instanceof NameFilterError) throw new RpcError(RpcErrorCode.Parse, err.message);
    throw err;
  }
}

function describeType(value: unknown): string {
  if (value === null) return "nil";
  if (Array.isArray(value)) return "sequence";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value;
}
