/**
 * The broker's hook for a bridge to other brokers (`bridge/`): a
 * {@linkcode RemoteGateway} the router hands what it cannot deliver locally
 * (messages to unknown names, broadcasts to `@` masks), and a
 * `GatewayPort` (gateway_port.ts) through which the bridge subscribes
 * export patterns and injects frames from other hosts under their original
 * sender names. With no gateway attached the router pays one null check on a
 * missed message target and per broadcast, nothing else.
 *
 * @module
 */
import { BROKER_NAME } from "../protocol/constants.ts";
import type { ClientOrigin } from "./registered_client.ts";

/** Bridge state shown in `.broker` stats and the monitoring endpoint: flat, JSON-friendly. */
export type GatewayStats = Readonly<Record<string, string | number | boolean>>;

/** What a bridge offers the router. */
export interface RemoteGateway {
  /**
   * A local client sent a message to a name no local client has.
   *
   * @param sender the full sender name
   * @param target the target name as sent (e.g. `@NODE/svc.db`)
   * @param realtime whether the sender used a realtime QoS
   * @param payload the payload (a copy the gateway may keep)
   * @returns the ACK code (0x71 for no such remote client or node), or a promise of it
   */
  message(sender: string, target: string, realtime: boolean, payload: Uint8Array): number | Promise<number>;
  /**
   * A local client broadcast to a mask starting with `@`.
   *
   * @param sender the full sender name
   * @param mask the mask as sent (e.g. `@*` + `/svc.*`)
   * @param realtime whether the sender used a realtime QoS
   * @param payload the payload (a copy the gateway may keep)
   */
  broadcast(sender: string, mask: string, realtime: boolean, payload: Uint8Array): void;
  /**
   * A local client published on a topic matching an export pattern
   * (`GatewayPort.exportPattern`). Imported publications are
   * never handed back.
   *
   * @param sender the full sender name
   * @param topic the topic
   * @param realtime whether the sender used a realtime QoS
   * @param payload the payload (a copy the gateway may keep)
   */
  publication(sender: string, topic: string, realtime: boolean, payload: Uint8Array): void;
  /**
   * The bridge's state, for `.broker` stats and the monitoring endpoint.
   *
   * @returns flat, JSON-friendly fields
   */
  stats(): GatewayStats;
}

/** The origin of the records that stand for senders on other hosts; never registered. */
export const GATEWAY_ORIGIN: ClientOrigin = Object.freeze({ kind: "internal", source: null, port: "bridge" });

/** Name of the client through which the bridge subscribes export patterns. */
export const GATEWAY_CLIENT_NAME = `${BROKER_NAME}.bridge`;

const DETACHED = new WeakSet<Promise<number>>();

/**
 * Marks the ACK of a message to another host as one its sender's
 * connection need not wait for: the connection reads on and writes the ACK
 * when the promise settles (ACKs carry their frame's id). The gateway must
 * settle it within its own timeout, and bound how many it has outstanding
 * (returning an unmarked promise makes the sender wait, as for a full
 * in-process target).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detachedAck, isDetachedAck } from "./remote_gateway.ts";
 * const ack = detachedAck(Promise.resolve(0x01));
 * assert.ok(isDetachedAck(ack));
 * assert.ok(!isDetachedAck(Promise.resolve(0x01)));
 * ```
 *
 * @param ack the promise of the ACK code
 * @returns the same promise, marked
 */
export function detachedAck(ack: Promise<number>): Promise<number> {
  DETACHED.add(ack);
  return ack;
}

/**
 * Whether {@linkcode detachedAck} marked this promise.
 *
 * @param ack a promise of an ACK code
 * @returns true when marked
 */
export function isDetachedAck(ack: Promise<number>): boolean {
  return DETACHED.has(ack);
}
