/**
 * A {@linkcode Link} over a Node-style socket (`node:net` / `node:tls`), used
 * for TLS connections that need features `Deno.listenTls` lacks (client
 * certificates). Incoming chunks are buffered and the socket is paused when
 * too much is waiting; writes copy the caller's bytes (the writer reuses its
 * buffers) and wait for `drain` when the socket's buffer is full.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { Link } from "./link.ts";

/** The part of a Node socket this adapter uses. */
/**
 * The Node socket shape the adapter needs: `net.Socket` and `tls.TLSSocket`.
 * Typed through `node:net` so it holds whichever `@types/node` is loaded.
 */
export type NodeSocketLike = Socket;

const DEFAULT_HIGH_WATER = 256 * 1024;
/** Longest wait for buffered bytes to leave when a link is closed. */
export const CLOSE_FLUSH_MS = 2000;

/**
 * Adapts a Node socket to the {@linkcode Link} interface.
 *
 * @example Read from a `node:net` socket
 * ```ts
 * import assert from "node:assert/strict";
 * import * as net from "node:net";
 * import { NodeSocketLink } from "./node_socket_link.ts";
 * const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const socket = net.connect({ host: "127.0.0.1", port: server.addr.port });
 * const conn = await server.accept();
 * const link = new NodeSocketLink(socket);
 * await conn.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(16);
 * const n = await link.read(buf);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "hi");
 * const closed = new Promise((resolve) => socket.once("close", resolve));
 * link.close();
 * await closed;
 * assert.equal(await link.read(buf), null);
 * conn.close();
 * server.close();
 * ```
 */
export class NodeSocketLink implements Link {
  readonly #socket: NodeSocketLike;
  readonly #highWater: number;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #buffered = 0;
  #paused = false;
  #ended = false;
  #closing = false;
  #error: Error | null = null;
  #reader: { buf: Uint8Array; resolve: (n: number | null) => void; reject: (e: Error) => void } | null = null;
  #drainWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  /**
   * Wraps `socket`; reading pauses it once `highWater` bytes are buffered.
   *
   * @param socket a connected `net.Socket` or `tls.TLSSocket`
   * @param highWater the bytes buffered before the socket is paused
   */
  constructor(socket: NodeSocketLike, highWater: number = DEFAULT_HIGH_WATER) {
    this.#socket = socket;
    this.#highWater = highWater;
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd(null));
    socket.on("close", () => this.#onEnd(null));
    socket.on("error", (err: Error) => this.#onEnd(err));
    socket.on("drain", () => this.#wakeWriters(null));
  }

  /**
   * Reads buffered bytes into `buf`, waiting for some if none are buffered.
   *
   * @param buf where to store the bytes read
   * @returns the number of bytes read, or `null` at end of stream
   */
  read(buf: Uint8Array): Promise<number | null> {
    if (this.#buffered > 0) return Promise.resolve(this.#copyInto(buf));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (this.#reader !== null) {
      return Promise.reject(new Deno.errors.Busy("Cannot read: a read is in progress"));
    }
    return new Promise((resolve, reject) => this.#reader = { buf, resolve, reject });
  }

  /**
   * Queues a copy of at most `highWater` bytes of `data` on the socket;
   * waits while the socket's buffer is full. Taking a large batch a piece at
   * a time lets the writer see progress (its write timeout measures it) and
   * copies no more than one piece at once.
   *
   * @param data the bytes to write
   * @returns the number of bytes written (a prefix of `data`)
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("Cannot write: the connection is closed"));
    }
    const n = Math.min(data.length, this.#highWater);
    if (this.#socket.write(data.slice(0, n))) return Promise.resolve(n);
    return new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject })).then(() => n);
  }

  /**
   * Closes the socket; a pending read resolves with end of stream. Bytes the
   * socket still buffers (e.g. a refusal code) are flushed first, for at
   * most {@linkcode CLOSE_FLUSH_MS}; otherwise it is destroyed at once.
   */
  close(): void {
    this.#onEnd(null);
    const socket = this.#socket;
    if (socket.destroyed || this.#closing) return;
    this.#closing = true;
    if (!(socket.writableLength > 0)) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS);
    socket.on("close", () => clearTimeout(timer));
    socket.end();
  }

  #onData(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const r = this.#reader;
    if (r !== null) {
      this.#reader = null;
      r.resolve(this.#copyInto(r.buf));
    }
    if (!this.#paused && this.#buffered >= this.#highWater) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #onEnd(err: Error | null): void {
    if (err !== null && this.#error === null && !this.#ended) this.#error = err;
    this.#ended = true;
    this.#wakeWriters(err ?? new Deno.errors.BrokenPipe("Cannot write: the connection is closed"));
    const r = this.#reader;
    if (r === null || this.#buffered > 0) return;
    this.#reader = null;
    if (this.#error !== null) r.reject(this.#error);
    else r.resolve(null);
  }

  #wakeWriters(err: Error | null): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const w of waiters) err === null ? w.resolve() : w.reject(err);
  }

  #copyInto(buf: Uint8Array): number {
    let n = 0;
    while (n < buf.length && this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head];
      const take = Math.min(chunk.length - this.#offset, buf.length - n);
      buf.set(chunk.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        this.#head++;
        this.#offset = 0;
      }
    }
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head > 64) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < this.#highWater / 2 && !this.#ended) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }
}
