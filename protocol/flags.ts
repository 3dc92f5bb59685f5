/**
 * The flags byte of a client → broker frame header (docs/PROTOCOL.md §4): the
 * operation in the low 6 bits (docs/PROTOCOL.md §1.1), the QoS in the top 2
 * bits (docs/PROTOCOL.md §1.2). A flags byte of 0 is a ping. These helpers
 * are the only place that knows the bit layout; they are small enough for the
 * JIT to inline on the hot path.
 *
 * @module
 */
import type { QoS } from "./constants.ts";

/** Mask of the operation bits (0–5) of a flags byte. */
export const FLAGS_OP_MASK = 0x3f;
/** Position of the QoS bits (6–7) of a flags byte. */
export const FLAGS_QOS_SHIFT = 6;

/**
 * Packs an operation code and a QoS into a frame flags byte.
 *
 * @param op operation code (one of `Op`, below 0x40)
 * @param qos QoS level 0–3
 * @returns the flags byte `op | qos << 6`
 *
 * @example Pack a publish with QoS 1
 * ```ts
 * import assert from "node:assert/strict";
 * import { Op, QoS } from "./constants.ts";
 * import { packFlags } from "./flags.ts";
 * assert.equal(packFlags(Op.Publish, QoS.Processed), 0x41);
 * assert.equal(packFlags(Op.Message, QoS.RealtimeProcessed), 0xd2);
 * ```
 */
export function packFlags(op: number, qos: QoS): number {
  return (op & FLAGS_OP_MASK) | (qos << FLAGS_QOS_SHIFT);
}

/**
 * The operation code of a flags byte (its low 6 bits).
 *
 * @param flags a frame flags byte (0–255)
 * @returns the operation code
 *
 * @example Read the operation of a realtime message
 * ```ts
 * import assert from "node:assert/strict";
 * import { Op } from "./constants.ts";
 * import { flagsOp } from "./flags.ts";
 * assert.equal(flagsOp(0x92), Op.Message);
 * ```
 */
export function flagsOp(flags: number): number {
  return flags & FLAGS_OP_MASK;
}

/**
 * The QoS of a flags byte (its top 2 bits).
 *
 * @param flags a frame flags byte (0–255)
 * @returns the QoS level 0–3
 *
 * @example Read the QoS of a processed subscription
 * ```ts
 * import assert from "node:assert/strict";
 * import { QoS, qosNeedsAck } from "./constants.ts";
 * import { flagsQos } from "./flags.ts";
 * assert.equal(flagsQos(0x42), QoS.Processed);
 * assert.ok(qosNeedsAck(flagsQos(0x42)));
 * ```
 */
export function flagsQos(flags: number): QoS {
  return ((flags >>> FLAGS_QOS_SHIFT) & 3) as QoS;
}

/**
 * Whether a flags byte is a ping (keepalive): 0, whatever the length field says.
 *
 * @param flags a frame flags byte
 * @returns true for a ping
 *
 * @example Tell a ping from a frame
 * ```ts
 * import assert from "node:assert/strict";
 * import { Op, QoS } from "./constants.ts";
 * import { isPingFlags, packFlags } from "./flags.ts";
 * assert.ok(isPingFlags(0));
 * assert.ok(!isPingFlags(packFlags(Op.Publish, QoS.No)));
 * ```
 */
export function isPingFlags(flags: number): boolean {
  return flags === 0;
}
