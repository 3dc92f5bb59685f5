/**
 * The embeddable BUS/RT broker: in-process clients, unix, TCP and TLS listeners,
 * AAA. Free of npm dependencies; the `.broker` core RPC (`enableCoreRpc`), which
 * needs MessagePack, comes from `@busrt/busrt/rpc`.
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
export type { ListenerOptions } from "./listener_options.ts";
export type { AccessPolicy, ClientAcl, PeerInfo } from "./access_policy.ts";
export type { SessionOrigin } from "./ipc_session.ts";
export type { ClientKind, ClientSink, Delivery, RegisteredClient } from "./registered_client.ts";
export type { ResolvedListenerOptions } from "./listener_options.ts";
export type { Markable } from "./topics.ts";
export { AaaMap, ClientAaa, type ClientAaaSpec, type PermissionSpec } from "./aaa.ts";
export { type IpAddress, IpNetwork, parseIp } from "./ip_network.ts";
export {
  certificateBoundPolicy,
  certificateNames,
  serveTls,
  TLS_SCHEME,
  type TlsListenerOptions,
  type TlsOptions,
} from "./tls_listener.ts";
export {
  applyBrokerConfig,
  type ApplyConfigOptions,
  type BindTransport,
  type BrokerConfig,
  brokerOptionsFromConfig,
  type ListenerConfig,
  type ListenerTlsConfig,
  loadBrokerConfig,
  parseBrokerConfig,
} from "./config_file.ts";
