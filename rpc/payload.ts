/**
 * RPC payload layouts (docs/PROTOCOL.md §13.1): the bytes carried in a
 * MESSAGE frame after the target/sender field. Multi-byte integers are
 * little-endian.
 *
 * | Kind         | Layout                                   |
 * |--------------|------------------------------------------|
 * | notification | `00` data                                |
 * | request      | `01` id(u32) method `00` params          |
 * | reply        | `11` id(u32) result                      |
 * | error reply  | `12` id(u32) code(i16) data              |
 *
 * The encoders return views into shared slabs (see `byte_slab.ts`): each
 * view is distinct and stays valid, but its `.buffer` is shared.
 *
 * @module
 */

import { allocateBytes } from "./byte_slab.ts";

/** First byte of an RPC payload. */
export const RpcKind = {
  /** Notification: `00` + data. */
  Notification: 0x00,
  /** Request: `01` + id + method + `00` + params. */
  Request: 0x01,
  /** Reply: `11` + id + result. */
  Reply: 0x11,
  /** Error reply: `12` + id + code + data. */
  Error: 0x12,
} as const;
/** One of the {@linkcode RpcKind} values. */
export type RpcKind = typeof RpcKind[keyof typeof RpcKind];

/** Largest call id; the id after it is 1 (0 means "no reply wanted"). */
export const MAX_CALL_ID = 0xffffffff;

/**
 * Encodes a request payload. Call id 0 asks for no reply (call0).
 *
 * @param id the call id (0: no reply wanted)
 * @param method the method name as UTF-8
 * @param params the params bytes
 * @returns the request payload
 *
 * @example RPC request of PROTOCOL.md §23.7
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRequest } from "./payload.ts";
 * const method = new TextEncoder().encode("ping");
 * const bytes = encodeRequest(7, method, new Uint8Array(0));
 * assert.deepEqual(bytes, new Uint8Array([0x01, 7, 0, 0, 0, 0x70, 0x69, 0x6e, 0x67, 0x00]));
 * ```
 */
export function encodeRequest(id: number, method: Uint8Array, params: Uint8Array): Uint8Array {
  const m = method.length;
  const out = allocateBytes(6 + m + params.length);
  out[0] = RpcKind.Request;
  out[1] = id & 0xff;
  out[2] = (id >>> 8) & 0xff;
  out[3] = (id >>> 16) & 0xff;
  out[4] = id >>> 24;
  out.set(method, 5);
  // out[5 + m] is already the 0x00 terminator
  if (params.length > 0) out.set(params, 6 + m);
  return out;
}

/**
 * Encodes a successful reply payload.
 *
 * @param id the call id answered
 * @param result the result bytes
 * @returns the reply payload
 *
 * @example Empty reply to call 7
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeReply } from "./payload.ts";
 * assert.deepEqual(encodeReply(7, new Uint8Array(0)), new Uint8Array([0x11, 7, 0, 0, 0]));
 * ```
 */
export function encodeReply(id: number, result: Uint8Array): Uint8Array {
  const out = allocateBytes(5 + result.length);
  out[0] = RpcKind.Reply;
  out[1] = id & 0xff;
  out[2] = (id >>> 8) & 0xff;
  out[3] = (id >>> 16) & 0xff;
  out[4] = id >>> 24;
  if (result.length > 0) out.set(result, 5);
  return out;
}

/**
 * Encodes an error reply payload; `code` is an i16 written little-endian.
 *
 * @param id the call id answered
 * @param code the error code (i16)
 * @param data the error data bytes
 * @returns the error reply payload
 *
 * @example "Method not found" reply to call 7
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeErrorReply, readErrorCode } from "./payload.ts";
 * const bytes = encodeErrorReply(7, -32601, new Uint8Array(0));
 * assert.deepEqual(bytes, new Uint8Array([0x12, 7, 0, 0, 0, 0xa7, 0x80]));
 * assert.equal(readErrorCode(bytes), -32601);
 * ```
 */
export function encodeErrorReply(id: number, code: number, data: Uint8Array): Uint8Array {
  const out = allocateBytes(7 + data.length);
  out[0] = RpcKind.Error;
  out[1] = id & 0xff;
  out[2] = (id >>> 8) & 0xff;
  out[3] = (id >>> 16) & 0xff;
  out[4] = id >>> 24;
  out[5] = code & 0xff;
  out[6] = (code >> 8) & 0xff;
  if (data.length > 0) out.set(data, 7);
  return out;
}

/**
 * Encodes a notification payload.
 *
 * @param data the notification data
 * @returns the notification payload
 *
 * @example Notification carrying "h"
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNotification } from "./payload.ts";
 * assert.deepEqual(encodeNotification(new Uint8Array([0x68])), new Uint8Array([0x00, 0x68]));
 * ```
 */
export function encodeNotification(data: Uint8Array): Uint8Array {
  const out = allocateBytes(1 + data.length);
  out.set(data, 1);
  return out;
}

/**
 * Reads the u32 LE call id at `payload[1..5]`.
 *
 * @param payload a request, reply or error reply payload
 * @returns the call id
 */
export function readCallId(payload: Uint8Array): number {
  return (payload[1] | (payload[2] << 8) | (payload[3] << 16) | (payload[4] << 24)) >>> 0;
}

/**
 * Reads the i16 LE error code at `payload[5..7]` of an error reply.
 *
 * @param payload an error reply payload
 * @returns the error code
 */
export function readErrorCode(payload: Uint8Array): number {
  return ((payload[5] | (payload[6] << 8)) << 16) >> 16;
}

/**
 * Index of the NUL ending the method name of a request (searched from byte
 * 5), or -1 when the request is malformed (shorter than 6 bytes or no NUL).
 *
 * @param payload a request payload
 * @returns the index of the NUL, or -1
 */
export function findMethodEnd(payload: Uint8Array): number {
  if (payload.length < 6) return -1;
  return payload.indexOf(0, 5);
}
