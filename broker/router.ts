/**
 * The routing engine behind {@linkcode Broker}: the client registry with
 * secondaries, the subscription tree, routing of messages, broadcasts and
 * publications, announcements and the broker-wide traffic counters.
 * Private to the broker package: sessions, in-process clients and
 * listeners depend on it, and it depends on none of them (they reach it
 * through {@linkcode ClientSink}).
 *
 * @module
 */
import { BROKER_INFO_TOPIC, BROKER_NAME, BROKER_WARN_TOPIC, ErrorCode, Op } from "../protocol/constants.ts";
import { LargeBufferPool } from "../protocol/decode.ts";
import type { Logger } from "../log/logger.ts";
import { WarningLimiter } from "../log/warning_limiter.ts";
import { encodeAnnouncement } from "./announcement.ts";
import { Delivery, type RegisteredClient, Traffic } from "./registered_client.ts";
import { RoutedPayload, Topic } from "./routed.ts";
import { matchSegments, TopicPatternSet, TopicTree } from "./topics.ts";
import { GATEWAY_ORIGIN, type RemoteGateway } from "./remote_gateway.ts";

/** Settings of a {@linkcode Router}. */
export interface RouterOptions {
  /** Default per-client queue size in frames. */
  queueSize: number;
  /** A new primary with a taken name replaces the old connection. */
  forceRegister: boolean;
  /** Where routing events are logged. */
  logger: Logger;
}

/** The registry and routing engine. */
export class Router {
  /** Default per-client queue size. */
  readonly queueSize: number;
  /** Whether a taken primary name is replaced instead of refused. */
  forceRegister: boolean;
  /** Where the broker logs. */
  readonly log: Logger;
  /** Warnings any client can trigger, rate-limited per kind. */
  readonly warnings: WarningLimiter;
  /** Connection lifecycle events (info), rate-limited per kind like the warnings. */
  readonly events: WarningLimiter;
  /** Broker-wide counters; only {@linkcode RegisteredClient} counts into them. */
  readonly totals: Traffic = new Traffic();
  /** Buffers of large incoming frames, reused by every connection once their payloads are written. */
  readonly largeFrames: LargeBufferPool = new LargeBufferPool();
  /** The bridge to other hosts (`Broker.attachGateway`), or null: misses and `@` broadcasts go there. */
  gateway: RemoteGateway | null = null;

  #clients = new Map<string, RegisteredClient>();
  #subscriptions = new TopicTree<RegisteredClient>();
  // Recipient lists are pooled, not shared: routing can re-enter itself
  // (dropping an overflowed client announces `unreg`, which is a publication).
  #scratchPool: RegisteredClient[][] = [];
  #core: RegisteredClient | null = null;
  #closed = false;
  #broadcastMask = "";
  #broadcastSegs: string[] = [];
  readonly #infoTopic = Topic.of(BROKER_INFO_TOPIC);
  readonly #warnTopic = Topic.of(BROKER_WARN_TOPIC);

  /**
   * Creates an empty router.
   *
   * @param options the queue size, force-register and the logger
   */
  constructor(options: RouterOptions) {
    this.queueSize = options.queueSize;
    this.forceRegister = options.forceRegister;
    this.log = options.logger;
    this.warnings = new WarningLimiter(options.logger);
    this.events = new WarningLimiter(options.logger, { level: "info", burst: 100 });
  }

  /** Whether {@linkcode Router.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- registry

  /**
   * Registers a client record. The record named `.broker` becomes the sender
   * of announcements.
   *
   * @param entry the record
   * @returns the protocol code: OK, 0x71 (a secondary's primary is absent) or 0x76 (name taken)
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
    // set after the announcement: the core client's own registration is not announced
    if (entry.name === BROKER_NAME && entry.origin.kind === "internal") this.#core = entry;
    this.log.debug(`client "${entry.name}" registered (${entry.origin.kind})`);
    return ErrorCode.Ok;
  }

  /**
   * Removes a client from the table with its subscriptions. Secondaries of a
   * primary are dropped and disconnected too.
   *
   * @param entry the record
   * @param announce whether to announce `unreg` (primaries only)
   */
  unregister(entry: RegisteredClient, announce: boolean): void {
    if (!entry.registered) return;
    entry.registered = false;
    if (this.#clients.get(entry.name) === entry) this.#clients.delete(entry.name);
    if (this.#core === entry) this.#core = null;
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

  /**
   * Unregisters a client (announcing `unreg` for a primary) and ends its connection.
   *
   * @param entry the record
   * @param reason logged and given to the connection
   * @param flush whether the connection writes what is queued first
   */
  drop(entry: RegisteredClient, reason: string, flush: boolean): void {
    this.unregister(entry, true);
    entry.sink.disconnect(reason, flush);
  }

  /**
   * @param name a full client name
   * @returns the registered record, if any
   */
  lookup(name: string): RegisteredClient | undefined {
    return this.#clients.get(name);
  }

  /** @returns every registered record, primaries and secondaries */
  clients(): IterableIterator<RegisteredClient> {
    return this.#clients.values();
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Applies one topic of a SUBSCRIBE, UNSUBSCRIBE, EXCLUDE or UNEXCLUDE frame.
   *
   * @param c the client
   * @param op `Op.Subscribe`, `Op.Unsubscribe`, `Op.Exclude` or `Op.Unexclude`
   * @param pattern the topic pattern
   */
  topicOp(c: RegisteredClient, op: number, pattern: string): void {
    switch (op) {
      case Op.Subscribe:
        return this.subscribe(c, pattern);
      case Op.Unsubscribe:
        return this.unsubscribe(c, pattern);
      case Op.Exclude:
        return this.exclude(c, pattern);
      case Op.Unexclude:
        return this.unexclude(c, pattern);
    }
  }

  /**
   * Subscribes a client to a topic pattern.
   *
   * @param c the client
   * @param pattern the topic pattern
   */
  subscribe(c: RegisteredClient, pattern: string): void {
    if (!c.registered || c.subscriptions.has(pattern)) return;
    c.subscriptions.add(pattern);
    this.#subscriptions.insert(pattern, c);
  }

  /**
   * Removes a client's subscription (the exact pattern string).
   *
   * @param c the client
   * @param pattern the pattern, as subscribed
   */
  unsubscribe(c: RegisteredClient, pattern: string): void {
    if (!c.subscriptions.delete(pattern)) return;
    this.#subscriptions.remove(pattern, c);
  }

  /**
   * Adds an exclusion pattern.
   *
   * @param c the client
   * @param pattern the topic pattern
   */
  exclude(c: RegisteredClient, pattern: string): void {
    if (!c.registered) return;
    (c.exclusions ??= new TopicPatternSet()).add(pattern);
  }

  /**
   * Removes an exclusion pattern.
   *
   * @param c the client
   * @param pattern the pattern, as excluded
   */
  unexclude(c: RegisteredClient, pattern: string): void {
    c.exclusions?.delete(pattern);
    if (c.exclusions?.size === 0) c.exclusions = null;
  }

  // ---------------------------------------------------------------- routing

  /**
   * Routes a direct message.
   *
   * @param sender the sending client
   * @param target the target's record (from {@linkcode Router.lookup}), if any
   * @param realtime whether the frame is written at once
   * @param payload the payload; refilled by the caller after this returns
   * @param targetName the target name, handed to the gateway when no local client has it
   * @returns the ACK code, or a promise of it when an in-process target's queue is full
   */
  routeMessage(
    sender: RegisteredClient,
    target: RegisteredClient | undefined,
    realtime: boolean,
    payload: RoutedPayload,
    targetName?: string,
  ): number | Promise<number> {
    if (target === undefined || !target.registered) {
      return this.#remoteMessage(sender, realtime, payload, targetName);
    }
    const r = target.sink.deliver(Op.Message, realtime, sender, null, payload);
    if (r === Delivery.Queued) {
      target.countWritten(payload.size);
      return ErrorCode.Ok;
    }
    if (r === Delivery.Overflow) {
      this.#dropOverflowed(target);
      return ErrorCode.NotDelivered;
    }
    const size = payload.size;
    return r.then((d) => {
      if (d === Delivery.Overflow) return ErrorCode.NotDelivered;
      target.countWritten(size);
      return ErrorCode.Ok;
    });
  }

  /**
   * Routes a broadcast to every client whose name matches `mask`.
   *
   * @param sender the sending client
   * @param mask the name mask (`?` one segment, `*` the rest)
   * @param realtime whether frames are written at once
   * @param payload the payload; refilled by the caller after this returns
   * @returns the ACK code, or a promise of it while in-process targets make room
   */
  routeBroadcast(
    sender: RegisteredClient,
    mask: string,
    realtime: boolean,
    payload: RoutedPayload,
  ): number | Promise<number> {
    if (this.gateway !== null) this.#remoteBroadcast(sender, mask, realtime, payload);
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
    return this.#deliverAll(targets, Op.Broadcast, realtime, sender, null, payload);
  }

  /** A message to a name no local client has: to the gateway, if any (kept out of the hot path). */
  #remoteMessage(
    sender: RegisteredClient,
    realtime: boolean,
    payload: RoutedPayload,
    targetName: string | undefined,
  ): number | Promise<number> {
    const gateway = this.gateway;
    if (gateway === null || targetName === undefined || sender.origin === GATEWAY_ORIGIN) {
      return ErrorCode.NotRegistered;
    }
    return gateway.message(sender.name, targetName, realtime, payload.bytes());
  }

  /** A broadcast to an `@NODE/mask` or `@*` + `/mask` goes to the gateway too. */
  #remoteBroadcast(sender: RegisteredClient, mask: string, realtime: boolean, payload: RoutedPayload): void {
    if (mask.charCodeAt(0) !== 64 || sender.origin === GATEWAY_ORIGIN) return;
    this.gateway?.broadcast(sender.name, mask, realtime, payload.bytes());
  }

  /**
   * Routes a publication to matching subscribers, less their exclusions.
   *
   * @param sender the sending client
   * @param topic the topic
   * @param receiver only clients with this primary name (publish-for), or null for all
   * @param realtime whether frames are written at once
   * @param payload the payload; refilled by the caller after this returns
   * @returns the ACK code, or a promise of it while in-process targets make room
   */
  routePublish(
    sender: RegisteredClient,
    topic: Topic,
    receiver: string | null,
    realtime: boolean,
    payload: RoutedPayload,
  ): number | Promise<number> {
    const targets = this.#scratchPool.pop() ?? [];
    const segs = topic.segments;
    this.#subscriptions.match(segs, targets);
    let n = 0;
    for (let i = 0; i < targets.length; i++) {
      const c = targets[i];
      if (receiver !== null && c.primary !== receiver) continue;
      if (c.exclusions !== null && c.exclusions.matches(segs)) continue;
      targets[n++] = c;
    }
    targets.length = n;
    return this.#deliverAll(targets, Op.Publish, realtime, sender, topic, payload);
  }

  #deliverAll(
    targets: RegisteredClient[],
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: Topic | null,
    payload: RoutedPayload,
  ): number | Promise<number> {
    // sharing saves copies with several recipients, or of a payload alone in its buffer;
    // the producer reads `shareable` back
    if (payload.shareable && targets.length < 2 && !payload.alone) {
      payload.shareable = false;
    }
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (!t.registered) continue;
      const r = t.sink.deliver(kind, realtime, sender, topic, payload);
      if (r === Delivery.Queued) {
        t.countWritten(payload.size);
      } else if (r === Delivery.Overflow) {
        this.#dropOverflowed(t);
      } else {
        const rest = targets.slice(i + 1);
        this.#releaseTargets(targets);
        return this.#deliverRest(r, t, rest, { kind, realtime, sender, topic, payload: payload.snapshot() });
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

  /** The slow path: an in-process target's queue was full; deliver the rest in order. */
  async #deliverRest(
    waiting: Promise<Delivery>,
    waitingFor: RegisteredClient,
    rest: RegisteredClient[],
    f: PendingFrame,
  ): Promise<number> {
    if (await waiting === Delivery.Queued) waitingFor.countWritten(f.payload.size);
    for (const t of rest) {
      if (!t.registered) continue;
      const d = await t.sink.deliver(f.kind, f.realtime, f.sender, f.topic, f.payload);
      if (d === Delivery.Queued) t.countWritten(f.payload.size);
      else this.#dropOverflowed(t);
    }
    return ErrorCode.Ok;
  }

  #dropOverflowed(t: RegisteredClient): void {
    if (!t.registered) return;
    const why = t.sink.overflowReason?.() ?? "outgoing queue overflow";
    this.warnings.warn("queue overflow", `client "${t.name}" dropped: ${why}`);
    this.drop(t, "queue overflow", true);
  }

  // ---------------------------------------------------------------- announcements

  /**
   * Publishes an announcement `{s: subject, d: data, t: now}` on `topic` as
   * `.broker`. Does nothing unless the `.broker` in-process client is registered.
   *
   * @param topic where to publish
   * @param subject the `s` field
   * @param data the `d` field, or null to leave it out
   */
  announce(topic: string, subject: string, data: string | null = null): void {
    const core = this.#core;
    if (core === null) return;
    const bytes = encodeAnnouncement(subject, data);
    const t = topic === BROKER_INFO_TOPIC
      ? this.#infoTopic
      : topic === BROKER_WARN_TOPIC
      ? this.#warnTopic
      : Topic.of(topic);
    const payload = new RoutedPayload();
    payload.set(bytes, 0, bytes.length, bytes.length);
    core.countReceived(bytes.length);
    const r = this.routePublish(core, t, null, false, payload);
    if (typeof r !== "number") r.catch(() => {});
  }

  // ---------------------------------------------------------------- shutdown

  /** Refuses new registrations from now on. */
  close(): void {
    this.#closed = true;
  }

  /** Unregisters and disconnects every client, flushing what is queued for each. */
  disconnectAll(): void {
    for (const c of [...this.#clients.values()]) {
      this.unregister(c, false);
      c.sink.disconnect("broker closed", true);
    }
    this.#core = null;
  }
}

/** A frame kept across an await on the slow delivery path. */
interface PendingFrame {
  kind: number;
  realtime: boolean;
  sender: RegisteredClient;
  topic: Topic | null;
  payload: RoutedPayload;
}
