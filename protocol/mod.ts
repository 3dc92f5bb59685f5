/**
 * BUS/RT protocol v1: constants, errors, frames and codecs shared by the
 * broker and the clients.
 *
 * @example
 * ```ts
 * import { QoS, qosNeedsAck } from "./mod.ts";
 * console.assert(qosNeedsAck(QoS.Processed));
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./names.ts";
export * from "../log/logger.ts";
export * from "../transport/link.ts";
export { BrokerFrameDecoder, ClientFrameDecoder, FrameTooLargeError, ReadBuffer } from "./decode.ts";
export {
  writeAck,
  writeClientFrame,
  writeDelivery,
  writeNop,
  writePing,
  writeTopicsFrame,
} from "./encode.ts";
export { WriteBuffer, type WriteBufferOptions } from "../transport/write_buffer.ts";
