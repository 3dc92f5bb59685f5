/**
 * The bridge's handle on a broker ({@linkcode GatewayPort}), made by
 * `Broker.attachGateway`.
 *
 * @module
 */
import { BROKER_WARN_TOPIC, ErrorCode, Op } from "../protocol/constants.ts";
import { type ClientSink, Delivery, RegisteredClient } from "./registered_client.ts";
import type { Router } from "./router.ts";
import { RoutedPayload, Topic } from "./routed.ts";
import { GATEWAY_CLIENT_NAME, GATEWAY_ORIGIN, type RemoteGateway } from "./remote_gateway.ts";

/** Senders from other hosts kept as records, at most this many (then the cache starts over). */
const SENDER_CACHE_MAX = 4096;

/**
 * The bridge's handle on a broker, from `Broker.attachGateway`: injects
 * frames from other hosts, subscribes the export patterns, detaches.
 *
 * @example Export a publication, import one under a remote sender name
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const exported: string[] = [];
 * const port = broker.attachGateway({
 *   message: () => 0x71,
 *   broadcast: () => {},
 *   publication: (sender, topic) => exported.push(`${sender} ${topic}`),
 *   stats: () => ({ state: "test" }),
 * });
 * port.exportPattern("sensors/#");
 * const app = broker.registerClient("app");
 * await app.subscribe("sensors/#");
 * port.publish("@B/probe", "sensors/t2", false, new Uint8Array([7]));
 * await app.publish("sensors/t1", new Uint8Array([1]));
 * assert.deepEqual(exported, ["app sensors/t1"]); // the imported one is not exported again
 * const { value } = await app[Symbol.asyncIterator]().next();
 * assert.equal(value?.sender, "@B/probe");
 * assert.equal(broker.stats().bridge?.state, "test");
 * port.detach();
 * await broker.close();
 * ```
 */
export class GatewayPort {
  readonly #router: Router;
  readonly #gateway: RemoteGateway;
  readonly #exporter: RegisteredClient;
  readonly #senders = new Map<string, RegisteredClient>();
  readonly #payload = new RoutedPayload();
  #topic: Topic = Topic.of("");
  #attached = true;

  /**
   * @param router the broker's router
   * @param gateway the bridge
   * @internal Use `Broker.attachGateway`.
   */
  constructor(router: Router, gateway: RemoteGateway) {
    this.#router = router;
    this.#gateway = gateway;
    this.#exporter = new RegisteredClient(
      GATEWAY_CLIENT_NAME,
      new ExportSink(gateway),
      GATEWAY_ORIGIN,
      null,
      router.totals,
    );
    const code = router.register(this.#exporter);
    if (code !== ErrorCode.Ok) throw new Error(`Cannot attach a bridge: "${GATEWAY_CLIENT_NAME}" is taken`);
    router.unsubscribe(this.#exporter, BROKER_WARN_TOPIC); // only the export patterns
    router.gateway = gateway;
  }

  /** Whether the port is still attached. */
  get attached(): boolean {
    return this.#attached;
  }

  /**
   * Local publications matching `pattern` go to {@linkcode RemoteGateway.publication}.
   *
   * @param pattern a topic pattern (`+`, `#`)
   */
  exportPattern(pattern: string): void {
    this.#router.subscribe(this.#exporter, pattern);
  }

  /**
   * Publishes a frame from another host locally.
   *
   * @param sender the sender name as local clients see it (e.g. `@B/app`)
   * @param topic the topic
   * @param realtime whether the original sender used a realtime QoS
   * @param payload the payload (not copied; kept by in-process subscribers)
   * @returns the ACK code, or a promise of it while an in-process subscriber makes room
   */
  publish(sender: string, topic: string, realtime: boolean, payload: Uint8Array): number | Promise<number> {
    if (!this.#attached) return ErrorCode.Eof;
    const from = this.#sender(sender, payload);
    if (topic !== this.#topic.text) this.#topic = Topic.of(topic);
    return this.#router.routePublish(from, this.#topic, null, realtime, this.#payload);
  }

  /**
   * Delivers a message from another host to a local client.
   *
   * @param sender the sender name as the target sees it (e.g. `@B/app`)
   * @param target the local target name
   * @param realtime whether the original sender used a realtime QoS
   * @param payload the payload
   * @returns the ACK code (0x71 when no such local client), or a promise of it
   */
  message(sender: string, target: string, realtime: boolean, payload: Uint8Array): number | Promise<number> {
    if (!this.#attached) return ErrorCode.NotRegistered;
    const from = this.#sender(sender, payload);
    return this.#router.routeMessage(from, this.#router.lookup(target), realtime, this.#payload, target);
  }

  /**
   * Broadcasts a frame from another host (or a local one, under `sender`) to local clients.
   *
   * @param sender the sender name as the targets see it
   * @param mask the local name mask
   * @param realtime whether the original sender used a realtime QoS
   * @param payload the payload
   * @returns the ACK code, or a promise of it
   */
  broadcast(sender: string, mask: string, realtime: boolean, payload: Uint8Array): number | Promise<number> {
    if (!this.#attached) return ErrorCode.Eof;
    const from = this.#sender(sender, payload);
    return this.#router.routeBroadcast(from, mask, realtime, this.#payload);
  }

  /** Unsubscribes the export patterns and stops routing to the gateway. */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    if (this.#router.gateway === this.#gateway) this.#router.gateway = null;
    this.#router.unregister(this.#exporter, false);
    this.#senders.clear();
  }

  #sender(name: string, payload: Uint8Array): RegisteredClient {
    let from = this.#senders.get(name);
    if (from === undefined) {
      if (this.#senders.size >= SENDER_CACHE_MAX) this.#senders.clear();
      from = new RegisteredClient(name, NO_SINK, GATEWAY_ORIGIN, null, this.#router.totals);
      this.#senders.set(name, from);
    }
    from.countReceived(payload.length);
    this.#payload.set(payload, 0, payload.length, payload.length);
    return from;
  }
}

/** Hands exported publications to the gateway; frames from other hosts are never handed back. */
class ExportSink implements ClientSink {
  readonly #gateway: RemoteGateway;

  constructor(gateway: RemoteGateway) {
    this.#gateway = gateway;
  }

  deliver(
    kind: number,
    realtime: boolean,
    sender: RegisteredClient,
    topic: Topic | null,
    payload: RoutedPayload,
  ): Delivery {
    if (kind === Op.Publish && topic !== null && sender.origin !== GATEWAY_ORIGIN) {
      this.#gateway.publication(sender.name, topic.text, realtime, payload.bytes());
    }
    return Delivery.Queued;
  }

  queueLength(): number {
    return 0;
  }

  disconnect(): void {}
}

/** The sink of sender records from other hosts: they are never registered, so never targets. */
const NO_SINK: ClientSink = {
  deliver: () => Delivery.Queued,
  queueLength: () => 0,
  disconnect: () => {},
};
