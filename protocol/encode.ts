/**
 * Frame encoders. Each appends one frame to a {@linkcode FrameSink} (in
 * practice the transport's batched write buffer) with plain byte stores: no
 * intermediate arrays, no string building.
 *
 * @module
 */
import { BROKER_HEADER_SIZE, CLIENT_HEADER_SIZE, Op } from "./constants.ts";

/**
 * Where encoders append frames: reserve room, store bytes into `buf`, commit.
 * The transport's `WriteBuffer` is the implementation.
 */
export interface FrameSink {
  /** The bytes being filled; valid until the next {@linkcode FrameSink.reserve}. */
  readonly buf: Uint8Array;
  /**
   * Makes room for `n` bytes and returns the offset in `buf` to write them at.
   *
   * @param n the number of bytes to reserve
   * @returns the offset in `buf` to write them at
   */
  reserve(n: number): number;
  /**
   * Commits `n` bytes written at the reserved offset, counting `frames` frames.
   *
   * @param n the number of bytes written
   * @param instant whether to flush at once (realtime)
   * @param frames the number of frames the bytes hold (default 1)
   */
  commit(n: number, instant: boolean, frames?: number): void;
}

/**
 * Stores `v` as u32 little-endian at `buf[at]`.
 *
 * @param buf the bytes to write into
 * @param at the offset
 * @param v the value
 */
export function putU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/**
 * Reads a u32 little-endian from `buf[at]`.
 *
 * @param buf the bytes
 * @param at the offset
 * @returns the value
 */
export function getU32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/**
 * Appends a client → broker frame: `id flags len` + `field \0` for each field
 * (target, receiver …) + payload. `flags` packs the op and the QoS: build it
 * with `packFlags` (`flags.ts`).
 *
 * @param w the sink to append to
 * @param id the frame id
 * @param flags the flags byte (op and QoS)
 * @param field1 the first field: target, mask or topic
 * @param field2 the second field (the receiver of PUBLISH_FOR), or `null`
 * @param payload the payload bytes
 * @param instant whether to flush at once (realtime)
 */
export function writeClientFrame(
  w: FrameSink,
  id: number,
  flags: number,
  field1: Uint8Array,
  field2: Uint8Array | null,
  payload: Uint8Array,
  instant: boolean,
): void {
  const headLen = clientHeadLength(field1, field2);
  const total = headLen + payload.length;
  const p = w.reserve(total);
  const buf = w.buf;
  putClientHead(buf, p, id, flags, total - CLIENT_HEADER_SIZE, field1, field2);
  if (payload.length > 0) buf.set(payload, p + headLen);
  w.commit(total, instant);
}

/**
 * Appends the head of a client → broker data frame (header and fields), its
 * length field counting a payload of `payloadLength` bytes that the caller
 * appends next by reference (`WriteBuffer.share`): a large payload is then
 * written from the caller's buffer instead of being copied. Never flushes by
 * itself: the payload decides.
 *
 * @example The head of a MESSAGE whose 3-byte payload follows
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeClientFrameHead } from "./encode.ts";
 * const sink = { buf: new Uint8Array(64), len: 0,
 *   reserve(_n: number) { return this.len; }, commit(n: number) { this.len += n; } };
 * writeClientFrameHead(sink, 7, 0x12, new TextEncoder().encode("t"), null, 3);
 * assert.deepEqual([...sink.buf.subarray(0, sink.len)], [7, 0, 0, 0, 0x12, 5, 0, 0, 0, 0x74, 0]);
 * ```
 *
 * @param w the sink to append to
 * @param id the frame id
 * @param flags the flags byte (op and QoS)
 * @param field1 the first field: target, mask or topic
 * @param field2 the second field (the receiver of PUBLISH_FOR), or `null`
 * @param payloadLength the length of the payload that follows
 */
export function writeClientFrameHead(
  w: FrameSink,
  id: number,
  flags: number,
  field1: Uint8Array,
  field2: Uint8Array | null,
  payloadLength: number,
): void {
  const headLen = clientHeadLength(field1, field2);
  const p = w.reserve(headLen);
  putClientHead(w.buf, p, id, flags, headLen - CLIENT_HEADER_SIZE + payloadLength, field1, field2);
  w.commit(headLen, false);
}

/** Bytes of a client frame before its payload: the header and each field with its NUL. */
function clientHeadLength(field1: Uint8Array, field2: Uint8Array | null): number {
  return CLIENT_HEADER_SIZE + field1.length + 1 + (field2 === null ? 0 : field2.length + 1);
}

/** Stores `id flags len field1 \0 [field2 \0]` at `buf[p]`. */
function putClientHead(
  buf: Uint8Array,
  p: number,
  id: number,
  flags: number,
  bodyLen: number,
  field1: Uint8Array,
  field2: Uint8Array | null,
): void {
  putU32(buf, p, id);
  buf[p + 4] = flags;
  putU32(buf, p + 5, bodyLen);
  p += CLIENT_HEADER_SIZE;
  buf.set(field1, p);
  p += field1.length;
  buf[p++] = 0;
  if (field2 !== null) {
    buf.set(field2, p);
    p += field2.length;
    buf[p] = 0;
  }
}

/**
 * Appends a topic-list frame (SUBSCRIBE …): topics joined by `\0`, no trailing
 * NUL. `flags` packs the op and the QoS: build it with `packFlags` (`flags.ts`).
 *
 * @param w the sink to append to
 * @param id the frame id
 * @param flags the flags byte (op and QoS)
 * @param topics the topic patterns as UTF-8
 * @param instant whether to flush at once (realtime)
 */
export function writeTopicsFrame(
  w: FrameSink,
  id: number,
  flags: number,
  topics: Uint8Array[],
  instant: boolean,
): void {
  let bodyLen = topics.length > 0 ? topics.length - 1 : 0;
  for (const t of topics) bodyLen += t.length;
  const total = CLIENT_HEADER_SIZE + bodyLen;
  let p = w.reserve(total);
  const buf = w.buf;
  putU32(buf, p, id);
  buf[p + 4] = flags;
  putU32(buf, p + 5, bodyLen);
  p += CLIENT_HEADER_SIZE;
  for (let i = 0; i < topics.length; i++) {
    if (i > 0) buf[p++] = 0;
    buf.set(topics[i], p);
    p += topics[i].length;
  }
  w.commit(total, instant);
}

/**
 * Appends the client keepalive: 9 zero bytes.
 *
 * @param w the sink to append to
 */
export function writePing(w: FrameSink): void {
  const p = w.reserve(CLIENT_HEADER_SIZE);
  w.buf.fill(0, p, p + CLIENT_HEADER_SIZE);
  w.commit(CLIENT_HEADER_SIZE, true, 0);
}

/**
 * Appends a broker → client data frame. `senderZ` is the sender name with its
 * terminating NUL; `topicZ` likewise, or `null` for non-publish kinds.
 *
 * @param w the sink to append to
 * @param kind the frame kind (message, broadcast or publish)
 * @param realtime whether the sender used a realtime QoS
 * @param senderZ the sender name with its NUL
 * @param topicZ the topic with its NUL, or `null`
 * @param src the bytes holding the payload
 * @param payloadStart the offset of the payload in `src`
 * @param payloadEnd the offset after the payload in `src`
 */
export function writeDelivery(
  w: FrameSink,
  kind: number,
  realtime: boolean,
  senderZ: Uint8Array,
  topicZ: Uint8Array | null,
  src: Uint8Array,
  payloadStart: number,
  payloadEnd: number,
): void {
  const payloadLen = payloadEnd - payloadStart;
  const bodyLen = senderZ.length + (topicZ === null ? 0 : topicZ.length) + payloadLen;
  const total = BROKER_HEADER_SIZE + bodyLen;
  let p = w.reserve(total);
  const buf = w.buf;
  buf[p] = kind;
  putU32(buf, p + 1, bodyLen);
  buf[p + 5] = realtime ? 1 : 0;
  p += BROKER_HEADER_SIZE;
  buf.set(senderZ, p);
  p += senderZ.length;
  if (topicZ !== null) {
    buf.set(topicZ, p);
    p += topicZ.length;
  }
  if (payloadLen > 0) {
    if (payloadLen <= 64) {
      for (let i = payloadStart; i < payloadEnd; i++) buf[p++] = src[i];
    } else {
      buf.set(src.subarray(payloadStart, payloadEnd), p);
    }
  }
  w.commit(total, realtime);
}

/**
 * Appends the head of a broker → client data frame (header, sender, topic),
 * its length field counting a payload of `payloadLen` bytes that the caller
 * appends next (by reference, e.g. `WriteBuffer.share`). Never flushes by
 * itself: the payload decides.
 *
 * @param w the sink to append to
 * @param kind the frame kind (message, broadcast or publish)
 * @param realtime whether the sender used a realtime QoS
 * @param senderZ the sender name with its NUL
 * @param topicZ the topic with its NUL, or `null`
 * @param payloadLen the length of the payload that follows
 */
export function writeDeliveryHead(
  w: FrameSink,
  kind: number,
  realtime: boolean,
  senderZ: Uint8Array,
  topicZ: Uint8Array | null,
  payloadLen: number,
): void {
  const headLen = BROKER_HEADER_SIZE + senderZ.length + (topicZ === null ? 0 : topicZ.length);
  let p = w.reserve(headLen);
  const buf = w.buf;
  buf[p] = kind;
  putU32(buf, p + 1, headLen - BROKER_HEADER_SIZE + payloadLen);
  buf[p + 5] = realtime ? 1 : 0;
  p += BROKER_HEADER_SIZE;
  buf.set(senderZ, p);
  p += senderZ.length;
  if (topicZ !== null) buf.set(topicZ, p);
  w.commit(headLen, false);
}

/**
 * Appends an ACK: `FE id(4) code`, copying the id bytes from `src[idAt]`.
 *
 * @param w the sink to append to
 * @param src the bytes holding the acknowledged frame
 * @param idAt the offset of its frame id in `src`
 * @param code the result code
 * @param instant whether to flush at once (realtime)
 */
export function writeAck(
  w: FrameSink,
  src: Uint8Array,
  idAt: number,
  code: number,
  instant: boolean,
): void {
  const p = w.reserve(6);
  const buf = w.buf;
  buf[p] = Op.Ack;
  buf[p + 1] = src[idAt];
  buf[p + 2] = src[idAt + 1];
  buf[p + 3] = src[idAt + 2];
  buf[p + 4] = src[idAt + 3];
  buf[p + 5] = code;
  w.commit(6, instant);
}

/**
 * Appends the broker keepalive: 6 zero bytes.
 *
 * @param w the sink to append to
 */
export function writeNop(w: FrameSink): void {
  const p = w.reserve(BROKER_HEADER_SIZE);
  w.buf.fill(0, p, p + BROKER_HEADER_SIZE);
  w.commit(BROKER_HEADER_SIZE, false, 0);
}
