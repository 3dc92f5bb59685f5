/**
 * What a bridge keeps while its NATS connection is down: a FIFO bounded in
 * bytes, with a drop policy and counters.
 *
 * @example Drop the oldest when full
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutboundBuffer } from "./outbound_buffer.ts";
 * const buffer = new OutboundBuffer<string>(10, "oldest");
 * buffer.push("a", 4);
 * buffer.push("b", 4);
 * buffer.push("c", 4); // 12 > 10 bytes: "a" goes
 * assert.deepEqual(buffer.drain(), ["b", "c"]);
 * assert.equal(buffer.dropped, 1);
 * assert.equal(buffer.bytes, 0);
 * ```
 *
 * @module
 */

/** Which frames go when the buffer is full: the oldest buffered, or the new one. */
export type DropPolicy = "oldest" | "newest";

/** A FIFO of items with sizes, bounded in bytes. */
export class OutboundBuffer<T> {
  /** The bound in bytes (sum of the sizes given to push). */
  readonly maxBytes: number;
  /** What is dropped when an item would not fit. */
  readonly policy: DropPolicy;
  /** Items dropped since creation. */
  dropped = 0;
  /** Bytes dropped since creation. */
  droppedBytes = 0;
  #items: T[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  /**
   * Creates an empty buffer.
   *
   * @param maxBytes the bound in bytes (0: keep nothing)
   * @param policy which items to drop when full
   */
  constructor(maxBytes: number, policy: DropPolicy) {
    this.maxBytes = maxBytes;
    this.policy = policy;
  }

  /** Items buffered. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Bytes buffered. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds an item, dropping by the policy when it would not fit.
   *
   * @param item the item
   * @param size its size in bytes
   * @returns false when the new item itself was dropped
   */
  push(item: T, size: number): boolean {
    if (size > this.maxBytes || (this.policy === "newest" && this.#bytes + size > this.maxBytes)) {
      this.dropped++;
      this.droppedBytes += size;
      return false;
    }
    while (this.#bytes + size > this.maxBytes) {
      const s = this.#sizes[this.#head];
      this.#items[this.#head] = undefined as T;
      this.#head++;
      this.#bytes -= s;
      this.dropped++;
      this.droppedBytes += s;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
    this.#items.push(item);
    this.#sizes.push(size);
    this.#bytes += size;
    return true;
  }

  /**
   * Takes everything out.
   *
   * @returns every buffered item, oldest first, leaving the buffer empty
   */
  drain(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
    return out;
  }
}
