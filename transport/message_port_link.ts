/**
 * A byte-stream {@linkcode Link} over a `MessagePort`: the fast path between
 * a broker in one thread and clients in Web Workers. Each `write` is one
 * batch of frames (the write buffer's batching) posted as one transferred
 * `ArrayBuffer`; `null` posted on the port marks the end of the stream.
 *
 * @example Two ends of a MessageChannel as a byte stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessagePortLink } from "./message_port_link.ts";
 * const { port1, port2 } = new MessageChannel();
 * const a = new MessagePortLink(port1);
 * const b = new MessagePortLink(port2);
 * await a.write(new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(2);
 * assert.equal(await b.read(buf), 2);
 * assert.deepEqual([...buf], [1, 2]);
 * assert.equal(await b.read(buf), 1);
 * a.close();
 * assert.equal(await b.read(buf), null);
 * b.close();
 * ```
 *
 * @module
 */
import type { Link } from "./link.ts";

/**
 * Incoming chunks, read in order into the caller's buffers, and the end of
 * the stream. Shared by the message-passing links.
 */
export class ChunkReader {
  #chunks: Uint8Array[] = [];
  #offset = 0;
  #ended = false;
  #waiter: (() => void) | null = null;

  /**
   * Appends a chunk that arrived.
   *
   * @param chunk the bytes; the reader keeps it
   */
  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#wake();
  }

  /** Marks the end of the stream: reads return `null` once the chunks are consumed. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Reads into `buf` from the chunks that arrived, waiting for one if none has.
   *
   * @param buf where to store the bytes
   * @returns the number of bytes read, or `null` at end of stream
   */
  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
    let n = 0;
    while (n < buf.length && this.#chunks.length > 0) {
      const head = this.#chunks[0];
      const take = Math.min(buf.length - n, head.length - this.#offset);
      buf.set(head.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === head.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    return n;
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}

/** A {@linkcode Link} over one end of a `MessageChannel`. */
export class MessagePortLink implements Link {
  readonly #port: MessagePort;
  readonly #reader = new ChunkReader();
  #closed = false;

  /**
   * Starts receiving on `port`.
   *
   * @param port this end of the channel; the other end must be a `MessagePortLink` too
   */
  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (e: MessageEvent<Uint8Array | null>) => {
      if (e.data === null) this.#reader.end();
      else if (e.data instanceof Uint8Array) this.#reader.push(e.data);
    };
    port.onmessageerror = () => this.#reader.end();
  }

  /**
   * Reads into `buf`.
   *
   * @param buf where to store the bytes
   * @returns the number of bytes read, or `null` once the other end has closed
   */
  read(buf: Uint8Array): Promise<number | null> {
    return this.#reader.read(buf);
  }

  /**
   * Posts a copy of `data` (transferred, so the copy is not cloned again).
   *
   * @param data the bytes; the caller may reuse the buffer at once
   * @returns `data.length`
   * @throws {Deno.errors.BrokenPipe} after `close()`
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BrokenPipe("the port link is closed"));
    const copy = data.slice();
    this.#port.postMessage(copy, [copy.buffer]);
    return Promise.resolve(data.length);
  }

  /** Tells the other end the stream has ended and closes the port. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#port.postMessage(null);
    } catch {
      // the other side is gone
    }
    this.#port.close();
    this.#reader.end();
  }
}
