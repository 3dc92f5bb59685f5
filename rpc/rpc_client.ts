/**
 * The RPC client: calls, call0 and notifications over any {@linkcode BusClient}
 * (IPC or in-process), and a handler side for incoming calls, notifications
 * and plain frames (broadcasts, publications).
 *
 * ## How handlers run
 *
 * As in the reference RPC layer, calls are always handled concurrently: a
 * call handler may await anything, including calls through this very client.
 * Frames (broadcasts, publications) and notifications are handled
 * concurrently too by default, or one at a time in arrival order:
 *
 * | Option                 | Default | Rust reference (`rpc::Options`)            | JS client               |
 * | ---------------------- | ------- | ------------------------------------------ | ----------------------- |
 * | `orderedFrames`        | `false` | `blocking_frames()`                        | `blockingFrames`        |
 * | `orderedNotifications` | `false` | `blocking_notifications()`                 | `blockingNotifications` |
 * | `concurrency`          | 64      | unbounded (`tokio::spawn`), or a task pool | unbounded               |
 *
 * `mode: "blocking"` is a shorthand for both ordered options, `"concurrent"`
 * for neither. Ordered handlers share one queue, so frames and notifications
 * keep their relative order too. `concurrency` bounds the concurrent
 * handlers (calls, and unordered frames and notifications together); beyond
 * it frames wait in a backlog, in arrival order.
 *
 * Replies to this client's own calls are processed the moment they arrive,
 * whatever runs. Unlike the reference, whose processor awaits an ordered
 * handler before reading on, reading goes on while an ordered handler runs:
 * only when `backlog` frames wait (ordered and unordered together) does
 * reading pause. So an ordered handler may call through its own client too,
 * as long as the backlog does not fill up while it waits.
 *
 * ## Calls from handlers
 *
 * BUS/RT's way of calling from a handler without depending on any of this is
 * a secondary client — a separate connection named `<name>%%<n>`;
 * {@linkcode RpcClient.secondary} creates one on first use and closes it
 * with this client. Use it from ordered handlers that may wait long, and
 * wherever the backlog may fill up.
 *
 * @example Handler and caller
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * const server = new RpcClient(broker.registerClient("server"), {
 *   handlers: { onCall: (call) => call.method === "add" ? call.unpack<number[]>().reduce((a, b) => a + b) : undefined },
 * });
 * const caller = new RpcClient(broker.registerClient("caller"));
 * const reply = await caller.call("server", "add", [1, 2, 3]);
 * assert.equal(reply.unpack<number>(), 6);
 * await caller.close();
 * await server.close();
 * await broker.close();
 * ```
 *
 * @module
 */
import { Op, QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { bytesEqual, decodeUtf8, encodeUtf8 } from "../protocol/text.ts";
import type { BusClient, OpResult } from "../client/bus_client.ts";
import type { ConnectionStatus } from "../client/reconnecting_client.ts";
import { packParams } from "./msgpack.ts";
import {
  encodeErrorReply,
  encodeNotification,
  encodeReply,
  encodeRequest,
  findMethodEnd,
  readCallId,
  readErrorCode,
  RpcKind,
} from "./payload.ts";
import { PendingCalls } from "./pending_calls.ts";
import { RpcPool, type RpcPoolOptions } from "./pool.ts";
import { RpcError, RpcErrorCode, toRpcError } from "./rpc_error.ts";
import { RpcCall, RpcNotification, RpcReply } from "./rpc_event.ts";
import {
  type DuplexStream,
  StreamCaller,
  type StreamCallOptions,
  type StreamReader,
  type UploadOptions,
} from "./stream_caller.ts";
import {
  DEFAULT_MAX_STREAMS,
  type DuplexHandler,
  type StreamHandler,
  type StreamHandlerOptions,
  StreamServer,
  type UploadHandler,
} from "./stream_server.ts";
import { StreamKind, StreamMode } from "./stream_wire.ts";

/** Default call timeout in seconds. */
export const DEFAULT_RPC_TIMEOUT = 5;
/** Default bound on concurrently running handlers. */
export const DEFAULT_RPC_CONCURRENCY = 64;
/** Default number of frames waiting for a handler before reading pauses. */
export const DEFAULT_RPC_BACKLOG = 8192;

/**
 * Shorthand for the ordered options: `"blocking"` handles frames and
 * notifications one at a time in arrival order, `"concurrent"` (the
 * default) neither. Calls are concurrent in both.
 */
export type RpcHandlerMode = "blocking" | "concurrent";

/**
 * The handler side of an RPC client. Every handler is optional.
 *
 * `onCall` returns the result: a `Uint8Array` is sent as it is, `undefined`
 * as an empty result, anything else as MessagePack. Throw an
 * {@linkcode RpcError} to send an error reply with its code and data; any
 * other exception becomes -32603 (internal) with the error message.
 */
export interface RpcHandlers {
  /**
   * Handles an RPC request. Without it, calls get -32601.
   *
   * @param call the request
   * @returns the result (or a promise of it), sent back unless the call is a call0
   */
  onCall?(call: RpcCall): unknown;
  /**
   * Handles an RPC notification.
   *
   * @param notification the notification
   * @returns nothing, or a promise (an ordered notification's successor waits for it)
   */
  onNotification?(notification: RpcNotification): void | Promise<void>;
  /**
   * Handles a broadcast or publication (non-RPC frames).
   *
   * @param frame the frame
   * @returns nothing, or a promise (an ordered frame's successor waits for it)
   */
  onFrame?(frame: Frame): void | Promise<void>;
}

/** Options of {@linkcode RpcClient}. */
export interface RpcClientOptions {
  /** Handlers for incoming calls, notifications and frames. */
  handlers?: RpcHandlers;
  /**
   * Handle broadcasts and publications one at a time, in arrival order (the
   * reference's `blocking_frames`). Default: `false`, or `true` with
   * `mode: "blocking"`.
   */
  orderedFrames?: boolean;
  /**
   * Handle notifications one at a time, in arrival order (the reference's
   * `blocking_notifications`). Default: `false`, or `true` with
   * `mode: "blocking"`.
   */
  orderedNotifications?: boolean;
  /** Shorthand for both ordered options; see {@linkcode RpcHandlerMode}. Default `"concurrent"`. */
  mode?: RpcHandlerMode;
  /** Concurrent handlers (calls, unordered frames and notifications) running at once. Default 64. */
  concurrency?: number;
  /** Frames waiting for a handler (ordered or not) before reading pauses. Default 8192. */
  backlog?: number;
  /** Default call timeout in seconds; 0 or Infinity waits forever. Default 5. */
  timeout?: number;
  /** Default QoS of calls and notifications. Default {@linkcode QoS.Processed}. */
  qos?: QoS;
  /** Where protocol problems and handler failures are logged. Default: silent. */
  logger?: Logger;
}

/** Options of one call. */
export interface CallOptions {
  /** QoS of the request frame. Default: the client's. */
  qos?: QoS;
  /** Timeout in seconds; 0 or Infinity waits forever. Default: the client's. */
  timeout?: number;
  /** Aborts waiting for the reply; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Open streaming calls of an RPC client (see {@linkcode RpcClient.streamStats}). */
export interface StreamStats {
  /** Streams this client opened and that are not over. */
  calling: number;
  /** Streams this client serves and that are not over. */
  serving: number;
}

/** Options of call0 and notifications. */
export interface SendOptions {
  /** QoS of the frame. Default: the client's. */
  qos?: QoS;
}

const METHOD_CACHE_LIMIT = 1024;
const NOT_IMPLEMENTED = encodeUtf8("RPC handler is not implemented");
const EMPTY = new Uint8Array(0);

/**
 * An RPC endpoint over a bus client. It takes over the client's incoming
 * frames: do not iterate the client yourself.
 *
 * @example Call the broker
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { connect } from "../client/mod.ts";
 * import { VERSION } from "../protocol/mod.ts";
 * import { enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const { bind } = await broker.serveTcp("127.0.0.1:0");
 * const rpc = new RpcClient(await connect(bind, { name: "app" }));
 * assert.equal((await rpc.call(".broker", "info")).unpack<{ version: string }>().version, VERSION);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export class RpcClient {
  /** The bus client underneath. */
  readonly client: BusClient;
  /** Resolves once the client is closed and pending calls have failed. */
  readonly closed: Promise<void>;

  readonly #options: RpcClientOptions;
  readonly #handlers: RpcHandlers;
  readonly #orderedFrames: boolean;
  readonly #orderedNotifications: boolean;
  readonly #concurrency: number;
  readonly #backlogLimit: number;
  readonly #timeoutMs: number;
  readonly #qos: QoS;
  readonly #log: Logger;
  readonly #pending: PendingCalls<RpcReply>;
  readonly #methods = new Map<string, Uint8Array>();
  #streamCaller: StreamCaller | null = null;
  #streamServer: StreamServer | null = null;
  #backlog: Frame[] = [];
  #backlogHead = 0;
  #backlogSpace: (() => void) | null = null;
  #running = 0;
  #ordered: Frame[] = [];
  #orderedHead = 0;
  #orderedRunning = false;
  #secondary: Promise<RpcClient> | null = null;
  #lastMethodBytes: Uint8Array = new Uint8Array(0);
  #lastMethod: string | null = "";
  #closing = false;
  #resolveClosed!: () => void;

  /**
   * Wraps `client`; starts reading its frames at once.
   *
   * @param client the bus client to take over
   * @param options handlers, handler mode, timeout, QoS and logger
   */
  constructor(client: BusClient, options: RpcClientOptions = {}) {
    if ((client as { largePayloads?: string }).largePayloads === "borrowed") {
      // calls and replies are read ahead of their handlers: a borrowed payload would be overwritten
      throw new TypeError('Cannot run RPC on a client with largePayloads "borrowed"');
    }
    this.client = client;
    this.#options = options;
    this.#handlers = options.handlers ?? {};
    const mode = options.mode ?? "concurrent";
    if (mode !== "blocking" && mode !== "concurrent") {
      throw new RangeError(`Invalid mode "${mode}": expected "blocking" or "concurrent"`);
    }
    this.#orderedFrames = options.orderedFrames ?? mode === "blocking";
    this.#orderedNotifications = options.orderedNotifications ?? mode === "blocking";
    this.#concurrency = positiveInteger(options.concurrency ?? DEFAULT_RPC_CONCURRENCY, "concurrency");
    this.#backlogLimit = positiveInteger(options.backlog ?? DEFAULT_RPC_BACKLOG, "backlog");
    this.#timeoutMs = timeoutToMs(options.timeout ?? DEFAULT_RPC_TIMEOUT);
    this.#qos = options.qos ?? QoS.Processed;
    this.#log = options.logger ?? silentLogger;
    this.#pending = new PendingCalls<RpcReply>((id, ms) =>
      new RpcError(RpcErrorCode.Timeout, `No reply to call ${id} within ${ms} ms`)
    );
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    client.closed.then(() => this.#shutdown());
    if (hasConnectionStatus(client)) this.#failCallsOnDisconnect(client.status());
    this.#readLoop();
  }

  /**
   * Under a client that reconnects, the replies to calls pending when the
   * connection drops can never come: fail them at once (the handlers stay).
   */
  async #failCallsOnDisconnect(status: AsyncIterable<ConnectionStatus>): Promise<void> {
    for await (const event of status) {
      if (event.type !== "disconnected") continue;
      const err = new RpcError(
        RpcErrorCode.Io,
        "the connection was lost while the call was pending; it may or may not have run",
      );
      this.#pending.failAll(err);
      this.#streamCaller?.dropAll(err);
      this.#streamServer?.dropAll(err);
    }
  }

  /** The client's registered name. */
  get name(): string {
    return this.client.name;
  }

  /** Whether the client is connected and this RPC client not closed. */
  isConnected(): boolean {
    return !this.#closing && this.client.isConnected();
  }

  /** Calls waiting for a reply. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Handlers currently running: the concurrent ones, plus 1 while an ordered one runs. */
  get runningHandlers(): number {
    return this.#running + (this.#orderedRunning ? 1 : 0);
  }

  /**
   * Calls `method` on `target` and resolves with the reply. `params`: a
   * `Uint8Array` is sent as it is, `undefined` as no params, anything else
   * as MessagePack.
   *
   * @example Call a method of `.broker` with params
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { enableCoreRpc, RpcClient, RpcError } from "./mod.ts";
   * const broker = new Broker();
   * enableCoreRpc(broker);
   * const rpc = new RpcClient(broker.registerClient("app"));
   * const reply = await rpc.call(".broker", "client.list", { filter: "^app" });
   * const { clients } = reply.unpack<{ clients: { name: string }[] }>();
   * assert.deepEqual(clients.map((c) => c.name), ["app"]);
   * await assert.rejects(rpc.call(".broker", "nope"), (err: RpcError) => err.isMethodNotFound());
   * await rpc.close();
   * await broker.close();
   * ```
   *
   * @param target the name of the client to call
   * @param method the method name
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options timeout, QoS and abort signal of this call
   * @returns the reply
   *
   * @throws {RpcError} (as a rejection) with the remote code for an error
   * reply, or a transport code (-32113 not registered, -32120 timeout,
   * -32255 closed …)
   */
  call(target: string, method: string, params?: unknown, options?: CallOptions): Promise<RpcReply> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let bytes: Uint8Array;
    let methodBytes: Uint8Array;
    let call: { id: number; promise: Promise<RpcReply> };
    try {
      methodBytes = this.#method(method);
      bytes = packParams(params);
      call = this.#pending.add(
        options?.timeout === undefined ? this.#timeoutMs : timeoutToMs(options.timeout),
      );
    } catch (err) {
      return Promise.reject(err);
    }
    const { id, promise } = call;
    if (signal !== undefined) this.#watchAbort(id, signal, promise);
    let acked: OpResult;
    try {
      acked = this.client.send(target, encodeRequest(id, methodBytes, bytes), options?.qos ?? this.#qos);
    } catch (err) {
      this.#pending.reject(id, toRpcError(err));
      return promise;
    }
    if (acked !== undefined) acked.then(undefined, (err) => this.#pending.reject(id, toRpcError(err)));
    return promise;
  }

  /**
   * Calls `method` without wanting a reply (call id 0). Resolves when the
   * broker acknowledged the frame (QoS 1/3) or at once (QoS 0/2).
   *
   * @param target the name of the client to call
   * @param method the method name
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options the QoS of the frame
   * @throws {RpcError} (as a rejection) for a transport failure
   */
  call0(target: string, method: string, params?: unknown, options?: SendOptions): Promise<void> {
    try {
      const payload = encodeRequest(0, this.#method(method), packParams(params));
      return this.#send(target, payload, options?.qos ?? this.#qos);
    } catch (err) {
      return Promise.reject(toRpcErrorUnlessArgument(err));
    }
  }

  /**
   * Sends a notification (`data` as for call params). Resolves when the
   * broker acknowledged it (QoS 1/3) or at once (QoS 0/2).
   *
   * @param target the name of the client to notify
   * @param data the data: bytes as they are, `undefined` for none, else MessagePack
   * @param options the QoS of the frame
   * @throws {RpcError} (as a rejection) for a transport failure
   */
  notify(target: string, data?: unknown, options?: SendOptions): Promise<void> {
    try {
      return this.#send(target, encodeNotification(packParams(data)), options?.qos ?? this.#qos);
    } catch (err) {
      return Promise.reject(toRpcErrorUnlessArgument(err));
    }
  }

  /**
   * The secondary RPC client for calls made from handlers (see the module
   * docs): registered on first use as `<name>%%<n>`, with this client's
   * timeout, QoS and logger but no handlers, and closed with this client.
   *
   * @example Call another service from inside a handler
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * const other = new RpcClient(broker.registerClient("other.service"), {
   *   handlers: { onCall: (call) => call.unpack<string>().toUpperCase() },
   * });
   * const rpc: RpcClient = new RpcClient(broker.registerClient("app"), {
   *   handlers: {
   *     async onCall(call) {
   *       const helper = await rpc.secondary();
   *       assert.equal(helper.name, "app%%0");
   *       return (await helper.call("other.service", "lookup", call.params)).payload;
   *     },
   *   },
   * });
   * const caller = new RpcClient(broker.registerClient("caller"));
   * assert.equal((await caller.call("app", "lookup", "abc")).unpack(), "ABC");
   * await caller.close();
   * await rpc.close();
   * await other.close();
   * await broker.close();
   * ```
   *
   * @returns the secondary RPC client
   *
   * @throws {BusError} (as a rejection) when the secondary cannot be registered
   */
  secondary(): Promise<RpcClient> {
    if (this.#closing) {
      return Promise.reject(new RpcError(RpcErrorCode.Eof, `RPC client "${this.name}" is closed`));
    }
    const current = this.#secondary;
    if (current !== null) {
      return current.then((s) => s.isConnected() ? s : this.#newSecondary(current));
    }
    return this.#newSecondary(null);
  }

  #newSecondary(previous: Promise<RpcClient> | null): Promise<RpcClient> {
    if (this.#secondary !== previous) return this.secondary();
    const created = this.client.registerSecondary().then((client) => {
      const { timeout, qos, logger } = this.#options;
      const rpc = new RpcClient(client, { timeout, qos, logger });
      if (this.#closing) rpc.close();
      return rpc;
    });
    this.#secondary = created;
    created.catch(() => {
      if (this.#secondary === created) this.#secondary = null;
    });
    return created;
  }

  /**
   * A worker pool of the clients whose names match `mask`: calls balanced
   * over them, retried on another member when one fails, suspected members
   * avoided (see `pool.ts`). The pool has a secondary connection of its own,
   * closed with the pool or with this client.
   *
   * @example Call whichever worker of a role
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { enableCoreRpc, RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * enableCoreRpc(broker);
   * const worker = new RpcClient(broker.registerClient("svc.resize.1"), { handlers: { onCall: () => "ok" } });
   * const rpc = new RpcClient(broker.registerClient("app"));
   * const pool = await rpc.pool("svc.resize.*", { strategy: "least-in-flight" });
   * assert.equal((await pool.call("resize", { w: 64 }, { idempotent: true })).sender, "svc.resize.1");
   * await pool.close();
   * await Promise.all([rpc.close(), worker.close()]);
   * await broker.close();
   * ```
   *
   * @param mask the name mask of the members (`?` one segment, `*` the rest)
   * @param options strategy, heartbeats, timeouts, retries
   * @returns the pool, with the members registered now
   * @throws {RpcError} (as a rejection) when the broker has no core RPC to list the clients
   */
  pool(mask: string, options?: RpcPoolOptions): Promise<RpcPool> {
    return RpcPool.open(mask, options, async (onFrame) => {
      const { timeout, qos, logger } = this.#options;
      return new RpcClient(await this.client.registerSecondary(), {
        timeout,
        qos,
        logger,
        handlers: { onFrame },
      });
    });
  }

  /**
   * Opens a server stream (docs/PROTOCOL.md §25): `method` of `target`,
   * registered there with {@linkcode RpcClient.handleStream}, sends items
   * until it ends. The call starts at once; read it with `for await`.
   * Leaving the loop early, `cancel()` or the `signal` stop the server. At
   * most `window` items are in flight or buffered (credit-based flow
   * control). A wait for the next item longer than `timeout` fails with
   * -32120.
   *
   * @example Stream the squares of 1…n
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * const server = new RpcClient(broker.registerClient("math"));
   * server.handleStream("squares", function* (n) {
   *   for (let i = 1; i <= (n as number); i++) yield i * i;
   * });
   * const rpc = new RpcClient(broker.registerClient("app"));
   * const got: number[] = [];
   * for await (const sq of rpc.callStream<number>("math", "squares", 4, { window: 2 })) got.push(sq);
   * assert.deepEqual(got, [1, 4, 9, 16]);
   * assert.deepEqual(rpc.streamStats(), { calling: 0, serving: 0 });
   * await rpc.close();
   * await server.close();
   * await broker.close();
   * ```
   *
   * @param target the name of the client serving the stream
   * @param method the streaming method
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options inactivity timeout, credit window, abort signal, raw items
   * @returns the items (MessagePack-decoded unless `raw`)
   * @throws {RangeError} for an invalid window or timeout
   */
  callStream<T = unknown>(
    target: string,
    method: string,
    params?: unknown,
    options: StreamCallOptions = {},
  ): StreamReader<T> {
    return this.#streamCallerOf().stream<T>(target, method, params, options);
  }

  /**
   * Uploads a stream of items (client streaming) to `method` of `target`,
   * registered there with {@linkcode RpcClient.handleUpload}, and resolves
   * with its one result. Items are sent as the server grants credit.
   *
   * @example Sum numbers on the server
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * const server = new RpcClient(broker.registerClient("math"));
   * server.handleUpload("sum", async (items) => {
   *   let total = 0;
   *   for await (const n of items) total += n as number;
   *   return total;
   * });
   * const rpc = new RpcClient(broker.registerClient("app"));
   * const reply = await rpc.callUpload("math", "sum", [1, 2, 3, 4]);
   * assert.equal(reply.unpack<number>(), 10);
   * await rpc.close();
   * await server.close();
   * await broker.close();
   * ```
   *
   * @param target the name of the client serving the upload
   * @param method the streaming method
   * @param items the items (sync or async iterable): bytes as they are, anything else as MessagePack
   * @param options params, timeout, abort signal
   * @returns the result
   * @throws {RpcError} (as a rejection) with the server's code, -32120 after the inactivity limit, or a transport code
   */
  callUpload(
    target: string,
    method: string,
    items: AsyncIterable<unknown> | Iterable<unknown>,
    options: UploadOptions = {},
  ): Promise<RpcReply> {
    try {
      return this.#streamCallerOf().upload(target, method, items, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Opens a bidirectional stream with `method` of `target`, registered
   * there with {@linkcode RpcClient.handleDuplex}: `send()` items and
   * `end()` them, read the server's items with `for await`. The server's
   * end ends the stream.
   *
   * @example Echo in upper case
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "../broker/mod.ts";
   * import { RpcClient } from "./mod.ts";
   * const broker = new Broker();
   * const server = new RpcClient(broker.registerClient("echo"));
   * server.handleDuplex("upper", async function* (items) {
   *   for await (const s of items) yield (s as string).toUpperCase();
   * });
   * const rpc = new RpcClient(broker.registerClient("app"));
   * const chat = rpc.callDuplex<string>("echo", "upper");
   * await chat.send("a");
   * await chat.send("b");
   * await chat.end();
   * const got: string[] = [];
   * for await (const s of chat) got.push(s);
   * assert.deepEqual(got, ["A", "B"]);
   * await rpc.close();
   * await server.close();
   * await broker.close();
   * ```
   *
   * @param target the name of the client serving the stream
   * @param method the streaming method
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options inactivity timeout, credit window, abort signal, raw items
   * @returns the stream
   * @throws {RangeError} for an invalid window or timeout
   */
  callDuplex<T = unknown>(
    target: string,
    method: string,
    params?: unknown,
    options: StreamCallOptions = {},
  ): DuplexStream<T> {
    return this.#streamCallerOf().duplex<T>(target, method, params, options);
  }

  /**
   * Serves `method` as a server stream: the handler gets the params
   * (MessagePack-decoded unless `raw`) and returns the items, an iterable or
   * async iterable (an async generator usually). Items go out as the caller
   * grants credit; when the caller cancels or goes away, `ctx.signal`
   * aborts and the iterator's `return()` is called. Throw an
   * {@linkcode RpcError} to end the stream with its code. A plain call of
   * the method gets -32600. Ordinary handlers (`onCall`) keep serving every
   * other method.
   *
   * @param method the method name
   * @param handler produces the items
   * @param options raw params
   */
  handleStream(method: string, handler: StreamHandler, options?: StreamHandlerOptions): void {
    this.#streamServerOf().register(StreamMode.Server, method, handler, options);
  }

  /**
   * Serves `method` as an upload: the handler reads the caller's items
   * (an async iterable) and returns the one result (or a promise of it).
   *
   * @param method the method name
   * @param handler reads the items, returns the result
   * @param options raw params and items, credit window
   */
  handleUpload(method: string, handler: UploadHandler, options?: StreamHandlerOptions): void {
    this.#streamServerOf().register(StreamMode.Upload, method, handler, options);
  }

  /**
   * Serves `method` as a duplex stream: the handler reads the caller's items
   * and returns its own items (an async generator usually); its end ends
   * the stream.
   *
   * @param method the method name
   * @param handler reads the caller's items, produces the replies
   * @param options raw params and items, credit window
   */
  handleDuplex(method: string, handler: DuplexHandler, options?: StreamHandlerOptions): void {
    this.#streamServerOf().register(StreamMode.Duplex, method, handler, options);
  }

  /** Streams open on each side; both return to 0 once every stream is over. */
  streamStats(): StreamStats {
    return { calling: this.#streamCaller?.size ?? 0, serving: this.#streamServer?.size ?? 0 };
  }

  /**
   * Closes the client (and the secondary, if any); pending calls fail with
   * -32255. Does not wait for handlers still running.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#pending.close(new RpcError(RpcErrorCode.Eof, `RPC client "${this.name}" is closed`));
      const secondary = this.#secondary;
      await Promise.all([
        this.client.close(),
        secondary?.then((s) => s.close(), () => {}),
      ]);
      this.#shutdown();
    }
    await this.closed;
  }

  // ---------------------------------------------------------------- sending

  #method(method: string): Uint8Array {
    let bytes = this.#methods.get(method);
    if (bytes === undefined) {
      bytes = encodeUtf8(method);
      if (bytes.includes(0)) throw new TypeError(`Invalid method name "${method}": contains a NUL byte`);
      if (this.#methods.size >= METHOD_CACHE_LIMIT) this.#methods.clear();
      this.#methods.set(method, bytes);
    }
    return bytes;
  }

  #send(target: string, payload: Uint8Array, qos: QoS): Promise<void> {
    const acked = this.client.send(target, payload, qos);
    if (acked === undefined) return Promise.resolve();
    return acked.then(undefined, (err) => {
      throw toRpcError(err);
    });
  }

  #watchAbort(id: number, signal: AbortSignal, settled: Promise<RpcReply>): void {
    const abort = () => this.#pending.reject(id, abortReason(signal));
    signal.addEventListener("abort", abort, { once: true });
    const forget = () => signal.removeEventListener("abort", abort);
    settled.then(forget, forget);
  }

  #reply(frame: Frame, payload: Uint8Array): void {
    if (!this.client.isConnected()) return;
    try {
      const acked = this.client.send(
        frame.sender,
        payload,
        frame.realtime ? QoS.RealtimeProcessed : QoS.Processed,
      );
      if (acked !== undefined) acked.then(undefined, this.#replyFailed);
    } catch (err) {
      this.#replyFailed(err);
    }
  }

  readonly #replyFailed = (err: unknown): void => {
    this.#log.debug(`RPC client "${this.name}": reply not delivered: ${errorText(err)}`);
  };

  // ---------------------------------------------------------------- receiving

  async #readLoop(): Promise<void> {
    const frames = this.client[Symbol.asyncIterator]();
    const buffered = bufferedFrames(this.client);
    try {
      for (;;) {
        const r = await frames.next();
        if (r.done) break;
        const wait = this.#dispatch(r.value);
        if (wait !== undefined) await wait;
        // Take every frame already buffered in one step: awaiting them one by
        // one would let the writer flush between frames, one write per reply
        // or per follow-up call instead of one for the whole batch.
        for (let n = buffered(); n > 0; n = buffered()) {
          const batch: Promise<IteratorResult<Frame>>[] = new Array(n);
          for (let i = 0; i < n; i++) batch[i] = frames.next();
          const results = await Promise.all(batch);
          for (let i = 0; i < n; i++) {
            const item = results[i];
            if (item.done) return;
            const later = this.#dispatch(item.value);
            if (later !== undefined) await later;
          }
        }
      }
    } catch (err) {
      this.#log.warn(`RPC client "${this.name}": reading frames failed: ${errorText(err)}`);
    } finally {
      this.#shutdown();
    }
  }

  /**
   * Routes one frame: replies settle their call at once; ordered frames and
   * notifications join the ordered queue; the rest start a handler or wait
   * in the backlog. Returns a promise only when reading must pause (the
   * backlog is full).
   */
  #dispatch(frame: Frame): Promise<void> | undefined {
    if (this.#settleReply(frame)) return undefined;
    if (this.#routeStreamFrame(frame)) return undefined;
    if (this.#isOrdered(frame)) {
      this.#ordered.push(frame);
      if (!this.#orderedRunning) this.#runOrdered();
    } else if (this.#running < this.#concurrency) {
      this.#start(frame);
      return undefined;
    } else {
      this.#backlog.push(frame);
    }
    if (this.#waiting() < this.#backlogLimit) return undefined;
    return new Promise<void>((resolve) => this.#backlogSpace = resolve);
  }

  #isOrdered(frame: Frame): boolean {
    if (frame.kind !== Op.Message) return this.#orderedFrames;
    return this.#orderedNotifications && frame.payload[0] === RpcKind.Notification;
  }

  /** Frames waiting for a handler, ordered and concurrent. */
  #waiting(): number {
    return this.#backlog.length - this.#backlogHead + this.#ordered.length - this.#orderedHead;
  }

  #wakeReader(): void {
    const wake = this.#backlogSpace;
    if (wake !== null && this.#waiting() < this.#backlogLimit) {
      this.#backlogSpace = null;
      wake();
    }
  }

  /** Runs the ordered queue, one handler at a time, until it is empty. */
  async #runOrdered(): Promise<void> {
    this.#orderedRunning = true;
    try {
      while (this.#orderedHead < this.#ordered.length) {
        const next = this.#ordered[this.#orderedHead];
        this.#ordered[this.#orderedHead++] = undefined as unknown as Frame;
        if (this.#orderedHead === this.#ordered.length) {
          this.#ordered = [];
          this.#orderedHead = 0;
        }
        this.#wakeReader();
        try {
          const done = this.#handle(next);
          if (done !== undefined) await done;
        } catch (err) {
          this.#log.error(`RPC client "${this.name}": ${errorText(err)}`);
        }
      }
    } finally {
      this.#orderedRunning = false;
    }
  }

  /** Completes a pending call when the frame is a reply or an error reply. */
  #settleReply(frame: Frame): boolean {
    if (frame.kind !== Op.Message) return false;
    const payload = frame.payload;
    const kind = payload[0];
    if (kind === RpcKind.Reply) {
      if (payload.length < 5) {
        this.#log.warn(`RPC client "${this.name}": invalid reply from "${frame.sender}"`);
      } else {
        const id = readCallId(payload);
        if (!this.#pending.resolve(id, new RpcReply(frame.sender, payload.subarray(5)))) {
          this.#log.debug(`RPC client "${this.name}": orphaned reply ${id} from "${frame.sender}"`);
        }
      }
      return true;
    }
    if (kind === RpcKind.Error) {
      if (payload.length < 7) {
        this.#log.warn(`RPC client "${this.name}": invalid error reply from "${frame.sender}"`);
      } else {
        const id = readCallId(payload);
        const err = new RpcError(readErrorCode(payload), payload.subarray(7), { remote: true });
        if (!this.#pending.reject(id, err)) {
          this.#log.debug(`RPC client "${this.name}": orphaned error reply ${id} from "${frame.sender}"`);
        }
      }
      return true;
    }
    return false;
  }

  #start(frame: Frame): void {
    this.#running++;
    let done: Promise<void> | undefined;
    try {
      done = this.#handle(frame);
    } catch (err) {
      this.#log.error(`RPC client "${this.name}": ${errorText(err)}`);
    }
    if (done === undefined) this.#finished();
    else done.then(this.#finished, this.#finished);
  }

  readonly #finished = (): void => {
    this.#running--;
    while (this.#running < this.#concurrency && this.#backlogHead < this.#backlog.length) {
      const next = this.#backlog[this.#backlogHead];
      this.#backlog[this.#backlogHead++] = undefined as unknown as Frame;
      if (this.#backlogHead === this.#backlog.length) {
        this.#backlog = [];
        this.#backlogHead = 0;
      }
      this.#start(next);
    }
    this.#wakeReader();
  };

  /** Runs the handler for one frame; returns a promise only when it is asynchronous. */
  #handle(frame: Frame): Promise<void> | undefined {
    if (frame.kind !== Op.Message) return this.#handleFrame(frame);
    const payload = frame.payload;
    if (payload.length === 0) {
      this.#log.warn(`RPC client "${this.name}": empty RPC frame from "${frame.sender}"`);
      return undefined;
    }
    const kind = payload[0];
    if (kind === RpcKind.Request) return this.#handleCall(frame, payload);
    if (kind === RpcKind.Notification) return this.#handleNotification(frame, payload);
    this.#log.warn(`RPC client "${this.name}": unsupported RPC frame code ${kind} from "${frame.sender}"`);
    return undefined;
  }

  #handleFrame(frame: Frame): Promise<void> | undefined {
    const handler = this.#handlers.onFrame;
    if (handler === undefined) return undefined;
    try {
      const r = handler.call(this.#handlers, frame);
      if (r instanceof Promise) return r.then(undefined, this.#handlerFailed);
    } catch (err) {
      this.#handlerFailed(err);
    }
    return undefined;
  }

  #handleNotification(frame: Frame, payload: Uint8Array): Promise<void> | undefined {
    const handler = this.#handlers.onNotification;
    if (handler === undefined) return undefined;
    try {
      const r = handler.call(this.#handlers, new RpcNotification(frame, payload.subarray(1)));
      if (r instanceof Promise) return r.then(undefined, this.#handlerFailed);
    } catch (err) {
      this.#handlerFailed(err);
    }
    return undefined;
  }

  readonly #handlerFailed = (err: unknown): void => {
    this.#log.warn(`RPC client "${this.name}": handler failed: ${errorText(err)}`);
  };

  #handleCall(frame: Frame, payload: Uint8Array): Promise<void> | undefined {
    const methodEnd = findMethodEnd(payload);
    if (methodEnd === -1) {
      this.#log.warn(`RPC client "${this.name}": invalid RPC request from "${frame.sender}"`);
      return undefined;
    }
    const id = readCallId(payload);
    const handler = this.#handlers.onCall;
    const streams = this.#streamServer;
    if (handler === undefined && streams === null) {
      if (id !== 0) this.#reply(frame, encodeErrorReply(id, RpcErrorCode.MethodNotFound, NOT_IMPLEMENTED));
      return undefined;
    }
    // handlers usually see the same few methods: reuse the decoded name
    if (!bytesEqual(payload, 5, methodEnd, this.#lastMethodBytes)) {
      this.#lastMethodBytes = payload.slice(5, methodEnd);
      this.#lastMethod = decodeUtf8(payload, 5, methodEnd);
    }
    const call = new RpcCall(
      frame,
      id,
      payload.subarray(5, methodEnd),
      payload.subarray(methodEnd + 1),
      this.#lastMethod,
    );
    let result: unknown;
    try {
      if (streams !== null && streams.serves(this.#lastMethod)) result = streams.open(call);
      else if (handler === undefined) throw new RpcError(RpcErrorCode.MethodNotFound, NOT_IMPLEMENTED);
      else result = handler.call(this.#handlers, call);
    } catch (err) {
      this.#replyError(call, err);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.#replyResult(call, value),
        (err) => this.#replyError(call, err),
      );
    }
    this.#replyResult(call, result);
    return undefined;
  }

  #replyResult(call: RpcCall, value: unknown): void {
    if (call.id === 0) return;
    let bytes: Uint8Array;
    try {
      bytes = packParams(value);
    } catch (err) {
      this.#replyError(call, err);
      return;
    }
    this.#reply(call.frame, encodeReply(call.id, bytes));
  }

  #replyError(call: RpcCall, err: unknown): void {
    if (!(err instanceof RpcError)) {
      this.#log.debug(`RPC client "${this.name}": call handler failed: ${errorText(err)}`);
    }
    if (call.id === 0) return;
    const code = err instanceof RpcError ? err.code : RpcErrorCode.Internal;
    const data = err instanceof RpcError ? err.data : err instanceof Error ? encodeUtf8(err.message) : EMPTY;
    this.#reply(call.frame, encodeErrorReply(call.id, code, data));
  }

  /** Hands a stream frame (docs/PROTOCOL.md §25) to the side it is for. */
  #routeStreamFrame(frame: Frame): boolean {
    if (frame.kind !== Op.Message) return false;
    const kind = frame.payload[0];
    if (kind === StreamKind.ToCaller) this.#streamCallerOf().receive(frame.sender, frame.payload);
    else if (kind === StreamKind.ToServer) this.#streamServerOf().receive(frame.sender, frame.payload);
    else return false;
    return true;
  }

  #streamCallerOf(): StreamCaller {
    if (this.#streamCaller === null) {
      this.#streamCaller = new StreamCaller({
        send: this.#sendStreamFrame,
        call: (target, method, params, options) => this.call(target, method, params, options),
        timeout: this.#timeoutMs === Infinity ? 0 : this.#timeoutMs / 1000,
      });
    }
    return this.#streamCaller;
  }

  #streamServerOf(): StreamServer {
    this.#streamServer ??= new StreamServer(this.#sendStreamFrame, DEFAULT_MAX_STREAMS);
    return this.#streamServer;
  }

  readonly #sendStreamFrame = (target: string, payload: Uint8Array): Promise<void> | undefined => {
    if (this.#closing) throw new RpcError(RpcErrorCode.Eof, `RPC client "${this.name}" is closed`);
    const acked = this.client.send(target, payload, this.#qos);
    return acked === undefined ? undefined : acked;
  };

  #shutdown(): void {
    this.#closing = true;
    const closed = new RpcError(RpcErrorCode.Eof, `RPC client "${this.name}" is closed`);
    this.#pending.close(closed);
    this.#streamCaller?.dropAll(closed);
    this.#streamServer?.dropAll(closed);
    const wake = this.#backlogSpace;
    this.#backlogSpace = null;
    wake?.();
    const secondary = this.#secondary;
    if (secondary !== null) secondary.then((s) => s.close(), () => {});
    this.#resolveClosed();
  }
}

/**
 * How many frames the client holds already received, when it tells
 * (`pendingFrames` of the IPC and in-process clients); 0 otherwise.
 */
function bufferedFrames(client: BusClient): () => number {
  const probe = client as BusClient & { readonly pendingFrames?: unknown };
  if (typeof probe.pendingFrames !== "number") return () => 0;
  return () => probe.pendingFrames as number;
}

function abortReason(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error ? reason : new DOMException(String(reason), "AbortError");
}

function timeoutToMs(seconds: number): number {
  if (!(seconds >= 0)) throw new RangeError(`Invalid timeout "${seconds}": must be a number of seconds ≥ 0`);
  return seconds === 0 ? Infinity : seconds * 1000;
}

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Invalid ${what} "${n}": must be an integer ≥ 1`);
  return n;
}

function toRpcErrorUnlessArgument(err: unknown): unknown {
  return err instanceof TypeError || err instanceof RangeError ? err : toRpcError(err);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether the client reports connection changes (a `ReconnectingClient`). */
function hasConnectionStatus(
  client: BusClient,
): client is BusClient & { status(): AsyncIterable<ConnectionStatus> } {
  return typeof (client as { status?: unknown }).status === "function";
}
