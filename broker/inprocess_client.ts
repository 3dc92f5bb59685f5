/**
 * A client living in the broker's process: no socket, frames handed over as
 * objects, operations completed synchronously.
 *
 * @module
 */
import { ErrorCode, Op, type QoS, qosIsRealtime, qosNeedsAck, SECONDARY_SEP } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { Frame } from "../protocol/frame.ts";
import type { BusClient, OpResult } from "../client/bus_client.ts";
import { BusClientBase, type DataOp, type TopicOp } from "../client/client_base.ts";
import { FrameQueue } from "../client/frame_queue.ts";
import { type ClientSink, Delivery, INTERNAL_ORIGIN, RegisteredClient } from "./registered_client.ts";
import type { Router } from "./router.ts";
import { RoutedPayload, Topic } from "./routed.ts";

/**
 * An in-process client, created by `Broker.registerClient`.
 * Sending to an unknown target fails at once (no ACK round trip): QoS 0/2
 * throw a {@linkcode BusError}, QoS 1/3 return a rejected promise.
 *
 * @example Send between two in-process clients
 * ```ts
 * import assert from "node:assert/strict";
 * import { QoS } from "../protocol/constants.ts";
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const a = broker.registerClient("a");
 * const b = broker.registerClient("b");
 * await a.send("b", "hi", QoS.Processed);
 * const { value } = await b[Symbol.asyncIterator]().next();
 * assert.equal(value?.sender, "a");
 * await assert.rejects(a.send("nobody", "hi", QoS.Processed));
 * await broker.close();
 * ```
 */
export class InProcessClient extends BusClientBase implements BusClient {
  /** The registered name. */
  readonly name: string;
  /** Resolves when the client is unregistered or the broker closes. */
  readonly closed: Promise<void>;
  readonly #entry: RegisteredClient;
  readonly #router: Router;
  readonly #queue: FrameQueue<Frame>;
  readonly #sink: InProcessSink;
  readonly #payload = new RoutedPayload();
  #resolveClosed!: () => void;
  #secondaryIndex = 0;
  #topic: Topic = Topic.of("");

  private constructor(router: Router, name: string, queueSize: number) {
    super();
    this.name = name;
    this.#router = router;
    this.#queue = new FrameQueue(queueSize);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#sink = new InProcessSink(this.#queue, this.#resolveClosed);
    this.#entry = new RegisteredClient(name, this.#sink, INTERNAL_ORIGIN, null, router.totals);
  }

  /**
   * Creates and registers an in-process client. Names are not validated
   * (they may start with `.`); a name with `%%` is a secondary and needs its
   * primary.
   *
   * @param router the broker's router
   * @param name the client name
   * @param queueSize frames buffered for the reader before senders wait
   * @returns the registered client
   * @throws {BusError} 0x71 when a secondary's primary is absent, 0x76 when taken
   * @internal Use `Broker.registerClient`.
   */
  static register(router: Router, name: string, queueSize: number): InProcessClient {
    const client = new InProcessClient(router, name, queueSize);
    const code = router.register(client.#entry);
    if (code !== ErrorCode.Ok) {
      throw new BusError(code, `Cannot register client "${name}": ${new BusError(code).message}`);
    }
    return client;
  }

  // ---------------------------------------------------------------- BusClient

  /** Whether the client is registered. */
  isConnected(): boolean {
    return this.#entry.registered;
  }

  /** Frames waiting to be read. */
  get pendingFrames(): number {
    return this.#queue.length;
  }

  /** Incoming frames, until the client is closed. */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** @internal Routes a MESSAGE, BROADCAST, PUBLISH or PUBLISH_FOR at once. */
  protected sendData(
    op: DataOp,
    target: string,
    receiver: string | null,
    payload: Uint8Array,
    qos: QoS,
  ): OpResult {
    const p = this.#take(payload);
    const router = this.#router;
    const realtime = qosIsRealtime(qos);
    switch (op) {
      case Op.Message:
        return result(router.routeMessage(this.#entry, router.lookup(target), realtime, p, target), qos);
      case Op.Broadcast:
        return result(router.routeBroadcast(this.#entry, target, realtime, p), qos);
      default: // Op.Publish (receiver null), Op.PublishFor
        if (target !== this.#topic.text) this.#topic = Topic.of(target);
        return result(router.routePublish(this.#entry, this.#topic, receiver, realtime, p), qos);
    }
  }

  /**
   * Checks the client is registered, counts the frame as received and
   * points the reused payload at it. PROTOCOL.md §20: in-process frames count their
   * payload bytes only.
   */
  #take(bytes: Uint8Array): RoutedPayload {
    this.#ensureRegistered();
    this.#entry.countReceived(bytes.length);
    const p = this.#payload;
    p.set(bytes, 0, bytes.length, bytes.length);
    return p;
  }

  /** @internal Applies a SUBSCRIBE, UNSUBSCRIBE, EXCLUDE or UNEXCLUDE at once. */
  protected sendTopics(op: TopicOp, topics: readonly string[], qos: QoS): OpResult {
    this.#ensureRegistered();
    const router = this.#router;
    const entry = this.#entry;
    let bodyLen = topics.length - 1;
    for (const t of topics) {
      bodyLen += byteLength(t);
      router.topicOp(entry, op, t);
    }
    entry.countReceived(bodyLen);
    return qosNeedsAck(qos) ? Promise.resolve() : undefined;
  }

  /** Nothing to flush for an in-process client. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Registers the next free secondary `<primary>%%<n>`.
   *
   * @throws {BusError} 0x71 when the primary is no longer registered (synchronously)
   */
  registerSecondaryNow(): InProcessClient {
    const primary = this.#entry.primary;
    const router = this.#router;
    if (router.lookup(primary) === undefined) {
      throw new BusError(
        ErrorCode.NotRegistered,
        `Cannot register a secondary: "${primary}" is not registered`,
      );
    }
    for (;;) {
      const name = `${primary}${SECONDARY_SEP}${this.#secondaryIndex++}`;
      if (router.lookup(name) === undefined) return InProcessClient.register(router, name, router.queueSize);
    }
  }

  /** Registers the next free secondary `<name>%%<n>`. */
  registerSecondary(): Promise<InProcessClient> {
    try {
      return Promise.resolve(this.registerSecondaryNow());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Unregisters the client (announced as `unreg` for a primary) and ends its frames. */
  close(): Promise<void> {
    this.#router.unregister(this.#entry, true);
    this.#sink.disconnect("closed", false);
    return Promise.resolve();
  }

  #ensureRegistered(): void {
    if (!this.#entry.registered) {
      throw new BusError(ErrorCode.Eof, `Cannot use client "${this.name}": it is not registered`);
    }
  }
}

/** How the router hands frames to an in-process client: into its frame queue. */
class InProcessSink implements ClientSink {
  readonly #queue: FrameQueue<Frame>;
  readonly #onDisconnect: () => void;

  constructor(queue: FrameQueue<Frame>, onDisconnect: () => void) {
    this.#queue = queue;
    this.#onDisconnect = onDisconnect;
  }

  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: Topic | null,
    payload: RoutedPayload,
  ): Delivery | Promise<Delivery> {
    const frame = new Frame(
      kind as Frame["kind"],
      sender.name,
      topic?.text ?? null,
      payload.bytes(),
      realtime,
    );
    const queue = this.#queue;
    if (!queue.full) {
      queue.push(frame);
      return Delivery.Queued;
    }
    return queue.waitSpace().then(() => {
      queue.push(frame);
      return Delivery.Queued;
    });
  }

  queueLength(): number {
    return this.#queue.length;
  }

  disconnect(_reason: string, _flush: boolean): void {
    this.#queue.close();
    this.#onDisconnect();
  }
}

function result(code: number | Promise<number>, qos: QoS): OpResult {
  if (typeof code === "number") {
    if (code !== ErrorCode.Ok) {
      const err = new BusError(code);
      if (qosNeedsAck(qos)) return Promise.reject(err);
      throw err;
    }
    return qosNeedsAck(qos) ? Promise.resolve() : undefined;
  }
  const p = code.then((c) => {
    if (c !== ErrorCode.Ok) throw new BusError(c);
  });
  if (qosNeedsAck(qos)) return p;
  p.catch(() => {});
  return undefined;
}

function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
