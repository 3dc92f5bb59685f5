/**
 * The embeddable BUS/RT broker: in-process clients, unix, TCP, TLS and WebSocket listeners
 * (or any `Acceptor`, see `broker.serveAcceptor`), the address grammar of
 * binds (`parseAddress`, `parseBind`), AAA. Free of npm dependencies; the
 * `.broker` core RPC (`enableCoreRpc`), which needs MessagePack, comes from
 * `@busrt/busrt/rpc`.
 *
 * @example A TCP listener and an in-process client
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const listener = await broker.serveTcp("127.0.0.1:0");
 * assert.deepEqual(broker.listeners, [listener]);
 * const app = broker.registerClient("app");
 * assert.deepEqual(broker.clientList().map((c) => [c.name, c.kind]), [["app", "internal"]]);
 * await broker.close();
 * assert.ok(!app.isConnected());
 * ```
 *
 * @module
 */
export { Broker, type BrokerOptions, type BrokerStats, type ClientInfo, type WorkerPorts } from "./broker.ts";
export { InProcessClient } from "./inprocess_client.ts";
export {
  type Accepted,
  type AcceptedOrigin,
  type Acceptor,
  BrokerListener,
  type ConnectionKind,
  parseBind,
  type ServableAddress,
  SERVED_FORMS,
} from "./listener.ts";
export type { Link } from "../transport/link.ts";
export {
  ADDRESS_FORMS,
  AddressError,
  type AddressErrorOptions,
  type AddressTransport,
  type BusAddress,
  FIFO_PREFIX,
  type FifoAddress,
  formatAddress,
  formatHost,
  formatHostPort,
  parseAddress,
  type TcpAddress,
  type TlsAddress,
  UNIX_SOCKET_SUFFIXES,
  type UnixAddress,
  type WebSocketAddress,
  WS_SCHEME,
  WSS_SCHEME,
} from "../transport/address.ts";
export type { ListenerOptions, ResolvedListenerOptions } from "./listener_options.ts";
export type { AccessPolicy, ClientAcl, PeerInfo } from "./access_policy.ts";
export type { ClientKind } from "./registered_client.ts";
export { AaaMap, ClientAaa, type ClientAaaSpec, type PermissionSpec } from "./aaa.ts";
export { type IpAddress, IpNetwork, parseIp } from "./ip_network.ts";
export {
  FilterTooCostlyError,
  NameFilter,
  NameFilterError,
  NameSearch,
  selectByName,
  type SelectOptions,
} from "./name_filter.ts";
export {
  certificateBoundPolicy,
  type CertificateIdentity,
  type CertificateReader,
  loadCertificateReader,
  type ServeOptions,
  TLS_SCHEME,
  type TlsListenerOptions,
  type TlsOptions,
} from "./tls_listener.ts";
export type { WebSocketListenerOptions, WebSocketServeOptions } from "./ws_listener.ts";
export { HTTP_FILTER_MAX_WORK, HttpMonitor, type HttpMonitorOptions, parseHttpBind } from "./http_monitor.ts";
export type {
  ListenerStats,
  MonitorClient,
  MonitorStats,
  MonitorSubscription,
  TrafficRates,
} from "./monitor_snapshot.ts";
export {
  METRICS_CONTENT_TYPE,
  MetricsText,
  type MetricType,
  renderMetrics,
  type Sample,
} from "./prometheus.ts";
export {
  applyBrokerConfig,
  type ApplyConfigOptions,
  type BindTransport,
  type BridgeConfig,
  type BrokerConfig,
  brokerOptionsFromConfig,
  type HttpConfig,
  type ListenerConfig,
  type ListenerTlsConfig,
  loadBrokerConfig,
  parseBrokerConfig,
} from "./config_file.ts";
export {
  detachedAck,
  GATEWAY_CLIENT_NAME,
  type GatewayStats,
  isDetachedAck,
  type RemoteGateway,
} from "./remote_gateway.ts";
export { GatewayPort } from "./gateway_port.ts";
