/**
 * How payloads are shown, following the reference CLI: text (or a JSON
 * object inside it), MessagePack decoded to JSON, or hex.
 *
 * @module
 */
import { Decoder } from "@msgpack/msgpack";
import type { Style } from "./style.ts";

/** How a payload was recognised. */
export type PayloadFormat = "json" | "text" | "msgpack" | "hex";

/** A payload recognised as one {@linkcode PayloadFormat}. */
export interface DecodedPayload {
  /** The format found. */
  format: PayloadFormat;
  /**
   * `json` and `msgpack`: the decoded value (may hold bigints and byte
   * arrays; print it with {@linkcode stringifyJson}); `text`: the string;
   * `hex`: the whole payload as lowercase hex.
   */
  value: unknown;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const msgpack = new Decoder({ useBigInt64: true });

/**
 * Recognises a payload by the reference CLI's rules: if no byte is below
 * 0x09 and it is valid UTF-8, it is text, or `json` when it parses as a JSON
 * object; otherwise MessagePack when it decodes (completely) to a value JSON
 * can show; otherwise hex.
 *
 * @example Text, MessagePack and bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePayload } from "./render.ts";
 * assert.equal(decodePayload(new TextEncoder().encode("hi")).format, "text");
 * assert.deepEqual(decodePayload(new Uint8Array([0x81, 0xa2, 0x6f, 0x6b, 0xc3])), {
 *   format: "msgpack",
 *   value: { ok: true },
 * });
 * assert.equal(decodePayload(new Uint8Array([0x00, 0xc1])).format, "hex");
 * ```
 *
 * @param payload the payload bytes
 * @returns the format and the decoded value
 */
export function decodePayload(payload: Uint8Array): DecodedPayload {
  const text = asText(payload);
  if (text !== null) {
    const object = parseJsonObject(text);
    return object === undefined ? { format: "text", value: text } : { format: "json", value: object };
  }
  const value = decodeMessagePack(payload);
  if (value !== undefined) return { format: "msgpack", value };
  return { format: "hex", value: toHex(payload) };
}

/**
 * Decodes a whole payload as one MessagePack value representable in JSON, or
 * returns `undefined`.
 *
 * @example A value, and a byte that is never MessagePack
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessagePack } from "./render.ts";
 * assert.equal(decodeMessagePack(new Uint8Array([0xc3])), true);
 * assert.equal(decodeMessagePack(new Uint8Array([0xc1])), undefined);
 * ```
 *
 * @param payload the payload bytes
 * @returns the value, or `undefined`
 */
export function decodeMessagePack(payload: Uint8Array): unknown {
  if (payload.length === 0) return undefined;
  try {
    const value = msgpack.decode(payload);
    return isJsonRepresentable(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lines that show a payload on a terminal: `JSON:` / `MSGPACK:` and
 * pretty JSON, `STR:  text`, or `HEX: …` of the first 256 bytes.
 *
 * @example Show a text payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPayload } from "./render.ts";
 * import { makeStyle } from "./style.ts";
 * assert.equal(renderPayload(new TextEncoder().encode("hi"), makeStyle(false)), "STR:  hi");
 * ```
 *
 * @param payload the payload bytes
 * @param style the styling of the labels
 * @returns the lines, without a trailing newline
 */
export function renderPayload(payload: Uint8Array, style: Style): string {
  const decoded = decodePayload(payload);
  switch (decoded.format) {
    case "json":
      return `${style.dim("JSON:")}\n${stringifyJson(decoded.value, true)}`;
    case "msgpack":
      return `${style.dim("MSGPACK:")}\n${stringifyJson(decoded.value, true)}`;
    case "text":
      return `${style.dim("STR:")}  ${decoded.value}`;
    case "hex": {
      const head = payload.length > 256 ? `${toHex(payload.subarray(0, 256))}...` : decoded.value;
      return `${style.dim("HEX:")} ${head}`;
    }
  }
}

/**
 * Lowercase hex of the bytes.
 *
 * @param bytes the bytes
 * @returns two hex digits per byte
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * JSON text of a decoded value: bigints as exact integers, byte arrays as
 * arrays of numbers, dates as ISO strings, non-finite numbers as `null`.
 * `pretty` indents by two spaces like `JSON.stringify(v, null, 2)`.
 *
 * @example A bigint stays exact
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringifyJson } from "./render.ts";
 * assert.equal(stringifyJson({ n: 2n ** 64n - 1n }, false), '{"n":18446744073709551615}');
 * ```
 *
 * @param value the value
 * @param pretty whether to indent by two spaces
 * @returns the JSON text
 */
export function stringifyJson(value: unknown, pretty: boolean): string {
  return write(value, pretty ? "\n" : "", pretty);
}

function write(value: unknown, indent: string, pretty: boolean): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "bigint":
      return value.toString();
    case "string":
      return JSON.stringify(value);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const inner = pretty ? `${indent}  ` : "";
  const sep = pretty ? ": " : ":";
  if (value instanceof Uint8Array || Array.isArray(value)) {
    const items = Array.from(value as ArrayLike<unknown>, (v) => write(v, inner, pretty));
    if (items.length === 0) return "[]";
    return pretty ? `[${inner}${items.join(`,${inner}`)}${indent}]` : `[${items.join(",")}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
    `${JSON.stringify(k)}${sep}${write(v, inner, pretty)}`
  );
  if (entries.length === 0) return "{}";
  return pretty ? `{${inner}${entries.join(`,${inner}`)}${indent}}` : `{${entries.join(",")}}`;
}

function asText(payload: Uint8Array): string | null {
  for (const b of payload) if (b < 0x09) return null;
  try {
    return utf8.decode(payload);
  } catch {
    return null;
  }
}

/**
 * Parses text that is a JSON object, keeping integers beyond 2⁵³ exact as
 * bigints; anything else gives `undefined`.
 *
 * @param text the text
 * @returns the object, or `undefined`
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const first = text.trimStart()[0];
  if (first !== "{") return undefined;
  try {
    const value = JSON.parse(text, exactIntegers);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A `JSON.parse` reviver keeping large integers exact (V8 passes the source text). */
function exactIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined) {
    if (/^-?\d+$/.test(context.source)) return BigInt(context.source);
  }
  return value;
}

function isJsonRepresentable(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  const t = typeof value;
  if (t === "boolean" || t === "number" || t === "bigint" || t === "string") return true;
  if (value instanceof Uint8Array || value instanceof Date) return true;
  if (Array.isArray(value)) return value.every(isJsonRepresentable);
  if (Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value as Record<string, unknown>).every(isJsonRepresentable);
  }
  return false; // extension data and other types
}
