/**
 * A byte-stream {@linkcode Link} over a standard `WebSocket`, the same on
 * both sides: the broker's end (from `Deno.upgradeWebSocket`) and the
 * client's (`new WebSocket(url)`, in Deno or in a browser). As in the
 * reference (docs/PROTOCOL.md §18), **binary** messages carry the stream:
 * a frame may span messages and a message may hold many frames. Each
 * `write` is one binary message, i.e. one batch of the write buffer (cut
 * into messages of at most `maxSendSize`, 1 MiB by default).
 *
 * The WebSocket API cannot pause the peer, so incoming bytes are bounded
 * instead: a message larger than `maxMessageSize`, or more than
 * `maxBufferedBytes` received and not yet read, closes the connection, as
 * does a text message (a protocol violation). Writes wait while the
 * socket's `bufferedAmount` is above `writeHighWater` (polled: the API has
 * no drain event).
 *
 * This module runs in browsers: it touches no `Deno` API.
 *
 * @example Two ends of a WebSocket as a byte stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { WebSocketLink } from "./ws_link.ts";
 * const accepted = Promise.withResolvers<WebSocketLink>();
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onopen = () => accepted.resolve(new WebSocketLink(socket));
 *   return response;
 * });
 * const client = new WebSocketLink(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`));
 * await client.opened;
 * const link = await accepted.promise;
 * await client.write(new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(2);
 * assert.equal(await link.read(buf), 2);
 * assert.deepEqual([...buf], [1, 2]);
 * assert.equal(await link.read(buf), 1);
 * client.close();
 * assert.equal(await link.read(buf), null);
 * link.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
import type { Link } from "./link.ts";
import { ChunkReader } from "./message_port_link.ts";
import { brokenPipe } from "./portable_errors.ts";

/** Default of {@linkcode WebSocketLinkOptions.maxMessageSize}: 64 MiB + 64 KiB. */
export const DEFAULT_WS_MAX_MESSAGE: number = 64 * 1024 * 1024 + 65536;
/** Default of {@linkcode WebSocketLinkOptions.writeHighWater}: 1 MiB. */
export const DEFAULT_WS_WRITE_HIGH_WATER: number = 1024 * 1024;
/** Default of {@linkcode WebSocketLinkOptions.maxSendSize}: 1 MiB. */
export const DEFAULT_WS_MAX_SEND: number = 1024 * 1024;

/** Close code for a text message (mirrors 1003 "unsupported data"; `close()` allows only 1000 and 3000–4999). */
export const WS_CLOSE_UNSUPPORTED_DATA = 4003;
/** Close code for a message or a backlog over the limits (mirrors 1009 "message too big"). */
export const WS_CLOSE_TOO_BIG = 4009;

/** A reason the link closed the connection on the peer. */
export type WebSocketViolation = "text message" | "message too big" | "too many unread bytes";

/** Options of a {@linkcode WebSocketLink}. */
export interface WebSocketLinkOptions {
  /** Largest binary message accepted, in bytes. Default 64 MiB + 64 KiB. */
  maxMessageSize?: number;
  /**
   * Bytes received but not yet read that the link holds before it gives up
   * on the peer (the WebSocket API cannot pause it). Default: twice
   * `maxMessageSize`.
   */
  maxBufferedBytes?: number;
  /** A write waits while more than this many bytes are queued on the socket. Default 1 MiB. */
  writeHighWater?: number;
  /**
   * Largest message sent: a longer write (a batch that grew while the socket
   * was busy, or a large frame) goes as several messages, which the stream
   * allows, so that no peer sees a message over its limit. Default 1 MiB.
   */
  maxSendSize?: number;
  /**
   * Called once when the link closes the connection because of the peer
   * (the caller logs it). The detail says what was seen.
   */
  onViolation?: (violation: WebSocketViolation, detail: string) => void;
}

/** A {@linkcode Link} over one `WebSocket`. */
export class WebSocketLink implements Link {
  /** Resolves when the socket is open; rejects when it fails or closes before. */
  readonly opened: Promise<void>;
  /** Resolves when the connection has ended: closed by either side, or failed. */
  readonly ended: Promise<void>;
  readonly #ws: WebSocket;
  readonly #reader = new ChunkReader();
  readonly #maxMessage: number;
  readonly #maxBuffered: number;
  readonly #highWater: number;
  readonly #maxSend: number;
  readonly #onViolation: WebSocketLinkOptions["onViolation"];
  #unread = 0;
  #closed = false;
  #violated = false;
  #closeDetail = "";
  #end: () => void = () => {};

  /**
   * Adapts `ws`, which may still be connecting.
   *
   * @param ws the socket; its `binaryType` is set to `arraybuffer` and its event handlers are taken
   * @param options limits and the violation callback
   */
  constructor(ws: WebSocket, options: WebSocketLinkOptions = {}) {
    this.#ws = ws;
    this.#maxMessage = options.maxMessageSize ?? DEFAULT_WS_MAX_MESSAGE;
    this.#maxBuffered = options.maxBufferedBytes ?? 2 * this.#maxMessage;
    this.#highWater = options.writeHighWater ?? DEFAULT_WS_WRITE_HIGH_WATER;
    this.#maxSend = Math.max(1, options.maxSendSize ?? DEFAULT_WS_MAX_SEND);
    this.#onViolation = options.onViolation;
    ws.binaryType = "arraybuffer";
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.opened = promise;
    promise.catch(() => {}); // a caller that never waits for it must not see an unhandled rejection
    this.ended = new Promise<void>((resolve) => this.#end = resolve);
    if (ws.readyState === WebSocket.OPEN) resolve();
    ws.onopen = () => resolve();
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string | Blob>) => this.#receive(e.data);
    ws.onerror = (e: Event) => {
      const message = (e as ErrorEvent).message;
      if (message) this.#closeDetail = message;
    };
    ws.onclose = (e: CloseEvent) => {
      const why = this.#closeDetail || `closed with code ${e.code}${e.reason ? ` (${e.reason})` : ""}`;
      reject(new Error(`WebSocket ${why}`));
      this.#reader.end();
      this.#end();
    };
  }

  /** Bytes received and not yet read. */
  get unreadBytes(): number {
    return this.#unread;
  }

  #receive(data: ArrayBuffer | string | Blob): void {
    if (this.#closed) return;
    if (!(data instanceof ArrayBuffer)) {
      this.#violate(
        "text message",
        "a text message (BUS/RT travels in binary messages)",
        WS_CLOSE_UNSUPPORTED_DATA,
      );
      return;
    }
    if (data.byteLength > this.#maxMessage) {
      this.#violate("message too big", `a message of ${data.byteLength} bytes (limit ${this.#maxMessage})`);
      return;
    }
    this.#unread += data.byteLength;
    if (this.#unread > this.#maxBuffered) {
      this.#violate(
        "too many unread bytes",
        `${this.#unread} bytes not read yet (limit ${this.#maxBuffered})`,
      );
      return;
    }
    this.#reader.push(new Uint8Array(data));
  }

  #violate(violation: WebSocketViolation, detail: string, code = WS_CLOSE_TOO_BIG): void {
    this.#violated = true; // what it sent before is not read either
    this.#shut(code, violation);
    this.#onViolation?.(violation, detail);
  }

  /**
   * Reads into `buf`.
   *
   * @param buf where to store the bytes
   * @returns the number of bytes read, or `null` once the connection has closed and everything was read
   */
  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#violated) return null;
    const n = await this.#reader.read(buf);
    if (this.#violated) return null;
    if (n !== null) this.#unread -= n;
    return n;
  }

  /**
   * Sends `data` as one binary message (the socket copies it), or as several
   * of at most `maxSendSize` bytes; waits while the socket has more than
   * `writeHighWater` bytes queued.
   *
   * @param data the bytes; the caller may reuse the buffer once this resolves
   * @returns `data.length`
   * @throws {Deno.errors.BrokenPipe} (an `Error` named `BrokenPipe` outside Deno) when the socket is not open
   */
  async write(data: Uint8Array): Promise<number> {
    const ws = this.#ws;
    if (this.#closed || ws.readyState !== WebSocket.OPEN) {
      throw brokenPipe("Cannot write: the WebSocket is closed");
    }
    if (data.length <= this.#maxSend) ws.send(data);
    else {
      for (let off = 0; off < data.length; off += this.#maxSend) {
        ws.send(data.subarray(off, Math.min(off + this.#maxSend, data.length)));
      }
    }
    // the WebSocket API has no drain event: poll, at once first, then backing off to 10 ms
    for (let wait = 0; ws.bufferedAmount > this.#highWater; wait = Math.min(wait + 1, 10)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (ws.readyState !== WebSocket.OPEN) throw brokenPipe("Cannot write: the WebSocket closed");
    }
    return data.length;
  }

  /** Closes the connection (normal closure); reading then ends. */
  close(): void {
    this.#shut(1000, "");
  }

  #shut(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#ws.close(code, reason);
    } catch {
      // closed already
    }
    this.#reader.end();
    this.#end();
  }
}
