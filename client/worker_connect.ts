/**
 * Connecting from a Web Worker to a broker in another thread of the same
 * process: over a gateway port the broker handed to the worker (fast), or
 * over a named `BroadcastChannel` (no wiring). The result is an ordinary
 * {@linkcode IpcClient}: the same operations, frames, QoS ACKs, RPC layer
 * and secondaries as over a socket.
 *
 * @example A worker's side (run here in one thread)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, QoS } from "@busrt/busrt";
 * import { connectChannel } from "./worker_connect.ts";
 * const broker = new Broker();
 * await broker.serveChannel("busrt-example");
 * const client = await connectChannel("busrt-example", { name: "worker.a" });
 * const local = broker.registerClient("local");
 * await client.send("local", "hello", QoS.Processed);
 * const { value } = await local[Symbol.asyncIterator]().next();
 * assert.equal(value?.sender, "worker.a");
 * await client.close();
 * await broker.close();
 * ```
 *
 * @module
 */
import { connect, type ConnectOptions, type IpcClient } from "./ipc_client.ts";
import { dialWorkerPort } from "../transport/worker_port.ts";
import { CHANNEL_PREFIX, dialWorkerChannel } from "../transport/worker_channel.ts";

/** {@linkcode ConnectOptions} for worker connections (the transport is given, so no `dial` or `tls`). */
export type WorkerConnectOptions = Omit<ConnectOptions, "dial" | "tls">;

/**
 * Connects over a gateway port from `broker.workerPort()` or
 * `broker.serveWorkerPorts().port()`, transferred to this worker.
 *
 * @param gateway the gateway port
 * @param options the name to register, timeouts and buffers
 * @returns the registered client
 */
export function connectPort(gateway: MessagePort, options: WorkerConnectOptions): Promise<IpcClient> {
  return connect("worker:port", { ...options, dial: () => Promise.resolve(dialWorkerPort(gateway)) });
}

/**
 * Connects to the broker serving the broadcast channel `channel`
 * (`broker.serveChannel(channel)`).
 *
 * @param channel the channel name
 * @param options the name to register, timeouts and buffers
 * @returns the registered client
 */
export function connectChannel(channel: string, options: WorkerConnectOptions): Promise<IpcClient> {
  return connect(`${CHANNEL_PREFIX}${channel}`, {
    ...options,
    dial: () => Promise.resolve(dialWorkerChannel(channel)),
  });
}
