/**
 * The BUS/RT RPC layer: calls, call0 and notifications over any bus client
 * (IPC or in-process), handlers for incoming calls, typed errors, MessagePack
 * that Rust `rmp-serde` peers accept, cursors, and the broker's `.broker`
 * core RPC.
 *
 * In blocking mode (the default) a handler must not make RPC calls through
 * its own client: use {@linkcode RpcClient.secondary} (see `rpc_client.ts`).
 *
 * ## Streaming calls
 *
 * Beyond request/reply, `RpcClient` streams (docs/PROTOCOL.md §25, an
 * extension between clients of this implementation, through any broker):
 * `callStream` (server streaming: an async iterable of items), `callUpload`
 * (client streaming: items in, one reply) and `callDuplex` (both ways), served
 * by `handleStream`, `handleUpload` and `handleDuplex`. The receiver grants
 * credit (`window` items), so a fast producer never floods a slow consumer's
 * broker queue; `break`, `cancel()` or an `AbortSignal` stop the producer (its
 * `ctx.signal` aborts, its iterator is returned); a wait for the next item
 * longer than `timeout` fails with -32120; handler errors reach the caller as
 * `RpcError` with their code; a peer that goes away ends the stream on the
 * other side. `streamStats()` counts the streams open. A plain call of a
 * streaming method (say `busrt rpc call`) gets error -32600 at once.
 *
 * @example Call a handler client and the broker
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { brokerTest, enableCoreRpc, RpcClient, RpcError } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const echo = new RpcClient(broker.registerClient("echo"), {
 *   handlers: {
 *     onCall(call) {
 *       if (call.method === "echo") return call.params;
 *       throw new RpcError(-32601, `no method "${call.method}"`);
 *     },
 *   },
 * });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const reply = await rpc.call("echo", "echo", { hello: "world" });
 * assert.deepEqual(reply.unpack(), { hello: "world" });
 * assert.equal(await brokerTest(rpc), true);
 * await rpc.close();
 * await echo.close();
 * await broker.close();
 * ```
 *
 * @example Stream items, stop early: the producer learns it
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * const feed = new RpcClient(broker.registerClient("feed"));
 * const stopped = Promise.withResolvers<boolean>();
 * feed.handleStream("ticks", async function* (_params, ctx) {
 *   try {
 *     for (let i = 0;; i++) yield i;
 *   } finally {
 *     stopped.resolve(ctx.signal.aborted);
 *   }
 * });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const seen: number[] = [];
 * for await (const n of rpc.callStream<number>("feed", "ticks", undefined, { window: 8 })) {
 *   seen.push(n);
 *   if (seen.length === 3) break;
 * }
 * assert.deepEqual(seen, [0, 1, 2]);
 * assert.equal(await stopped.promise, true);
 * await rpc.close();
 * await feed.close();
 * await broker.close();
 * ```
 *
 * @module
 */
export {
  type CallOptions,
  DEFAULT_RPC_BACKLOG,
  DEFAULT_RPC_CONCURRENCY,
  DEFAULT_RPC_TIMEOUT,
  RpcClient,
  type RpcClientOptions,
  type RpcHandlerMode,
  type RpcHandlers,
  type SendOptions,
  type StreamStats,
} from "./rpc_client.ts";
export { DuplexStream, type StreamCallOptions, StreamReader, type UploadOptions } from "./stream_caller.ts";
export {
  DEFAULT_STREAM_WINDOW,
  type DuplexHandler,
  type StreamContext,
  type StreamHandler,
  type StreamHandlerOptions,
  type StreamItems,
  type UploadHandler,
} from "./stream_server.ts";
export {
  encodeCredit,
  encodeOpen,
  encodeOpenReply,
  encodeStreamError,
  encodeStreamFrame,
  type OpenHeader,
  parseOpen,
  parseOpenReply,
  StreamKind,
  StreamMarker,
  StreamMode,
} from "./stream_wire.ts";
export { RpcCall, RpcIncoming, RpcNotification, RpcReply } from "./rpc_event.ts";
export {
  describeRpcCode,
  rpcCodeOfBusCode,
  RpcError,
  RpcErrorCode,
  type RpcErrorOptions,
  toRpcError,
} from "./rpc_error.ts";
export {
  encodeErrorReply,
  encodeNotification,
  encodeReply,
  encodeRequest,
  MAX_CALL_ID,
  readCallId,
  readErrorCode,
  RpcKind,
} from "./payload.ts";
export { msgpack, MsgpackCodec, type MsgpackOptions, pack, packParams, unpack } from "./msgpack.ts";
export { type CursorHandle, packCursorHandle, parseCursorHandle, randomCursorId } from "./cursor_handle.ts";
export { CursorServer, type CursorServerOptions, type CursorSource } from "./cursor_server.ts";
export { openCursor, type OpenCursorOptions, RemoteCursor } from "./cursor_client.ts";
export {
  benchmarkTest,
  type BrokerInfo,
  brokerInfo,
  type BrokerStats,
  brokerStats,
  brokerTest,
  type ClientInfo,
  listClients,
} from "./broker_api.ts";
export {
  CORE_METHODS,
  type CoreMethod,
  CoreRpc,
  type CoreRpcOptions,
  enableCoreRpc,
  parseClientListFilter,
} from "./core_rpc.ts";
export {
  type FifoChannel,
  type FifoChannelOptions,
  type FifoCommand,
  parseFifoLine,
  serveFifo,
} from "./fifo_channel.ts";
export {
  type PoolAttempt,
  type PoolCallAllOptions,
  PoolCallError,
  type PoolCallOptions,
  type PoolConnection,
  type PoolConnector,
  type PoolEvent,
  type PoolHeartbeatOptions,
  type PoolMember,
  type PoolResult,
  type PoolStrategy,
  RpcPool,
  type RpcPoolOptions,
} from "./pool.ts";
export { PhiAccrualDetector, type PhiAccrualOptions } from "./phi_accrual.ts";
export { convertParamValue, encodeKeyValueParams, type ParamValue } from "./key_value_params.ts";
