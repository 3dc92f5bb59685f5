/**
 * RPC parameters written as `key=value` tokens, converted as the reference
 * tools do (PROTOCOL.md §16.4): shared by the CLI's `rpc call` and the
 * broker's FIFO channel. The values become a MessagePack map written here
 * byte by byte, so that integers take rmp's compact forms.
 *
 * @module
 */
import { encodeUtf8 } from "../protocol/text.ts";

/** A `key=value` value after conversion: float values are kept apart from integers. */
export type ParamValue = boolean | bigint | string | { float: number };

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
// The grammar of Rust's `f64::from_str`: decimal with optional exponent, inf, infinity, nan.
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/**
 * Converts one value as the reference: `true`/`false` → boolean; a signed
 * 64-bit integer → integer; a float → float; anything else → string.
 *
 * @example Integers, floats and strings
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertParamValue } from "./key_value_params.ts";
 * assert.equal(convertParamValue("12"), 12n);
 * assert.deepEqual(convertParamValue("1.5"), { float: 1.5 });
 * assert.equal(convertParamValue("yes"), "yes");
 * ```
 *
 * @param text the value of a `key=value` token
 * @returns the converted value
 */
export function convertParamValue(text: string): ParamValue {
  if (text === "true") return true;
  if (text === "false") return false;
  if (INTEGER.test(text)) {
    const n = BigInt(text);
    if (n >= I64_MIN && n <= I64_MAX) return n;
  }
  if (FLOAT.test(text)) {
    const lower = text.toLowerCase().replace(/^\+/, "");
    if (lower.endsWith("nan")) return { float: NaN };
    if (lower.endsWith("inf") || lower.endsWith("infinity")) {
      return { float: lower.startsWith("-") ? -Infinity : Infinity };
    }
    return { float: Number(text) };
  }
  return text;
}

/**
 * Builds the MessagePack map of `key=value` tokens. Empty tokens are
 * skipped; the value is the text between the first and the second `=`
 * (as the reference); a later duplicate key replaces the earlier value.
 *
 * @example One boolean
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKeyValueParams } from "./key_value_params.ts";
 * const bytes = encodeKeyValueParams(["on=true"]);
 * assert.deepEqual(bytes, new Uint8Array([0x81, 0xa2, 0x6f, 0x6e, 0xc3])); // {on: true}
 * assert.throws(() => encodeKeyValueParams(["on"]), SyntaxError);
 * ```
 *
 * @param tokens the `key=value` tokens
 * @returns the MessagePack map
 * @throws {SyntaxError} for a token without `=`
 */
export function encodeKeyValueParams(tokens: readonly string[]): Uint8Array {
  const map = new Map<string, ParamValue>();
  for (const token of tokens) {
    if (token === "") continue;
    const parts = token.split("=");
    if (parts.length < 2) throw new SyntaxError(`Invalid parameter "${token}": expected key=value`);
    map.set(parts[0], convertParamValue(parts[1]));
  }
  const out: number[] = [];
  header(out, map.size, 0x80, 0xde, 16);
  for (const [key, value] of map) {
    writeString(out, key);
    writeValue(out, value);
  }
  return new Uint8Array(out);
}

function header(out: number[], n: number, fixBase: number, code16: number, fixLimit: number): void {
  if (n < fixLimit) out.push(fixBase | n);
  else if (n < 0x10000) out.push(code16, n >> 8, n & 0xff);
  else out.push(code16 + 1, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function writeString(out: number[], text: string): void {
  const bytes = encodeUtf8(text);
  const n = bytes.length;
  if (n < 32) out.push(0xa0 | n);
  else if (n < 0x100) out.push(0xd9, n);
  else header(out, n, 0, 0xda, 0);
  for (const b of bytes) out.push(b);
}

function writeBig(out: number[], code: number, value: bigint, bytes: number): void {
  out.push(code);
  const bits = BigInt(bytes * 8);
  const v = BigInt.asUintN(bytes * 8, value);
  for (let shift = bits - 8n; shift >= 0n; shift -= 8n) out.push(Number((v >> shift) & 0xffn));
}

/** Integers in the most compact form, as rmp does (non-negative ones unsigned). */
function writeInteger(out: number[], n: bigint): void {
  if (n >= 0n) {
    if (n < 128n) out.push(Number(n));
    else if (n < 0x100n) writeBig(out, 0xcc, n, 1);
    else if (n < 0x10000n) writeBig(out, 0xcd, n, 2);
    else if (n < 0x100000000n) writeBig(out, 0xce, n, 4);
    else writeBig(out, 0xcf, n, 8);
  } else if (n >= -32n) out.push(Number(n) & 0xff);
  else if (n >= -128n) writeBig(out, 0xd0, n, 1);
  else if (n >= -32768n) writeBig(out, 0xd1, n, 2);
  else if (n >= -2147483648n) writeBig(out, 0xd2, n, 4);
  else writeBig(out, 0xd3, n, 8);
}

function writeValue(out: number[], value: ParamValue): void {
  if (typeof value === "boolean") out.push(value ? 0xc3 : 0xc2);
  else if (typeof value === "bigint") writeInteger(out, value);
  else if (typeof value === "string") writeString(out, value);
  else {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value.float);
    out.push(0xcb, ...new Uint8Array(view.buffer));
  }
}
