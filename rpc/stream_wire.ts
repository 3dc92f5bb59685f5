/**
 * Byte layouts of streaming calls (docs/PROTOCOL.md §25), an extension of
 * the RPC layer carried in ordinary MESSAGE frames. Multi-byte integers are
 * little-endian.
 *
 * | What                    | Layout                                                              |
 * | ----------------------- | ------------------------------------------------------------------- |
 * | open (params of a call) | `C1 53 01` mode(1) stream(u32) credit(u32) idle ms(u32) user params |
 * | open reply (result)     | `C1 53 01` credit(u32)                                              |
 * | stream frame            | kind(1) marker(1) stream(u32) body                                  |
 *
 * kind `20` goes from the opener (the caller) to the server side, `21` back.
 * Markers: `01` item (body: the item), `02` end (body: empty, or the result
 * of an upload), `03` error (code i16, data), `04` cancel (empty), `05`
 * credit (u32 more items; 0 is a liveness probe).
 *
 * @module
 */
import { allocateBytes } from "./byte_slab.ts";

/** First byte of a stream frame: which way it goes. */
export const StreamKind = {
  /** From the opener (caller) to the server side of the stream. */
  ToServer: 0x20,
  /** From the server side to the opener. */
  ToCaller: 0x21,
} as const;
/** One of the {@linkcode StreamKind} values. */
export type StreamKind = typeof StreamKind[keyof typeof StreamKind];

/** Second byte of a stream frame: what it carries. */
export const StreamMarker = {
  /** One item; the body is the item's bytes. */
  Item: 0x01,
  /** No more items from this side; the body is empty or, from an upload's server, the result. */
  End: 0x02,
  /** The stream failed: code (i16 LE) and data; ends the stream both ways. */
  Error: 0x03,
  /** The sender abandons the stream; ends it both ways. */
  Cancel: 0x04,
  /** The sender accepts u32 LE more items; 0 grants nothing and only probes liveness. */
  Credit: 0x05,
} as const;
/** One of the {@linkcode StreamMarker} values. */
export type StreamMarker = typeof StreamMarker[keyof typeof StreamMarker];

/** Shape of a streaming call, byte 3 of the open header. */
export const StreamMode = {
  /** Params in, a stream of items out. */
  Server: 1,
  /** A stream of items in, one result out. */
  Upload: 2,
  /** Items both ways. */
  Duplex: 3,
} as const;
/** One of the {@linkcode StreamMode} values. */
export type StreamMode = typeof StreamMode[keyof typeof StreamMode];

/** Bytes before the body of a stream frame. */
export const STREAM_HEADER = 6;
/** Bytes of the open header before the user's params. */
export const OPEN_HEADER = 16;
/** Bytes of the open reply. */
export const OPEN_REPLY = 7;
/** Largest stream id. */
export const MAX_STREAM_ID = 0xffffffff;

// C1 is never used by MessagePack, so no MessagePack params start like an open header
const MAGIC_0 = 0xc1;
const MAGIC_1 = 0x53; // "S"
const VERSION = 0x01;

/** What an open header says. */
export interface OpenHeader {
  /** The shape of the call. */
  mode: StreamMode;
  /** The opener's stream id. */
  stream: number;
  /** Items the server may send before it waits for credit. */
  credit: number;
  /** Inactivity limit in milliseconds; 0: none. */
  idleMs: number;
  /** The user's params after the header. */
  params: Uint8Array;
}

/**
 * Encodes the params of a call that opens a stream.
 *
 * @param mode the shape of the call
 * @param stream the opener's stream id
 * @param credit items the server may send at once
 * @param idleMs inactivity limit in milliseconds (0: none)
 * @param params the user's params
 * @returns the params bytes of the open call
 *
 * @example Open header of stream 7, credit 64, 30 s, no params
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeOpen, parseOpen, StreamMode } from "./stream_wire.ts";
 * const bytes = encodeOpen(StreamMode.Server, 7, 64, 30_000, new Uint8Array(0));
 * assert.deepEqual(bytes, new Uint8Array([0xc1, 0x53, 1, 1, 7, 0, 0, 0, 64, 0, 0, 0, 0x30, 0x75, 0, 0]));
 * assert.deepEqual(parseOpen(bytes), { mode: 1, stream: 7, credit: 64, idleMs: 30_000, params: new Uint8Array(0) });
 * ```
 */
export function encodeOpen(
  mode: StreamMode,
  stream: number,
  credit: number,
  idleMs: number,
  params: Uint8Array,
): Uint8Array {
  const out = allocateBytes(OPEN_HEADER + params.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out[3] = mode;
  writeU32(out, 4, stream);
  writeU32(out, 8, credit);
  writeU32(out, 12, idleMs);
  out.set(params, OPEN_HEADER);
  return out;
}

/**
 * Reads the open header at the start of a call's params; `null` when the
 * params do not start with one (a plain call).
 *
 * @param params the params of a call
 * @returns the header and the user's params, or `null`
 */
export function parseOpen(params: Uint8Array): OpenHeader | null {
  if (params.length < OPEN_HEADER || !hasMagic(params)) return null;
  const mode = params[3];
  if (mode !== StreamMode.Server && mode !== StreamMode.Upload && mode !== StreamMode.Duplex) return null;
  return {
    mode,
    stream: readU32(params, 4),
    credit: readU32(params, 8),
    idleMs: readU32(params, 12),
    params: params.subarray(OPEN_HEADER),
  };
}

/**
 * Encodes the result of a call that opened a stream.
 *
 * @param credit items the opener may send at once (0 for a server stream)
 * @returns the result bytes
 *
 * @example Grant 16 items
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeOpenReply, parseOpenReply } from "./stream_wire.ts";
 * assert.deepEqual(encodeOpenReply(16), new Uint8Array([0xc1, 0x53, 1, 16, 0, 0, 0]));
 * assert.equal(parseOpenReply(encodeOpenReply(16)), 16);
 * assert.equal(parseOpenReply(new Uint8Array([0x90])), -1);
 * ```
 */
export function encodeOpenReply(credit: number): Uint8Array {
  const out = allocateBytes(OPEN_REPLY);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  writeU32(out, 3, credit);
  return out;
}

/**
 * The credit in the result of an open call, or -1 when the result is not an
 * open reply (the target answered as to a plain call).
 *
 * @param result the result bytes of the open call
 * @returns the credit, or -1
 */
export function parseOpenReply(result: Uint8Array): number {
  if (result.length !== OPEN_REPLY || !hasMagic(result)) return -1;
  return readU32(result, 3);
}

/**
 * Encodes a stream frame payload.
 *
 * @param kind which way the frame goes
 * @param marker what it carries
 * @param stream the stream id (the opener's)
 * @param body the body
 * @returns the MESSAGE payload
 *
 * @example An item of stream 3 going to the caller
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeStreamFrame, StreamKind, StreamMarker } from "./stream_wire.ts";
 * const bytes = encodeStreamFrame(StreamKind.ToCaller, StreamMarker.Item, 3, new Uint8Array([0xa1, 0x78]));
 * assert.deepEqual(bytes, new Uint8Array([0x21, 0x01, 3, 0, 0, 0, 0xa1, 0x78]));
 * ```
 */
export function encodeStreamFrame(
  kind: StreamKind,
  marker: StreamMarker,
  stream: number,
  body: Uint8Array,
): Uint8Array {
  const out = allocateBytes(STREAM_HEADER + body.length);
  out[0] = kind;
  out[1] = marker;
  writeU32(out, 2, stream);
  if (body.length > 0) out.set(body, STREAM_HEADER);
  return out;
}

/**
 * Encodes a credit frame.
 *
 * @param kind which way the frame goes
 * @param stream the stream id
 * @param items how many more items the sender accepts (0: a probe)
 * @returns the MESSAGE payload
 */
export function encodeCredit(kind: StreamKind, stream: number, items: number): Uint8Array {
  const out = allocateBytes(STREAM_HEADER + 4);
  out[0] = kind;
  out[1] = StreamMarker.Credit;
  writeU32(out, 2, stream);
  writeU32(out, 6, items);
  return out;
}

/**
 * Encodes an error frame.
 *
 * @param kind which way the frame goes
 * @param stream the stream id
 * @param code the RPC error code (i16)
 * @param data the error data
 * @returns the MESSAGE payload
 *
 * @example Error -32603 with data "x"
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeStreamError, StreamKind } from "./stream_wire.ts";
 * const bytes = encodeStreamError(StreamKind.ToCaller, 1, -32603, new Uint8Array([0x78]));
 * assert.deepEqual(bytes, new Uint8Array([0x21, 0x03, 1, 0, 0, 0, 0xa5, 0x80, 0x78]));
 * ```
 */
export function encodeStreamError(
  kind: StreamKind,
  stream: number,
  code: number,
  data: Uint8Array,
): Uint8Array {
  const out = allocateBytes(STREAM_HEADER + 2 + data.length);
  out[0] = kind;
  out[1] = StreamMarker.Error;
  writeU32(out, 2, stream);
  out[6] = code & 0xff;
  out[7] = (code >> 8) & 0xff;
  if (data.length > 0) out.set(data, 8);
  return out;
}

/**
 * The stream id of a stream frame (bytes 2–5).
 *
 * @param payload a stream frame payload of at least {@linkcode STREAM_HEADER} bytes
 * @returns the stream id
 */
export function readStreamId(payload: Uint8Array): number {
  return readU32(payload, 2);
}

/**
 * The u32 at `offset`, little-endian.
 *
 * @param bytes the bytes
 * @param offset where the number starts
 * @returns the number
 */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
    (bytes[offset + 3] << 24)) >>> 0;
}

/**
 * The i16 at `offset`, little-endian.
 *
 * @param bytes the bytes
 * @param offset where the number starts
 * @returns the number
 */
export function readI16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] | (bytes[offset + 1] << 8)) << 16) >> 16;
}

function writeU32(out: Uint8Array, offset: number, n: number): void {
  out[offset] = n & 0xff;
  out[offset + 1] = (n >>> 8) & 0xff;
  out[offset + 2] = (n >>> 16) & 0xff;
  out[offset + 3] = n >>> 24;
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes[0] === MAGIC_0 && bytes[1] === MAGIC_1 && bytes[2] === VERSION;
}
