/**
 * A client that survives the loss of its broker connection: it reconnects
 * with jittered exponential backoff, registers its name again, restores its
 * subscriptions and exclusions, and keeps one stream of incoming frames
 * across connections. Create it with `connect(address, { name, reconnect })`.
 *
 * What happens to traffic while the connection is down:
 * - QoS 1/3 operations whose ACK was pending when the connection dropped
 *   reject (the broker may or may not have routed them: nothing is replayed
 *   silently); new QoS 1/3 operations reject at once with a `BusError`
 *   (`isIo()`), message `… is disconnected (reconnecting)`.
 * - New QoS 0/2 frames are buffered, up to `bufferFrames` frames and
 *   `bufferBytes` payload bytes, and sent in order after the subscriptions
 *   are restored; past either bound the operation throws a `BusError`
 *   (`isIo()`) and the frame is not sent (counted in `droppedFrames`).
 * - Subscribe/unsubscribe/exclude/unexclude are recorded and applied on
 *   reconnect; a QoS 1/3 topic operation made while down resolves once the
 *   new connection has acknowledged it.
 *
 * Progress is reported by {@linkcode ReconnectingClient.status}.
 *
 * @module
 */
import { ErrorCode, Op, QoS, qosNeedsAck } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import type { Frame } from "../protocol/frame.ts";
import type { BusClient, OpResult } from "./bus_client.ts";
import { BusClientBase, type DataOp, type TopicOp } from "./client_base.ts";
import { FrameQueue } from "./frame_queue.ts";

/** Reconnect settings of `connect(address, { reconnect })`. */
export interface ReconnectOptions {
  /** Delay before the first attempt, in milliseconds. Default 100. */
  initialDelay?: number;
  /** Longest delay between attempts, in milliseconds. Default 5000. */
  maxDelay?: number;
  /** Growth of the delay per failed attempt. Default 2. */
  factor?: number;
  /**
   * Fraction of each delay that is random (0: none, 1: anywhere from 0 to
   * the delay). Default 0.5, so clients of a restarted broker spread out.
   */
  jitter?: number;
  /** Attempts per outage before giving up and closing. Default: unlimited. */
  maxAttempts?: number;
  /** QoS 0/2 frames buffered while disconnected. Default 1024. */
  bufferFrames?: number;
  /** Payload bytes buffered while disconnected. Default 1 MiB. */
  bufferBytes?: number;
}

/** A change of a {@linkcode ReconnectingClient}'s connection. */
export type ConnectionStatus =
  /** The connection was lost; `error` says why. */
  | { type: "disconnected"; error: Error | null }
  /** Attempt `attempt` of this outage starts now; `error` is why the previous one failed. */
  | { type: "reconnecting"; attempt: number; error: Error | null }
  /** Registered again and subscriptions restored; `downtime` in milliseconds. */
  | { type: "reconnected"; attempts: number; downtime: number }
  /** The client is closed (by `close()`, or because `maxAttempts` ran out). */
  | { type: "closed"; error: Error | null };

/** The connection the reconnecting client drives: one registered IPC connection. */
export interface ClientConnection extends BusClient {
  /** Why the connection ended (null for a normal close). */
  readonly closeReason?: Error | null;
}

interface Buffered {
  op: DataOp;
  target: string;
  receiver: string | null;
  payload: Uint8Array;
  qos: QoS;
}

interface TopicWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

const DEFAULTS: Required<ReconnectOptions> = {
  initialDelay: 100,
  maxDelay: 5000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
  bufferFrames: 1024,
  bufferBytes: 1024 * 1024,
};

/**
 * A bus client that reconnects. See the module documentation for what
 * happens to traffic during an outage.
 *
 * @example Survive a broker restart
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, connect, QoS } from "@busrt/busrt";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/bus.sock`;
 * let broker = new Broker();
 * await broker.serveUnix(path);
 * const client = await connect(path, { name: "app", reconnect: { initialDelay: 10 } });
 * await client.subscribe("news/#", QoS.Processed);
 * const status = client.status()[Symbol.asyncIterator]();
 * await broker.close();
 * assert.equal((await status.next()).value?.type, "disconnected");
 * broker = new Broker();
 * await broker.serveUnix(path);
 * let event;
 * do event = (await status.next()).value; while (event?.type !== "reconnected");
 * // the subscription was restored on the new broker
 * broker.registerClient("pub").publish("news/today", "hi");
 * const { value: frame } = await client[Symbol.asyncIterator]().next();
 * assert.equal(frame?.topic, "news/today");
 * await client.close();
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ReconnectingClient extends BusClientBase implements BusClient {
  /** The registered name. */
  readonly name: string;
  /** Resolves when the client is closed for good. */
  readonly closed: Promise<void>;
  /** QoS 0/2 frames refused because the outage buffer was full. */
  droppedFrames = 0;

  readonly #open: () => Promise<ClientConnection>;
  readonly #options: Required<ReconnectOptions>;
  readonly #queue: FrameQueue<Frame>;
  readonly #subscriptions = new Set<string>();
  readonly #exclusions = new Set<string>();
  readonly #statusListeners = new Set<FrameQueue<ConnectionStatus>>();
  #conn: ClientConnection | null;
  #buffer: Buffered[] = [];
  #bufferBytes = 0;
  #topicWaiters: TopicWaiter[] = [];
  #closing = false;
  #resolveClosed!: () => void;
  #wake: (() => void) | null = null;

  /**
   * @internal Use `connect(address, { name, reconnect })`.
   *
   * @param first the first, registered connection
   * @param open opens and registers a new connection
   * @param options reconnect settings
   * @param queueSize incoming frames buffered before reading pauses
   */
  constructor(
    first: ClientConnection,
    open: () => Promise<ClientConnection>,
    options: ReconnectOptions,
    queueSize: number,
  ) {
    super();
    this.name = first.name;
    this.#open = open;
    this.#options = { ...DEFAULTS, ...options };
    this.#queue = new FrameQueue(queueSize);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#conn = first;
    this.#attach(first);
  }

  /** Whether a connection is up right now. */
  isConnected(): boolean {
    return this.#conn !== null && this.#conn.isConnected();
  }

  /** Incoming data frames from every connection in turn, until the client is closed. */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /**
   * Connection changes from now on (`disconnected`, `reconnecting`,
   * `reconnected`, `closed`), as an async iterable that ends after `closed`.
   * Each call makes an independent listener.
   *
   * @returns the status events
   */
  status(): AsyncIterable<ConnectionStatus> {
    const q = new FrameQueue<ConnectionStatus>(Infinity);
    if (this.#closing) q.close();
    else this.#statusListeners.add(q);
    return q;
  }

  /** Resolves once everything sent so far has been handed to the current connection. */
  flush(): Promise<void> {
    return this.#conn?.flush() ?? Promise.resolve();
  }

  /**
   * Registers a secondary `<name>%%<n>` on the current connection's broker.
   * The secondary itself does not reconnect.
   *
   * @returns the secondary client
   * @throws {BusError} when disconnected
   */
  registerSecondary(): Promise<BusClient> {
    if (this.#conn === null) return Promise.reject(this.#downError("register a secondary"));
    return this.#conn.registerSecondary();
  }

  /** Stops reconnecting and closes the current connection. */
  async close(): Promise<void> {
    if (this.#closing) return await this.closed;
    this.#closing = true;
    this.#wake?.();
    const conn = this.#conn;
    this.#conn = null;
    if (conn !== null) await conn.close();
    this.#finish(null);
  }

  // ---------------------------------------------------------------- hooks

  /** @internal */
  protected sendData(
    op: DataOp,
    target: string,
    receiver: string | null,
    payload: Uint8Array,
    qos: QoS,
  ): OpResult {
    const conn = this.#conn;
    if (conn !== null && conn.isConnected()) return forward(conn, op, target, receiver, payload, qos);
    if (qosNeedsAck(qos)) return Promise.reject(this.#downError("send"));
    if (this.#closing) throw this.#downError("send");
    const o = this.#options;
    if (this.#buffer.length >= o.bufferFrames || this.#bufferBytes + payload.length > o.bufferBytes) {
      this.droppedFrames++;
      throw new BusError(
        ErrorCode.Io,
        `Cannot send: client "${this.name}" is disconnected and its outage buffer is full ` +
          `(${o.bufferFrames} frames, ${o.bufferBytes} bytes)`,
      );
    }
    // the caller may reuse its buffer once the call returns
    this.#buffer.push({ op, target, receiver, payload: payload.slice(), qos });
    this.#bufferBytes += payload.length;
    return undefined;
  }

  /** @internal */
  protected sendTopics(op: TopicOp, topics: readonly string[], qos: QoS): OpResult {
    for (const t of topics) {
      if (op === Op.Subscribe) this.#subscriptions.add(t);
      else if (op === Op.Unsubscribe) this.#subscriptions.delete(t);
      else if (op === Op.Exclude) this.#exclusions.add(t);
      else this.#exclusions.delete(t);
    }
    const conn = this.#conn;
    if (conn !== null && conn.isConnected()) return forwardTopics(conn, op, [...topics], qos);
    if (this.#closing) {
      const err = this.#downError("change subscriptions");
      if (qosNeedsAck(qos)) return Promise.reject(err);
      throw err;
    }
    if (!qosNeedsAck(qos)) return undefined;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#topicWaiters.push({ resolve, reject });
    return promise;
  }

  // ---------------------------------------------------------------- connections

  #attach(conn: ClientConnection): void {
    this.#pump(conn);
    conn.closed.then(() => {
      if (this.#conn !== conn || this.#closing) return;
      this.#conn = null;
      const error = conn.closeReason ?? null;
      this.#emit({ type: "disconnected", error });
      this.#reconnect(performance.now(), error);
    });
  }

  /** Moves the connection's frames into the client's queue, keeping the queue's bound. */
  async #pump(conn: ClientConnection): Promise<void> {
    const q = this.#queue;
    try {
      for await (const frame of conn) {
        if (q.full) await q.waitSpace();
        q.push(frame);
      }
    } catch {
      // the connection failed; its closed promise reports it
    }
  }

  async #reconnect(since: number, lastError: Error | null): Promise<void> {
    const o = this.#options;
    let delay = o.initialDelay;
    for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
      await this.#sleep(delay * (1 - o.jitter * Math.random()));
      if (this.#closing) return;
      this.#emit({ type: "reconnecting", attempt, error: lastError });
      try {
        const conn = await this.#open();
        if (this.#closing) {
          await conn.close();
          return;
        }
        await this.#restore(conn);
        this.#conn = conn;
        this.#attach(conn);
        this.#sendBuffered(conn);
        this.#emit({ type: "reconnected", attempts: attempt, downtime: performance.now() - since });
        return;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
      }
      delay = Math.min(o.maxDelay, delay * o.factor);
    }
    this.#closing = true;
    this.#finish(lastError);
  }

  /** Subscriptions and exclusions again, acknowledged, before anything else is sent. */
  async #restore(conn: ClientConnection): Promise<void> {
    try {
      if (this.#subscriptions.size > 0) await conn.subscribe([...this.#subscriptions], QoS.Processed);
      if (this.#exclusions.size > 0) await conn.exclude([...this.#exclusions], QoS.Processed);
    } catch (err) {
      await conn.close();
      throw err;
    }
    const waiters = this.#topicWaiters;
    this.#topicWaiters = [];
    for (const w of waiters) w.resolve();
  }

  #sendBuffered(conn: ClientConnection): void {
    const buffered = this.#buffer;
    this.#buffer = [];
    this.#bufferBytes = 0;
    for (const b of buffered) {
      try {
        forward(conn, b.op, b.target, b.receiver, b.payload, b.qos);
      } catch {
        // over the payload limit (ConnectOptions.payloadLimit; nothing was written): dropped, the others go
        this.droppedFrames++;
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #finish(error: Error | null): void {
    const err = error ?? this.#downError("complete the operation");
    for (const w of this.#topicWaiters) w.reject(err);
    this.#topicWaiters = [];
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#emit({ type: "closed", error });
    for (const q of this.#statusListeners) q.close();
    this.#statusListeners.clear();
    this.#queue.close();
    this.#resolveClosed();
  }

  #emit(event: ConnectionStatus): void {
    for (const q of this.#statusListeners) q.push(event);
  }

  #downError(what: string): BusError {
    const state = this.#closing ? "closed" : "disconnected (reconnecting)";
    return new BusError(ErrorCode.Io, `Cannot ${what}: client "${this.name}" is ${state}`);
  }
}

function forward(
  conn: BusClient,
  op: DataOp,
  target: string,
  receiver: string | null,
  payload: Uint8Array,
  qos: QoS,
): OpResult {
  switch (op) {
    case Op.Message:
      return conn.send(target, payload, qos);
    case Op.Broadcast:
      return conn.broadcast(target, payload, qos);
    case Op.Publish:
      return conn.publish(target, payload, qos);
    default:
      return conn.publishFor(target, receiver!, payload, qos);
  }
}

function forwardTopics(conn: BusClient, op: TopicOp, topics: string[], qos: QoS): OpResult {
  switch (op) {
    case Op.Subscribe:
      return conn.subscribe(topics, qos);
    case Op.Unsubscribe:
      return conn.unsubscribe(topics, qos);
    case Op.Exclude:
      return conn.exclude(topics, qos);
    default:
      return conn.unexclude(topics, qos);
  }
}
