/**
 * BUS/RT protocol v1, the low-level entry: constants, error codes, frames,
 * flag and handshake layouts, and the incremental codec the broker and the
 * clients are built on. Most programs need only the root module
 * (`@busrt/busrt`); this one is for tools that speak the wire themselves.
 * The byte layouts are described in `docs/PROTOCOL.md`.
 *
 * The decoders parse in place over one growing buffer; the encoders append
 * to a {@linkcode FrameSink} (the transport's batched write buffer).
 *
 * @example Encode a client frame and decode it as the broker does
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientFrameDecoder, type FrameSink, Op, packFlags, QoS, writeClientFrame } from "./mod.ts";
 * const out: number[] = [];
 * let buf = new Uint8Array(0);
 * const sink: FrameSink = {
 *   get buf() { return buf; },
 *   reserve(n) { buf = new Uint8Array(n); return 0; },
 *   commit(n) { out.push(...buf.subarray(0, n)); },
 * };
 * const payload = new TextEncoder().encode("hi");
 * writeClientFrame(sink, 1, packFlags(Op.Message, QoS.Processed), new TextEncoder().encode("b"), null, payload, false);
 * const dec = new ClientFrameDecoder(1024);
 * dec.feed(new Uint8Array(out));
 * assert.ok(dec.next());
 * assert.equal(dec.op, Op.Message);
 * assert.equal(dec.qos, QoS.Processed);
 * ```
 *
 * @module
 */
export {
  type AckedQoS,
  AUTHOR,
  BROKER_HEADER_SIZE,
  BROKER_INFO_TOPIC,
  BROKER_NAME,
  BROKER_WARN_TOPIC,
  CLIENT_HEADER_SIZE,
  DEFAULT_BUF_SIZE,
  DEFAULT_BUF_TTL,
  DEFAULT_PAYLOAD_LIMIT,
  DEFAULT_QUEUE_SIZE,
  DEFAULT_TIMEOUT,
  ErrorCode,
  type FrameKind,
  GREETINGS,
  Op,
  PACKAGE_NAME,
  PROTOCOL_VERSION,
  QoS,
  qosIsRealtime,
  qosNeedsAck,
  REFERENCE_VERSION,
  RESPONSE_OK,
  SECONDARY_SEP,
  type UnackedQoS,
  VERSION,
} from "./constants.ts";
export { BusError, describeCode } from "./errors.ts";
export { Frame } from "./frame.ts";
export { isSecondaryName, primaryName } from "./names.ts";
export { flagsOp, flagsQos, isPingFlags, packFlags } from "./flags.ts";
export {
  encodeGreeting,
  encodeRegistration,
  GREETING_SIZE,
  isSupportedGreeting,
  MAX_NAME_BYTES,
  registrationNameLength,
} from "./handshake.ts";
export {
  BrokerFrameDecoder,
  ClientFrameDecoder,
  FrameStorage,
  FrameTooLargeError,
  LargeBufferPool,
  ReadBuffer,
} from "./decode.ts";
export {
  type FrameSink,
  writeAck,
  writeClientFrame,
  writeDelivery,
  writeNop,
  writePing,
  writeTopicsFrame,
} from "./encode.ts";
