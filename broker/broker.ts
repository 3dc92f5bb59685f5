/**
 * The broker: client registry, routing of messages, broadcasts and
 * publications, statistics and announcements. Transports (listeners) and
 * in-process clients feed it; it never touches a socket itself.
 *
 * @module
 */
import {
  BROKER_INFO_TOPIC,
  BROKER_NAME,
  BROKER_WARN_TOPIC,
  DEFAULT_QUEUE_SIZE,
  ErrorCode,
  Op,
} from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { encodeUtf8 } from "../protocol/text.ts";
import { encodeAnnouncement } from "./announcement.ts";
import { type ClientKind, Delivery, type RegisteredClient } from "./registered_client.ts";
import { matchSegments, TopicTree } from "./topics.ts";
import { InProcessClient } from "./inprocess_client.ts";
import { BrokerListener } from "./listener.ts";
import type { ListenerOptions } from "./listener_options.ts";

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
}

/** One row of `client.list`. Keys and order as the reference. */
export interface ClientInfo {
  /** Client name. */
  name: string;
  /** `internal`, `local_ipc`, `tcp` or `websocket`. */
  kind: ClientKind;
  /** Peer `ip:port`, or null. */
  source: string | null;
  /** Listener bind string, or null for internal clients. */
  port: string | null;
  /** Frames received from the client. */
  r_frames: number;
  /** Bytes received from the client. */
  r_bytes: number;
  /** Frames sent to the client. */
  w_frames: number;
  /** Bytes sent to the client. */
  w_bytes: number;
  /** Frames waiting in its queue. */
  queue: number;
  /** 1 + registered secondaries. */
  instances: number;
}

/**
 * An embeddable BUS/RT broker.
 *
 * @example Serve a unix socket and talk in-process
 * ```ts
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const dir = await Deno.makeTempDir();
 * await broker.serveUnix(`${dir}/busrt.sock`);
 * const a = broker.registerClient("a");
 * a.send("a", "hello to myself");
 * for await (const frame of a) {
 *   console.log(frame.sender, new TextDecoder().decode(frame.payload));
 *   break;
 * }
 * await broker.close();
 * ```
 */
export class Broker {
  /** Default per-client queue size. */
  readonly queueSize: number;
  /** Whether a taken primary name is replaced instead of refused. */
  forceRegister: boolean;
  /** Where the broker logs. */
  readonly log: Logger;

  #clients = new Map<string, RegisteredClient>();
  #subscriptions = new TopicTree<RegisteredClient>();
  #listeners = new Set<BrokerListener>();
  #inProcess = new Set<InProcessClient>();
  // Recipient lists are pooled, not shared: routing can re-enter itself
  // (dropping an overflowed client announces `unreg`, which is a publication).
  #scratchPool: RegisteredClient[][] = [];
  #core: InProcessClient | null = null;
  #startedAt = Date.now();
  #closed = false;
  #rFrames = 0;
  #rBytes = 0;
  #wFrames = 0;
  #wBytes = 0;
  #broadcastMask = "";
  #broadcastSegs: string[] = [];

  /** Creates a broker. */
  constructor(options: BrokerOptions = {}) {
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.forceRegister = options.forceRegister ?? false;
    this.log = options.logger ?? silentLogger;
  }

  // ---------------------------------------------------------------- registry

  /**
   * Registers a client record. Returns the protocol code: OK, or 0x71 (the
   * primary of a secondary is absent) / 0x76 (name taken).
   * @internal
   */
  register(entry: RegisteredClient): number {
    if (this.#closed) return ErrorCode.Other;
    let primary: RegisteredClient | null = null;
    if (entry.isSecondary) {
      primary = this.#clients.get(entry.primary) ?? null;
      if (primary === null) return ErrorCode.NotRegistered;
    }
    const existing = this.#clients.get(entry.name);
    if (existing !== undefined) {
      if (!this.forceRegister || entry.isSecondary) return ErrorCode.Busy;
      this.log.info(`client "${entry.name}" replaced by a new connection`);
      this.unregister(existing, false);
      existing.sink.disconnect("replaced by a new registration", false);
    }
    this.#clients.set(entry.name, entry);
    entry.registered = true;
    if (primary !== null) {
      entry.primaryClient = primary;
      (primary.secondaries ??= new Set()).add(entry);
    }
    this.subscribe(entry, BROKER_WARN_TOPIC);
    if (!entry.isSecondary) this.announce(BROKER_INFO_TOPIC, "reg", entry.name);
    this.log.debug(`client "${entry.name}" registered (${entry.kind})`);
    return ErrorCode.Ok;
  }

  /**
   * Removes a client from the table with its subscriptions. Secondaries of a
   * primary are dropped and disconnected too. `announce` emits `unreg` for primaries.
   * @internal
   */
  unregister(entry: RegisteredClient, announce: boolean): void {
    if (!entry.registered) return;
    entry.registered = false;
    if (this.#clients.get(entry.name) === entry) this.#clients.delete(entry.name);
    for (const pattern of entry.subscriptions) this.#subscriptions.remove(pattern, entry);
    entry.subscriptions.clear();
    entry.exclusions = null;
    if (entry.primaryClient !== null) entry.primaryClient.secondaries?.delete(entry);
    if (entry.secondaries !== null && entry.secondaries.size > 0) {
      const secondaries = [...entry.secondaries];
      entry.secondaries.clear();
      for (const s of secondaries) {
        this.unregister(s, false);
        s.sink.disconnect(`primary "${entry.name}" left`, false);
      }
    }
    if (announce && !entry.isSecondary) this.announce(BROKER_INFO_TOPIC, "unreg", entry.name);
    this.log.debug(`client "${entry.name}" unregistered`);
  }

  /** Looks up a registered client by its full name. @internal */
  lookup(name: string): RegisteredClient | undefined {
    return this.#clients.get(name);
  }

  /** Whether a client with this exact name is registered. */
  isRegistered(name: string): boolean {
    return this.#clients.has(name);
  }

  /** Names of all registered clients (primaries and secondaries). */
  clientNames(): string[] {
    return [...this.#clients.keys()];
  }

  // ---------------------------------------------------------------- routing

  /**
   * Routes a direct message. Returns the ACK code, or a promise of it when an
   * in-process target's queue is full.
   * @internal
   */
  routeMessage(
    sender: RegisteredClient,
    target: RegisteredClient | undefined,
    realtime: boolean,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    bodyLen: number,
  ): number | Promise<number> {
    this.countReceived(sender, bodyLen);
    if (target === undefined || !target.registered) return ErrorCode.NotRegistered;
    const r = target.sink.deliver(Op.Message, realtime, sender, null, null, src, payloadStart, payloadEnd);
    if (r === Delivery.Queued) {
      this.#countWrite(target, bodyLen);
      return ErrorCode.Ok;
    }
    if (r === Delivery.Overflow) {
      this.#dropOverflowed(target);
      return ErrorCode.NotDelivered;
    }
    return r.then((d) => {
      if (d === Delivery.Overflow) return ErrorCode.NotDelivered;
      this.#countWrite(target, bodyLen);
      return ErrorCode.Ok;
    });
  }

  /** Routes a broadcast to every client matching `mask`. @internal */
  routeBroadcast(
    sender: RegisteredClient,
    mask: string,
    realtime: boolean,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    bodyLen: number,
  ): number | Promise<number> {
    this.countReceived(sender, bodyLen);
    const targets = this.#scratchPool.pop() ?? [];
    if (!mask.includes("*") && !mask.includes("?")) {
      const t = this.#clients.get(mask);
      if (t !== undefined) targets.push(t);
    } else {
      if (mask !== this.#broadcastMask) {
        this.#broadcastMask = mask;
        this.#broadcastSegs = mask.split(".");
      }
      const segs = this.#broadcastSegs;
      for (const c of this.#clients.values()) {
        if (matchSegments(segs, c.nameSegments, "*", "?")) targets.push(c);
      }
    }
    return this.#deliverAll(
      targets,
      Op.Broadcast,
      realtime,
      sender,
      null,
      null,
      src,
      payloadStart,
      payloadEnd,
      bodyLen,
    );
  }

  /**
   * Routes a publication to matching subscribers (less their exclusions);
   * with `receiver`, only to clients whose primary name equals it.
   * @internal
   */
  routePublish(
    sender: RegisteredClient,
    topic: string,
    segs: readonly string[],
    topicZ: Uint8Array,
    receiver: string | null,
    realtime: boolean,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    bodyLen: number,
  ): number | Promise<number> {
    this.countReceived(sender, bodyLen);
    const targets = this.#scratchPool.pop() ?? [];
    this.#subscriptions.match(segs, targets);
    let n = 0;
    for (let i = 0; i < targets.length; i++) {
      const c = targets[i];
      if (receiver !== null && c.primary !== receiver) continue;
      if (c.exclusions !== null && isExcluded(c.exclusions, segs)) continue;
      targets[n++] = c;
    }
    targets.length = n;
    return this.#deliverAll(
      targets,
      Op.Publish,
      realtime,
      sender,
      topic,
      topicZ,
      src,
      payloadStart,
      payloadEnd,
      bodyLen,
    );
  }

  #deliverAll(
    targets: RegisteredClient[],
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: string | null,
    topicZ: Uint8Array | null,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    bodyLen: number,
  ): number | Promise<number> {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (!t.registered) continue;
      const r = t.sink.deliver(kind, realtime, sender, topic, topicZ, src, payloadStart, payloadEnd);
      if (r === Delivery.Queued) {
        this.#countWrite(t, bodyLen);
      } else if (r === Delivery.Overflow) {
        this.#dropOverflowed(t);
      } else {
        const rest = targets.slice(i + 1);
        this.#releaseTargets(targets);
        return this.#deliverRest(
          r,
          t,
          rest,
          kind,
          realtime,
          sender,
          topic,
          topicZ,
          src,
          payloadStart,
          payloadEnd,
          bodyLen,
        );
      }
    }
    this.#releaseTargets(targets);
    return ErrorCode.Ok;
  }

  /** Returns a recipient list to the pool. */
  #releaseTargets(targets: RegisteredClient[]): void {
    targets.length = 0;
    this.#scratchPool.push(targets);
  }

  async #deliverRest(
    waiting: Promise<Delivery>,
    waitingFor: RegisteredClient,
    rest: RegisteredClient[],
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: string | null,
    topicZ: Uint8Array | null,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    bodyLen: number,
  ): Promise<number> {
    if (await waiting === Delivery.Queued) this.#countWrite(waitingFor, bodyLen);
    for (const t of rest) {
      if (!t.registered) continue;
      const d = await t.sink.deliver(kind, realtime, sender, topic, topicZ, src, payloadStart, payloadEnd);
      if (d === Delivery.Queued) this.#countWrite(t, bodyLen);
      else this.#dropOverflowed(t);
    }
    return ErrorCode.Ok;
  }

  #countWrite(t: RegisteredClient, bodyLen: number): void {
    t.wFrames++;
    t.wBytes += bodyLen;
    this.#wFrames++;
    this.#wBytes += bodyLen;
  }

  /** Counts one ACK written to a client. @internal */
  countAck(c: RegisteredClient): void {
    c.wFrames++;
    c.wBytes += 6;
    this.#wFrames++;
    this.#wBytes += 6;
  }

  /** Counts a topic-list frame received from a client. @internal */
  countReceived(c: RegisteredClient, bodyLen: number): void {
    c.rFrames++;
    c.rBytes += bodyLen;
    this.#rFrames++;
    this.#rBytes += bodyLen;
  }

  #dropOverflowed(t: RegisteredClient): void {
    if (!t.registered) return;
    this.log.warn(`client "${t.name}" dropped: outgoing queue overflow`);
    this.unregister(t, true);
    t.sink.disconnect("queue overflow", true);
  }

  /** Subscribes a client to a pattern. @internal */
  subscribe(c: RegisteredClient, pattern: string): void {
    if (!c.registered || c.subscriptions.has(pattern)) return;
    c.subscriptions.add(pattern);
    this.#subscriptions.insert(pattern, c);
  }

  /** Removes a client's subscription. @internal */
  unsubscribe(c: RegisteredClient, pattern: string): void {
    if (!c.subscriptions.delete(pattern)) return;
    this.#subscriptions.remove(pattern, c);
  }

  /** Adds an exclusion pattern. @internal */
  exclude(c: RegisteredClient, pattern: string): void {
    if (!c.registered) return;
    const exclusions = c.exclusions ??= new Map();
    if (!exclusions.has(pattern)) exclusions.set(pattern, pattern.split("/"));
  }

  /** Removes an exclusion pattern. @internal */
  unexclude(c: RegisteredClient, pattern: string): void {
    c.exclusions?.delete(pattern);
    if (c.exclusions?.size === 0) c.exclusions = null;
  }

  // ---------------------------------------------------------------- announcements

  /**
   * Publishes an announcement `{s: subject, d: data, t: now}` on `topic` as
   * `.broker`. Does nothing unless the core client is registered.
   */
  announce(topic: string, subject: string, data: string | null = null): void {
    const core = this.#core;
    // the core client itself may be the one leaving
    if (core === null || !core.isConnected()) return;
    const payload = encodeAnnouncement(subject, data);
    core.publish(topic, payload);
  }

  /** Warns every client that the broker is shutting down (`.broker/warn`). */
  announceShutdown(): void {
    this.announce(BROKER_WARN_TOPIC, "shutdown");
  }

  // ---------------------------------------------------------------- in-process clients

  /**
   * Registers an in-process client. Names are not validated (they may start
   * with `.`); a name with `%%` is a secondary and needs its primary.
   *
   * @throws {BusError} 0x71 when a secondary's primary is absent, 0x76 when taken
   */
  registerClient(name: string, options: { queueSize?: number } = {}): InProcessClient {
    const client = new InProcessClient(this, name, options.queueSize ?? this.queueSize);
    const code = this.register(client.entry);
    if (code !== ErrorCode.Ok) {
      throw new BusError(code, `Cannot register client "${name}": ${describe(code)}`);
    }
    this.#inProcess.add(client);
    client.closed.then(() => this.#inProcess.delete(client));
    return client;
  }

  /** Registers the next free secondary `<primary>%%<n>` of an in-process client. */
  registerSecondaryFor(client: InProcessClient): InProcessClient {
    const primary = client.entry.primary;
    if (!this.#clients.has(primary)) {
      throw new BusError(
        ErrorCode.NotRegistered,
        `Cannot register a secondary: "${primary}" is not registered`,
      );
    }
    for (;;) {
      const name = `${primary}%%${client.nextSecondaryIndex()}`;
      if (!this.#clients.has(name)) return this.registerClient(name);
    }
  }

  /**
   * Registers the core client `.broker`, which publishes announcements.
   * Returns it so the core RPC can serve on it.
   * @internal
   */
  registerCoreClient(): InProcessClient {
    if (this.#core !== null) return this.#core;
    const core = this.registerClient(BROKER_NAME);
    this.#core = core;
    core.closed.then(() => {
      if (this.#core === core) this.#core = null;
    });
    return core;
  }

  // ---------------------------------------------------------------- listeners

  /**
   * Listens on a unix socket. An existing stale socket file is replaced; a
   * live one (a broker answers on it) is an error.
   *
   * @example
   * ```ts ignore
   * await broker.serveUnix("/tmp/busrt.sock", { timeout: 5, socketMode: 0o660 });
   * ```
   */
  serveUnix(path: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    return this.#addListener(BrokerListener.unix(this, path, config));
  }

  /**
   * Listens on TCP `host:port` (port 0 picks a free port: read `listener.bind`).
   *
   * @example
   * ```ts ignore
   * const l = await broker.serveTcp("127.0.0.1:0");
   * console.log(l.bind);
   * ```
   */
  serveTcp(address: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    return this.#addListener(BrokerListener.tcp(this, address, config));
  }

  /** Listens on a unix path or `host:port`, classified like client addresses. */
  serve(bind: string, config: ListenerOptions = {}): Promise<BrokerListener> {
    const isUnix = bind.startsWith("/") || bind.endsWith(".sock") || bind.endsWith(".socket") ||
      bind.endsWith(".ipc");
    return isUnix ? this.serveUnix(bind, config) : this.serveTcp(bind, config);
  }

  /**
   * Accepts connections from a listener-like source created elsewhere
   * (e.g. a TLS server). @internal
   */
  async addListener(listener: Promise<BrokerListener>): Promise<BrokerListener> {
    return await this.#addListener(listener);
  }

  async #addListener(pending: Promise<BrokerListener>): Promise<BrokerListener> {
    if (this.#closed) throw new BusError(ErrorCode.Other, "Cannot listen: the broker is closed");
    const listener = await pending;
    this.#listeners.add(listener);
    listener.closed.then(() => this.#listeners.delete(listener));
    this.log.info(`listening on ${listener.bind}`);
    return listener;
  }

  /** The active listeners. */
  get listeners(): readonly BrokerListener[] {
    return [...this.#listeners];
  }

  // ---------------------------------------------------------------- admin

  /**
   * Disconnects an IPC client (and its secondaries) without a message; `unreg`
   * is announced for a primary.
   *
   * @throws {BusError} 0x71 for an unknown name, 0x75 for an in-process client
   */
  forceDisconnect(name: string): void {
    const c = this.#clients.get(name);
    if (c === undefined) {
      throw new BusError(ErrorCode.NotRegistered, `Cannot disconnect "${name}": not registered`);
    }
    if (c.kind === "internal") {
      throw new BusError(ErrorCode.NotSupported, `Cannot disconnect "${name}": it is an in-process client`);
    }
    this.log.info(`client "${name}" force-disconnected`);
    this.unregister(c, true);
    c.sink.disconnect("force-disconnected", false);
  }

  /** Broker-wide counters. */
  stats(): BrokerStats {
    return {
      uptime: Math.floor((Date.now() - this.#startedAt) / 1000),
      r_frames: this.#rFrames,
      r_bytes: this.#rBytes,
      w_frames: this.#wFrames,
      w_bytes: this.#wBytes,
    };
  }

  /** Primary clients sorted by name, optionally filtered by an unanchored regex search. */
  clientList(filter?: RegExp): ClientInfo[] {
    const out: ClientInfo[] = [];
    for (const c of this.#clients.values()) {
      if (c.isSecondary) continue;
      if (filter !== undefined && !filter.test(c.name)) continue;
      out.push({
        name: c.name,
        kind: c.kind,
        source: c.source,
        port: c.port,
        r_frames: c.rFrames,
        r_bytes: c.rBytes,
        w_frames: c.wFrames,
        w_bytes: c.wBytes,
        queue: c.sink.queueLength(),
        instances: 1 + (c.secondaries?.size ?? 0),
      });
    }
    return out.sort((a, b) => compareBytes(a.name, b.name));
  }

  /** Whether {@linkcode close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Stops every listener (unix socket files are removed), disconnects every
   * client and ends in-process clients.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const listeners = [...this.#listeners];
    await Promise.all(listeners.map((l) => l.close()));
    for (const c of [...this.#clients.values()]) {
      this.unregister(c, false);
      c.sink.disconnect("broker closed", true);
    }
    await Promise.all(listeners.map((l) => l.drained()));
    this.#core = null;
  }
}

function isExcluded(exclusions: Map<string, string[]>, segs: readonly string[]): boolean {
  for (const ex of exclusions.values()) {
    if (matchSegments(ex, segs, "#", "+")) return true;
  }
  return false;
}

const byteEncoder = new TextEncoder();
function compareBytes(a: string, b: string): number {
  const x = byteEncoder.encode(a);
  const y = byteEncoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function describe(code: number): string {
  return new BusError(code).message;
}

/** Encodes a topic with its terminating NUL. @internal */
export function topicWithNul(topic: string): Uint8Array {
  const bytes = encodeUtf8(topic);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
