/**
 * The broker: the facade that composes the routing engine (a private
 * router), listeners and in-process clients. It never touches a socket
 * itself.
 *
 * @module
 */
import { BROKER_NAME, BROKER_WARN_TOPIC, DEFAULT_QUEUE_SIZE, ErrorCode } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { type ClientInfo, clientInfoOf, compareNames } from "./registered_client.ts";

export type { ClientInfo };
import { Router } from "./router.ts";
import { InProcessClient } from "./inprocess_client.ts";
import { type Acceptor, BrokerListener, parseBind } from "./listener.ts";
import { openTlsAcceptor, type ServeOptions, type TlsListenerOptions } from "./tls_listener.ts";
import type { ListenerOptions } from "./listener_options.ts";
import { openWebSocketAcceptor, type WebSocketListenerOptions } from "./ws_listener.ts";
import { listenWorkerPorts } from "../transport/worker_port.ts";
import { listenWorkerChannel } from "../transport/worker_channel.ts";
import { HttpMonitor, type HttpMonitorOptions } from "./http_monitor.ts";
import type { MonitorSource } from "./monitor_snapshot.ts";
import type { GatewayStats, RemoteGateway } from "./remote_gateway.ts";
import { GatewayPort } from "./gateway_port.ts";

/** A worker-port listener (see {@linkcode Broker.serveWorkerPorts}). */
export interface WorkerPorts {
  /** The listener: its options, its clients, `close()`. */
  readonly listener: BrokerListener;
  /**
   * Makes a gateway port for one worker; transfer it: `worker.postMessage(port, [port])`.
   *
   * @returns the worker's end of a new gateway
   */
  port(): MessagePort;
}

/** Broker-wide options. */
export interface BrokerOptions {
  /** Per-client outgoing queue size in frames (listeners may override). Default 8192. */
  queueSize?: number;
  /** A new primary with a taken name replaces the old connection. Default false. */
  forceRegister?: boolean;
  /** Where log lines go. Default: silent. */
  logger?: Logger;
}

/** Broker-wide traffic counters. */
export interface BrokerStats {
  /** Whole seconds since the broker was created. */
  uptime: number;
  /** Frames received from clients. */
  r_frames: number;
  /** Bytes received from clients. */
  r_bytes: number;
  /** Frames written to clients. */
  w_frames: number;
  /** Bytes written to clients. */
  w_bytes: number;
  /** The bridge's state, when one is attached (docs/CLUSTER.md). */
  bridge?: GatewayStats;
}

/**
 * An embeddable BUS/RT broker.
 *
 * @example Serve a unix socket and talk in-process
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const dir = await Deno.makeTempDir();
 * const listener = await broker.serveUnix(`${dir}/busrt.sock`);
 * assert.equal(listener.bind, `${dir}/busrt.sock`);
 * const a = broker.registerClient("a");
 * a.send("a", "hello to myself");
 * for await (const frame of a) {
 *   assert.equal(frame.sender, "a");
 *   assert.equal(new TextDecoder().decode(frame.payload), "hello to myself");
 *   break;
 * }
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Broker {
  /** Default per-client queue size. */
  readonly queueSize: number;
  /** Where the broker logs. */
  readonly log: Logger;

  readonly #router: Router;
  #listeners = new Set<BrokerListener>();
  #core: InProcessClient | null = null;
  #startedAt = Date.now();
  #closed = false;
  #workerListeners = 0;
  #defaultWorkerPorts: Promise<WorkerPorts> | null = null;
  #monitors = new Set<HttpMonitor>();

  /**
   * Creates a broker.
   *
   * @param options the default queue size, force-register and the logger
   */
  constructor(options: BrokerOptions = {}) {
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.log = options.logger ?? silentLogger;
    this.#router = new Router({
      queueSize: this.queueSize,
      forceRegister: options.forceRegister ?? false,
      logger: this.log,
    });
  }

  /** Whether a taken primary name is replaced instead of refused. */
  get forceRegister(): boolean {
    return this.#router.forceRegister;
  }
  set forceRegister(value: boolean) {
    this.#router.forceRegister = value;
  }

  // ---------------------------------------------------------------- clients

  /**
   * Whether a client with this exact name is registered.
   *
   * @param name the exact client name
   * @returns true when registered
   */
  isRegistered(name: string): boolean {
    return this.#router.lookup(name) !== undefined;
  }

  /** Names of all registered clients (primaries and secondaries). */
  clientNames(): string[] {
    return Array.from(this.#router.clients(), (c) => c.name);
  }

  /**
   * Registers an in-process client. Names are not validated (they may start
   * with `.`); a name with `%%` is a secondary and needs its primary.
   *
   * @param name the client name
   * @param options the client's queue size (default: the broker's)
   * @returns the registered client
   * @throws {BusError} 0x71 when a secondary's primary is absent, 0x76 when taken
   */
  registerClient(name: string, options: { queueSize?: number } = {}): InProcessClient {
    return InProcessClient.register(this.#router, name, options.queueSize ?? this.queueSize);
  }

  /**
   * Registers the next free secondary `<primary>%%<n>` of an in-process client.
   *
   * @param client the primary client
   * @returns the registered secondary
   * @throws {BusError} 0x71 when the primary is not registered
   */
  registerSecondaryFor(client: InProcessClient): InProcessClient {
    return client.registerSecondaryNow();
  }

  /**
   * Registers the core client `.broker`, which publishes the announcements
   * (`.broker/info` on registration changes, `.broker/warn` at shutdown).
   * The `.broker` core RPC (`enableCoreRpc` in `@busrt/busrt/rpc`) serves on it.
   *
   * @returns the core client (the same one on every call while it is registered)
   */
  registerCoreClient(): InProcessClient {
    if (this.#core !== null && this.#core.isConnected()) return this.#core;
    const core = this.registerClient(BROKER_NAME);
    this.#core = core;
    return core;
  }

  // ---------------------------------------------------------------- announcements

  /**
   * Publishes an announcement `{s: subject, d: data, t: now}` on `topic` as
   * `.broker`. Does nothing unless the core client is registered.
   *
   * @param topic the topic, e.g. `.broker/info`
   * @param subject the subject, e.g. `reg`
   * @param data the data (a client name), or `null` for none
   */
  announce(topic: string, subject: string, data: string | null = null): void {
    this.#router.announce(topic, subject, data);
  }

  /** Warns every client that the broker is shutting down (`.broker/warn`). */
  announceShutdown(): void {
    this.#router.announce(BROKER_WARN_TOPIC, "shutdown");
  }

  // ---------------------------------------------------------------- listeners

  /**
   * Listens on a unix socket. An existing stale socket file is replaced; a
   * live one (a broker answers on it) is an error.
   *
   * @example A socket for the owner and the group
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "./mod.ts";
   * const dir = await Deno.makeTempDir();
   * const broker = new Broker();
   * const listener = await broker.serveUnix(`${dir}/busrt.sock`, { timeout: 5, socketMode: 0o660 });
   * assert.equal((await Deno.stat(listener.bind)).mode! & 0o777, 0o660);
   * await broker.close();
   * await assert.rejects(Deno.stat(listener.bind), Deno.errors.NotFound);
   * await Deno.remove(dir);
   * ```
   *
   * @param path the socket file path
   * @param config listener settings
   * @returns the running listener
   */
  serveUnix(path: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    return this.#addListener((router) => BrokerListener.unix(router, path, config));
  }

  /**
   * Listens on TCP `host:port` (port 0 picks a free port: read `listener.bind`).
   *
   * @example Listen on a free port and connect to it
   * ```ts
   * import assert from "node:assert/strict";
   * import { connect } from "../client/mod.ts";
   * import { Broker } from "./mod.ts";
   * const broker = new Broker();
   * const listener = await broker.serveTcp("127.0.0.1:0");
   * assert.match(listener.bind, /^127\.0\.0\.1:[1-9]\d*$/);
   * const client = await connect(listener.bind, { name: "app" });
   * assert.equal(broker.clientList()[0].kind, "tcp");
   * await client.close();
   * await broker.close();
   * ```
   *
   * @param address `host:port`
   * @param config listener settings
   * @returns the running listener
   */
  serveTcp(address: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    return this.#addListener((router) => BrokerListener.tcp(router, address, config));
  }

  /**
   * Listens on a bind: a unix socket path (starting with `/` or ending
   * `.sock`, `.socket`, `.ipc`), `host:port`, `tls://host:port` (which
   * needs `cert` and `key`, see {@linkcode Broker.serveTls}), or
   * `ws://host:port[/path]` / `wss://…` (see {@linkcode Broker.serveWebSocket}).
   * `fifo:` binds are refused (an `AddressError`): they are not listeners.
   *
   * @example Serve a TCP, a unix and a WebSocket bind
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "./mod.ts";
   * const broker = new Broker();
   * const dir = await Deno.makeTempDir();
   * const tcp = await broker.serve("127.0.0.1:0", { timeout: 5 });
   * assert.match(tcp.bind, /^127\.0\.0\.1:\d+$/);
   * const unix = await broker.serve(`${dir}/busrt.sock`);
   * assert.equal(unix.bind, `${dir}/busrt.sock`);
   * const ws = await broker.serve("ws://127.0.0.1:0");
   * assert.match(ws.bind, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
   * await assert.rejects(broker.serve("fifo:/tmp/busrt.fifo"), TypeError);
   * await broker.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   *
   * @param bind where to listen
   * @param config listener settings; for `tls://` and `wss://` also the TLS
   *   material, for `ws://` and `wss://` the token
   * @returns the running listener
   * @throws {TypeError} (an `AddressError`) for a malformed or unserved bind,
   *   or a `tls://` or `wss://` bind without `cert` and `key`
   */
  async serve(bind: string, config: ServeOptions = {}): Promise<BrokerListener> {
    const addr = parseBind(bind);
    if (addr.transport === "unix") return await this.serveUnix(addr.path, config);
    if (addr.transport === "tcp") return await this.serveTcp(bind, config);
    if (addr.transport === "ws" || addr.transport === "wss") return await this.serveWebSocket(bind, config);
    const { cert, key } = config;
    if (cert === undefined || key === undefined) {
      throw new TypeError(`Cannot listen on "${bind}": a tls:// bind needs the cert and key options`);
    }
    return await this.serveTls(bind, { ...config, cert, key });
  }

  /**
   * Listens for TLS connections on `tls://host:port` (or `host:port`; port 0
   * picks a free port, see `listener.bind`). Clients are of kind `tcp`.
   *
   * With `requireClientCert`, a client without a valid certificate fails the
   * TLS handshake, and a client whose certificate names do not include its
   * primary name is refused with ERR_ACCESS (0x79), also when the listener
   * has no AAA map. Secondaries (`name%%x`) use their primary's certificate.
   *
   * @param address `tls://host:port` or `host:port`
   * @param config listener and TLS settings
   * @returns the running listener
   * @throws {TypeError} for a bad address or `requireClientCert` without `ca`
   */
  async serveTls(address: string, config: TlsListenerOptions): Promise<BrokerListener> {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot listen: the broker is closed");
    const plan = await openTlsAcceptor(address, config, this.#router.queueSize, this.log);
    return await this.serveAcceptor(plan.acceptor, plan.config);
  }

  /**
   * Listens for WebSocket connections on `ws://host:port[/path]`, or
   * `wss://…` with `cert` and `key` (port 0 picks a free port; the
   * listener's `bind` is the URL to dial). Binary messages carry the BUS/RT
   * byte stream; a text message, or one over the limits (`payloadLimit`
   * plus a batch), closes the connection. With a `path`, only that request
   * path is upgraded (404 otherwise); with a `token`, a request without it
   * gets 401; a plain HTTP request gets 426. The upgrade is bounded by
   * `timeout`. Clients are of kind `websocket`, their source is the peer
   * `ip:port`, and an access policy checks the peer IP. Client
   * certificates are not available over `wss://` (`Deno.serve` cannot ask
   * for them): use `tls://` for mutual TLS.
   *
   * @example A browser-reachable bind with a token
   * ```ts
   * import assert from "node:assert/strict";
   * import { connect } from "../client/mod.ts";
   * import { Broker } from "./mod.ts";
   * const broker = new Broker();
   * const listener = await broker.serveWebSocket("ws://127.0.0.1:0/bus", { token: "s3cret" });
   * const client = await connect(listener.bind, { name: "app", token: "s3cret" });
   * assert.equal(broker.clientList()[0].port, listener.bind);
   * await client.close();
   * await broker.close();
   * ```
   *
   * @param address `ws://host:port[/path]` or `wss://host:port[/path]`
   * @param config listener settings, the token, and for `wss://` the certificate and key
   * @returns the running listener
   * @throws {TypeError} for a bad address, `wss://` without `cert` and `key`, or client certificates asked for
   */
  async serveWebSocket(address: string, config: WebSocketListenerOptions = {}): Promise<BrokerListener> {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot listen: the broker is closed");
    const plan = await openWebSocketAcceptor(address, config, this.#router.queueSize, this.log);
    return await this.serveAcceptor(plan.acceptor, plan.config);
  }

  /**
   * Runs a session for every connection of `acceptor`: the extension point
   * for transports of your own (anything that yields byte streams). The
   * broker owns the acceptor from now on and closes it with the listener;
   * on an error (bad options, closed broker) it is closed at once.
   *
   * @example Plug in a custom acceptor
   * ```ts
   * import assert from "node:assert/strict";
   * import { type Acceptor, Broker } from "./mod.ts";
   * import { connect } from "../client/mod.ts";
   * const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const bind = `127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
   * const acceptor: Acceptor = {
   *   bind,
   *   async *[Symbol.asyncIterator]() {
   *     for await (const conn of server) {
   *       yield { link: conn, origin: { kind: "tcp", source: null, port: "custom", peer: { ip: null } } };
   *     }
   *   },
   *   close: () => server.close(),
   * };
   * const broker = new Broker();
   * const listener = await broker.serveAcceptor(acceptor, { timeout: 5 });
   * assert.equal(listener.bind, bind);
   * const client = await connect(bind, { name: "app", timeout: 5 });
   * assert.equal(broker.clientList()[0].port, "custom");
   * await client.close();
   * await broker.close();
   * ```
   *
   * @param acceptor the source of connections
   * @param config listener settings (`socketMode` does not apply)
   * @returns the running listener, whose `bind` is `acceptor.bind`
   */
  serveAcceptor(acceptor: Acceptor, config: ListenerOptions = {}): Promise<BrokerListener> {
    if (this.#closed) acceptor.close();
    return this.#addListener((router) => Promise.resolve(BrokerListener.accept(router, acceptor, config)));
  }

  /**
   * Serves clients in Web Workers over worker ports, the fast path: hand each
   * worker a gateway from `port()` (transfer it with `postMessage`); in the
   * worker, `connectPort(port, { name })` connects over it (secondaries too).
   * Frames travel in batches, one transferred buffer per `postMessage`.
   * Clients show as kind `worker`; the listener's options (timeout, queue
   * size, access policy…) apply as on any listener.
   *
   * @example A client on a worker port (in one thread here)
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "./mod.ts";
   * import { connectPort } from "../client/mod.ts";
   * const broker = new Broker();
   * const workers = await broker.serveWorkerPorts({ timeout: 5 });
   * const gateway = workers.port();
   * const client = await connectPort(gateway, { name: "worker.1" });
   * assert.equal(broker.clientList()[0].kind, "worker");
   * await client.close();
   * gateway.close();
   * await broker.close();
   * ```
   *
   * @param config listener settings (`socketMode` does not apply)
   * @returns the listener and the maker of gateway ports
   */
  async serveWorkerPorts(config: ListenerOptions = {}): Promise<WorkerPorts> {
    const acceptor = listenWorkerPorts(`worker:${++this.#workerListeners}`);
    const listener = await this.serveAcceptor(acceptor, config);
    return { listener, port: () => acceptor.gateway() };
  }

  /**
   * A gateway port for one worker, from a worker-port listener with the
   * broker's defaults (made on first use). See {@linkcode Broker.serveWorkerPorts}.
   *
   * @returns the port to transfer to a worker
   */
  async workerPort(): Promise<MessagePort> {
    this.#defaultWorkerPorts ??= this.serveWorkerPorts();
    return (await this.#defaultWorkerPorts).port();
  }

  /**
   * Serves clients in Web Workers that know only a channel name: in the
   * worker, `connectChannel(name, { name: clientName })` finds this broker
   * over a `BroadcastChannel`, with no port to hand over. Slower than
   * worker ports (see `docs/WORKERS.md`); clients show as kind `worker`,
   * the listener's bind is `channel:NAME`.
   *
   * @param name the channel name
   * @param config listener settings (`socketMode` does not apply)
   * @returns the running listener
   */
  serveChannel(name: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    return this.serveAcceptor(listenWorkerChannel(name), config);
  }

  async #addListener(open: (router: Router) => Promise<BrokerListener>): Promise<BrokerListener> {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot listen: the broker is closed");
    const listener = await open(this.#router);
    if (this.#closed) {
      await listener.close();
      throw new BusError(ErrorCode.Other, "Cannot listen: the broker is closed");
    }
    this.#listeners.add(listener);
    listener.closed.then(() => this.#listeners.delete(listener));
    this.log.info(`listening on ${listener.bind}`);
    return listener;
  }

  /** The active listeners. */
  get listeners(): readonly BrokerListener[] {
    return [...this.#listeners];
  }

  // ---------------------------------------------------------------- monitoring

  /**
   * Serves the read-only HTTP monitoring endpoint (docs/MONITORING.md):
   * `GET /healthz` (200 `ok` while listeners are up, 503 once
   * {@linkcode Broker.close} has begun), `/api/stats`, `/api/clients`
   * (`?filter=` as `client.list`), `/api/subscriptions`, `/metrics`
   * (Prometheus), `/api/events` (Server-Sent Events) and `/`, a live dashboard. With a `token`, requests without it get 401. It stays up
   * until the broker has closed. Nothing of it runs while none is served.
   *
   * @example Health and statistics over HTTP
   * ```ts
   * import assert from "node:assert/strict";
   * import { Broker } from "./mod.ts";
   * const broker = new Broker();
   * await broker.serveTcp("127.0.0.1:0");
   * const http = await broker.serveHttp({ hostname: "127.0.0.1", port: 0, token: "s3cret" });
   * const auth = { headers: { authorization: "Bearer s3cret" } };
   * const health = await fetch(`${http.url}/healthz`, auth);
   * assert.equal(await health.text(), "ok\n");
   * const stats = await (await fetch(`${http.url}/api/stats`, auth)).json();
   * assert.equal(stats.listeners.length, 1);
   * const refused = await fetch(`${http.url}/api/stats`);
   * assert.equal(refused.status, 401);
   * await refused.body?.cancel();
   * await broker.close();
   * ```
   *
   * @param options where to listen (default `127.0.0.1`, port 0), the token, per-client metrics
   * @returns the running endpoint (`url`, `port`, `close()`)
   */
  async serveHttp(options: HttpMonitorOptions = {}): Promise<HttpMonitor> {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot serve HTTP: the broker is closed");
    const monitor = await HttpMonitor.open(this.#monitorSource(), options, this.log);
    this.#monitors.add(monitor);
    monitor.finished.then(() => this.#monitors.delete(monitor));
    this.log.info(`HTTP monitoring on ${monitor.url}`);
    return monitor;
  }

  #monitorSource(): MonitorSource {
    // deno-lint-ignore no-this-alias
    const broker = this;
    return {
      router: this.#router,
      startedAt: this.#startedAt,
      get listeners() {
        return broker.listeners;
      },
      get closing() {
        return broker.#closed;
      },
    };
  }

  // ---------------------------------------------------------------- bridge

  /**
   * Attaches a bridge to brokers on other hosts (the `bridge/` module does
   * this, see docs/CLUSTER.md): messages to names no local client has and
   * broadcasts to `@` masks go to `gateway`; the returned port injects
   * frames from other hosts and subscribes the export patterns. One bridge
   * at a time.
   *
   * @param gateway the bridge
   * @returns the bridge's handle on this broker
   * @throws {Error} when a bridge is attached already or the broker is closed
   */
  attachGateway(gateway: RemoteGateway): GatewayPort {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot attach a bridge: the broker is closed");
    if (this.#router.gateway !== null) throw new Error("Cannot attach a bridge: one is attached already");
    return new GatewayPort(this.#router, gateway);
  }

  // ---------------------------------------------------------------- admin

  /**
   * Disconnects an IPC client (and its secondaries) without a message; `unreg`
   * is announced for a primary.
   *
   * @param name the exact client name
   * @throws {BusError} 0x71 for an unknown name, 0x75 for an in-process client
   */
  forceDisconnect(name: string): void {
    const c = this.#router.lookup(name);
    if (c === undefined) {
      throw new BusError(ErrorCode.NotRegistered, `Cannot disconnect "${name}": not registered`);
    }
    if (c.origin.kind === "internal") {
      throw new BusError(ErrorCode.NotSupported, `Cannot disconnect "${name}": it is an in-process client`);
    }
    this.log.info(`client "${name}" force-disconnected`);
    this.#router.drop(c, "force-disconnected", false);
  }

  /** Broker-wide counters. */
  stats(): BrokerStats {
    const t = this.#router.totals;
    const stats: BrokerStats = {
      uptime: Math.floor((Date.now() - this.#startedAt) / 1000),
      r_frames: t.rFrames,
      r_bytes: t.rBytes,
      w_frames: t.wFrames,
      w_bytes: t.wBytes,
    };
    const gateway = this.#router.gateway;
    if (gateway !== null) stats.bridge = gateway.stats();
    return stats;
  }

  /**
   * Primary clients sorted by name, optionally filtered by an unanchored regex search.
   *
   * @param filter a regular expression the names must match
   * @returns the primary clients
   */
  clientList(filter?: RegExp): ClientInfo[] {
    const out: ClientInfo[] = [];
    for (const c of this.#router.clients()) {
      if (c.isSecondary) continue;
      if (filter !== undefined && !filter.test(c.name)) continue;
      out.push(clientInfoOf(c));
    }
    return out.sort((a, b) => compareNames(a.name, b.name));
  }

  /** Whether {@linkcode Broker.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Stops every listener (unix socket files are removed), disconnects every
   * client and ends in-process clients. HTTP monitoring endpoints answer
   * 503 on `/healthz` from the start and stop last.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true; // first: /healthz answers 503 from now on
    this.#router.close();
    const listeners = [...this.#listeners];
    await Promise.all(listeners.map((l) => l.close()));
    this.#router.disconnectAll();
    await Promise.all(listeners.map((l) => l.drained()));
    this.#router.warnings.flush();
    this.#core = null;
    await Promise.all([...this.#monitors].map((m) => m.close()));
  }
}
