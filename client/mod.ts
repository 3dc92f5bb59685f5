/**
 * BUS/RT clients: the IPC client (unix socket or TCP) and the shared client interface.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * const client = await connect("/tmp/busrt.sock", { name: "app" });
 * await client.subscribe("sensors/#");
 * for await (const frame of client) console.log(frame.topic, frame.payload);
 * ```
 *
 * @module
 */
export { connect, type ConnectOptions, IpcClient } from "./ipc_client.ts";
export type { BusClient, OpResult, Payload, QoSOperation } from "./bus_client.ts";
export { FrameQueue } from "./frame_queue.ts";
export { tlsDial, type TlsDialOptions } from "../transport/tls_dial.ts";
