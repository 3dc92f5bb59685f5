/**
 * Payloads of the broker's announcements: MessagePack maps `{s, d?, t}` with
 * `t` in nanoseconds since the UNIX epoch as uint64, byte-exact with the reference.
 *
 * @module
 */
import { encodeUtf8 } from "../protocol/text.ts";

function strHeader(len: number): number[] {
  if (len < 32) return [0xa0 | len];
  if (len < 256) return [0xd9, len];
  if (len < 65536) return [0xda, len >> 8, len & 0xff];
  return [0xdb, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff];
}

/** Wall-clock time in nanoseconds since the UNIX epoch. */
export function nowNanos(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1e6));
}

/**
 * Encodes an announcement payload.
 *
 * @example A `reg` announcement decodes to its three fields
 * ```ts
 * import assert from "node:assert/strict";
 * import { unpack } from "../rpc/msgpack.ts";
 * import { encodeAnnouncement } from "./announcement.ts";
 * const bytes = encodeAnnouncement("reg", "test.client", 1700000000123456789n);
 * assert.equal(bytes[0], 0x83);
 * assert.deepEqual(unpack(bytes), { s: "reg", d: "test.client", t: 1700000000123456789n });
 * ```
 *
 * @param subject the subject (`reg`, `unreg`, `shutdown`)
 * @param data the data (a client name), or `null` for none
 * @param t the time in nanoseconds since the UNIX epoch
 * @returns the MessagePack map `{s, d, t}`
 */
export function encodeAnnouncement(subject: string, data: string | null, t: bigint = nowNanos()): Uint8Array {
  const out: number[] = [data === null ? 0x82 : 0x83, 0xa1, 0x73];
  const s = encodeUtf8(subject);
  out.push(...strHeader(s.length), ...s);
  if (data !== null) {
    const d = encodeUtf8(data);
    out.push(0xa1, 0x64, ...strHeader(d.length), ...d);
  }
  out.push(0xa1, 0x74, 0xcf);
  for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((t >> shift) & 0xffn));
  return new Uint8Array(out);
}
