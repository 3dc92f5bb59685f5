/**
 * BUS/RT for Deno: a fast local IPC bus, wire-compatible with BUS/RT protocol v1.
 *
 * - {@linkcode Broker}: an embeddable broker with unix, TCP and TLS listeners,
 *   in-process clients and access control ({@linkcode AaaMap}).
 * - {@linkcode connect}: the socket client; {@linkcode BusClient} is the
 *   interface it shares with in-process clients.
 * - {@linkcode RpcClient}: calls, notifications and handlers over any client;
 *   {@linkcode enableCoreRpc} answers the `.broker` core RPC.
 *
 * Lower-level entry points: `@busrt/busrt/protocol` (the wire codec),
 * `@busrt/busrt/broker`, `@busrt/busrt/client` and `@busrt/busrt/rpc` (each
 * layer in full).
 *
 * @example Broker and two in-process clients
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, QoS } from "./mod.ts";
 * const broker = new Broker();
 * const a = broker.registerClient("a");
 * const b = broker.registerClient("b");
 * await b.subscribe("news/#", QoS.Processed);
 * a.publish("news/today", "hello");
 * for await (const frame of b) {
 *   assert.equal(frame.topic, "news/today");
 *   assert.equal(new TextDecoder().decode(frame.payload), "hello");
 *   break;
 * }
 * await broker.close();
 * ```
 *
 * @module
 */

// the wire: what every user of the bus names
export {
  type AckedQoS,
  BROKER_INFO_TOPIC,
  BROKER_NAME,
  BROKER_WARN_TOPIC,
  ErrorCode,
  type FrameKind,
  QoS,
  type UnackedQoS,
} from "./protocol/constants.ts";
export { BusError } from "./protocol/errors.ts";
export { Frame } from "./protocol/frame.ts";
export {
  consoleLogger,
  type LineLevel,
  logEvent,
  type LogFields,
  type LogFieldValue,
  type LogFormat,
  type Logger,
  type LogLevel,
} from "./log/logger.ts";

// clients
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
export { connectChannel, connectPort, type WorkerConnectOptions } from "./client/worker_connect.ts";
export type { BusClient, OpResult, Payload, QoSOperation } from "./client/bus_client.ts";
export type { TlsDialOptions } from "./transport/tls_dial.ts";
export { webSocketDial, type WebSocketDialOptions } from "./transport/ws_dial.ts";
export type { WebSocketLinkOptions, WebSocketViolation } from "./transport/ws_link.ts";
export type { Link } from "./transport/link.ts";

// the broker
export {
  Broker,
  type BrokerOptions,
  type BrokerStats,
  type ClientInfo,
  type WorkerPorts,
} from "./broker/broker.ts";
export { InProcessClient } from "./broker/inprocess_client.ts";
export { BrokerListener } from "./broker/listener.ts";
export type { ListenerOptions } from "./broker/listener_options.ts";
export type { ClientKind } from "./broker/registered_client.ts";
export type { AccessPolicy, ClientAcl, PeerInfo } from "./broker/access_policy.ts";
export { AaaMap, ClientAaa, type ClientAaaSpec, type PermissionSpec } from "./broker/aaa.ts";
export type { ServeOptions, TlsListenerOptions, TlsOptions } from "./broker/tls_listener.ts";
export type { WebSocketListenerOptions, WebSocketServeOptions } from "./broker/ws_listener.ts";
export { type BrokerConfig, loadBrokerConfig } from "./broker/config_file.ts";
export { HttpMonitor, type HttpMonitorOptions } from "./broker/http_monitor.ts";
export type {
  ListenerStats,
  MonitorClient,
  MonitorStats,
  MonitorSubscription,
  TrafficRates,
} from "./broker/monitor_snapshot.ts";

// RPC
export {
  type CallOptions,
  RpcClient,
  type RpcClientOptions,
  type RpcHandlerMode,
  type RpcHandlers,
  type SendOptions,
} from "./rpc/rpc_client.ts";
export { RpcCall, RpcNotification, RpcReply } from "./rpc/rpc_event.ts";
export { RpcError, RpcErrorCode, type RpcErrorOptions } from "./rpc/rpc_error.ts";
export { pack, unpack } from "./rpc/msgpack.ts";
export { CursorServer, type CursorServerOptions, type CursorSource } from "./rpc/cursor_server.ts";
export { openCursor, type OpenCursorOptions, RemoteCursor } from "./rpc/cursor_client.ts";
export { type BrokerInfo, brokerInfo, brokerStats, brokerTest, listClients } from "./rpc/broker_api.ts";
export { type CoreRpcOptions, enableCoreRpc } from "./rpc/core_rpc.ts";
export { type FifoChannel, type FifoChannelOptions, serveFifo } from "./rpc/fifo_channel.ts";
