/**
 * The cursor handle of docs/PROTOCOL.md §14.1: a MessagePack map
 * `{u: bin16}` (the cursor id, a random v4 UUID as 16 raw bytes), with `n`
 * (bulk size) when set.
 *
 * @module
 */
import { msgpack } from "./msgpack.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

/** A decoded cursor handle. */
export interface CursorHandle {
  /** Cursor id: 16 bytes. */
  id: Uint8Array;
  /** Bulk size for "next bulk"; absent means 1. */
  n?: number;
}

/**
 * Encodes a cursor handle: `{"u": bin16}` or `{"u": bin16, "n": uint}`.
 *
 * @param id the cursor id (16 bytes)
 * @param n the bulk size, when set
 * @returns the handle as MessagePack
 *
 * @example Handle of PROTOCOL.md §23.9
 * ```ts
 * import assert from "node:assert/strict";
 * import { packCursorHandle } from "./cursor_handle.ts";
 * const id = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
 * const bytes = packCursorHandle(id, 100);
 * assert.equal(bytes[0], 0x82);
 * assert.equal(bytes.at(-1), 0x64);
 * assert.throws(() => packCursorHandle(new Uint8Array(15)), RangeError);
 * ```
 *
 * @throws {RangeError} when `id` is not 16 bytes or `n` not an integer ≥ 0
 */
export function packCursorHandle(id: Uint8Array, n?: number): Uint8Array {
  if (id.length !== 16) throw new RangeError(`Invalid cursor id length "${id.length}": must be 16 bytes`);
  if (n === undefined) return msgpack.encode({ u: id });
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Invalid bulk size "${n}": must be an integer ≥ 0`);
  }
  return msgpack.encode({ u: id, n });
}

const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Decodes a cursor handle. `u` must be 16 bytes of binary; a UUID string is
 * accepted too. Unknown keys are ignored.
 *
 * @param bytes the MessagePack handle
 * @returns the cursor id and bulk size
 *
 * @example Round trip a handle with a bulk size
 * ```ts
 * import assert from "node:assert/strict";
 * import { packCursorHandle, parseCursorHandle } from "./cursor_handle.ts";
 * const id = new Uint8Array(16).fill(7);
 * assert.deepEqual(parseCursorHandle(packCursorHandle(id, 5)), { id, n: 5 });
 * ```
 *
 * @throws {RpcError} -32700 (parse) with a message for anything else
 */
export function parseCursorHandle(bytes: Uint8Array): CursorHandle {
  if (bytes.length === 0) throw new RpcError(RpcErrorCode.Parse, "Cannot parse cursor handle: empty params");
  const value = msgpack.decode(bytes);
  if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new RpcError(RpcErrorCode.Parse, "Cannot parse cursor handle: expected a map");
  }
  const { u, n } = value as { u?: unknown; n?: unknown };
  let id: Uint8Array;
  if (u instanceof Uint8Array && u.length === 16) id = u;
  else if (typeof u === "string" && UUID_TEXT.test(u)) id = uuidBytes(u);
  else throw new RpcError(RpcErrorCode.Parse, 'Cannot parse cursor handle: "u" must be 16 bytes');
  if (n === undefined || n === null) return { id };
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new RpcError(RpcErrorCode.Parse, `Cannot parse cursor handle: invalid "n" "${String(n)}"`);
  }
  return { id, n };
}

/** A new random (v4) UUID as 16 bytes. */
export function randomCursorId(): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(16));
  id[6] = (id[6] & 0x0f) | 0x40;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

function uuidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
