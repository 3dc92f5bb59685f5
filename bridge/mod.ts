/**
 * Brokers on many hosts joined through a NATS cluster (docs/CLUSTER.md):
 * {@linkcode Bridge.start} attaches a bridge to a broker; publications on
 * export patterns reach the other nodes, messages and RPC calls to
 * `@NODE/name` reach clients on node NODE, with their ACK codes.
 *
 * @example Map a topic to its NATS subject and back
 * ```ts
 * import assert from "node:assert/strict";
 * import { subjectToTopic, topicToSubject } from "./mod.ts";
 * const subject = topicToSubject("busrt.pub", "plant/line 2/v1.5");
 * assert.equal(subject, "busrt.pub.plant.line~202.v1~2E5");
 * assert.equal(subjectToTopic("busrt.pub", subject), "plant/line 2/v1.5");
 * ```
 *
 * @module
 */
export { Bridge, BridgeHeader, type BridgeState, type BridgeStats } from "./bridge.ts";
export {
  type BridgeOptions,
  parseServerList,
  resolveBridgeOptions,
  type ResolvedBridgeOptions,
} from "./bridge_options.ts";
export { type DropPolicy, OutboundBuffer } from "./outbound_buffer.ts";
export {
  escapeSegment,
  isValidPrefix,
  patternToSubject,
  subjectToTopic,
  topicToSubject,
  unescapeToken,
} from "./subject_map.ts";
