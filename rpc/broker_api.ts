/**
 * Typed calls to the broker's core RPC client `.broker`
 * (docs/PROTOCOL.md §12): `test`, `info`, `stats`, `client.list` and
 * `benchmark.test`.
 *
 * @module
 */
import { BROKER_NAME } from "../protocol/constants.ts";
import type { BrokerStats, ClientInfo } from "../broker/broker.ts";
import type { CallOptions, RpcClient } from "./rpc_client.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

export type { BrokerStats, ClientInfo };

/** Reply of the `.broker` `info` method. */
export interface BrokerInfo {
  /** Author string of the broker. */
  author: string;
  /** Broker (protocol-compatible crate) version. */
  version: string;
}

/**
 * Calls `.broker` `test`; resolves with the `ok` field of the reply.
 *
 * @param rpc the RPC client making the call
 * @param options call options (timeout, QoS)
 * @returns whether the broker replied `{ok: true}`
 *
 * @example Test the broker
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { brokerTest, enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * assert.equal(await brokerTest(rpc), true);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export async function brokerTest(rpc: RpcClient, options?: CallOptions): Promise<boolean> {
  const reply = expectMap<{ ok?: unknown }>(await callBroker(rpc, "test", undefined, options), "test");
  return reply.ok === true;
}

/**
 * Calls `.broker` `info`.
 *
 * @param rpc the RPC client making the call
 * @param options call options (timeout, QoS)
 * @returns the broker's author and version
 *
 * @example Read the broker version
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { VERSION } from "../protocol/mod.ts";
 * import { brokerInfo, enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const { version } = await brokerInfo(rpc);
 * assert.equal(version, VERSION);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export async function brokerInfo(rpc: RpcClient, options?: CallOptions): Promise<BrokerInfo> {
  return expectMap<BrokerInfo>(await callBroker(rpc, "info", undefined, options), "info");
}

/**
 * Calls `.broker` `stats`: uptime and broker-wide frame/byte counters.
 *
 * @param rpc the RPC client making the call
 * @param options call options (timeout, QoS)
 * @returns the broker's uptime and traffic counters
 *
 * @example Read the broker counters
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { brokerStats, enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const { uptime, r_frames } = await brokerStats(rpc);
 * assert.ok(uptime >= 0 && r_frames >= 0);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export async function brokerStats(rpc: RpcClient, options?: CallOptions): Promise<BrokerStats> {
  return expectMap<BrokerStats>(await callBroker(rpc, "stats", undefined, options), "stats");
}

/**
 * Calls `.broker` `client.list`: primary clients sorted by name, optionally
 * filtered by a regular expression (unanchored search on the name).
 *
 * @param rpc the RPC client making the call
 * @param filter a regular expression the client names must match
 * @param options call options (timeout, QoS)
 * @returns the matching clients
 *
 * @example List the clients whose name starts with "app"
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { enableCoreRpc, listClients, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const other = broker.registerClient("other");
 * const clients = await listClients(rpc, "^app");
 * assert.deepEqual(clients.map((c) => [c.name, c.kind, c.instances]), [["app", "internal", 1]]);
 * await other.close();
 * await rpc.close();
 * await broker.close();
 * ```
 */
export async function listClients(
  rpc: RpcClient,
  filter?: string,
  options?: CallOptions,
): Promise<ClientInfo[]> {
  const params = filter === undefined ? undefined : { filter };
  const reply = expectMap<{ clients?: unknown }>(
    await callBroker(rpc, "client.list", params, options),
    "client.list",
  );
  if (!Array.isArray(reply.clients)) {
    throw new RpcError(RpcErrorCode.Parse, `Invalid "client.list" reply: "clients" is not an array`);
  }
  return reply.clients as ClientInfo[];
}

/**
 * Calls `.broker` `benchmark.test`, which echoes the params; resolves with
 * the echoed bytes.
 *
 * @param rpc the RPC client making the call
 * @param payload the bytes to send as params
 * @param options call options (timeout, QoS)
 * @returns the bytes echoed by the broker
 *
 * @example Echo 100 bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { benchmarkTest, enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const payload = new Uint8Array(100).fill(7);
 * assert.deepEqual(await benchmarkTest(rpc, payload), payload);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export async function benchmarkTest(
  rpc: RpcClient,
  payload: Uint8Array,
  options?: CallOptions,
): Promise<Uint8Array> {
  return (await rpc.call(BROKER_NAME, "benchmark.test", payload, options)).payload;
}

async function callBroker(
  rpc: RpcClient,
  method: string,
  params: unknown,
  options?: CallOptions,
): Promise<unknown> {
  return (await rpc.call(BROKER_NAME, method, params, options)).unpack();
}

function expectMap<T>(value: unknown, method: string): T {
  if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new RpcError(RpcErrorCode.Parse, `Invalid "${method}" reply: expected a map`);
  }
  return value as T;
}
