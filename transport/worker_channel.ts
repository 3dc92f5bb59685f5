/**
 * Zero-wiring worker connections over a `BroadcastChannel`: a worker that
 * knows only the channel name reaches the broker listening on it, without
 * being handed a port. Every connection is a stream id on the one channel;
 * since a broadcast channel delivers each message to every other instance
 * of that name in the process, each side keeps only its own stream's
 * messages. Slower than worker ports (every message is cloned to every
 * listener of the name); use it where wiring a port is impractical.
 *
 * @example A connection over a channel, in one thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { dialWorkerChannel, listenWorkerChannel } from "./worker_channel.ts";
 * const acceptor = listenWorkerChannel("busrt-doc");
 * const client = dialWorkerChannel("busrt-doc");
 * await client.write(new Uint8Array([5]));
 * for await (const { link, origin } of acceptor) {
 *   assert.equal(origin.port, "channel:busrt-doc");
 *   const buf = new Uint8Array(1);
 *   assert.equal(await link.read(buf), 1);
 *   assert.equal(buf[0], 5);
 *   link.close();
 *   break;
 * }
 * client.close();
 * acceptor.close();
 * ```
 *
 * @module
 */
import { AcceptQueue } from "./accept_queue.ts";
import type { AcceptedOrigin } from "./acceptor.ts";
import type { Link } from "./link.ts";
import { ChunkReader } from "./message_port_link.ts";

/** The prefix of a channel listener's bind: `channel:NAME`. */
export const CHANNEL_PREFIX = "channel:";

/** One message on the channel. */
interface ChannelMessage {
  /** Stream id, chosen by the client. */
  id: string;
  /** Which side it is for. */
  to: "broker" | "client";
  /** Open (client → broker), data, or end of stream. */
  kind: "open" | "data" | "end";
  /** The bytes of a data message. */
  data?: Uint8Array;
}

/** One end of a stream on a shared channel. */
class ChannelLink implements Link {
  readonly reader = new ChunkReader();
  readonly #channel: BroadcastChannel;
  readonly #id: string;
  readonly #to: "broker" | "client";
  readonly #onClose: () => void;
  #closed = false;

  constructor(channel: BroadcastChannel, id: string, to: "broker" | "client", onClose: () => void) {
    this.#channel = channel;
    this.#id = id;
    this.#to = to;
    this.#onClose = onClose;
  }

  read(buf: Uint8Array): Promise<number | null> {
    return this.reader.read(buf);
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BrokenPipe("the channel link is closed"));
    const message: ChannelMessage = { id: this.#id, to: this.#to, kind: "data", data };
    this.#channel.postMessage(message); // structured clone copies the bytes now
    return Promise.resolve(data.length);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const message: ChannelMessage = { id: this.#id, to: this.#to, kind: "end" };
    try {
      this.#channel.postMessage(message);
    } catch {
      // the channel is closed already
    }
    this.reader.end();
    this.#onClose();
  }
}

/**
 * Accepts connections on the broadcast channel `name`.
 *
 * @param name the channel name the workers use
 * @returns the acceptor (bind `channel:NAME`); `close()` ends every stream and leaves the channel
 */
export function listenWorkerChannel(name: string): AcceptQueue {
  const bind = `${CHANNEL_PREFIX}${name}`;
  const channel = new BroadcastChannel(name);
  const links = new Map<string, ChannelLink>();
  const origin: AcceptedOrigin = { kind: "worker", source: null, port: bind, peer: { ip: null } };
  const queue = new AcceptQueue(bind, () => {
    for (const link of links.values()) link.close();
    channel.close();
  });
  channel.onmessage = (e: MessageEvent<ChannelMessage>) => {
    const m = e.data;
    if (m === null || typeof m !== "object" || m.to !== "broker" || typeof m.id !== "string") return;
    if (m.kind === "open") {
      if (links.has(m.id) || queue.closed) return;
      const link = new ChannelLink(channel, m.id, "client", () => links.delete(m.id));
      links.set(m.id, link);
      queue.push({ link, origin });
      return;
    }
    const link = links.get(m.id);
    if (link === undefined) return;
    if (m.kind === "data" && m.data instanceof Uint8Array) link.reader.push(m.data);
    else if (m.kind === "end") {
      link.reader.end();
      links.delete(m.id);
    }
  };
  return queue;
}

/**
 * Opens a connection to the broker listening on the broadcast channel `name`
 * (in a worker, or anywhere in the process).
 *
 * @param name the channel name
 * @returns the connection's byte stream; closing it leaves the channel
 */
export function dialWorkerChannel(name: string): Link {
  const channel = new BroadcastChannel(name);
  const id = crypto.randomUUID();
  const link = new ChannelLink(channel, id, "broker", () => channel.close());
  channel.onmessage = (e: MessageEvent<ChannelMessage>) => {
    const m = e.data;
    if (m === null || typeof m !== "object" || m.id !== id || m.to !== "client") return;
    if (m.kind === "data" && m.data instanceof Uint8Array) link.reader.push(m.data);
    else if (m.kind === "end") link.reader.end();
  };
  const open: ChannelMessage = { id, to: "broker", kind: "open" };
  channel.postMessage(open);
  return link;
}
