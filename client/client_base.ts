/**
 * The client surface written once: the eight operations and their QoS
 * overloads, shared by the IPC client and the in-process client. Subclasses
 * implement two hooks, one for data frames and one for topic-list frames.
 *
 * Internal: not exported from `client/mod.ts`; the broker imports it directly.
 *
 * @module
 */
import { type AckedQoS, Op, QoS, type UnackedQoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { toBytes } from "../protocol/text.ts";
import type { BusClient, OpResult, Payload } from "./bus_client.ts";

/** Operations that carry a target (name, mask or topic) and a payload. */
export type DataOp = typeof Op.Message | typeof Op.Broadcast | typeof Op.Publish | typeof Op.PublishFor;

/** Operations that carry a list of topic patterns. */
export type TopicOp = typeof Op.Subscribe | typeof Op.Unsubscribe | typeof Op.Exclude | typeof Op.Unexclude;

/** The topic list of an empty `topics` array: the single topic `""` (PROTOCOL.md §4.2). Shared, never mutated. */
const EMPTY_TOPICS: readonly string[] = Object.freeze([""]);

/**
 * Base of the bus clients: declares the operations of {@linkcode BusClient}
 * once, normalises their arguments and hands them to
 * {@linkcode BusClientBase.sendData} and {@linkcode BusClientBase.sendTopics}.
 *
 * @internal Extended by `IpcClient` and `InProcessClient`.
 */
export abstract class BusClientBase implements BusClient {
  /** The registered name. */
  abstract readonly name: string;
  /** Resolves when the client is disconnected, for any reason. */
  abstract readonly closed: Promise<void>;
  /** Whether the client is registered and usable. */
  abstract isConnected(): boolean;
  /** Incoming data frames, until the client is disconnected. */
  abstract [Symbol.asyncIterator](): AsyncIterator<Frame>;
  /** Resolves once everything sent so far has been handed to the transport. */
  abstract flush(): Promise<void>;
  /** Registers a secondary client `<name>%%<n>` with the same settings. */
  abstract registerSecondary(): Promise<BusClient>;
  /** Disconnects (unregisters) the client. */
  abstract close(): Promise<void>;

  /**
   * Performs a data operation.
   *
   * @param op {@linkcode Op.Message}, {@linkcode Op.Broadcast}, {@linkcode Op.Publish} or {@linkcode Op.PublishFor}
   * @param target the target name (message), the mask (broadcast) or the topic (publish, publishFor)
   * @param receiver the receiver's primary name for {@linkcode Op.PublishFor}, else `null`
   * @param payload the payload bytes
   * @param qos the QoS
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  protected abstract sendData(
    op: DataOp,
    target: string,
    receiver: string | null,
    payload: Uint8Array,
    qos: QoS,
  ): OpResult;

  /**
   * Performs a topic-list operation.
   *
   * @param op {@linkcode Op.Subscribe}, {@linkcode Op.Unsubscribe}, {@linkcode Op.Exclude} or {@linkcode Op.Unexclude}
   * @param topics the topic patterns, never empty (an empty list arrives as `[""]`); do not keep or mutate it
   * @param qos the QoS
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  protected abstract sendTopics(op: TopicOp, topics: readonly string[], qos: QoS): OpResult;

  /** Sends a direct message to the client named `target` (exact name). */
  send(target: string, payload: Payload, qos?: UnackedQoS): undefined;
  send(target: string, payload: Payload, qos: AckedQoS): Promise<void>;
  send(target: string, payload: Payload, qos?: QoS): OpResult;
  send(target: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Message, target, null, toBytes(payload), qos);
  }

  /** Sends to every client whose name matches `mask` (`?` one segment, `*` the rest). */
  broadcast(mask: string, payload: Payload, qos?: UnackedQoS): undefined;
  broadcast(mask: string, payload: Payload, qos: AckedQoS): Promise<void>;
  broadcast(mask: string, payload: Payload, qos?: QoS): OpResult;
  broadcast(mask: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Broadcast, mask, null, toBytes(payload), qos);
  }

  /** Publishes to `topic`. */
  publish(topic: string, payload: Payload, qos?: UnackedQoS): undefined;
  publish(topic: string, payload: Payload, qos: AckedQoS): Promise<void>;
  publish(topic: string, payload: Payload, qos?: QoS): OpResult;
  publish(topic: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Publish, topic, null, toBytes(payload), qos);
  }

  /** Publishes to `topic`, delivered only to subscribers whose primary name is `receiver`. */
  publishFor(topic: string, receiver: string, payload: Payload, qos?: UnackedQoS): undefined;
  publishFor(topic: string, receiver: string, payload: Payload, qos: AckedQoS): Promise<void>;
  publishFor(topic: string, receiver: string, payload: Payload, qos?: QoS): OpResult;
  publishFor(topic: string, receiver: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.PublishFor, topic, receiver, toBytes(payload), qos);
  }

  /** Subscribes to topic patterns (`+` one segment, `#` one or more). */
  subscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  subscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  subscribe(topics: string | string[], qos?: QoS): OpResult;
  subscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Subscribe, topicList(topics), qos);
  }

  /** Removes subscriptions (exact pattern strings). */
  unsubscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  unsubscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  unsubscribe(topics: string | string[], qos?: QoS): OpResult;
  unsubscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Unsubscribe, topicList(topics), qos);
  }

  /** Excludes topic patterns from publications received. */
  exclude(topics: string | string[], qos?: UnackedQoS): undefined;
  exclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  exclude(topics: string | string[], qos?: QoS): OpResult;
  exclude(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Exclude, topicList(topics), qos);
  }

  /** Removes exclusions. */
  unexclude(topics: string | string[], qos?: UnackedQoS): undefined;
  unexclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  unexclude(topics: string | string[], qos?: QoS): OpResult;
  unexclude(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Unexclude, topicList(topics), qos);
  }
}

/** `topics` as a non-empty list: a string becomes a one-element list, `[]` becomes `[""]`. */
function topicList(topics: string | string[]): readonly string[] {
  if (typeof topics === "string") return [topics];
  return topics.length === 0 ? EMPTY_TOPICS : topics;
}
