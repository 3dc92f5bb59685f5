/**
 * The IPC client: connects to a broker over a unix socket, TCP, TLS or
 * WebSocket, registers a name, and exchanges frames with batched writes and
 * in-place parsing. Over WebSocket it runs in browsers too: nothing on that
 * path touches `Deno` unless it is there.
 *
 * @module
 */
import {
  DEFAULT_BUF_SIZE,
  DEFAULT_PAYLOAD_LIMIT,
  DEFAULT_QUEUE_SIZE,
  DEFAULT_TIMEOUT,
  ErrorCode,
  Op,
  type QoS,
  qosIsRealtime,
  qosNeedsAck,
  SECONDARY_SEP,
} from "../protocol/constants.ts";
import { BrokerFrameDecoder, type FrameStorage, LargeBufferPool } from "../protocol/decode.ts";
import { writeClientFrame, writeClientFrameHead, writePing, writeTopicsFrame } from "../protocol/encode.ts";
import { BusError } from "../protocol/errors.ts";
import { packFlags } from "../protocol/flags.ts";
import { Frame } from "../protocol/frame.ts";
import { encodeRegistration, GREETING_SIZE, isSupportedGreeting } from "../protocol/handshake.ts";
import { closeQuietly, type Link, readExact, writeAll } from "../transport/link.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { isSecondaryName } from "../protocol/names.ts";
import { AddressError, parseAddress, TLS_SCHEME } from "../transport/address.ts";
import { bytesEqual, decodeUtf8, encodeUtf8, indexOfNul } from "../protocol/text.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import type { BusClient, OpResult } from "./bus_client.ts";
import { ReconnectingClient, type ReconnectOptions } from "./reconnecting_client.ts";
import { BusClientBase, type DataOp, type TopicOp } from "./client_base.ts";
import { FrameQueue } from "./frame_queue.ts";
import { tlsDial, type TlsDialOptions } from "../transport/tls_dial.ts";
import { webSocketDial, type WebSocketDialOptions } from "../transport/ws_dial.ts";

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** Client name to register (1..65535 UTF-8 bytes, not starting with `.`). */
  name: string;
  /**
   * Timeout in seconds: the whole connect and handshake, each socket write,
   * waiting for an ACK. Pings are sent every `timeout/2`. Default 1.
   */
  timeout?: number;
  /** Initial read buffer size in bytes. Default 8192. */
  bufSize?: number;
  /** Incoming frames buffered before reading pauses. Default 8192. */
  queueSize?: number;
  /** Seconds between pings; 0 disables them. Default `timeout/2`. */
  pingInterval?: number;
  /**
   * Largest frame body accepted from the broker, in bytes; a larger one ends
   * the connection. Default: 64 MiB + 64 KiB, what a broker with the default
   * payload limit can deliver (its payload limit plus the longest sender
   * name). Set it higher when the broker's limit is.
   */
  maxFrameSize?: number;
  /**
   * The broker's payload limit in bytes (its `payloadLimit`): a frame whose
   * body (target, NUL and payload; for topic frames the topics) is larger is
   * refused with a `RangeError` naming both sizes, before anything is
   * written, instead of the broker dropping the connection (a reconnecting
   * client drops such a frame buffered during an outage, counted in
   * `droppedFrames`). `null`: no limit, for a broker without one. Default: the broker's default,
   * {@linkcode DEFAULT_PAYLOAD_LIMIT} (64 MiB).
   */
  payloadLimit?: number | null;
  /** Where the client logs protocol problems. Default: silent. */
  logger?: Logger;
  /**
   * Opens the byte stream instead of a plain unix/TCP connection (TLS or
   * other transports). Receives the address given to {@linkcode connect}.
   */
  dial?: (address: string) => Promise<Link>;
  /**
   * TLS settings (CA, client certificate and key). Implied, with the system
   * roots, by a `tls://host:port` address.
   */
  tls?: TlsDialOptions;
  /**
   * Bearer token for a `ws://` or `wss://` broker that requires one: sent as
   * `Authorization: Bearer …` from Deno, as the `token` query parameter from
   * a browser. Not used by other transports.
   */
  token?: string;
  /** More WebSocket settings (how the token travels, trusted CAs, limits); `token` wins over theirs. */
  webSocket?: WebSocketDialOptions;
  /**
   * Who owns the payload of a large incoming frame (one over 256 KiB):
   * - `"owned"` (default): the application. Each arrives in memory of its own
   *   and may be kept for as long as needed.
   * - `"borrowed"`: the client. It reads large frames into buffers it reuses,
   *   so a large payload is valid only until the application asks for the
   *   next frame (the next step of `for await`, or the next `next()`); copy it
   *   (`frame.payload.slice()`) to keep it. Fresh memory for every payload is
   *   what limits large-payload throughput (it costs more than the socket
   *   copies on a VM); borrowing moved 1 MiB and 16 MiB payloads 3.6–4.5× faster
   *   in docs/LARGE_PAYLOADS.md. Up to 64 MiB of buffers stay with
   *   the client for reuse. Smaller payloads are unaffected. Only for a client
   *   read directly: not with `reconnect`, not under an `RpcClient` (both
   *   read ahead of the application); they refuse it with a `TypeError`.
   */
  largePayloads?: "owned" | "borrowed";
  /**
   * Off (`false` or absent): the client closes when its connection is lost.
   * For a client that reconnects, see {@linkcode ReconnectingConnectOptions}.
   */
  reconnect?: false;
}

/** {@linkcode ConnectOptions} of a client that reconnects: `connect` then returns a {@linkcode ReconnectingClient}. */
export interface ReconnectingConnectOptions extends Omit<ConnectOptions, "reconnect"> {
  /** Reconnect when the connection is lost: `true` for the defaults, or the settings. */
  reconnect: ReconnectOptions | true;
}

/**
 * Payloads from this size on are written from the caller's buffer, without a
 * copy into the write batch (see {@linkcode IpcClient}: the bytes must not
 * change until the frame is written).
 */
const SEND_BY_REFERENCE = 65536;

/** Default of {@linkcode ConnectOptions.maxFrameSize}: the broker's default payload limit plus a sender name. */
const DEFAULT_MAX_FRAME_SIZE = DEFAULT_PAYLOAD_LIMIT + 65536;

/** Bytes of large-frame buffers a client with borrowed payloads keeps for reuse. */
const BORROWED_BUFFERS_KEPT = 64 * 1024 * 1024;

interface AckWaiter {
  resolve: () => void;
  reject: (err: BusError) => void;
  at: number;
}

/**
 * Connects to a broker and registers `options.name`.
 *
 * @example Message round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, BusError, connect, QoS } from "@busrt/busrt";
 * const broker = new Broker();
 * const { bind } = await broker.serveTcp("127.0.0.1:0");
 * const app = await connect(bind, { name: "app" });
 * const other = await connect(bind, { name: "other.app" });
 * await app.send("other.app", "hello", QoS.Processed);
 * for await (const frame of other) {
 *   assert.equal(frame.sender, "app");
 *   assert.equal(new TextDecoder().decode(frame.payload), "hello");
 *   break;
 * }
 * await assert.rejects(app.send("nobody", "hello", QoS.Processed), BusError);
 * await app.close();
 * await other.close();
 * await broker.close();
 * ```
 *
 * @param address a unix socket path, `host:port`, `tls://host:port`, `ws://host[:port][/path]` or `wss://…`
 * @param options the name to register, timeouts, buffers, transport and reconnect settings
 * @returns the registered client: a {@linkcode ReconnectingClient} with `reconnect`
 *
 * @throws {BusError} with the broker's code when the registration is refused
 * @throws {AddressError} (a `TypeError`) for an address that is not a unix socket path,
 *   `host:port`, `tls://host:port`, `ws://` or `wss://` (without a `dial` option)
 */
export function connect(address: string, options: ReconnectingConnectOptions): Promise<ReconnectingClient>;
/**
 * Connects to a broker and registers `options.name`, without reconnecting:
 * when the connection is lost the client is closed.
 *
 * @param address a unix socket path, `host:port`, `tls://host:port`, `ws://…` or `wss://…`
 * @param options the name to register, timeouts, buffers and transport
 * @returns the registered client
 */
export function connect(address: string, options: ConnectOptions): Promise<IpcClient>;
export async function connect(
  address: string,
  options: ConnectOptions | ReconnectingConnectOptions,
): Promise<IpcClient | ReconnectingClient> {
  const { reconnect, ...once } = options;
  if (reconnect !== undefined && reconnect !== false && options.largePayloads === "borrowed") {
    // its frames are read ahead into the reconnecting client's own queue
    throw new TypeError('Cannot combine largePayloads "borrowed" with reconnect');
  }
  const first = await connectOnce(address, once);
  if (reconnect === undefined || reconnect === false) return first;
  return new ReconnectingClient(
    first,
    () => connectOnce(address, once),
    reconnect === true ? {} : reconnect,
    options.queueSize ?? DEFAULT_QUEUE_SIZE,
  );
}

/** Connects and registers once (no reconnect). */
async function connectOnce(address: string, options: ConnectOptions): Promise<IpcClient> {
  const timeoutMs = (options.timeout ?? DEFAULT_TIMEOUT) * 1000;
  const nameBytes = encodeUtf8(options.name);
  if (nameBytes.length === 0 || nameBytes.length > 0xffff) {
    throw new RangeError(`Invalid client name "${options.name}": must be 1 to 65535 bytes`);
  }
  const limit = options.payloadLimit;
  if (limit !== undefined && limit !== null && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`Invalid payloadLimit "${limit}": must be a whole number of bytes, at least 1`);
  }
  const large = options.largePayloads;
  if (large !== undefined && large !== "owned" && large !== "borrowed") {
    throw new RangeError(`Invalid largePayloads "${large}": expected "owned" or "borrowed"`);
  }
  const dial = options.dial ?? chooseDial(address, options);
  let link: Link | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      if (link !== null) closeQuietly(link);
      reject(new BusError(ErrorCode.Timeout, `Cannot connect to "${address}": timed out`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        link = await dial(address);
        // a dial that completes after the deadline must not leave its connection open
        if (timedOut) closeQuietly(link);
        await handshake(link, nameBytes);
        return new IpcClient(address, link, options);
      })(),
      deadline,
    ]);
  } catch (err) {
    if (link !== null) closeQuietly(link);
    if (err instanceof BusError) throw err;
    throw new BusError(
      ErrorCode.Io,
      `Cannot connect to "${address}": ${err instanceof Error ? err.message : err}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The dialer of an address without a `dial` option: unix and TCP directly,
 * TLS for `tls://` (or `host:port` with `tls` options), WebSocket for
 * `ws://` and `wss://`.
 *
 * @throws {AddressError} for a malformed address, or one this client cannot dial by itself
 */
function chooseDial(address: string, options: ConnectOptions): (address: string) => Promise<Link> {
  const addr = parseAddress(address);
  const tls = options.tls;
  switch (addr.transport) {
    case "ws":
    case "wss": {
      const ws = { ...options.webSocket };
      if (options.token !== undefined) ws.token = options.token;
      if (tls?.caCerts !== undefined) ws.caCerts = [...(ws.caCerts ?? []), ...tls.caCerts];
      return webSocketDial(ws);
    }
    case "tls":
      return tlsDial(tls);
    case "tcp":
      return tls === undefined ? dialPlain : tlsDial(tls);
    case "unix":
      if (tls !== undefined) {
        throw new AddressError(address, `TLS options need ${TLS_SCHEME}host:port, not a unix socket path`);
      }
      return dialPlain;
    default:
      throw new AddressError(
        address,
        "the client does not dial fifo: addresses (pass a dial function, or use a unix socket path, " +
          "host:port, tls://host:port, ws:// or wss://)",
        { unsupported: true },
      );
  }
}

async function dialPlain(address: string): Promise<Link> {
  const addr = parseAddress(address);
  if (addr.transport === "unix") return await Deno.connect({ transport: "unix", path: addr.path });
  if (addr.transport !== "tcp") throw new AddressError(address, "not a unix socket path or host:port");
  const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
  conn.setNoDelay(true);
  return conn;
}

async function handshake(link: Link, nameBytes: Uint8Array): Promise<void> {
  const greeting = await readExact(link, GREETING_SIZE);
  if (!isSupportedGreeting(greeting)) {
    throw new BusError(ErrorCode.NotSupported, "Cannot connect: the server is not a BUS/RT v1 broker");
  }
  await writeAll(link, greeting);
  const ok = await readExact(link, 1);
  if (ok[0] !== ErrorCode.Ok) {
    throw new BusError(ok[0], `Cannot connect: greeting refused (${new BusError(ok[0]).message})`);
  }
  await writeAll(link, encodeRegistration(nameBytes));
  const code = (await readExact(link, 1))[0];
  if (code !== ErrorCode.Ok) {
    const name = new TextDecoder().decode(nameBytes);
    throw new BusError(code, `Cannot register client "${name}": ${new BusError(code).message}`);
  }
}

/**
 * A connected IPC client. Create it with {@linkcode connect}.
 *
 * A payload of 64 KiB or more is written from the caller's bytes, without a
 * copy: leave them unchanged until the frame is written ({@linkcode IpcClient.flush}
 * resolves, or the acknowledgment of an acked QoS arrives). A large incoming
 * payload arrives in a buffer of its own, exactly its frame's size, or with
 * {@linkcode ConnectOptions.largePayloads} `"borrowed"` in a buffer the client
 * reuses once the application asks for the next frame.
 *
 * @example Borrowed large payloads: valid until the next frame is asked for
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, connect } from "@busrt/busrt";
 * const broker = new Broker();
 * const { bind } = await broker.serveTcp("127.0.0.1:0");
 * const rx = await connect(bind, { name: "rx", largePayloads: "borrowed" });
 * const tx = await connect(bind, { name: "tx" });
 * const first = new Uint8Array(1 << 20).fill(1);
 * const second = new Uint8Array(1 << 20).fill(2);
 * await tx.send("rx", first);
 * await tx.send("rx", second);
 * const frames = rx[Symbol.asyncIterator]();
 * const a = (await frames.next()).value!.payload;
 * const kept = a.slice(); // a copy outlives the next frame
 * assert.deepEqual(kept, first);
 * const b = (await frames.next()).value!.payload;
 * assert.deepEqual(b, second);
 * assert.deepEqual(kept, first);
 * await tx.close();
 * await rx.close();
 * await broker.close();
 * ```
 */
export class IpcClient extends BusClientBase implements BusClient {
  /** The registered name. */
  readonly name: string;
  /** The address connected to. */
  readonly address: string;
  /** Resolves when the connection has ended, for any reason. */
  readonly closed: Promise<void>;
  /** Why the connection ended, once it has (null for a normal close). */
  closeReason: Error | null = null;
  /** Who owns large incoming payloads ({@linkcode ConnectOptions.largePayloads}). */
  readonly largePayloads: "owned" | "borrowed";

  readonly #link: Link;
  readonly #options: ConnectOptions;
  readonly #writer: WriteBuffer;
  readonly #decoder: BrokerFrameDecoder;
  readonly #queue: FrameQueue<Frame>;
  /** Storage of borrowed large frames still queued or last handed out (`largePayloads: "borrowed"`). */
  readonly #borrowed: WeakMap<Frame, FrameStorage> | null;
  /** Storage of the borrowed frame the application holds now: released when it takes the next frame. */
  #lent: FrameStorage | null = null;
  readonly #acks = new Map<number, AckWaiter>();
  readonly #timeoutMs: number;
  readonly #payloadLimit: number;
  readonly #log: Logger;
  #frameId = 0;
  #connected = true;
  #resolveClosed!: () => void;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #secondaryIndex = 0;
  #targetText = "";
  #targetBytes: Uint8Array = new Uint8Array(0);
  #senderBytes: Uint8Array = new Uint8Array(0);
  #sender = "";
  #topicBytes: Uint8Array = new Uint8Array(0);
  #topic = "";

  /**
   * @internal Use {@linkcode connect}.
   *
   * @param address the address connected to
   * @param link the registered connection
   * @param options the options given to {@linkcode connect}
   */
  constructor(address: string, link: Link, options: ConnectOptions) {
    super();
    this.name = options.name;
    this.address = address;
    this.#link = link;
    this.#options = options;
    this.#timeoutMs = (options.timeout ?? DEFAULT_TIMEOUT) * 1000;
    this.#payloadLimit = options.payloadLimit === null
      ? 0xffffffff
      : options.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT;
    this.#log = options.logger ?? silentLogger;
    const bufSize = options.bufSize ?? DEFAULT_BUF_SIZE;
    this.#writer = new WriteBuffer(link, {
      flushThreshold: Math.max(bufSize, 65536),
      onError: (err) => this.#shutdown(new BusError(ErrorCode.Io, `write failed: ${err}`, { cause: err })),
    });
    this.#decoder = new BrokerFrameDecoder(
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      Math.max(bufSize, 16384),
    );
    this.largePayloads = options.largePayloads ?? "owned";
    const borrow = this.largePayloads === "borrowed";
    this.#borrowed = borrow ? new WeakMap() : null;
    if (borrow) this.#decoder.pool = new LargeBufferPool(BORROWED_BUFFERS_KEPT);
    this.#queue = new FrameQueue(
      options.queueSize ?? DEFAULT_QUEUE_SIZE,
      borrow ? (frame) => this.#lend(frame) : undefined,
    );
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    const ping = options.pingInterval ?? this.#timeoutMs / 2000;
    if (ping > 0) {
      this.#pinger = setInterval(() => this.#tick(), ping * 1000);
      writePing(this.#writer);
    }
    this.#readLoop();
  }

  /** Whether the connection is up. */
  isConnected(): boolean {
    return this.#connected;
  }

  /** Frames received but not yet consumed. */
  get pendingFrames(): number {
    return this.#queue.length;
  }

  /** Incoming data frames, until the connection ends. */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return this.#queue[Symbol.asyncIterator]();
  }

  // ---------------------------------------------------------------- operations

  /** Sends a keepalive now. */
  ping(): Promise<void> {
    this.#ensureConnected();
    writePing(this.#writer);
    return this.#writer.flush();
  }

  /** Resolves once everything sent so far has been written to the socket. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /**
   * Connects a secondary client `<name>%%<n>` with the same options.
   *
   * @throws {TypeError} when called on a secondary
   */
  async registerSecondary(): Promise<IpcClient> {
    if (isSecondaryName(this.name)) {
      throw new TypeError(`Cannot register a secondary of "${this.name}": it is a secondary itself`);
    }
    const name = `${this.name}${SECONDARY_SEP}${this.#secondaryIndex++}`;
    return await connectOnce(this.address, { ...this.#options, name });
  }

  /** Flushes what was sent (bounded by the timeout) and closes the connection. */
  async close(): Promise<void> {
    if (!this.#connected) return await this.closed;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#writer.flush().catch(() => {}),
      new Promise((r) => timer = setTimeout(r, this.#timeoutMs)),
    ]);
    clearTimeout(timer);
    this.#shutdown(null);
    await this.closed;
  }

  // ---------------------------------------------------------------- internals

  #nextId(): number {
    this.#frameId = this.#frameId >= 0xffffffff ? 1 : this.#frameId + 1;
    return this.#frameId;
  }

  #target(text: string): Uint8Array {
    if (text !== this.#targetText) {
      this.#targetText = text;
      this.#targetBytes = encodeUtf8(text);
    }
    return this.#targetBytes;
  }

  /** @internal Writes a MESSAGE, BROADCAST, PUBLISH or PUBLISH_FOR frame. */
  protected sendData(
    op: DataOp,
    target: string,
    receiver: string | null,
    payload: Uint8Array,
    qos: QoS,
  ): OpResult {
    this.#ensureConnected();
    const field1 = this.#target(target);
    const field2 = receiver === null ? null : encodeUtf8(receiver);
    this.#checkBody(field1.length + 1 + (field2 === null ? 0 : field2.length + 1) + payload.length);
    const id = this.#nextId();
    const realtime = qosIsRealtime(qos);
    if (payload.length >= SEND_BY_REFERENCE) {
      // written from the caller's bytes, not copied into the batch
      writeClientFrameHead(this.#writer, id, packFlags(op, qos), field1, field2, payload.length);
      this.#writer.share(payload, realtime);
    } else writeClientFrame(this.#writer, id, packFlags(op, qos), field1, field2, payload, realtime);
    return qosNeedsAck(qos) ? this.#waitAck(id) : undefined;
  }

  /** @internal Writes a SUBSCRIBE, UNSUBSCRIBE, EXCLUDE or UNEXCLUDE frame. */
  protected sendTopics(op: TopicOp, topics: readonly string[], qos: QoS): OpResult {
    this.#ensureConnected();
    const list = topics.map(encodeUtf8);
    this.#checkBody(list.reduce((n, t) => n + t.length + 1, -1));
    const id = this.#nextId();
    writeTopicsFrame(this.#writer, id, packFlags(op, qos), list, qosIsRealtime(qos));
    return qosNeedsAck(qos) ? this.#waitAck(id) : undefined;
  }

  /** Refuses a frame body over the broker's payload limit, before anything is written. */
  #checkBody(length: number): void {
    if (length > this.#payloadLimit) {
      throw new RangeError(
        `frame body of ${length} bytes is over the payload limit of ${this.#payloadLimit} bytes; nothing was sent`,
      );
    }
  }

  #waitAck(id: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#acks.set(id, { resolve, reject, at: performance.now() });
    return promise;
  }

  #ensureConnected(): void {
    if (!this.#connected) {
      throw new BusError(ErrorCode.Eof, `Cannot use client "${this.name}": not connected`, {
        cause: this.closeReason ?? undefined,
      });
    }
  }

  async #readLoop(): Promise<void> {
    const dec = this.#decoder;
    const queue = this.#queue;
    try {
      for (;;) {
        if (queue.full) await queue.waitSpace();
        const n = await this.#link.read(dec.readRegion());
        if (n === null) {
          this.#shutdown(
            this.#connected ? new BusError(ErrorCode.Eof, "connection closed by the broker") : null,
          );
          return;
        }
        dec.commit(n);
        let handed = false;
        while (dec.next()) {
          const kind = dec.kind;
          if (kind === Op.Nop) continue;
          if (kind === Op.Ack) {
            this.#settle(dec.ackId, dec.ackCode);
            continue;
          }
          if (kind !== Op.Message && kind !== Op.Broadcast && kind !== Op.Publish) {
            throw new BusError(ErrorCode.Data, `unknown frame kind 0x${kind.toString(16)} from the broker`);
          }
          const frame = this.#makeFrame(kind, dec.buf, dec.bodyStart, dec.bodyEnd, dec.realtime);
          const storage = dec.frameStorage;
          if (storage !== null && this.#borrowed !== null) {
            storage.retain(); // until the application is past this frame
            this.#borrowed.set(frame, storage);
          }
          queue.push(frame);
          handed = true;
        }
        if (handed) dec.detach();
      }
    } catch (err) {
      const reason = err instanceof BusError ? err : new BusError(ErrorCode.Io, String(err), { cause: err });
      if (this.#connected) this.#log.warn(`client "${this.name}": ${reason.message}`);
      this.#shutdown(this.#connected ? reason : null);
    }
  }

  #makeFrame(kind: Frame["kind"], buf: Uint8Array, start: number, end: number, realtime: boolean): Frame {
    const nul = indexOfNul(buf, start, end);
    if (nul === -1) throw new BusError(ErrorCode.Data, "broken frame from the broker: no sender terminator");
    if (!bytesEqual(buf, start, nul, this.#senderBytes)) {
      const s = decodeUtf8(buf, start, nul);
      if (s === null) throw new BusError(ErrorCode.Data, "broken frame from the broker: sender is not UTF-8");
      this.#sender = s;
      this.#senderBytes = buf.slice(start, nul);
    }
    let topic: string | null = null;
    let payloadStart = nul + 1;
    if (kind === Op.Publish) {
      const nul2 = indexOfNul(buf, payloadStart, end);
      if (nul2 === -1) {
        throw new BusError(ErrorCode.Data, "broken frame from the broker: no topic terminator");
      }
      if (!bytesEqual(buf, payloadStart, nul2, this.#topicBytes)) {
        const t = decodeUtf8(buf, payloadStart, nul2);
        if (t === null) {
          throw new BusError(ErrorCode.Data, "broken frame from the broker: topic is not UTF-8");
        }
        this.#topic = t;
        this.#topicBytes = buf.slice(payloadStart, nul2);
      }
      topic = this.#topic;
      payloadStart = nul2 + 1;
    }
    return new Frame(kind, this.#sender, topic, buf.subarray(payloadStart, end), realtime);
  }

  /** A frame goes to the application: the borrowed one it had before is done with. */
  #lend(frame: Frame): void {
    this.#lent?.release();
    this.#lent = this.#borrowed!.get(frame) ?? null;
  }

  #settle(id: number, code: number): void {
    const waiter = this.#acks.get(id);
    if (waiter === undefined) {
      this.#log.debug(`client "${this.name}": orphaned ACK for frame ${id}`);
      return;
    }
    this.#acks.delete(id);
    if (code === ErrorCode.Ok) waiter.resolve();
    else waiter.reject(new BusError(code));
  }

  #tick(): void {
    if (!this.#connected) return;
    const now = performance.now();
    const w = this.#writer;
    if (w.lastProgressAt > 0 && now - w.lastProgressAt > this.#timeoutMs) {
      this.#shutdown(new BusError(ErrorCode.Timeout, "socket write timed out"));
      return;
    }
    for (const [id, waiter] of this.#acks) {
      if (now - waiter.at <= this.#timeoutMs) break; // insertion order = send order
      this.#acks.delete(id);
      waiter.reject(new BusError(ErrorCode.Timeout, `no ACK for frame ${id} within the timeout`));
    }
    writePing(w);
    this.#decoder.releaseIdleStaging(); // large frames stopped coming: no spare memory kept
  }

  #shutdown(reason: Error | null): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.closeReason = reason;
    clearInterval(this.#pinger);
    closeQuietly(this.#link);
    const err = new BusError(ErrorCode.Eof, `client "${this.name}" disconnected`, {
      cause: reason ?? undefined,
    });
    this.#writer.close(err);
    for (const waiter of this.#acks.values()) waiter.reject(err);
    this.#acks.clear();
    this.#queue.close();
    this.#resolveClosed();
  }
}
