/**
 * The router's record of one registered client, the interface its
 * connection implements to receive frames, and the traffic counters.
 *
 * @module
 */
import { primaryName } from "../protocol/names.ts";
import { encodeUtf8 } from "../protocol/text.ts";
import type { Markable, TopicPatternSet } from "./topics.ts";
import type { ClientAcl } from "./access_policy.ts";
import type { RoutedPayload, Topic } from "./routed.ts";

/**
 * Client kinds as shown by `client.list`: `worker` (clients in Web Workers)
 * is ours; the reference knows the other four.
 */
export type ClientKind = "internal" | "local_ipc" | "tcp" | "websocket" | "worker";

/** Where a client is connected from, as `client.list` shows it. */
export interface ClientOrigin {
  /** Connection kind. */
  readonly kind: ClientKind;
  /** Peer `ip:port` for TCP/WebSocket, else null. */
  readonly source: string | null;
  /** Listener bind string, or null for in-process clients. */
  readonly port: string | null;
}

/** The origin of every in-process client. */
export const INTERNAL_ORIGIN: ClientOrigin = { kind: "internal", source: null, port: null };

/** Delivery outcome: queued, or the target's queue was full and it must be dropped. */
export const Delivery = { Queued: 0, Overflow: 1 } as const;
/** One of the {@linkcode Delivery} values. */
export type Delivery = typeof Delivery[keyof typeof Delivery];

/** How the router hands frames to a client's connection. */
export interface ClientSink {
  /**
   * Queues one data frame. Returns {@linkcode Delivery}, or a promise when
   * the target is an in-process client whose queue is full (the sender
   * waits). `topic` is set for publications only. The router counts what
   * was queued; the sink counts only frames it writes on its own (ACKs).
   *
   * @param kind the frame kind (message, broadcast or publish)
   * @param realtime whether the sender used a realtime QoS
   * @param sender the sending client
   * @param topic the topic of a publication, else `null`
   * @param payload the payload
   * @returns whether the frame was queued, or a promise of it
   */
  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: Topic | null,
    payload: RoutedPayload,
  ): Delivery | Promise<Delivery>;
  /** Frames waiting in the outgoing queue. */
  queueLength(): number;
  /** Bytes waiting in the outgoing queue (socket connections; read by monitoring only). */
  queueBytes?(): number;
  /** Why the last delivery returned {@linkcode Delivery.Overflow}, for the log (sinks with a limit of their own). */
  overflowReason?(): string;
  /**
   * Ends the connection: after writing what is queued when `flush` is true,
   * at once otherwise. In-process clients just end their frame stream.
   *
   * @param reason why, for the log
   * @param flush whether to write what is queued first
   */
  disconnect(reason: string, flush: boolean): void;
}

/** Frame and byte counters, per client and broker-wide. */
export class Traffic {
  /** Frames received from clients. */
  rFrames = 0;
  /** Bytes received from clients. */
  rBytes = 0;
  /** Frames written to clients. */
  wFrames = 0;
  /** Bytes written to clients. */
  wBytes = 0;
}

/** One registered client. */
export class RegisteredClient implements Markable {
  /** Full name. */
  readonly name: string;
  /** Name bytes followed by NUL, as written into delivered frames. */
  readonly nameZ: Uint8Array;
  #nameSegments: string[] | null = null;
  /** Primary name (before the first `%%`). */
  readonly primary: string;
  /** Whether the name contains `%%`. */
  readonly isSecondary: boolean;
  /** Where the client is connected from. */
  readonly origin: ClientOrigin;
  /** Where frames for this client go. */
  readonly sink: ClientSink;
  /** Access rules, or null when the listener has no AAA. */
  readonly acl: ClientAcl | null;
  /** This client's counters. */
  readonly traffic: Traffic = new Traffic();
  /** The broker-wide counters, which every count also goes to. */
  readonly #totals: Traffic;
  /** Subscribed patterns. */
  readonly subscriptions: Set<string> = new Set();
  /** Exclusion patterns, indexed; null until the first one (most clients have none). */
  exclusions: TopicPatternSet | null = null;
  /** Registered secondaries (primaries only); null until the first one. */
  secondaries: Set<RegisteredClient> | null = null;
  /** The primary's record (secondaries only). */
  primaryClient: RegisteredClient | null = null;
  /** Whether the client is currently in the router's table. */
  registered = false;
  /** Matcher scratch field. */
  mark = 0;
  /** When the record was made (the connection registered), in ms since the epoch. */
  readonly since: number = Date.now();

  /**
   * Creates the record (not registered yet).
   *
   * @param name the full client name
   * @param sink where frames for the client go
   * @param origin where it is connected from
   * @param acl its access rules, or null
   * @param totals the broker-wide counters (the router's)
   */
  constructor(name: string, sink: ClientSink, origin: ClientOrigin, acl: ClientAcl | null, totals: Traffic) {
    this.name = name;
    const bytes = encodeUtf8(name);
    this.nameZ = new Uint8Array(bytes.length + 1);
    this.nameZ.set(bytes);
    this.primary = primaryName(name);
    this.isSecondary = this.primary !== name;
    this.origin = origin;
    this.sink = sink;
    this.acl = acl;
    this.#totals = totals;
  }

  /** Name split on `.` for broadcast masks (made on first use). */
  get nameSegments(): string[] {
    return this.#nameSegments ??= this.name.split(".");
  }

  /**
   * Counts one frame of `bytes` received from this client: the only place
   * received traffic is counted.
   *
   * @param bytes the counted size of the frame
   */
  countReceived(bytes: number): void {
    const t = this.traffic;
    t.rFrames++;
    t.rBytes += bytes;
    const all = this.#totals;
    all.rFrames++;
    all.rBytes += bytes;
  }

  /**
   * Counts one frame of `bytes` written to this client: the only place
   * written traffic is counted.
   *
   * @param bytes the counted size of the frame
   */
  countWritten(bytes: number): void {
    const t = this.traffic;
    t.wFrames++;
    t.wBytes += bytes;
    const all = this.#totals;
    all.wFrames++;
    all.wBytes += bytes;
  }
}

/** One row of `client.list`. Keys and order as the reference. */
export interface ClientInfo {
  /** Client name. */
  name: string;
  /** `internal`, `local_ipc`, `tcp`, `websocket` or `worker`. */
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
 * The `client.list` row of a primary client (shared by `.broker client.list`
 * and the monitoring endpoint).
 *
 * @param c the client
 * @returns its row
 */
export function clientInfoOf(c: RegisteredClient): ClientInfo {
  const t = c.traffic;
  return {
    name: c.name,
    kind: c.origin.kind,
    source: c.origin.source,
    port: c.origin.port,
    r_frames: t.rFrames,
    r_bytes: t.rBytes,
    w_frames: t.wFrames,
    w_bytes: t.wBytes,
    queue: c.sink.queueLength(),
    instances: 1 + (c.secondaries?.size ?? 0),
  };
}

const nameEncoder = new TextEncoder();

/**
 * Orders names by their UTF-8 bytes, as the reference sorts `client.list`.
 *
 * @param a a name
 * @param b another name
 * @returns negative, zero or positive
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const x = nameEncoder.encode(a);
  const y = nameEncoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
