/**
 * The broker's record of one registered client and the delivery interface
 * its connection implements.
 *
 * @module
 */
import { primaryName } from "../protocol/names.ts";
import { encodeUtf8 } from "../protocol/text.ts";
import type { Markable } from "./topics.ts";
import type { ClientAcl } from "./access_policy.ts";

/** Client kinds as shown by `client.list`. */
export type ClientKind = "internal" | "local_ipc" | "tcp" | "websocket";

/** Delivery outcome: queued, or the target's queue was full and it must be dropped. */
export const Delivery = { Queued: 0, Overflow: 1 } as const;
/** One of the {@linkcode Delivery} values. */
export type Delivery = typeof Delivery[keyof typeof Delivery];

/** How the broker hands frames to a client's connection. */
export interface ClientSink {
  /**
   * Queues one data frame. Returns {@linkcode Delivery}, or a promise when the
   * target is an in-process client whose queue is full (the sender waits).
   */
  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: string | null,
    topicZ: Uint8Array | null,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
  ): Delivery | Promise<Delivery>;
  /** Frames waiting in the outgoing queue. */
  queueLength(): number;
  /**
   * Ends the connection: after writing what is queued when `flush` is true,
   * at once otherwise. In-process clients just end their frame stream.
   */
  disconnect(reason: string, flush: boolean): void;
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
  /** Connection kind. */
  readonly kind: ClientKind;
  /** Peer `ip:port` for TCP/WebSocket, else null. */
  readonly source: string | null;
  /** Listener bind string, or null for internal clients. */
  readonly port: string | null;
  /** Where frames for this client go. */
  readonly sink: ClientSink;
  /** Access rules, or null when the listener has no AAA. */
  readonly acl: ClientAcl | null;
  /** Subscribed patterns. */
  readonly subscriptions: Set<string> = new Set();
  /** Exclusion patterns, split on `/`; null until the first one (most clients have none). */
  exclusions: Map<string, string[]> | null = null;
  /** Registered secondaries (primaries only); null until the first one. */
  secondaries: Set<RegisteredClient> | null = null;
  /** The primary's record (secondaries only). */
  primaryClient: RegisteredClient | null = null;
  /** Whether the client is currently in the broker's table. */
  registered = false;
  /** Matcher scratch field. */
  mark = 0;
  /** Frames received from this client. */
  rFrames = 0;
  /** Bytes received from this client. */
  rBytes = 0;
  /** Frames written to this client. */
  wFrames = 0;
  /** Bytes written to this client. */
  wBytes = 0;

  /** Name split on `.` for broadcast masks (made on first use). */
  get nameSegments(): string[] {
    return this.#nameSegments ??= this.name.split(".");
  }

  /** Creates the record. */
  constructor(
    name: string,
    kind: ClientKind,
    sink: ClientSink,
    source: string | null = null,
    port: string | null = null,
    acl: ClientAcl | null = null,
  ) {
    this.name = name;
    const bytes = encodeUtf8(name);
    this.nameZ = new Uint8Array(bytes.length + 1);
    this.nameZ.set(bytes);
    this.primary = primaryName(name);
    this.isSecondary = this.primary !== name;
    this.kind = kind;
    this.sink = sink;
    this.source = source;
    this.port = port;
    this.acl = acl;
  }
}
