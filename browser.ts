/**
 * busrt in a web page: the client over WebSocket and the RPC layer, with the
 * same `BusClient` interface, batching, QoS ACKs and RPC calls as the
 * socket client. Nothing here needs `Deno`; `deno task bundle:browser`
 * turns this module into one ES module, `dist/busrt.browser.js` (see
 * `examples/browser/`). A broker serves browsers on a `ws://` or `wss://`
 * bind (`busrt serve -B ws://0.0.0.0:7780`); a token goes in the `token`
 * query parameter, since browsers cannot set WebSocket headers.
 *
 * @example Connect, call `.broker test`, publish (here in Deno, with a broker in-process)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, enableCoreRpc } from "./mod.ts";
 * import { brokerTest, connect, QoS, RpcClient } from "./browser.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const listener = await broker.serve("ws://127.0.0.1:0", { token: "s3cret" });
 * const client = await connect(listener.bind, { name: "page", webSocket: { token: "s3cret", tokenIn: "query" } });
 * const rpc = new RpcClient(client);
 * assert.equal(await brokerTest(rpc), true);
 * await client.publish("page/status", "ready", QoS.Processed);
 * await rpc.close();
 * await client.close();
 * await broker.close();
 * ```
 *
 * @module
 */

// the wire
export {
  type AckedQoS,
  BROKER_INFO_TOPIC,
  BROKER_NAME,
  BROKER_WARN_TOPIC,
  ErrorCode,
  type FrameKind,
  Op,
  QoS,
  type UnackedQoS,
} from "./protocol/constants.ts";
export { BusError } from "./protocol/errors.ts";
export { Frame } from "./protocol/frame.ts";
export { consoleLogger, type Logger, type LogLevel } from "./log/logger.ts";

// the client over WebSocket
export {
  connect,
  type ConnectOptions,
  IpcClient,
  type ReconnectingConnectOptions,
} from "./client/ipc_client.ts";
export {
  type ConnectionStatus,
  ReconnectingClient,
  type ReconnectOptions,
} from "./client/reconnecting_client.ts";
export type { BusClient, OpResult, Payload, QoSOperation } from "./client/bus_client.ts";
export { webSocketDial, type WebSocketDialOptions, webSocketUrl } from "./transport/ws_dial.ts";
export type { WebSocketLinkOptions, WebSocketViolation } from "./transport/ws_link.ts";
export type { Link } from "./transport/link.ts";
export type { TlsDialOptions } from "./transport/tls_dial.ts";
export type { ClientKind } from "./broker/registered_client.ts";

// RPC
export {
  type CallOptions,
  RpcClient,
  type RpcClientOptions,
  type RpcHandlerMode,
  type RpcHandlers,
  type SendOptions,
} from "./rpc/rpc_client.ts";
export { RpcCall, RpcIncoming, RpcNotification, RpcReply } from "./rpc/rpc_event.ts";
export { RpcError, RpcErrorCode, type RpcErrorOptions } from "./rpc/rpc_error.ts";
export { pack, unpack } from "./rpc/msgpack.ts";
export { openCursor, type OpenCursorOptions, RemoteCursor } from "./rpc/cursor_client.ts";
export {
  type BrokerInfo,
  brokerInfo,
  type BrokerStats,
  brokerStats,
  brokerTest,
  type ClientInfo,
  listClients,
} from "./rpc/broker_api.ts";
