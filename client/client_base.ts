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

  /**
   * Sends a direct message to the client named `target` (exact name).
   *
   * @param target the receiver's exact name
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  send(target: string, payload: Payload, qos?: UnackedQoS): undefined;
  /**
   * Sends a direct message to the client named `target` (exact name). Waits for the broker's ACK.
   *
   * @param target the receiver's exact name
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  send(target: string, payload: Payload, qos: AckedQoS): Promise<void>;
  /**
   * Sends a direct message to the client named `target` (exact name).
   *
   * @param target the receiver's exact name
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  send(target: string, payload: Payload, qos?: QoS): OpResult;
  send(target: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Message, target, null, toBytes(payload), qos);
  }

  /**
   * Sends to every client whose name matches `mask` (`?` one segment, `*` the rest).
   *
   * @param mask the name mask
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  broadcast(mask: string, payload: Payload, qos?: UnackedQoS): undefined;
  /**
   * Sends to every client whose name matches `mask` (`?` one segment, `*` the rest).
   * Waits for the broker's ACK.
   *
   * @param mask the name mask
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  broadcast(mask: string, payload: Payload, qos: AckedQoS): Promise<void>;
  /**
   * Sends to every client whose name matches `mask` (`?` one segment, `*` the rest).
   *
   * @param mask the name mask
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  broadcast(mask: string, payload: Payload, qos?: QoS): OpResult;
  broadcast(mask: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Broadcast, mask, null, toBytes(payload), qos);
  }

  /**
   * Publishes to `topic`.
   *
   * @param topic the topic
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  publish(topic: string, payload: Payload, qos?: UnackedQoS): undefined;
  /**
   * Publishes to `topic`. Waits for the broker's ACK.
   *
   * @param topic the topic
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  publish(topic: string, payload: Payload, qos: AckedQoS): Promise<void>;
  /**
   * Publishes to `topic`.
   *
   * @param topic the topic
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  publish(topic: string, payload: Payload, qos?: QoS): OpResult;
  publish(topic: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.Publish, topic, null, toBytes(payload), qos);
  }

  /**
   * Publishes to `topic`, delivered only to subscribers whose primary name is `receiver`.
   *
   * @param topic the topic
   * @param receiver the primary name of the subscribers to deliver to
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  publishFor(topic: string, receiver: string, payload: Payload, qos?: UnackedQoS): undefined;
  /**
   * Publishes to `topic`, delivered only to subscribers whose primary name is `receiver`.
   * Waits for the broker's ACK.
   *
   * @param topic the topic
   * @param receiver the primary name of the subscribers to deliver to
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  publishFor(topic: string, receiver: string, payload: Payload, qos: AckedQoS): Promise<void>;
  /**
   * Publishes to `topic`, delivered only to subscribers whose primary name is `receiver`.
   *
   * @param topic the topic
   * @param receiver the primary name of the subscribers to deliver to
   * @param payload the payload: bytes, or a string sent as UTF-8
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  publishFor(topic: string, receiver: string, payload: Payload, qos?: QoS): OpResult;
  publishFor(topic: string, receiver: string, payload: Payload, qos: QoS = QoS.No): OpResult {
    return this.sendData(Op.PublishFor, topic, receiver, toBytes(payload), qos);
  }

  /**
   * Subscribes to topic patterns (`+` one segment, `#` one or more).
   *
   * @param topics one topic pattern or a list of them
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  subscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  /**
   * Subscribes to topic patterns (`+` one segment, `#` one or more). Waits for the broker's ACK.
   *
   * @param topics one topic pattern or a list of them
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  subscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  /**
   * Subscribes to topic patterns (`+` one segment, `#` one or more).
   *
   * @param topics one topic pattern or a list of them
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  subscribe(topics: string | string[], qos?: QoS): OpResult;
  subscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Subscribe, topicList(topics), qos);
  }

  /**
   * Removes subscriptions (exact pattern strings).
   *
   * @param topics the patterns to remove, as subscribed
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  unsubscribe(topics: string | string[], qos?: UnackedQoS): undefined;
  /**
   * Removes subscriptions (exact pattern strings). Waits for the broker's ACK.
   *
   * @param topics the patterns to remove, as subscribed
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  unsubscribe(topics: string | string[], qos: AckedQoS): Promise<void>;
  /**
   * Removes subscriptions (exact pattern strings).
   *
   * @param topics the patterns to remove, as subscribed
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  unsubscribe(topics: string | string[], qos?: QoS): OpResult;
  unsubscribe(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Unsubscribe, topicList(topics), qos);
  }

  /**
   * Excludes topic patterns from publications received.
   *
   * @param topics one topic pattern or a list of them
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  exclude(topics: string | string[], qos?: UnackedQoS): undefined;
  /**
   * Excludes topic patterns from publications received. Waits for the broker's ACK.
   *
   * @param topics one topic pattern or a list of them
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  exclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  /**
   * Excludes topic patterns from publications received.
   *
   * @param topics one topic pattern or a list of them
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
  exclude(topics: string | string[], qos?: QoS): OpResult;
  exclude(topics: string | string[], qos: QoS = QoS.No): OpResult {
    return this.sendTopics(Op.Exclude, topicList(topics), qos);
  }

  /**
   * Removes exclusions.
   *
   * @param topics the patterns to remove, as excluded
   * @param qos QoS 0 (default) or 2: nothing to wait for
   */
  unexclude(topics: string | string[], qos?: UnackedQoS): undefined;
  /**
   * Removes exclusions. Waits for the broker's ACK.
   *
   * @param topics the patterns to remove, as excluded
   * @param qos QoS 1 or 3
   * @returns a promise that resolves on the ACK and rejects with a `BusError` for a non-OK code
   */
  unexclude(topics: string | string[], qos: AckedQoS): Promise<void>;
  /**
   * Removes exclusions.
   *
   * @param topics the patterns to remove, as excluded
   * @param qos any QoS (default 0)
   * @returns `undefined` for QoS 0/2, a promise of the ACK for QoS 1/3
   */
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
