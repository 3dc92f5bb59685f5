/**
 * The interface shared by IPC and in-process clients.
 *
 * @module
 */
import type { AckedQoS, QoS, UnackedQoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";

/** Payload accepted by send operations: bytes, or a string sent as UTF-8. */
export type Payload = Uint8Array | string;

/**
 * Result of an operation: `undefined` for QoS 0/2; for QoS 1/3 a promise that
 * resolves when the broker acknowledges it and rejects with a
 * {@linkcode BusError} for a non-OK code.
 */
export type OpResult = Promise<void> | undefined;

/** An operation whose result type follows the QoS literal. */
export interface QoSOperation<A extends unknown[]> {
  /** QoS 0 (default) or 2: nothing to wait for. */
  (...args: [...A, qos?: UnackedQoS]): undefined;
  /** QoS 1 or 3: resolves on the broker's ACK. */
  (...args: [...A, qos: AckedQoS]): Promise<void>;
  /** Any QoS. */
  (...args: [...A, qos: QoS]): OpResult;
}

/**
 * A bus client: connected over a socket ({@linkcode IpcClient}) or living
 * inside the broker's process ({@linkcode InProcessClient}). Incoming frames
 * are an async iterator.
 *
 * @example Receive frames
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import type { BusClient } from "./bus_client.ts";
 * async function firstText(client: BusClient): Promise<string> {
 *   for await (const frame of client) return new TextDecoder().decode(frame.payload);
 *   throw new Error(`${client.name} was disconnected`);
 * }
 * const broker = new Broker();
 * const client = broker.registerClient("app");
 * client.send("app", "hello");
 * assert.equal(await firstText(client), "hello");
 * await broker.close();
 * ```
 */
export interface BusClient extends AsyncIterable<Frame> {
  /** The registered name. */
  readonly name: string;
  /** Resolves when the client is disconnected, for any reason. */
  readonly closed: Promise<void>;
  /** Whether the client is registered and usable. */
  isConnected(): boolean;
  /** Sends a direct message to the client named `target` (exact name). */
  send: QoSOperation<[target: string, payload: Payload]>;
  /** Sends to every client whose name matches `mask` (`?` one segment, `*` the rest). */
  broadcast: QoSOperation<[mask: string, payload: Payload]>;
  /** Publishes to `topic`. */
  publish: QoSOperation<[topic: string, payload: Payload]>;
  /** Publishes to `topic`, delivered only to subscribers whose primary name is `receiver`. */
  publishFor: QoSOperation<[topic: string, receiver: string, payload: Payload]>;
  /** Subscribes to topic patterns (`+` one segment, `#` one or more). */
  subscribe: QoSOperation<[topics: string | string[]]>;
  /** Removes subscriptions (exact pattern strings). */
  unsubscribe: QoSOperation<[topics: string | string[]]>;
  /** Excludes topic patterns from publications received. */
  exclude: QoSOperation<[topics: string | string[]]>;
  /** Removes exclusions. */
  unexclude: QoSOperation<[topics: string | string[]]>;
  /** Resolves once everything sent so far has been handed to the transport. */
  flush(): Promise<void>;
  /** Registers a secondary client `<name>%%<n>` with the same settings. */
  registerSecondary(): Promise<BusClient>;
  /** Disconnects (unregisters) the client. */
  close(): Promise<void>;
}
