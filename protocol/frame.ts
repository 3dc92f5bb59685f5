/**
 * A data frame as delivered to a client: direct message, broadcast or publication.
 *
 * @module
 */
import { type FrameKind, Op } from "./constants.ts";
import { primaryName } from "./names.ts";

/**
 * An incoming data frame. `payload` may view a buffer shared with other
 * frames of the same read: copy it (`slice()`) if you modify it.
 *
 * @example Read the primary name of a secondary sender
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame, Op } from "./mod.ts";
 * const f = new Frame(Op.Message, "app%%1", null, new Uint8Array([1]), false);
 * assert.equal(f.primarySender, "app");
 * assert.ok(f.isMessage);
 * ```
 */
export class Frame {
  /** Frame kind: {@linkcode Op.Message}, {@linkcode Op.Broadcast} or {@linkcode Op.Publish}. */
  readonly kind: FrameKind;
  /** Full sender name, including any `%%` suffix. */
  readonly sender: string;
  /** Topic of a publication; `null` for messages and broadcasts. */
  readonly topic: string | null;
  /** Payload bytes. */
  readonly payload: Uint8Array;
  /** Whether the sender used a realtime QoS. */
  readonly realtime: boolean;

  /**
   * Creates a frame.
   *
   * @param kind the frame kind (message, broadcast or publication)
   * @param sender the full sender name
   * @param topic the topic of a publication, else `null`
   * @param payload the payload bytes
   * @param realtime whether the sender used a realtime QoS
   */
  constructor(
    kind: FrameKind,
    sender: string,
    topic: string | null,
    payload: Uint8Array,
    realtime: boolean,
  ) {
    this.kind = kind;
    this.sender = sender;
    this.topic = topic;
    this.payload = payload;
    this.realtime = realtime;
  }

  /** The sender's primary name (the part before the first `%%`). */
  get primarySender(): string {
    return primaryName(this.sender);
  }

  /** Whether this is a direct message. */
  get isMessage(): boolean {
    return this.kind === Op.Message;
  }
  /** Whether this is a broadcast. */
  get isBroadcast(): boolean {
    return this.kind === Op.Broadcast;
  }
  /** Whether this is a publication. */
  get isPublish(): boolean {
    return this.kind === Op.Publish;
  }
}
