/**
 * Node `Buffer` views of the load generator's payloads, for npm clients that
 * only send Buffers as bytes (ioredis, mqtt).
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * Wraps payloads as Buffers without copying, remembering the last one: the
 * load generator sends the same payload array over and over.
 *
 * @example
 * ```ts
 * import { BufferView } from "./buffer_view.ts";
 * const view = new BufferView();
 * const payload = new Uint8Array(100);
 * console.assert(view.of(payload) === view.of(payload));
 * ```
 */
export class BufferView {
  #lastPayload: Uint8Array | null = null;
  #lastBuffer: Buffer = Buffer.alloc(0);

  /** The Buffer viewing `payload`'s bytes. */
  of(payload: Uint8Array): Buffer {
    if (payload !== this.#lastPayload) {
      this.#lastPayload = payload;
      this.#lastBuffer = Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    }
    return this.#lastBuffer;
  }
}
