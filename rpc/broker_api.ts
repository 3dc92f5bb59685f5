/**
 * Typed calls to the broker's core RPC client `.broker` (§12): `test`,
 * `info`, `stats`, `client.list` and `benchmark.test`.
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
 * @example
 * ```ts ignore
 * console.assert(await brokerTest(rpc));
 * ```
 */
export async function brokerTest(rpc: RpcClient, options?: CallOptions): Promise<boolean> {
  const reply = expectMap<{ ok?: unknown }>(await callBroker(rpc, "test", undefined, options), "test");
  return reply.ok === true;
}

/**
 * Calls `.broker` `info`.
 *
 * @example
 * ```ts ignore
 * const { version } = await brokerInfo(rpc);
 * ```
 */
export async function brokerInfo(rpc: RpcClient, options?: CallOptions): Promise<BrokerInfo> {
  return expectMap<BrokerInfo>(await callBroker(rpc, "info", undefined, options), "info");
}

/**
 * Calls `.broker` `stats`: uptime and broker-wide frame/byte counters.
 *
 * @example
 * ```ts ignore
 * const { uptime, r_frames } = await brokerStats(rpc);
 * ```
 */
export async function brokerStats(rpc: RpcClient, options?: CallOptions): Promise<BrokerStats> {
  return expectMap<BrokerStats>(await callBroker(rpc, "stats", undefined, options), "stats");
}

/**
 * Calls `.broker` `client.list`: primary clients sorted by name, optionally
 * filtered by a regular expression (unanchored search on the name).
 *
 * @example
 * ```ts ignore
 * for (const c of await listClients(rpc, "^app")) console.log(c.name, c.kind, c.instances);
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
 * @example
 * ```ts ignore
 * const echo = await benchmarkTest(rpc, new Uint8Array(100));
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
