/**
 * Consecutive publications of one sender on one topic, sent as one NATS
 * message: the payloads, each preceded by its length (u32, big-endian). A
 * bridge sends a batch once per microtask (or when it is full), so a burst
 * costs the NATS client one message instead of hundreds; a single
 * publication travels as it is, without framing.
 *
 * @example Pack three payloads, split them again
 * ```ts
 * import assert from "node:assert/strict";
 * import { PublicationBatch, splitBatch } from "./publication_batch.ts";
 * const batch = new PublicationBatch("busrt.pub.t", "0app");
 * batch.add(new Uint8Array([1]));
 * batch.add(new Uint8Array([]));
 * batch.add(new Uint8Array([2, 3]));
 * const parts = splitBatch(batch.encode());
 * assert.deepEqual(parts?.map((p) => [...p]), [[1], [], [2, 3]]);
 * assert.equal(splitBatch(new Uint8Array([0, 0, 0, 9])), null); // truncated
 * ```
 *
 * @module
 */

/** A batch is sent when it holds this many payload bytes. */
export const BATCH_MAX_BYTES = 60 * 1024;
/** A batch is sent when it holds this many publications. */
export const BATCH_MAX_COUNT = 1024;

/** Publications waiting to go out together. */
export class PublicationBatch {
  /** The NATS subject (one topic). */
  readonly subject: string;
  /** The sender and QoS the headers stand for. */
  readonly key: string;
  /** The payloads, in order (copies owned by the batch). */
  readonly parts: Uint8Array[] = [];
  /** Their total size. */
  bytes = 0;

  /**
   * @param subject the subject of every publication in it
   * @param key what the headers stand for (sender and QoS)
   */
  constructor(subject: string, key: string) {
    this.subject = subject;
    this.key = key;
  }

  /** Whether another publication would make it too large. */
  get full(): boolean {
    return this.bytes >= BATCH_MAX_BYTES || this.parts.length >= BATCH_MAX_COUNT;
  }

  /**
   * Adds a payload.
   *
   * @param payload the payload (kept, not copied)
   */
  add(payload: Uint8Array): void {
    this.parts.push(payload);
    this.bytes += payload.length;
  }

  /** @returns the length-prefixed payloads in one buffer */
  encode(): Uint8Array {
    const out = new Uint8Array(this.bytes + 4 * this.parts.length);
    const view = new DataView(out.buffer);
    let at = 0;
    for (const p of this.parts) {
      view.setUint32(at, p.length);
      out.set(p, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
}

/**
 * Splits an encoded batch into its payloads (views of `data`, not copies).
 *
 * @param data an encoded batch
 * @returns the payloads, or null when the framing is broken
 */
export function splitBatch(data: Uint8Array): Uint8Array[] | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) return null;
    const n = view.getUint32(at);
    if (at + 4 + n > data.length) return null;
    out.push(data.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
