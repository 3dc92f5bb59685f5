/**
 * MessagePack as Rust `rmp-serde` peers expect it: integers as integers in
 * their most compact form (64-bit values as uint64/int64, never floats),
 * maps with string keys, no extension types. Decoding is bounded.
 *
 * Conversions made before encoding: a `Map` becomes a plain object (keys
 * through `String()`; as in any JS object, integer-like keys come first), a
 * `Set` an array, an `ArrayBuffer` binary; a bigint in
 * the 32-bit range is written like a number; `undefined` object fields
 * are left out. A `Date` is refused (it would need an extension type).
 *
 * Decoding: 64-bit integers come back as numbers when they are safe
 * integers and as bigints otherwise (option `int64: "bigint"` always gives
 * bigints for uint64/int64 encodings). Binary values are views into the
 * decoded buffer.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

/** Options of a {@linkcode MsgpackCodec}. */
export interface MsgpackOptions {
  /** Longest string accepted by the decoder, in bytes. Default 64 MiB. */
  maxStrLength?: number;
  /** Longest binary accepted by the decoder, in bytes. Default 64 MiB. */
  maxBinLength?: number;
  /** Most elements of one array accepted by the decoder. Default 1,000,000. */
  maxArrayLength?: number;
  /** Most entries of one map accepted by the decoder. Default 1,000,000. */
  maxMapLength?: number;
  /** Longest extension payload accepted by the decoder. Default 1 MiB. */
  maxExtLength?: number;
  /** Deepest nesting accepted by the encoder. Default 100. */
  maxDepth?: number;
  /**
   * How uint64/int64 encodings decode: `"auto"` (default) gives numbers for
   * safe integers and bigints beyond; `"bigint"` always gives bigints.
   */
  int64?: "auto" | "bigint";
}

const MiB = 1024 * 1024;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;
const I32_MIN = -0x80000000n;
const I64_MIN = -(1n << 63n);

/**
 * A MessagePack encoder/decoder pair (reused across calls, which is about
 * twice as fast as creating them per call).
 *
 * @example Round trip with a 64-bit integer
 * ```ts
 * import assert from "node:assert/strict";
 * import { MsgpackCodec } from "./msgpack.ts";
 * const codec = new MsgpackCodec();
 * const bytes = codec.encode({ t: 1700000000123456789n });
 * assert.equal(bytes[3], 0xcf);
 * assert.equal(codec.decode<{ t: bigint }>(bytes).t, 1700000000123456789n);
 * ```
 */
export class MsgpackCodec {
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;
  readonly #maxDepth: number;
  readonly #autoInt64: boolean;

  /**
   * Creates a codec with the given decoding limits.
   *
   * @param options nesting, length and 64-bit integer options
   */
  constructor(options: MsgpackOptions = {}) {
    this.#maxDepth = options.maxDepth ?? 100;
    this.#autoInt64 = (options.int64 ?? "auto") === "auto";
    this.#encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true, maxDepth: this.#maxDepth });
    this.#decoder = new Decoder({
      useBigInt64: true,
      maxStrLength: options.maxStrLength ?? 64 * MiB,
      maxBinLength: options.maxBinLength ?? 64 * MiB,
      maxArrayLength: options.maxArrayLength ?? 1_000_000,
      maxMapLength: options.maxMapLength ?? 1_000_000,
      maxExtLength: options.maxExtLength ?? MiB,
    });
  }

  /**
   * Encodes a value (see the module docs for the conversions made).
   *
   * @param value the value to encode
   * @returns the MessagePack bytes
   * @throws {TypeError} for values MessagePack cannot carry without extensions
   * @throws {RangeError} for integers beyond 64 bits or nesting beyond `maxDepth`
   */
  encode(value: unknown): Uint8Array {
    return this.#encoder.encode(normalize(value, 0, this.#maxDepth));
  }

  /**
   * Decodes one MessagePack value that must span all of `bytes`.
   *
   * @param bytes one MessagePack value
   * @returns the decoded value
   * @throws {RpcError} with code -32700 (parse) and the decoder's message
   */
  decode<T = unknown>(bytes: Uint8Array): T {
    let value: unknown;
    try {
      value = this.#decoder.decode(bytes);
    } catch (err) {
      throw new RpcError(RpcErrorCode.Parse, err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    }
    // only uint64/int64 markers can produce bigints: skip the walk without them
    if (this.#autoInt64 && (bytes.includes(0xcf) || bytes.includes(0xd3))) value = shrinkBigInts(value);
    return value as T;
  }
}

function normalize(value: unknown, depth: number, maxDepth: number): unknown {
  switch (typeof value) {
    case "number":
      // the encoder writes safe integers beyond 32 bits as floats when bigints are on
      if ((value > 0xffffffff || value < -0x80000000) && Number.isSafeInteger(value)) return BigInt(value);
      return value;
    case "bigint":
      // small bigints as numbers get the compact forms; beyond 32 bits uint64/int64 is compact
      if (value >= I32_MIN && value <= U32_MAX) return Number(value);
      if (value > U64_MAX || value < I64_MIN) {
        throw new RangeError(`Cannot encode integer "${value}": it does not fit in 64 bits`);
      }
      return value;
    case "object":
      if (value === null || ArrayBuffer.isView(value)) return value;
      if (depth >= maxDepth) throw new RangeError(`Cannot encode value: nested deeper than ${maxDepth}`);
      if (Array.isArray(value)) return normalizeArray(value, depth + 1, maxDepth);
      if (value instanceof Map) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of value) out[String(k)] = normalize(v, depth + 1, maxDepth);
        return out;
      }
      if (value instanceof Set) return normalizeArray([...value], depth + 1, maxDepth);
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      if (value instanceof Date) {
        throw new TypeError(
          `Cannot encode Date "${value.toISOString()}": convert it to a number or a string first`,
        );
      }
      return normalizeObject(value as Record<string, unknown>, depth + 1, maxDepth);
    case "function":
    case "symbol":
      throw new TypeError(`Cannot encode a value of type "${typeof value}" as MessagePack`);
    default:
      return value;
  }
}

// copy-on-write: the input is returned as it is when nothing needed converting
function normalizeArray(arr: unknown[], depth: number, maxDepth: number): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const n = normalize(v, depth, maxDepth);
    if (out === null) {
      if (n === v) continue;
      out = arr.slice(0, i);
    }
    out.push(n);
  }
  return out ?? arr;
}

function normalizeObject(
  obj: Record<string, unknown>,
  depth: number,
  maxDepth: number,
): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    const n = normalize(v, depth, maxDepth);
    if (out === null) {
      if (n === v) continue;
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]] = obj[keys[j]];
    }
    out[k] = n;
  }
  return out ?? obj;
}

function shrinkBigInts(value: unknown): unknown {
  if (typeof value === "bigint") return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = shrinkBigInts(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) obj[k] = shrinkBigInts(obj[k]);
  return value;
}

/** The shared codec used by {@linkcode pack}, {@linkcode unpack} and the RPC layer. */
export const msgpack: MsgpackCodec = new MsgpackCodec();

const EMPTY = new Uint8Array(0);

/**
 * Encodes a value as MessagePack (a `Uint8Array` becomes a MessagePack bin).
 *
 * @param value the value to encode
 * @returns the MessagePack bytes
 *
 * @example Encode a map
 * ```ts
 * import assert from "node:assert/strict";
 * import { pack } from "./msgpack.ts";
 * assert.deepEqual(pack({ ok: true }), new Uint8Array([0x81, 0xa2, 0x6f, 0x6b, 0xc3]));
 * ```
 */
export function pack(value: unknown): Uint8Array {
  return msgpack.encode(value);
}

/**
 * Decodes a MessagePack value; an empty payload gives `undefined`.
 *
 * @param bytes one MessagePack value, or nothing
 * @returns the decoded value, or `undefined` for an empty payload
 *
 * @example Round trip a map
 * ```ts
 * import assert from "node:assert/strict";
 * import { pack, unpack } from "./msgpack.ts";
 * assert.equal(unpack<{ n: number }>(pack({ n: 5 })).n, 5);
 * assert.equal(unpack(new Uint8Array(0)), undefined);
 * ```
 *
 * @throws {RpcError} with code -32700 when the bytes are not one MessagePack value
 */
export function unpack<T = unknown>(bytes: Uint8Array): T {
  if (bytes.length === 0) return undefined as T;
  return msgpack.decode<T>(bytes);
}

/**
 * Turns RPC params (or a handler result) into bytes: a `Uint8Array` is sent
 * as it is, `undefined` as an empty payload, anything else as MessagePack.
 *
 * @param params raw bytes, `undefined` or a value to encode
 * @returns the payload bytes
 *
 * @example Raw, empty and MessagePack params
 * ```ts
 * import assert from "node:assert/strict";
 * import { packParams } from "./msgpack.ts";
 * const raw = new Uint8Array([1, 2, 3]);
 * assert.equal(packParams(raw), raw);
 * assert.equal(packParams(undefined).length, 0);
 * assert.equal(packParams({ filter: "^a" })[0], 0x81);
 * ```
 */
export function packParams(params: unknown): Uint8Array {
  if (params === undefined) return EMPTY;
  if (params instanceof Uint8Array) return params;
  return msgpack.encode(params);
}
