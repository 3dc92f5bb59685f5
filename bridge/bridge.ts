/**
 * The bridge: joins a broker to brokers on other hosts through a NATS
 * cluster. Publications on export patterns go to NATS subjects, NATS
 * publications on import patterns are published locally under the sender
 * name `@NODE/name`; messages to `@NODE/name` travel as NATS request/reply
 * and come back with the remote ACK code. docs/CLUSTER.md has the whole
 * picture.
 *
 * @module
 */
import {
  connect,
  errors,
  headers as natsHeaders,
  type MsgHdrs,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { Msg, Subscription } from "@nats-io/nats-core";
import { ErrorCode } from "../protocol/constants.ts";
import { primaryName } from "../protocol/names.ts";
import type { Logger } from "../log/logger.ts";
import type { Broker } from "../broker/broker.ts";
import type { GatewayPort } from "../broker/gateway_port.ts";
import { detachedAck, type GatewayStats, type RemoteGateway } from "../broker/remote_gateway.ts";
import { matchSegments } from "../broker/topics.ts";
import { type BridgeOptions, resolveBridgeOptions, type ResolvedBridgeOptions } from "./bridge_options.ts";
import { OutboundBuffer } from "./outbound_buffer.ts";
import { PublicationBatch, splitBatch } from "./publication_batch.ts";
import { patternToSubject, subjectToTopic, topicToSubject } from "./subject_map.ts";

/** NATS header names of bridged frames. */
export const BridgeHeader = {
  /** The node the frame came from (every bridged frame). */
  Origin: "Busrt-Origin",
  /** The full sender name on its node. */
  Sender: "Busrt-Sender",
  /** The sender's primary name. */
  Primary: "Busrt-Primary",
  /** The QoS the frame is routed with on arrival: `0`, or `2` (realtime). */
  Qos: "Busrt-Qos",
  /** The target client of a message. */
  Target: "Busrt-Target",
  /** The local mask of a broadcast. */
  Mask: "Busrt-Mask",
  /** The node(s) a broadcast is for: a node name or `*`. */
  Node: "Busrt-Node",
  /** `1`: the payload is several publications, each preceded by its length (u32, big-endian). */
  Batch: "Busrt-Batch",
} as const;

/** The connection state of a bridge. */
export type BridgeState = "connecting" | "connected" | "reconnecting" | "closed";

/** The counters of a bridge, as shown in `.broker` stats under `bridge`. */
export interface BridgeStats extends GatewayStats {
  /** This node's name. */
  node: string;
  /** The connection state. */
  state: BridgeState;
  /** The NATS server connected to, or "" while disconnected. */
  server: string;
  /** Publications sent to NATS. */
  exported: number;
  /** Publications from other nodes published here. */
  imported: number;
  /** Messages sent to other nodes. */
  messages_out: number;
  /** Messages from other nodes delivered (or refused) here. */
  messages_in: number;
  /** Messages to other nodes answered 0x71 or 0x78 (no such node or client, no answer, bridge down). */
  messages_failed: number;
  /** Broadcasts sent to other nodes. */
  broadcasts_out: number;
  /** Broadcasts from other nodes. */
  broadcasts_in: number;
  /** Frames from NATS refused as malformed (no origin or sender, a NUL in a name or topic, a broken batch). */
  rejected: number;
  /** Frames waiting in the outbound buffer. */
  buffered: number;
  /** Bytes waiting in the outbound buffer. */
  buffered_bytes: number;
  /**
   * Frames dropped: by the outbound buffer's policy, by a failed publish, still buffered at close,
   * or imported beyond 64 MiB waiting behind a full in-process subscriber.
   */
  dropped: number;
  /** Times the NATS connection came back. */
  reconnects: number;
}

/** An imported publication waiting for room in an in-process subscriber. */
interface Imported {
  sender: string;
  topic: string;
  realtime: boolean;
  payload: Uint8Array;
}

/** Messages to other nodes awaiting their ACK before senders wait for each one. */
const MAX_IN_FLIGHT = 1024;

/** Bytes of imported publications that may wait behind a full in-process subscriber (then they are dropped). */
const IMPORT_QUEUE_MAX_BYTES = 64 * 1024 * 1024;

/** A publication or broadcast waiting for NATS. */
interface Outbound {
  subject: string;
  payload: Uint8Array;
  headers: MsgHdrs;
}

const NOT_REGISTERED = new Uint8Array([ErrorCode.NotRegistered]);
/** A node name: what `resolveBridgeOptions` accepts. */
const NODE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Entries of the subject and header caches (then they start over). */
const CACHE_MAX = 1024;

/**
 * A running bridge between a broker and a NATS cluster.
 *
 * @example Bridge a broker to one NATS server (a real nats-server on loopback)
 * ```ts ignore
 * import { Broker } from "../broker/mod.ts";
 * import { Bridge } from "./mod.ts";
 * const broker = new Broker();
 * const bridge = Bridge.start(broker, { servers: ["nats://127.0.0.1:4222"], node: "h1" });
 * await bridge.connected;
 * // local publications now reach the other brokers; `@h2/svc` is a client on node h2
 * await bridge.close();
 * await broker.close();
 * ```
 */
export class Bridge implements RemoteGateway {
  /** The settings, with defaults. */
  readonly options: ResolvedBridgeOptions;
  /** Resolves once the first NATS connection is up. */
  readonly connected: Promise<void>;
  readonly #port: GatewayPort;
  readonly #log: Logger;
  readonly #buffer: OutboundBuffer<Outbound>;
  readonly #pubPrefix: string;
  readonly #importPatterns: string[][];
  #nc: NatsConnection | null = null;
  #state: BridgeState = "connecting";
  #subs: Subscription[] = [];
  #inFlight = 0;
  #importQueue: Imported[] | null = null;
  #importQueueBytes = 0;
  #headerCache = new Map<string, MsgHdrs>();
  #subjectCache = new Map<string, string>();
  #topicCache = new Map<string, string>();
  #batch: PublicationBatch | null = null;
  #batchScheduled = false;
  readonly #flushBatch = () => {
    this.#batchScheduled = false;
    this.#sendBatch();
  };
  #counts = {
    exported: 0,
    imported: 0,
    messages_out: 0,
    messages_in: 0,
    messages_failed: 0,
    broadcasts_out: 0,
    broadcasts_in: 0,
    rejected: 0,
    dropped: 0,
    reconnects: 0,
  };

  private constructor(broker: Broker, options: ResolvedBridgeOptions, logger: Logger) {
    this.options = options;
    this.#log = logger;
    this.#buffer = new OutboundBuffer(options.bufferBytes, options.dropPolicy);
    this.#pubPrefix = `${options.prefix}.pub`;
    this.#importPatterns = options.imports.map((p) => p.split("/"));
    this.#port = broker.attachGateway(this);
    for (const p of options.exports) this.#port.exportPattern(p);
    this.connected = this.#connect();
    this.connected.catch(() => {});
  }

  /**
   * Attaches a bridge to `broker` and starts connecting to NATS (forever,
   * in turn over the servers); until connected, publications are buffered
   * and messages to other nodes are answered 0x71. Await
   * {@linkcode Bridge.connected} to wait for the link.
   *
   * @param broker the local broker
   * @param options servers, node name, patterns, limits
   * @returns the running bridge
   * @throws {TypeError} for bad options
   * @throws {Error} when the broker has a bridge already or is closed
   */
  static start(broker: Broker, options: BridgeOptions): Bridge {
    const resolved = resolveBridgeOptions(options);
    return new Bridge(broker, resolved, options.logger ?? broker.log);
  }

  /** The connection state. */
  get state(): BridgeState {
    return this.#state;
  }

  /**
   * The bridge's counters and state (shown in `.broker` stats as `bridge`).
   *
   * @returns the counters and the state
   */
  stats(): BridgeStats {
    return {
      node: this.options.node,
      state: this.#state,
      server: this.#state === "connected" ? this.#nc?.getServer() ?? "" : "",
      ...this.#counts,
      buffered: this.#buffer.length,
      buffered_bytes: this.#buffer.bytes,
      dropped: this.#counts.dropped + this.#buffer.dropped,
    };
  }

  // ---------------------------------------------------------------- connection

  async #connect(): Promise<void> {
    const o = this.options;
    let nc: NatsConnection | null = null;
    for (let attempt = 0; nc === null; attempt++) {
      if (this.#state === "closed") throw new Error("Bridge closed before NATS was reached");
      try {
        nc = await connect({
          servers: o.servers,
          name: `busrt-bridge-${o.node}`,
          noEcho: true, // our own publications never come back
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 50,
          ignoreClusterUpdates: true, // only the configured servers
          noRandomize: true, // in the configured order: the nearest first
          pingInterval: 2000,
          maxPingOut: 2,
          // no Error objects made per request just in case (13% of the CPU of calls across hosts)
          noAsyncTraces: true,
        });
      } catch (err) {
        if (attempt === 0) this.#log.warn(`bridge: NATS unreachable (${(err as Error).message}), retrying`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (this.#state === "closed") {
      await nc.close();
      throw new Error("Bridge closed before NATS was reached");
    }
    this.#nc = nc;
    this.#subscribe(nc);
    this.#setConnected(nc);
    this.#log.info(`bridge: node "${o.node}" connected to NATS ${nc.getServer()}`);
    this.#watch(nc);
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#state === "closed") return;
      if (s.type === "disconnect") {
        this.#state = "reconnecting";
        this.#log.warn(`bridge: NATS connection lost, reconnecting`);
      } else if (s.type === "reconnect") {
        this.#counts.reconnects++;
        this.#setConnected(nc);
        this.#log.info(`bridge: reconnected to NATS ${nc.getServer()}`);
      }
    }
  }

  /** Sends what was buffered, in order, then sends directly. */
  #setConnected(nc: NatsConnection): void {
    for (const f of this.#buffer.drain()) this.#publish(nc, f.subject, f.payload, f.headers);
    this.#state = "connected";
  }

  #subscribe(nc: NatsConnection): void {
    const o = this.options;
    // overlapping import patterns: each publication is handled by the first pattern matching it
    o.imports.forEach((pattern, i) => {
      const sub = nc.subscribe(patternToSubject(this.#pubPrefix, pattern), {
        callback: (err, msg) => {
          if (err === null) this.#guard(() => this.#onPublication(msg, i), msg);
        },
      });
      this.#subs.push(sub);
    });
    this.#subs.push(nc.subscribe(`${o.prefix}.msg.${o.node}`, {
      callback: (err, msg) => {
        if (err === null) this.#guard(() => this.#onMessage(msg), msg);
      },
    }));
    if (o.broadcast) {
      this.#subs.push(nc.subscribe(`${o.prefix}.bcast`, {
        callback: (err, msg) => {
          if (err === null) this.#guard(() => this.#onBroadcast(msg), msg);
        },
      }));
    }
  }

  #publish(nc: NatsConnection, subject: string, payload: Uint8Array, headers: MsgHdrs): void {
    try {
      nc.publish(subject, payload, { headers });
    } catch (err) {
      this.#counts.dropped++;
      this.#log.debug(`bridge: publish failed: ${(err as Error).message}`);
    }
  }

  /** Publishes now, or buffers while disconnected. */
  #send(subject: string, payload: Uint8Array, headers: MsgHdrs): void {
    const nc = this.#nc;
    if (this.#state === "connected" && nc !== null) this.#publish(nc, subject, payload, headers);
    else if (this.#state !== "closed") this.#buffer.push({ subject, payload, headers }, payload.length + 128);
    else this.#counts.dropped++;
  }

  /**
   * The headers of a publication or batch: made once per sender, QoS and
   * framing (`key`: `0`/`2` and the sender; `b` before it for a batch), never changed.
   */
  #sharedHeaders(key: string): MsgHdrs {
    let h = this.#headerCache.get(key);
    if (h === undefined) {
      if (this.#headerCache.size >= CACHE_MAX) this.#headerCache.clear();
      const batch = key.charCodeAt(0) === 98; // b
      const k = batch ? key.slice(1) : key;
      h = this.#headers(k.slice(1), k.charCodeAt(0) === 50);
      if (batch) h.set(BridgeHeader.Batch, "1");
      this.#headerCache.set(key, h);
    }
    return h;
  }

  /** Sends the pending batch of publications, if any (before anything else is sent, to keep the order). */
  #sendBatch(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    if (batch.parts.length === 1) {
      this.#send(batch.subject, batch.parts[0], this.#sharedHeaders(batch.key));
    } else {
      this.#send(batch.subject, batch.encode(), this.#sharedHeaders(`b${batch.key}`));
    }
  }

  #subject(topic: string): string {
    let subject = this.#subjectCache.get(topic);
    if (subject === undefined) {
      if (this.#subjectCache.size >= CACHE_MAX) this.#subjectCache.clear();
      subject = topicToSubject(this.#pubPrefix, topic);
      this.#subjectCache.set(topic, subject);
    }
    return subject;
  }

  #headers(sender: string, realtime: boolean): MsgHdrs {
    const h = natsHeaders();
    h.set(BridgeHeader.Origin, this.options.node);
    h.set(BridgeHeader.Sender, sender);
    h.set(BridgeHeader.Primary, primaryName(sender));
    h.set(BridgeHeader.Qos, realtime ? "2" : "0");
    return h;
  }

  // ---------------------------------------------------------------- RemoteGateway (local → NATS)

  /**
   * @internal A local publication on an export pattern.
   *
   * @param sender the sender name
   * @param topic the topic
   * @param realtime whether it is realtime
   * @param payload the payload
   */
  publication(sender: string, topic: string, realtime: boolean, payload: Uint8Array): void {
    if (sender.charCodeAt(0) === 46) return; // `.broker` announcements are about this node only
    this.#counts.exported++;
    const subject = this.#subject(topic);
    const key = realtime ? `2${sender}` : `0${sender}`;
    if (this.#state !== "connected") {
      this.#sendBatch();
      this.#send(subject, payload, this.#sharedHeaders(key)); // buffered one by one
      return;
    }
    let batch = this.#batch;
    if (batch !== null && (batch.subject !== subject || batch.key !== key || batch.full)) {
      this.#sendBatch();
      batch = null;
    }
    if (batch === null) batch = this.#batch = new PublicationBatch(subject, key);
    batch.add(payload);
    if (!this.#batchScheduled) {
      this.#batchScheduled = true;
      queueMicrotask(this.#flushBatch);
    }
  }

  /**
   * @internal A message to a name no local client has: `@NODE/name` goes to NODE.
   *
   * @param sender the sender name
   * @param target the target as sent
   * @param realtime whether it is realtime
   * @param payload the payload
   * @returns the ACK code, or a promise of it
   */
  message(sender: string, target: string, realtime: boolean, payload: Uint8Array): number | Promise<number> {
    const address = parseRemote(target);
    if (address === null) return ErrorCode.NotRegistered;
    const o = this.options;
    if (address.node === o.node) return this.#port.message(sender, address.name, realtime, payload);
    this.#counts.messages_out++;
    const nc = this.#nc;
    if (this.#state !== "connected" || nc === null || address.node === "*") {
      this.#counts.messages_failed++;
      return ErrorCode.NotRegistered;
    }
    this.#sendBatch(); // publications sent before the message go first
    const headers = this.#headers(sender, realtime);
    headers.set(BridgeHeader.Target, address.name);
    this.#inFlight++;
    const ack = nc.request(`${o.prefix}.msg.${address.node}`, payload, {
      timeout: o.requestTimeoutMs,
      headers,
    })
      .then(
        (reply) => {
          this.#inFlight--;
          const code = reply.data.length === 1 ? reply.data[0] : ErrorCode.NotRegistered;
          if (code !== ErrorCode.Ok) this.#counts.messages_failed++;
          return code;
        },
        (err) => {
          this.#inFlight--;
          this.#counts.messages_failed++;
          return isTimeout(err) ? ErrorCode.Timeout : ErrorCode.NotRegistered;
        },
      );
    // the sender's connection reads on while few are outstanding, and waits for this ACK beyond that
    return this.#inFlight <= MAX_IN_FLIGHT ? detachedAck(ack) : ack;
  }

  /**
   * @internal A broadcast to `@NODE/mask` or `@*` + `/mask`.
   *
   * @param sender the sender name
   * @param mask the mask as sent
   * @param realtime whether it is realtime
   * @param payload the payload
   */
  broadcast(sender: string, mask: string, realtime: boolean, payload: Uint8Array): void {
    const address = parseRemote(mask);
    const o = this.options;
    if (address === null || !o.broadcast) return;
    if (address.node === o.node || address.node === "*") {
      const r = this.#port.broadcast(sender, address.name, realtime, payload);
      if (typeof r !== "number") r.catch(() => {});
      if (address.node === o.node) return;
    }
    this.#counts.broadcasts_out++;
    this.#sendBatch();
    const headers = this.#headers(sender, realtime);
    headers.set(BridgeHeader.Node, address.node);
    headers.set(BridgeHeader.Mask, address.name);
    this.#send(`${o.prefix}.bcast`, payload, headers);
  }

  // ---------------------------------------------------------------- NATS → local

  /** Runs a handler of NATS input: whatever arrives, nothing escapes into the NATS client. */
  #guard(handle: () => void, msg: Msg): void {
    try {
      handle();
    } catch (err) {
      this.#counts.rejected++;
      this.#log.warn(`bridge: a message on "${msg.subject}" dropped: ${(err as Error).message}`);
    }
  }

  /** The origin node of a frame from NATS; null for our own, for none or a malformed one. */
  #origin(msg: Msg): string | null {
    const origin = msg.headers?.get(BridgeHeader.Origin) ?? "";
    if (origin === this.options.node) return null;
    if (!NODE_NAME.test(origin)) {
      this.#counts.rejected++;
      return null;
    }
    return origin;
  }

  /** `@ORIGIN/sender`, or null for a missing sender or one with a NUL (it would split frame fields). */
  #senderOf(msg: Msg, origin: string): string | null {
    const sender = msg.headers?.get(BridgeHeader.Sender) ?? "";
    if (sender === "" || sender.includes("\0")) {
      this.#counts.rejected++;
      return null;
    }
    return `@${origin}/${sender}`;
  }

  #onPublication(msg: Msg, patternIndex: number): void {
    const origin = this.#origin(msg);
    if (origin === null) return; // never re-exported, never our own
    const topic = this.#topicOf(msg.subject);
    if (topic === null) return;
    if (patternIndex > 0) {
      const segs = topic.split("/");
      for (let i = 0; i < patternIndex; i++) {
        if (matchSegments(this.#importPatterns[i], segs, "#", "+")) return; // an earlier pattern has it
      }
    }
    const sender = this.#senderOf(msg, origin);
    if (sender === null) return;
    const realtime = msg.headers?.get(BridgeHeader.Qos) === "2";
    if (msg.headers?.get(BridgeHeader.Batch) !== "1") return this.#import(sender, topic, realtime, msg.data);
    const parts = splitBatch(msg.data);
    if (parts === null) {
      this.#counts.rejected++;
      this.#log.warn(`bridge: a malformed batch from node "${origin}" dropped`);
      return;
    }
    for (const p of parts) this.#import(sender, topic, realtime, p);
  }

  /** The topic of a publication subject (cached), or null when it is not one. */
  #topicOf(subject: string): string | null {
    let topic = this.#topicCache.get(subject);
    if (topic !== undefined) return topic;
    try {
      topic = subjectToTopic(this.#pubPrefix, subject) ?? undefined;
    } catch {
      topic = undefined;
    }
    if (topic === undefined || topic.includes("\0")) {
      this.#counts.rejected++;
      return null;
    }
    if (this.#topicCache.size >= CACHE_MAX) this.#topicCache.clear();
    this.#topicCache.set(subject, topic);
    return topic;
  }

  /** Publishes one imported publication locally, in order behind any that wait for room. */
  #import(sender: string, topic: string, realtime: boolean, payload: Uint8Array): void {
    this.#counts.imported++;
    if (this.#importQueue === null) {
      const r = this.#port.publish(sender, topic, realtime, payload);
      if (typeof r === "number") return;
      // an in-process subscriber is full: later imports wait behind this one, in order, bounded
      this.#importQueue = [];
      this.#drainImports(r);
      return;
    }
    if (this.#importQueueBytes + payload.length > IMPORT_QUEUE_MAX_BYTES) {
      this.#counts.dropped++;
      return;
    }
    this.#importQueueBytes += payload.length;
    this.#importQueue.push({ sender, topic, realtime, payload });
  }

  async #drainImports(first: Promise<number>): Promise<void> {
    await first.catch(() => {});
    const queue = this.#importQueue!;
    for (let i = 0; i < queue.length; i++) {
      const f = queue[i];
      this.#importQueueBytes -= f.payload.length;
      const r = this.#port.publish(f.sender, f.topic, f.realtime, f.payload);
      if (typeof r !== "number") await r.catch(() => {});
    }
    this.#importQueue = null;
    this.#importQueueBytes = 0;
  }

  #onMessage(msg: Msg): void {
    const origin = this.#origin(msg);
    if (origin === null) {
      if (msg.reply) msg.respond(NOT_REGISTERED);
      return;
    }
    this.#counts.messages_in++;
    const target = msg.headers?.get(BridgeHeader.Target) ?? "";
    const realtime = msg.headers?.get(BridgeHeader.Qos) === "2";
    const sender = this.#senderOf(msg, origin);
    const code = target === "" || sender === null
      ? ErrorCode.NotRegistered
      : this.#port.message(sender, target, realtime, msg.data);
    if (typeof code === "number") {
      if (msg.reply) msg.respond(new Uint8Array([code]));
      return;
    }
    code.then(
      (c) => msg.reply && msg.respond(new Uint8Array([c])),
      () => msg.reply && msg.respond(NOT_REGISTERED),
    );
  }

  #onBroadcast(msg: Msg): void {
    const origin = this.#origin(msg);
    if (origin === null) return;
    const node = msg.headers?.get(BridgeHeader.Node) ?? "";
    if (node !== "*" && node !== this.options.node) return;
    const mask = msg.headers?.get(BridgeHeader.Mask) ?? "";
    const sender = this.#senderOf(msg, origin);
    if (mask === "" || sender === null) return;
    this.#counts.broadcasts_in++;
    const realtime = msg.headers?.get(BridgeHeader.Qos) === "2";
    const r = this.#port.broadcast(sender, mask, realtime, msg.data);
    if (typeof r !== "number") r.catch(() => {});
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Detaches from the broker (messages to other nodes answer 0x71 again),
   * sends what NATS still has to send (up to a second) and disconnects.
   * Frames still in the outbound buffer are dropped and counted.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#sendBatch();
    const wasConnected = this.#state === "connected";
    this.#state = "closed";
    this.#port.detach();
    this.#counts.dropped += this.#buffer.drain().length;
    const nc = this.#nc;
    this.#nc = null;
    if (nc === null) return; // the connect loop sees the state and stops
    if (wasConnected) {
      await Promise.race([nc.flush().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    }
    await nc.close().catch(() => {});
  }
}

/** `@NODE/name` split, or null for any other name. */
function parseRemote(target: string): { node: string; name: string } | null {
  if (target.charCodeAt(0) !== 64) return null; // @
  const slash = target.indexOf("/");
  if (slash < 2 || slash === target.length - 1) return null;
  return { node: target.slice(1, slash), name: target.slice(slash + 1) };
}

function isTimeout(err: unknown): boolean {
  if (err instanceof errors.TimeoutError) return true;
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof errors.TimeoutError;
}
