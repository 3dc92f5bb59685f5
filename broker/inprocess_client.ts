/**
 * A client living in the broker's process: no socket, frames handed over as
 * objects, operations completed synchronously.
 *
 * @module
 */
import {
  type AckedQoS,
  ErrorCode,
  QoS,
  qosIsRealtime,
  qosNeedsAck,
  type UnackedQoS,
} from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { Frame } from "../protocol/frame.ts";
import { toBytes } from "../protocol/text.ts";
import type { BusClient, OpResult, Payload } from "../client/bus_client.ts";
import { FrameQueue } from "../client/frame_queue.ts";
import { type ClientSink, Delivery, RegisteredClient } from "./registered_client.ts";
import { type Broker, topicWithNul } from "./broker.ts";

const EMPTY = new Uint8Array(0);

/**
 * An in-process client, created by {@linkcode Broker.registerClient}.
 * Sending to an unknown target fails at once (no ACK round trip): QoS 0/2
 * throw a {@linkcode BusError}, QoS 1/3 return a rejected promise.
 *
 * @example
 * ```ts
 * import { Broker, QoS } from "./mod.ts";
 * const broker = new Broker();
 * const a = broker.registerClient("a");
 * const b = broker.registerClient("b");
 * await a.send("b", "hi", QoS.Processed);
 * const { value } = await b[Symbol.asyncIterator]().next();
 * console.assert(value.sender === "a");
 * await broker.close();
 * ```
 */
export class InProcessClient implements BusClient, ClientSink {
  /** The registered name. */
  readonly name: string;
  /** Resolves when the client is unregistered or the broker closes. */
  readonly closed: Promise<void>;
  /** The broker's record of this client. @internal */
  readonly entry: RegisteredClient;
  #broker: Broker;
  #queue: FrameQueue<Frame>;
  #resolveClosed!: () => void;
  #secondaryIndex = 0;
  #lastTopic = "";
  #lastTopicSegs: string[] = [""];
  #lastTopicZ: Uint8Array = new Uint8Array(1);

  /** @internal Use {@linkcode Broker.registerClient}. */
  constructor(broker: Broker, name: string, queueSize: number) {
    this.name = name;
    this.#broker = broker;
    this.#queue = new FrameQueue(queueSize);
    this.entry = new RegisteredClient(name, "internal", this);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Next secondary suffix. @internal */
  nextSecondaryIndex(): number {
    return this.#secondaryIndex++;
  }

  // ---------------------------------------------------------------- ClientSink

  /** @internal */
  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: string | null,
    _topicZ: Uint8Array | null,
    src: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
  ): Delivery | Promise<Delivery> {
    const frame = new Frame(
      kind as Frame["kind"],
      sender.name,
      topic,
      payloadEnd > payloadStart ? src.slice(payloadStart, payloadEnd) : EMPTY,
      realtime,
    );
    if (!this.#queue.full) {
      this.#queue.push(frame);
      return Delivery.Queued;
    }
    return this.#queue.waitSpace().then(() => {
      this.#queue.push(frame);
      return Delivery.Queued;
    });
  }

  /** @internal */
  queueLength(): number {
    return this.#queue.length;
  }

  /** @internal */
  disconnect(_reason: string, _flush: boolean): void {
    this.#queue.close();
    this.#resolveClosed();
  }

  // ---------------------------------------------------------------- BusClient

  /** Whether the client is registered. */
  isConnected(): boolean {
    return this.entry.registered;
  }

  /** Frames waiting to be read. */
  get pendingFrames(): number {
    return this.#queue.length;
  }

  /** Incoming frames, until the client is closed. */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Sends a direct message to `target`. */
  send(target: string, payload: Payload, qos?: UnackedQoS): undefined;
  send(target: string, payload: Payload, qos: AckedQoS): Promise<void>;
  send(target: string, payload: Payload, qos?: QoS): OpResult;
  send(target: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    this.#ensureRegistered();
    const bytes = toBytes(payload);
    const t = this.#broker.lookup(target);
    const bodyLen = bytes.length; // §20: in-process frames count their payload bytes only
    return result(
      this.#broker.routeMessage(this.entry, t, qosIsRealtime(qos), bytes, 0, bytes.length, bodyLen),
      qos,
    );
  }

  /** Broadcasts to clients matching `mask`. */
  broadcast(mask: string, payload: Payload, qos?: UnackedQoS): undefined;
  broadcast(mask: string, payload: Payload, qos: AckedQoS): Promise<void>;
  broadcast(mask: string, payload: Payload, qos?: QoS): OpResult;
  broadcast(mask: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    this.#ensureRegistered();
    const bytes = toBytes(payload);
    const bodyLen = bytes.length; // §20: payload bytes only
    return result(
      this.#broker.routeBroadcast(this.entry, mask, qosIsRealtime(qos), bytes, 0, bytes.length, bodyLen),
      qos,
    );
  }

  /** Publishes to `topic`. */
  publish(topic: string, payload: Payload, qos?: UnackedQoS): undefined;
  publish(topic: string, payload: Payload, qos: AckedQoS): Promise<void>;
  publish(topic: string, payload: Payload, qos?: QoS): OpResult;
  publish(topic: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.#publish(topic, null, payload, qos);
  }

  /** Publishes to `topic` for the instances of primary `receiver` only. */
  publishFor(topic: string, receiver: string, payload: Payload, qos?: UnackedQoS): undefined;
  publishFor(topic: string, receiver: string, payload: Payload, qos: AckedQoS): Promise<void>;
  publishFor(topic: string, receiver: string, payload: Payload, qos?: QoS): OpResult;
  publishFor(topic: string, receiver: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.#publish(topic, receiver, payload, qos);
  }

  #publish(topic: string, receiver: string | null, payload: Payload, qos: QoS): OpResult {
    this.#ensureRegistered();
    const bytes = toBytes(payload);
    if (topic !== this.#lastTopic) {
      this.#lastTopic = topic;
      this.#lastTopicSegs = topic.split("/");
      this.#lastTopicZ = topicWithNul(topic);
    }
    const topicZ = this.#lastTopicZ;
    const bodyLen = bytes.length; // §20: payload bytes only
    return result(
      this.#broker.routePublish(
        this.entry,
        topic,
        this.#lastTopicSegs,
        topicZ,
        receiver,
        qosIsRealtime(qos),
        bytes,
        0,
        bytes.length,
        bodyLen,
      ),
      qos,
    );
  }

  /** Subscribes to topic patterns. */
  subscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  subscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  subscribe(topics: string | string[], qos?: QoS): OpResult;
  subscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.#topicOp(topics, qos, (b, e, t) => b.subscribe(e, t));
  }

  /** Removes subscriptions. */
  unsubscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  unsubscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  unsubscribe(topics: string | string[], qos?: QoS): OpResult;
  unsubscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.#topicOp(topics, qos, (b, e, t) => b.unsubscribe(e, t));
  }

  /** Excludes topic patterns. */
  exclude(topics: string | string[], qos?: UnackedQoS): undefined;
  exclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  exclude(topics: string | string[], qos?: QoS): OpResult;
  exclude(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.#topicOp(topics, qos, (b, e, t) => b.exclude(e, t));
  }

  /** Removes exclusions. */
  unexclude(topics: string | string[], qos?: UnackedQoS): undefined;
  unexclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  unexclude(topics: string | string[], qos?: QoS): OpResult;
  unexclude(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.#topicOp(topics, qos, (b, e, t) => b.unexclude(e, t));
  }

  #topicOp(
    topics: string | string[],
    qos: QoS,
    apply: (b: Broker, e: RegisteredClient, t: string) => void,
  ): OpResult {
    this.#ensureRegistered();
    const list = typeof topics === "string" ? [topics] : topics.length === 0 ? [""] : topics;
    let bodyLen = list.length - 1;
    for (const t of list) {
      bodyLen += byteLength(t);
      apply(this.#broker, this.entry, t);
    }
    this.#broker.countReceived(this.entry, bodyLen);
    return qosNeedsAck(qos) ? Promise.resolve() : undefined;
  }

  /** Nothing to flush for an in-process client. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Registers the next free secondary `<name>%%<n>`. */
  registerSecondary(): Promise<InProcessClient> {
    try {
      return Promise.resolve(this.#broker.registerSecondaryFor(this));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Unregisters the client (announced as `unreg` for a primary) and ends its frames. */
  close(): Promise<void> {
    this.#broker.unregister(this.entry, true);
    this.disconnect("closed", false);
    return Promise.resolve();
  }

  #ensureRegistered(): void {
    if (!this.entry.registered) {
      throw new BusError(ErrorCode.Eof, `Cannot use client "${this.name}": it is not registered`);
    }
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
