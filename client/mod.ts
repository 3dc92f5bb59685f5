/**
 * BUS/RT clients: the IPC client (unix socket, TCP, TLS or WebSocket) and the shared client interface.
 *
 * @example Subscribe over a unix socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { QoS } from "../protocol/mod.ts";
 * import { connect } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const broker = new Broker();
 * await broker.serveUnix(`${dir}/busrt.sock`);
 * const client = await connect(`${dir}/busrt.sock`, { name: "app" });
 * await client.subscribe("sensors/#", QoS.Processed);
 * broker.registerClient("sensor").publish("sensors/t1", "21.5");
 * for await (const frame of client) {
 *   assert.equal(frame.topic, "sensors/t1");
 *   assert.equal(new TextDecoder().decode(frame.payload), "21.5");
 *   break;
 * }
 * await client.close();
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { connect, type ConnectOptions, IpcClient, type ReconnectingConnectOptions } from "./ipc_client.ts";
export { connectChannel, connectPort, type WorkerConnectOptions } from "./worker_connect.ts";
export {
  type ClientConnection,
  type ConnectionStatus,
  ReconnectingClient,
  type ReconnectOptions,
} from "./reconnecting_client.ts";
export type { BusClient, OpResult, Payload, QoSOperation } from "./bus_client.ts";
export { FrameQueue } from "./frame_queue.ts";
export { tlsDial, type TlsDialOptions } from "../transport/tls_dial.ts";
export { webSocketDial, type WebSocketDialOptions, webSocketUrl } from "../transport/ws_dial.ts";
export type { WebSocketLinkOptions, WebSocketViolation } from "../transport/ws_link.ts";
export type { Link } from "../transport/link.ts";
