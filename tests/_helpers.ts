/**
 * Shared test helpers: hex vectors, a broker on temporary sockets, a raw
 * "wire client" that performs the handshake by hand and reads raw frames, and
 * helpers to read frames from bus clients with a deadline.
 *
 * @module
 */
import assert from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import { Broker, type BrokerOptions } from "../broker/broker.ts";
import type { ListenerOptions } from "../broker/listener_options.ts";
import { connect, type ConnectOptions, type IpcClient } from "../client/ipc_client.ts";
import { Op, QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { type Logger, memoryLogger } from "../log/logger.ts";

// ---------------------------------------------------------------- bytes

/** Parses a hex dump such as `"EB 01 00"` (whitespace and newlines ignored). */
export function hex(dump: string): Uint8Array {
  const clean = dump.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError(`Invalid hex dump "${dump}"`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Formats bytes as an uppercase, space-separated hex dump. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Decodes UTF-8 (lossy; for assertions). */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Concatenates byte arrays, strings (as UTF-8) and byte lists. */
export function concat(...parts: (Uint8Array | string | number[])[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === "string" ? utf8(p) : p instanceof Uint8Array ? p : new Uint8Array(p)
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Asserts two byte arrays are equal, showing both as hex on failure. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  assert.equal(toHex(actual), toHex(expected), what);
}

/** A client → broker frame: `id(4) flags(1) len(4) body`. */
export function clientFrame(
  id: number,
  op: number,
  qos: number,
  body: Uint8Array,
  lengthField?: number,
): Uint8Array {
  const out = new Uint8Array(9 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id >>> 0, true);
  out[4] = op | (qos << 6);
  view.setUint32(5, lengthField ?? body.length, true);
  out.set(body, 9);
  return out;
}

/** `field \0 field \0 … payload`: the body of MESSAGE, BROADCAST, PUBLISH, PUBLISH_FOR. */
export function fieldsBody(fields: string[], payload: Uint8Array | string): Uint8Array {
  const parts: (Uint8Array | string | number[])[] = [];
  for (const f of fields) parts.push(f, [0]);
  parts.push(payload);
  return concat(...parts);
}

/** Topics joined by NUL (SUBSCRIBE and the other topic-list ops). */
export function topicsBody(topics: string[]): Uint8Array {
  const parts: (string | number[])[] = [];
  topics.forEach((t, i) => {
    if (i > 0) parts.push([0]);
    parts.push(t);
  });
  return concat(...parts);
}

/** The expected ACK bytes `FE id(4) code`. */
export function ackBytes(id: number, code: number): Uint8Array {
  const out = new Uint8Array(6);
  out[0] = Op.Ack;
  new DataView(out.buffer).setUint32(1, id >>> 0, true);
  out[5] = code;
  return out;
}

/** A broker → client data frame as it must appear on the wire. */
export function deliveredFrame(
  kind: number,
  sender: string,
  topic: string | null,
  payload: Uint8Array | string,
  realtime = false,
): Uint8Array {
  const body = topic === null ? fieldsBody([sender], payload) : fieldsBody([sender, topic], payload);
  const out = new Uint8Array(6 + body.length);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, body.length, true);
  out[5] = realtime ? 1 : 0;
  out.set(body, 6);
  return out;
}

/** A deterministic PRNG (mulberry32) so random chunkings are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes with a position-dependent pattern, to detect corruption and reordering. */
export function patternBytes(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

// ---------------------------------------------------------------- timing

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a clear message when `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` until it holds; fails after `ms`. */
export async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Lets pending I/O callbacks run (closed sockets finish their reads). */
export async function settle(): Promise<void> {
  await delay(20);
}

// ---------------------------------------------------------------- broker

/** Transports the socket tests run on. */
export type Transport = "unix" | "tcp";
/** Both socket transports, for parameterised tests. */
export const TRANSPORTS: readonly Transport[] = ["unix", "tcp"];

/** A broker listening on a temporary unix socket and a TCP port. */
export interface TestBus {
  /** The broker. */
  broker: Broker;
  /** Log lines of the broker. */
  log: Logger & { lines: string[] };
  /** Unix socket path. */
  unix: string;
  /** TCP `127.0.0.1:port`. */
  tcp: string;
  /** Temporary directory holding the socket. */
  dir: string;
  /** Address of the given transport. */
  address(transport: Transport): string;
  /** Connects an {@linkcode IpcClient} (tracked: closed by {@linkcode TestBus.close}). */
  client(name: string, transport?: Transport, options?: Partial<ConnectOptions>): Promise<IpcClient>;
  /** Registers a raw wire client (tracked). */
  wire(name: string, transport?: Transport): Promise<WireClient>;
  /** Opens a raw connection without a handshake (tracked). */
  raw(transport?: Transport): Promise<WireClient>;
  /** Closes every tracked client, the broker, and removes the directory. */
  close(): Promise<void>;
}

/** Options of {@linkcode startBus}. */
export interface BusOptions {
  /** Broker options (a memory logger is added unless given). */
  broker?: BrokerOptions;
  /** Listener settings for both listeners. Default timeout: 30 s (tests must not be timed out by accident). */
  config?: ListenerOptions;
  /** Register `.broker` (announcements). Default false. */
  core?: boolean;
}

/** Starts a broker with a unix and a TCP listener. */
export async function startBus(options: BusOptions = {}): Promise<TestBus> {
  const log = memoryLogger();
  const broker = new Broker({ logger: log, ...options.broker });
  const dir = await Deno.makeTempDir({ prefix: "busrt-test-" });
  const unix = `${dir}/busrt.sock`;
  const config: ListenerOptions = { timeout: 30, ...options.config };
  await broker.serveUnix(unix, config);
  const tcpListener = await broker.serveTcp("127.0.0.1:0", config);
  if (options.core) broker.registerCoreClient();
  const clients: IpcClient[] = [];
  const wires: WireClient[] = [];
  const address = (t: Transport) => t === "unix" ? unix : tcpListener.bind;
  return {
    broker,
    log,
    unix,
    tcp: tcpListener.bind,
    dir,
    address,
    async client(name, transport = "unix", opts = {}) {
      const c = await connect(address(transport), { name, timeout: 5, ...opts });
      clients.push(c);
      return c;
    },
    async wire(name, transport = "unix") {
      const w = await WireClient.open(address(transport));
      wires.push(w);
      const code = await w.handshake(name);
      assert.equal(code, 0x01, `registration of "${name}"`);
      return w;
    },
    async raw(transport = "unix") {
      const w = await WireClient.open(address(transport));
      wires.push(w);
      return w;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      for (const w of wires) w.close();
      await broker.close();
      await settle();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Runs `fn` against a fresh {@linkcode startBus} bus and closes the bus afterwards, pass or fail. */
export async function withBus(fn: (bus: TestBus) => Promise<void>, options: BusOptions = {}): Promise<void> {
  const bus = await startBus(options);
  try {
    await fn(bus);
  } finally {
    await bus.close();
  }
}

// ---------------------------------------------------------------- wire client

/** Thrown by {@linkcode WireClient} reads when the peer closed the connection. */
export class ConnectionClosed extends Error {
  /** Bytes received before the close that were not consumed. */
  readonly rest: Uint8Array;
  /** Creates the error. */
  constructor(rest: Uint8Array) {
    super(`connection closed (${rest.length} unread bytes)`);
    this.name = "ConnectionClosed";
    this.rest = rest;
  }
}

/**
 * A raw protocol client: no library code between the test and the bytes.
 * Reads are exact and bounded by a deadline.
 */
export class WireClient {
  /** The socket, for tests that need it directly (e.g. `closeWrite()`). */
  readonly conn: Deno.Conn;
  #pending: Uint8Array = new Uint8Array(0);
  #eof = false;
  #closed = false;
  #pinger: ReturnType<typeof setInterval> | undefined;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Wraps an already connected socket (e.g. the server side of a scripted broker). */
  static fromConn(conn: Deno.Conn): WireClient {
    return new WireClient(conn);
  }

  /** Connects to a unix path or `host:port` without any handshake. */
  static async open(address: string): Promise<WireClient> {
    if (address.startsWith("/")) {
      return new WireClient(await Deno.connect({ transport: "unix", path: address }));
    }
    const i = address.lastIndexOf(":");
    const conn = await Deno.connect({ hostname: address.slice(0, i), port: Number(address.slice(i + 1)) });
    conn.setNoDelay(true);
    return new WireClient(conn);
  }

  /**
   * Performs the handshake by hand: checks the greeting `EB 01 00`, echoes it,
   * expects `01`, sends the name. Returns the broker's registration code.
   */
  async handshake(name: string | Uint8Array): Promise<number> {
    const greeting = await this.read(3);
    assertBytes(greeting, hex("EB 01 00"), "greeting");
    await this.write(greeting);
    assert.equal((await this.read(1))[0], 0x01, "greeting accepted");
    const nameBytes = typeof name === "string" ? utf8(name) : name;
    await this.write(concat([nameBytes.length & 0xff, nameBytes.length >> 8], nameBytes));
    return (await this.read(1))[0];
  }

  /** Writes all bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends the 9-byte ping. */
  ping(): Promise<void> {
    return this.write(new Uint8Array(9));
  }

  /** Sends a ping every `ms` until {@linkcode stopPinging} or close. */
  startPinging(ms: number): void {
    this.#pinger = setInterval(() => this.ping().catch(() => {}), ms);
  }

  /** Stops the pinger. */
  stopPinging(): void {
    clearInterval(this.#pinger);
    this.#pinger = undefined;
  }

  async #fill(timeoutMs: number): Promise<void> {
    if (this.#eof) throw new ConnectionClosed(this.#pending);
    const chunk = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reading = this.conn.read(chunk);
    const n = await Promise.race([
      reading,
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
    ]).catch((err) => {
      if (
        err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe ||
        err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted
      ) return null;
      throw err;
    });
    clearTimeout(timer);
    if (n === "timeout") {
      this.close(); // cancels the pending read
      await reading.catch(() => null);
      throw new Error(`Timed out after ${timeoutMs} ms waiting for bytes from the broker`);
    }
    if (n === null) {
      this.#eof = true;
      throw new ConnectionClosed(this.#pending);
    }
    this.#pending = concat(this.#pending, chunk.subarray(0, n));
  }

  /** Reads exactly `n` bytes. */
  async read(n: number, timeoutMs = 5000): Promise<Uint8Array> {
    const until = performance.now() + timeoutMs;
    while (this.#pending.length < n) await this.#fill(Math.max(1, until - performance.now()));
    const out = this.#pending.slice(0, n);
    this.#pending = this.#pending.slice(n);
    return out;
  }

  /**
   * Reads the next broker frame as raw bytes (NOP and ACK: 6 bytes; data
   * frames: header and body). Broker NOPs are skipped unless `nops` is true.
   */
  async readFrame(options: { timeoutMs?: number; nops?: boolean } = {}): Promise<Uint8Array> {
    const timeoutMs = options.timeoutMs ?? 5000;
    for (;;) {
      const header = await this.read(6, timeoutMs);
      if (header[0] === Op.Nop) {
        if (options.nops) return header;
        continue;
      }
      if (header[0] === Op.Ack) return header;
      const len = new DataView(header.buffer, header.byteOffset).getUint32(1, true);
      return concat(header, await this.read(len, timeoutMs));
    }
  }

  /** Reads the next frame and asserts it equals `expected`. */
  async expectFrame(expected: Uint8Array, what = "frame"): Promise<void> {
    assertBytes(await this.readFrame(), expected, what);
  }

  /** Reads until the broker closes the connection; returns what arrived first (NOPs removed). */
  async expectClosed(timeoutMs = 5000): Promise<Uint8Array> {
    const until = performance.now() + timeoutMs;
    try {
      for (;;) await this.#fill(Math.max(1, until - performance.now()));
    } catch (err) {
      if (err instanceof ConnectionClosed) return err.rest;
      throw err;
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.stopPinging();
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** Strips leading 6-byte NOP frames from bytes received before a close. */
export function withoutNops(bytes: Uint8Array): Uint8Array {
  let at = 0;
  while (bytes.length - at >= 6 && bytes.subarray(at, at + 6).every((b) => b === 0)) at += 6;
  return bytes.subarray(at);
}

// ---------------------------------------------------------------- bus clients

/** Anything frames can be read from: IPC or in-process client. */
export interface FrameSource extends AsyncIterable<Frame> {
  readonly name: string;
}

const iterators = new WeakMap<FrameSource, AsyncIterator<Frame>>();

function iteratorOf(client: FrameSource): AsyncIterator<Frame> {
  let it = iterators.get(client);
  if (it === undefined) {
    it = client[Symbol.asyncIterator]();
    iterators.set(client, it);
  }
  return it;
}

/** Reads the next frame of a client; fails after `ms` or when the client ends. */
export async function nextFrame(client: FrameSource, ms = 5000): Promise<Frame> {
  const r = await withTimeout(iteratorOf(client).next(), ms, `a frame for "${client.name}"`);
  if (r.done) throw new Error(`Client "${client.name}" ended while a frame was expected`);
  return r.value;
}

/** Resolves when a client's frame stream ends (the client was disconnected). */
export async function expectEnded(client: FrameSource, ms = 5000): Promise<Frame[]> {
  const seen: Frame[] = [];
  for (;;) {
    const r = await withTimeout(iteratorOf(client).next(), ms, `the end of "${client.name}"`);
    if (r.done) return seen;
    seen.push(r.value);
  }
}

/** Something that can send a marker message. */
export interface MarkerSender {
  readonly name: string;
  send(target: string, payload: string, qos: typeof QoS.Processed): Promise<void>;
}

let markerSeq = 0;

/**
 * Returns the frames a client received before a marker message: the marker is
 * sent by `via` after everything under test, so (per-sender FIFO) every frame
 * queued earlier by `via` arrives before it. Frames from other senders that
 * were queued earlier also arrive before it in this broker.
 */
export async function framesBeforeMarker(
  client: FrameSource,
  via: MarkerSender,
  ms = 5000,
): Promise<Frame[]> {
  const marker = `__marker__${++markerSeq}`;
  await via.send(client.name, marker, QoS.Processed);
  const seen: Frame[] = [];
  for (;;) {
    const f = await nextFrame(client, ms);
    if (f.isMessage && f.sender === via.name && text(f.payload) === marker) return seen;
    seen.push(f);
  }
}

/** `s d` (event and client name) of every announcement a client received before a marker from `via`. */
export async function announcementsBeforeMarker(client: FrameSource, via: MarkerSender): Promise<string[]> {
  return (await framesBeforeMarker(client, via)).map((f) => {
    const e = decode(f.payload) as Record<string, unknown>;
    return `${e.s} ${e.d}`;
  });
}

/** Describes frames compactly for assertions: `kind:sender[:topic]:payload`. */
export function describeFrames(frames: Frame[]): string[] {
  return frames.map((f) => {
    const kind = f.kind === Op.Message ? "msg" : f.kind === Op.Broadcast ? "bc" : "pub";
    return f.topic === null
      ? `${kind}:${f.sender}:${text(f.payload)}`
      : `${kind}:${f.sender}:${f.topic}:${text(f.payload)}`;
  });
}

// ---------------------------------------------------------------- scripted broker

/** A fake broker on a unix socket whose every byte the test writes by hand. */
export interface ScriptedBroker {
  /** Socket path to connect clients to. */
  path: string;
  /** Accepts one client, performs the broker side of the handshake, checks the name. */
  accept(expectedName?: string): Promise<WireClient>;
  /** Closes the listener, the accepted connections and the directory. */
  close(): Promise<void>;
}

/** Starts a {@linkcode ScriptedBroker}. */
export async function scriptedBroker(): Promise<ScriptedBroker> {
  const dir = await Deno.makeTempDir({ prefix: "busrt-script-" });
  const path = `${dir}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const accepted: WireClient[] = [];
  return {
    path,
    async accept(expectedName) {
      const server = WireClient.fromConn(await listener.accept());
      accepted.push(server);
      await server.write(hex("EB 01 00"));
      assertBytes(await server.read(3), hex("EB 01 00"), "greeting echo");
      await server.write(hex("01"));
      const len = await server.read(2);
      const name = text(await server.read(len[0] | (len[1] << 8)));
      if (expectedName !== undefined) assert.equal(name, expectedName);
      await server.write(hex("01"));
      return server;
    },
    async close() {
      for (const c of accepted) c.close();
      listener.close();
      await settle();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
