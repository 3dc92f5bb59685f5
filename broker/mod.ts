/**
 * The embeddable BUS/RT broker: in-process clients, unix and TCP listeners.
 *
 * @example
 * ```ts
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const listener = await broker.serveTcp("127.0.0.1:0");
 * console.log(listener.bind);
 * await broker.close();
 * ```
 *
 * @module
 */
export { Broker, type BrokerOptions, type BrokerStats, type ClientInfo } from "./broker.ts";
export { InProcessClient } from "./inprocess_client.ts";
export { type Accepted, type Acceptor, BrokerListener } from "./listener.ts";
export type { ServerConfig } from "./server_config.ts";
export type { AccessPolicy, ClientAcl, PeerInfo } from "./acl.ts";
export type { SessionOrigin } from "./ipc_session.ts";
export type { ClientKind, ClientSink, Delivery, RegisteredClient } from "./registered_client.ts";
export type { ResolvedServerConfig } from "./server_config.ts";
export type { Markable } from "./topics.ts";
