/**
 * One socket connection on the broker side: handshake, registration, the
 * frame read loop and the batched writer that delivers frames to it.
 *
 * @module
 */
import {
  BROKER_HEADER_SIZE,
  BROKER_WARN_TOPIC,
  ErrorCode,
  Op,
  type QoS,
  qosIsRealtime,
  qosNeedsAck,
} from "../protocol/constants.ts";
import { flagsOp, flagsQos, isPingFlags } from "../protocol/flags.ts";
import {
  encodeGreeting,
  GREETING_SIZE,
  isSupportedGreeting,
  REGISTRATION_LENGTH_SIZE,
  registrationNameLength,
} from "../protocol/handshake.ts";
import { ClientFrameDecoder, FrameTooLargeError } from "../protocol/decode.ts";
import { writeAck, writeDelivery, writeDeliveryHead, writeNop } from "../protocol/encode.ts";
import { closeQuietly, type Link, writeAll } from "../transport/link.ts";
import { isValidClientName, primaryName } from "../protocol/names.ts";
import { bytesEqual, decodeUtf8, indexOfNul } from "../protocol/text.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import { type TimerWheel, WheelTimer } from "../transport/timer_wheel.ts";
import type { ClientAcl, PeerInfo } from "./access_policy.ts";
import { type ClientKind, type ClientSink, Delivery, RegisteredClient } from "./registered_client.ts";
import { RoutedPayload, Topic } from "./routed.ts";
import { isDetachedAck } from "./remote_gateway.ts";
import type { Router } from "./router.ts";
import type { ResolvedListenerOptions } from "./listener_options.ts";

const OK_BYTE = new Uint8Array([ErrorCode.Ok]);
/** Bytes of one ACK frame, as counted by statistics. */
const ACK_SIZE = 6;
const EMPTY = new Uint8Array(0);
/** The broker's keepalive frame (PROTOCOL.md §5.2), written as is when no writer exists. */
const NOP_BYTES = new Uint8Array(BROKER_HEADER_SIZE);
/**
 * First size of a session's read buffer: what an idle connection holds while
 * its read waits (a ping is 9 bytes); reads that fill it double it.
 */
const IDLE_READ_BUFFER = 64;
/** The last-topic cache of a session that has published nothing yet (topics are immutable). */
const NO_TOPIC = Topic.of("");
/**
 * Payloads of publications and broadcasts from this size on, with several
 * recipients, are shared by the recipients' queues instead of copied into
 * each (the read buffer they arrived in is then not reused). A frame too
 * large for the adaptive read buffer arrives in a buffer of its own
 * (`frameAlone`): its payload is shared whatever the kind and the number of
 * recipients.
 */
const SHARE_MIN = 65536;

/** A protocol violation by the peer; the connection is closed. */
class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolViolation";
  }
}

/** Where a session came from. */
export interface SessionOrigin {
  /** Client kind for `client.list`. */
  kind: ClientKind;
  /** Peer `ip:port`, or null. */
  source: string | null;
  /** Listener bind string. */
  port: string;
  /** What the access policy sees. */
  peer: PeerInfo;
}

/**
 * Why a connection ended, as the `client.disconnected` and
 * `connection.closed` log events give it.
 */
export type EndReason =
  | "closed"
  | "timeout"
  | "overflow"
  | "AAA"
  | "replaced"
  | "refused"
  | "protocol"
  | "forced"
  | "shutdown";

/**
 * Classifies the reason text of a disconnect.
 *
 * @param reason the text, e.g. `write timed out`
 * @returns its class
 */
export function endReason(reason: string): EndReason {
  if (reason.startsWith("replaced")) return "replaced";
  if (reason.includes("overflow")) return "overflow";
  if (reason.includes("timed out") || reason.includes("in time")) return "timeout";
  if (reason.startsWith("broker clos")) return "shutdown";
  if (reason === "force-disconnected") return "forced";
  return "closed";
}

/**
 * Broker side of one IPC connection. It is its own timer on the listener's
 * {@linkcode TimerWheel}: the handshake deadline, then keepalive NOPs every
 * `timeout/2` and the silence, body and write timeouts, with no timer object
 * of its own. An idle session holds no write buffer: NOPs are written as
 * they are, a writer is made for the first frame and let go when idle.
 */
export class IpcSession extends WheelTimer implements ClientSink {
  /** The registered record, once the handshake succeeded. */
  entry: RegisteredClient | null = null;
  /** `performance.now()` of the last complete frame or ping. */
  lastFrameAt = performance.now();
  /** When the current incomplete body started, or 0. */
  bodyFrom = 0;

  readonly #router: Router;
  readonly #link: Link;
  readonly #config: ResolvedListenerOptions;
  readonly #origin: SessionOrigin;
  /** The batched writer, made on first use and let go when idle (see {@linkcode IpcSession.onTimer}). */
  #writer: WriteBuffer | null = null;
  /** A write done without a writer (the registration OK byte, NOPs) that is still in flight, or null. */
  #direct: Promise<void> | null = null;
  /** When {@linkcode #direct} started, or 0. */
  #directSince = 0;
  /** The bytes of {@linkcode #direct} not written yet. */
  #directBytes: Uint8Array = EMPTY;
  /** Completion of a direct write, made once: a NOP then allocates no closure. */
  #directDone: ((result: unknown) => void) | null = null;
  readonly #wheel: TimerWheel;
  /** When the next keepalive NOP is due, ms. */
  #nextNop = 0;
  /** Data frames received up to the last NOP. */
  #framesAtNop = 0;
  /** Set at a NOP when no data frame came for a whole NOP period: the read buffer is made small again. */
  #shrinkRead = false;
  readonly #decoder: ClientFrameDecoder;
  #acl: ClientAcl | null = null;
  /** What timed out when the handshake deadline passes. */
  #stepName: string = "";
  readonly #onEnd: (session: IpcSession) => void;
  #ended = false;
  /** Why the connection ends, when the reason text does not say it (refusals, violations). */
  #why: EndReason | null = null;
  // last-target / last-topic caches: a sender usually repeats them
  #targetBytes: Uint8Array = EMPTY;
  #target: RegisteredClient | undefined = undefined;
  #targetName = "";
  #topic: Topic = NO_TOPIC;
  /** Made on the first routed frame. */
  #payload: RoutedPayload | null = null;
  /** Why the last delivery was refused, for the log. */
  #overflow = "outgoing queue overflow";

  /**
   * Creates a session over an accepted link.
   *
   * @param router the broker's router
   * @param link the accepted connection
   * @param config the listener's settings
   * @param origin where the connection comes from
   * @param wheel the listener's timer wheel (handshake deadline, keepalive, timeouts)
   * @param onEnd called once when the session has ended
   */
  constructor(
    router: Router,
    link: Link,
    config: ResolvedListenerOptions,
    origin: SessionOrigin,
    wheel: TimerWheel,
    onEnd: (session: IpcSession) => void = () => {},
  ) {
    super();
    this.#wheel = wheel;
    this.#onEnd = onEnd;
    this.#router = router;
    this.#link = link;
    this.#config = config;
    this.#origin = origin;
    this.#decoder = new ClientFrameDecoder(config.payloadLimit, Math.min(config.bufSize, IDLE_READ_BUFFER));
    this.#decoder.pool = router.largeFrames; // large frames' buffers are reused once written
  }

  /** Runs the connection to its end. Never throws. */
  async run(): Promise<void> {
    try {
      if (!await this.#handshake()) return;
      this.#nextNop = this.#wheel.now() + this.#config.timeout * 500;
      this.#wheel.scheduleAt(this, this.#nextNop);
      // the frame loop lives here rather than in its own async method: one
      // suspended frame less per idle connection
      const dec = this.#decoder;
      const link = this.#link;
      // frames pipelined behind the handshake may be buffered already: parse first, then read
      for (;;) {
        let parsed = false;
        while (dec.next()) {
          parsed = true;
          const r = this.#handleFrame();
          if (r !== undefined) await r;
          if (this.#ended) return;
        }
        const now = performance.now();
        if (parsed) this.lastFrameAt = now;
        if (dec.inBody) {
          if (this.bodyFrom === 0) this.bodyFrom = now;
        } else this.bodyFrom = 0;
        if (this.#shrinkRead) {
          this.#shrinkRead = false;
          dec.compact(); // idle: back to the small buffer (here, where no read holds the old one)
          this.#payload = null; // it still views the old buffer
        }
        const n = await link.read(dec.readRegion());
        if (n === null) {
          if (dec.pending > 0) throw new ProtocolViolation("connection closed inside a frame");
          return;
        }
        dec.commit(n);
      }
    } catch (err) {
      if (!this.#ended) {
        const line = `${this.#who()}: ${errorText(err)}; disconnecting`;
        if (err instanceof ProtocolViolation || err instanceof FrameTooLargeError) {
          this.#why = "protocol";
          this.#router.warnings.warn("protocol violation", line);
        } else this.#router.log.debug(line);
      }
    } finally {
      this.#teardown();
      this.#decoder.release(); // this loop was its only reader
      this.#onEnd(this);
    }
  }

  // ---------------------------------------------------------------- handshake

  async #handshake(): Promise<boolean> {
    const o = this.#origin;
    this.#router.events.event(
      "connection",
      "connection.accepted",
      `connection${o.source === null ? "" : ` from ${o.source}`} (${o.kind}) on ${o.port}`,
      { kind: o.kind, source: o.source, listener: o.port },
    );
    try {
      await this.#step(writeAll(this.#link, encodeGreeting()), "greeting");
      const echo = await this.#step(this.#take(GREETING_SIZE), "greeting echo");
      if (!isSupportedGreeting(echo)) {
        this.#router.warnings.warn(
          "unsupported greeting",
          `${this.#label}: unsupported greeting ${hex(echo)}; refusing`,
        );
        await this.#refuse(ErrorCode.NotSupported);
        return false;
      }
      await this.#step(writeAll(this.#link, OK_BYTE), "greeting reply");
      const lenBytes = await this.#step(this.#take(REGISTRATION_LENGTH_SIZE), "name length");
      const len = registrationNameLength(lenBytes);
      const nameBytes = await this.#step(this.#take(len), "name");
      return await this.#register(decodeUtf8(nameBytes, 0, nameBytes.length));
    } finally {
      this.#wheel.cancel(this);
    }
  }

  /** Registers the client named in the handshake; false when refused. */
  async #register(name: string | null): Promise<boolean> {
    if (name === null) {
      this.#router.warnings.warn(
        "invalid client name",
        `${this.#label}: client name is not valid UTF-8; closing`,
      );
      return false;
    }
    if (!isValidClientName(name)) {
      this.#router.warnings.warn(
        "invalid client name",
        `${this.#label}: invalid client name "${name}"; refusing`,
      );
      await this.#refuse(ErrorCode.Data);
      return false;
    }
    const policy = this.#config.policy;
    if (policy !== null) {
      const acl = policy.authorize(primaryName(name), this.#origin.peer);
      if (acl === null) {
        this.#why = "AAA";
        this.#router.warnings.event(
          "registration refused",
          "client.refused",
          `${this.#label}: client "${name}" refused by access policy`,
          {
            name,
            kind: this.#origin.kind,
            source: this.#origin.source,
            listener: this.#origin.port,
            reason: "AAA",
          },
        );
        await this.#refuse(ErrorCode.Access);
        return false;
      }
      this.#acl = acl;
    }
    const origin = this.#origin;
    const entry = new RegisteredClient(name, this, origin, this.#acl, this.#router.totals);
    const code = this.#router.register(entry);
    if (code !== ErrorCode.Ok) {
      this.#why = "refused";
      this.#router.warnings.warn(
        "registration refused",
        `${this.#label}: client "${name}" refused with code 0x${code.toString(16)}`,
      );
      await this.#refuse(code);
      return false;
    }
    this.entry = entry;
    // written before any delivery can be: a writer made meanwhile waits for it
    this.#writeDirect(OK_BYTE);
    this.lastFrameAt = performance.now();
    this.#router.events.event(
      "registration",
      "client.registered",
      `${this.#label} registered (${origin.kind}${
        origin.source === null ? "" : ` from ${origin.source}`
      } on ${origin.port})`,
      { name, kind: origin.kind, source: origin.source, listener: origin.port },
    );
    return true;
  }

  /**
   * Bounds one handshake step by the timeout: on expiry the link is closed,
   * which ends the pending read or write.
   */
  #step<T>(op: Promise<T>, what: string): Promise<T> {
    this.#stepName = what;
    this.#wheel.schedule(this, this.#config.timeout * 1000);
    return op;
  }

  /**
   * Reads `n` handshake bytes through the frame decoder's buffer, so frames a
   * client pipelines after its name stay there for the read loop.
   */
  async #take(n: number): Promise<Uint8Array> {
    const dec = this.#decoder;
    while (dec.pending < n) {
      const got = await this.#link.read(dec.readRegion());
      if (got === null) throw new Deno.errors.UnexpectedEof("connection closed during the handshake");
      dec.commit(got);
    }
    const out = dec.buf.slice(dec.start, dec.start + n);
    dec.start += n;
    return out;
  }

  async #refuse(code: number): Promise<void> {
    try {
      await this.#step(writeAll(this.#link, new Uint8Array([code])), "refusal");
    } catch {
      // the peer is gone already
    }
  }

  // ---------------------------------------------------------------- frames

  #handleFrame(): Promise<void> | undefined {
    const dec = this.#decoder;
    const flags = dec.flags;
    if (isPingFlags(flags)) return undefined;
    const op = flagsOp(flags);
    const qos = flagsQos(flags);
    const realtime = qosIsRealtime(qos);
    const buf = dec.buf;
    const bs = dec.bodyStart;
    const be = dec.bodyEnd;
    const entry = this.entry!;
    const router = this.#router;
    const acl = this.#acl;
    const payload = this.#payload ??= new RoutedPayload();
    let code: number | Promise<number>;
    switch (op) {
      case Op.Message: {
        const nul = requireNul(buf, bs, be);
        const target = this.#resolveTarget(buf, bs, nul);
        if (acl !== null && !acl.allowP2p(this.#targetName)) {
          code = ErrorCode.Access;
        } else {
          entry.countReceived(be - bs);
          payload.set(buf, nul + 1, be, be - bs, false, dec.frameAlone);
          payload.storage = dec.frameStorage;
          code = router.routeMessage(entry, target, realtime, payload, this.#targetName);
          if (payload.shareable) dec.detach(); // the target's queue references the payload where it is
        }
        break;
      }
      case Op.Broadcast: {
        const nul = requireNul(buf, bs, be);
        const mask = requireText(buf, bs, nul, "broadcast mask");
        if (acl !== null && !acl.allowBroadcast(mask)) code = ErrorCode.Access;
        else {
          entry.countReceived(be - bs);
          payload.set(buf, nul + 1, be, be - bs, be - nul - 1 >= SHARE_MIN, dec.frameAlone);
          payload.storage = dec.frameStorage;
          code = router.routeBroadcast(entry, mask, realtime, payload);
          if (payload.shareable) dec.detach(); // queues reference the payload where it is
        }
        break;
      }
      case Op.Publish:
      case Op.PublishFor: {
        const nul = requireNul(buf, bs, be);
        const topic = this.#resolveTopic(buf, bs, nul);
        let receiver: string | null = null;
        let payloadStart = nul + 1;
        if (op === Op.PublishFor) {
          const nul2 = requireNul(buf, payloadStart, be);
          receiver = requireText(buf, payloadStart, nul2, "receiver");
          payloadStart = nul2 + 1;
        }
        if (acl !== null && !acl.allowPublish(topic.text)) code = ErrorCode.Access;
        else {
          entry.countReceived(be - bs);
          payload.set(buf, payloadStart, be, be - bs, be - payloadStart >= SHARE_MIN, dec.frameAlone);
          payload.storage = dec.frameStorage;
          code = router.routePublish(entry, topic, receiver, realtime, payload);
          if (payload.shareable) dec.detach(); // queues reference the payload where it is
        }
        break;
      }
      case Op.Subscribe:
      case Op.Unsubscribe:
      case Op.Exclude:
      case Op.Unexclude:
        code = this.#topicListOp(op, qos, buf, bs, be);
        break;
      case Op.Nop:
        requireNul(buf, bs, be);
        return undefined; // never acknowledged
      default:
        throw new ProtocolViolation(`unknown operation 0x${op.toString(16).padStart(2, "0")}`);
    }
    if (!qosNeedsAck(qos)) {
      if (typeof code !== "number") return this.#awaitDelivery(code, null, false);
      return undefined;
    }
    if (typeof code === "number") {
      writeAck(this.#w(), buf, dec.idAt, code, realtime);
      entry.countWritten(ACK_SIZE);
      return undefined;
    }
    return this.#awaitDelivery(code, buf.slice(dec.idAt, dec.idAt + 4), realtime);
  }

  /** Waits for an in-process target with a full queue, up to the timeout. */
  async #awaitDelivery(code: Promise<number>, id: Uint8Array | null, realtime: boolean): Promise<void> {
    if (isDetachedAck(code)) return this.#ackLater(code, id, realtime);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<null>((resolve) =>
      timer = setTimeout(() => resolve(null), this.#config.timeout * 1000)
    );
    const result = await Promise.race([code, expired]);
    clearTimeout(timer);
    if (result === null) throw new Error("timed out waiting for an in-process target's queue");
    if (id !== null && !this.#ended) {
      writeAck(this.#w(), id, 0, result, realtime);
      this.entry!.countWritten(ACK_SIZE);
    }
  }

  /** A message to another host (the bridge answers within its own timeout): read on, ACK when it comes. */
  #ackLater(code: Promise<number>, id: Uint8Array | null, realtime: boolean): void {
    if (id === null) return;
    code.then((result) => {
      if (this.#ended) return;
      writeAck(this.#w(), id, 0, result, realtime);
      this.entry!.countWritten(ACK_SIZE);
    });
  }

  #topicListOp(op: number, qos: QoS, buf: Uint8Array, bs: number, be: number): number {
    const topics: string[] = [];
    let start = bs;
    for (;;) {
      let nul = indexOfNul(buf, start, be);
      if (nul === -1) nul = be;
      topics.push(requireText(buf, start, nul, "topic"));
      if (nul === be) break;
      start = nul + 1;
    }
    const entry = this.entry!;
    const router = this.#router;
    entry.countReceived(be - bs);
    const acl = this.#acl;
    const limit = this.#config.topicLimit;
    let refused = 0;
    for (const t of topics) {
      if (op === Op.Subscribe && acl !== null && !acl.allowSubscribe(t)) {
        if (qosNeedsAck(qos)) {
          writeAck(this.#w(), buf, this.#decoder.idAt, ErrorCode.Access, qosIsRealtime(qos));
          entry.countWritten(ACK_SIZE);
        }
      } else if (op === Op.Subscribe && userSubscriptions(entry) >= limit && !entry.subscriptions.has(t)) {
        refused++;
      } else if (
        op === Op.Exclude && entry.exclusions !== null && entry.exclusions.size >= limit &&
        !entry.exclusions.has(t)
      ) {
        refused++;
      } else router.topicOp(entry, op, t);
    }
    if (refused === 0) return ErrorCode.Ok;
    const what = op === Op.Subscribe ? "subscriptions" : "exclusions";
    this.#router.warnings.warn(
      "topic limit",
      `${this.#who()}: ${refused} ${what} refused, topicLimit is ${limit} per client`,
    );
    return ErrorCode.Other;
  }

  #resolveTarget(buf: Uint8Array, start: number, end: number): RegisteredClient | undefined {
    if (!bytesEqual(buf, start, end, this.#targetBytes)) {
      this.#targetName = requireText(buf, start, end, "target");
      this.#targetBytes = buf.slice(start, end);
      this.#target = this.#router.lookup(this.#targetName);
    } else if (this.#target === undefined || !this.#target.registered) {
      this.#target = this.#router.lookup(this.#targetName);
    }
    return this.#target;
  }

  /** The topic at `buf[start..nul)`: the last one again when the bytes repeat. */
  #resolveTopic(buf: Uint8Array, start: number, nul: number): Topic {
    if (this.#topic.sameBytes(buf, start, nul)) return this.#topic;
    return this.#topic = Topic.fromFrame(requireText(buf, start, nul, "topic"), buf, start, nul);
  }

  // ---------------------------------------------------------------- ClientSink

  /**
   * @internal
   *
   * @param kind the frame kind (message, broadcast or publish)
   * @param realtime whether the sender used a realtime QoS
   * @param sender the sending client
   * @param topic the topic of a publication, else `null`
   * @param payload the payload
   * @returns whether the frame was queued
   */
  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: Topic | null,
    payload: RoutedPayload,
  ): Delivery {
    if (this.#ended) return Delivery.Overflow;
    const w = this.#w();
    const config = this.#config;
    if (w.frames + w.framesInFlight >= config.queueSize) {
      this.#overflow = `outgoing queue overflow (${config.queueSize} frames)`;
      return Delivery.Overflow;
    }
    const z = topic === null ? null : topic.nulTerminated;
    const pending = w.pendingBytes;
    if (pending > 0) {
      const size = BROKER_HEADER_SIZE + sender.nameZ.length + (z === null ? 0 : z.length) + payload.end -
        payload.start;
      if (pending + size > config.queueBytes) {
        this.#overflow = `outgoing queue overflow (over ${config.queueBytes} bytes)`;
        return Delivery.Overflow;
      }
    }
    if (payload.shareable) {
      // one copy of a large payload for all the recipients of a publication or broadcast
      writeDeliveryHead(w, kind, realtime, sender.nameZ, z, payload.end - payload.start);
      w.share(payload.src.subarray(payload.start, payload.end), realtime, payload.storage);
    } else writeDelivery(w, kind, realtime, sender.nameZ, z, payload.src, payload.start, payload.end);
    return Delivery.Queued;
  }

  /** @internal */
  overflowReason(): string {
    return this.#overflow;
  }

  /** @internal */
  queueLength(): number {
    return this.#writer?.pendingFrames ?? 0;
  }

  /** @internal */
  queueBytes(): number {
    return this.#writer?.pendingBytes ?? 0;
  }

  /**
   * @internal
   *
   * @param reason why, for the log
   * @param flush whether to write what is queued first
   */
  disconnect(reason: string, flush: boolean): void {
    if (this.#ended) return;
    this.#end(reason, flush);
  }

  // ---------------------------------------------------------------- keepalive

  /**
   * The session's wheel timer: during the handshake its deadline; once
   * registered, the silence, body and write timeouts and the NOP every
   * `timeout/2` (a full queue at NOP time drops the client, PROTOCOL.md §8).
   * Deadlines move lazily: frames only update `lastFrameAt`, and this
   * reschedules itself to the earliest of what is due next.
   *
   * @param now the wheel's clock (`performance.now()`)
   */
  onTimer(now: number): void {
    if (this.#ended) return;
    if (this.entry === null) {
      this.#why = "timeout";
      this.#router.log.debug(`${this.#label}: handshake timed out (${this.#stepName})`);
      closeQuietly(this.#link);
      return;
    }
    const ms = this.#config.timeout * 1000;
    const w = this.#writer;
    const writingSince = w !== null && w.lastProgressAt > 0 ? w.lastProgressAt : this.#directSince;
    let problem: string | null = null;
    if (writingSince > 0 && now - writingSince > ms) problem = "write timed out";
    else if (this.bodyFrom > 0 ? now - this.bodyFrom > ms : now - this.lastFrameAt > ms * 1.25) {
      problem = this.bodyFrom > 0 ? "frame body not received in time" : "no frames or pings in time";
    } else if (now >= this.#nextNop && w !== null && w.pendingFrames >= this.#config.queueSize) {
      problem = "client queue overflow";
    }
    if (problem !== null) {
      this.#router.warnings.warn(problem, `${this.#who()}: ${problem}; disconnecting`);
      this.#end(problem, false);
      return;
    }
    if (now >= this.#nextNop) {
      const half = ms / 2;
      this.#nextNop = Math.max(this.#nextNop + half, now + half / 2); // no burst after a stall
      const received = this.entry.traffic.rFrames;
      if (received === this.#framesAtNop && this.#decoder.buf.length > IDLE_READ_BUFFER) {
        this.#shrinkRead = true;
      }
      this.#framesAtNop = received;
      if (w === null) this.#writeDirect(NOP_BYTES);
      else if (w.pendingBytes === 0 && w.lastProgressAt === 0 && this.#direct === null) {
        this.#writer = null; // idle since its last write: let it go with its buffers
        this.#writeDirect(NOP_BYTES);
      } else writeNop(w);
    }
    let next = this.#nextNop;
    const silence = this.bodyFrom > 0 ? this.bodyFrom + ms : this.lastFrameAt + ms * 1.25;
    if (silence < next) next = silence;
    const writing = this.#writer !== null && this.#writer.lastProgressAt > 0
      ? this.#writer.lastProgressAt
      : this.#directSince;
    if (writing > 0 && writing + ms < next) next = writing + ms;
    // at least one wheel step on: a deadline that moved is looked at again then
    this.#wheel.scheduleAt(this, next + 1);
  }

  /** The writer, made on first use; a direct write still in flight goes first. */
  #w(): WriteBuffer {
    return this.#writer ??= this.#newWriter();
  }

  #newWriter(): WriteBuffer {
    const config = this.#config;
    const link = this.#link;
    const w = new WriteBuffer(this.#direct === null ? link : this.#afterDirect(), {
      flushThreshold: Math.max(config.bufSize, 65536),
      keepCapacity: Math.max(config.bufSize * 4, 262144),
      bufTtlMicros: config.bufTtl,
      onError: (err) => this.#end(`write failed: ${errorText(err)}`, false),
    });
    if (this.#ended) w.close(new Error("connection ended"));
    return w;
  }

  /** The link for a writer made while a direct write is in flight: its writes wait for that one. */
  #afterDirect(): Link {
    const link = this.#link;
    return {
      read: (buf) => link.read(buf),
      write: async (data) => {
        while (this.#direct !== null) await this.#direct; // a partial write continues with a new promise
        return link.write(data);
      },
      close: () => link.close(),
    };
  }

  /** Writes a small constant frame without a writer (none exists, or it is idle and let go). */
  #writeDirect(bytes: Uint8Array): void {
    if (this.#direct !== null) return; // the previous NOP has not gone out yet: this one is not needed
    this.#directSince = performance.now();
    this.#directBytes = bytes;
    const done = this.#directDone ?? this.#makeDirectDone();
    this.#direct = this.#link.write(bytes).then(done, done);
  }

  /** Made apart from #writeDirect, which then needs no context of its own per call. */
  #makeDirectDone(): (result: unknown) => void {
    return this.#directDone = (result) => this.#directWritten(result);
  }

  /** A direct write took `result` bytes (the rest is written next) or failed with `result`. */
  #directWritten(result: unknown): void {
    if (typeof result === "number") {
      const rest = this.#directBytes.subarray(result);
      if (rest.length > 0 && !this.#ended) {
        this.#directBytes = rest;
        const done = this.#directDone!;
        this.#direct = this.#link.write(rest).then(done, done);
        return;
      }
      this.#direct = null;
    } else {
      this.#direct = null;
      this.#end(`write failed: ${errorText(result)}`, false);
    }
    this.#directSince = 0;
    this.#directBytes = EMPTY;
  }

  /** Closes a connection that has not registered yet (broker shutdown). */
  abort(): void {
    if (this.entry === null) this.#end("broker closing", false);
  }

  // ---------------------------------------------------------------- teardown

  #end(reason: string, flush: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wheel.cancel(this);
    this.#logEnd(reason);
    if (this.entry !== null && this.entry.registered) this.#router.unregister(this.entry, true);
    const w = this.#writer;
    if (w === null) {
      closeQuietly(this.#link);
    } else if (flush && !w.broken) {
      const done = () => {
        clearTimeout(timer);
        closeQuietly(this.#link);
        w.close(new Error(reason));
      };
      const timer = setTimeout(done, this.#config.timeout * 1000);
      w.flush().then(done, done);
    } else {
      closeQuietly(this.#link);
      w.close(new Error(reason));
    }
  }

  /** The `client.disconnected` (registered) or `connection.closed` event. */
  #logEnd(reason: string): void {
    const o = this.#origin;
    const why = this.#why ?? endReason(reason);
    const entry = this.entry;
    if (entry !== null) {
      this.#router.events.event(
        "disconnect",
        "client.disconnected",
        `${this.#label} disconnected: ${reason}`,
        { name: entry.name, kind: o.kind, source: o.source, listener: o.port, reason: why, detail: reason },
      );
    } else {
      this.#router.events.event(
        "connection",
        "connection.closed",
        `connection${
          o.source === null ? "" : ` from ${o.source}`
        } (${o.kind}) on ${o.port} closed before registering: ${why}`,
        { kind: o.kind, source: o.source, listener: o.port, reason: why, detail: reason },
      );
    }
  }

  #teardown(): void {
    if (!this.#ended) this.#end("connection closed", true);
  }

  #who(): string {
    return this.#label;
  }

  /** How log lines name the connection: the client once registered, else where it came from. */
  get #label(): string {
    const entry = this.entry;
    return entry !== null ? `client "${entry.name}"` : this.#origin.source ?? this.#origin.port;
  }
}

/**
 * Subscriptions a client made itself: the one the broker gives every client
 * at registration (`.broker/warn`, PROTOCOL.md §11) does not count against
 * `topicLimit`.
 */
function userSubscriptions(entry: RegisteredClient): number {
  const n = entry.subscriptions.size;
  return entry.subscriptions.has(BROKER_WARN_TOPIC) ? n - 1 : n;
}

function requireNul(buf: Uint8Array, start: number, end: number): number {
  const nul = indexOfNul(buf, start, end);
  if (nul === -1) throw new ProtocolViolation("broken frame: missing NUL separator");
  return nul;
}

function requireText(buf: Uint8Array, start: number, end: number, what: string): string {
  const s = decodeUtf8(buf, start, end);
  if (s === null) throw new ProtocolViolation(`${what} is not valid UTF-8`);
  return s;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
