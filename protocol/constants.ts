/**
 * BUS/RT protocol v1 constants: operation codes, QoS levels, response codes and
 * well-known names. Every other module imports its byte values from here.
 *
 * @module
 */

/** Greeting byte the broker sends first on every new connection. */
export const GREETINGS = 0xeb;
/** Protocol version, sent little-endian after the greeting byte. */
export const PROTOCOL_VERSION = 1;

/** Operation codes (low 6 bits of a client frame's flags byte; kind byte of broker frames). */
export const Op = {
  Nop: 0x00,
  Publish: 0x01,
  Subscribe: 0x02,
  Unsubscribe: 0x03,
  Exclude: 0x04,
  Unexclude: 0x05,
  PublishFor: 0x06,
  Message: 0x12,
  Broadcast: 0x13,
  Ack: 0xfe,
} as const;
/** One of the {@linkcode Op} values. */
export type Op = typeof Op[keyof typeof Op];

/** Kinds of data frames delivered to a client. */
export type FrameKind = typeof Op.Message | typeof Op.Broadcast | typeof Op.Publish;

/**
 * Quality of service. Bit 0 asks the broker for an ACK, bit 1 asks for an
 * immediate flush (realtime).
 */
export const QoS = {
  /** No ACK, buffered. */
  No: 0,
  /** ACK from the broker, buffered. */
  Processed: 1,
  /** No ACK, flushed at once. */
  Realtime: 2,
  /** ACK from the broker, flushed at once. */
  RealtimeProcessed: 3,
} as const;
/** One of the {@linkcode QoS} values. */
export type QoS = typeof QoS[keyof typeof QoS];
/** QoS levels that are acknowledged by the broker. */
export type AckedQoS = typeof QoS.Processed | typeof QoS.RealtimeProcessed;
/** QoS levels that are not acknowledged. */
export type UnackedQoS = typeof QoS.No | typeof QoS.Realtime;

/**
 * Whether a QoS asks for an ACK.
 *
 * @param qos a QoS value (0–3)
 * @returns true for QoS 1 and 3
 */
export function qosNeedsAck(qos: number): boolean {
  return (qos & 1) === 1;
}

/**
 * Whether a QoS is realtime (flushed at once).
 *
 * @param qos a QoS value (0–3)
 * @returns true for QoS 2 and 3
 */
export function qosIsRealtime(qos: number): boolean {
  return (qos & 2) === 2;
}

/** One-byte response and error codes (handshake results and ACK codes). */
export const ErrorCode = {
  Ok: 0x01,
  NotRegistered: 0x71,
  Data: 0x72,
  Io: 0x73,
  Other: 0x74,
  NotSupported: 0x75,
  Busy: 0x76,
  NotDelivered: 0x77,
  Timeout: 0x78,
  Access: 0x79,
  Eof: 0xff,
} as const;
/** One of the {@linkcode ErrorCode} values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Response code meaning success. */
export const RESPONSE_OK: 0x01 = ErrorCode.Ok;

/** Separator between a primary name and a secondary suffix. */
export const SECONDARY_SEP = "%%";
/** Name of the broker's internal core-RPC client. */
export const BROKER_NAME = ".broker";
/** Topic of `reg` / `unreg` announcements. */
export const BROKER_INFO_TOPIC = ".broker/info";
/** Topic of `shutdown` warnings; every client is subscribed to it on registration. */
export const BROKER_WARN_TOPIC = ".broker/warn";

/** Default timeout in seconds (library default, broker and client). */
export const DEFAULT_TIMEOUT = 1;
/** Default read/write buffer size in bytes. */
export const DEFAULT_BUF_SIZE = 8192;
/** Default delayed-flush time in microseconds. */
export const DEFAULT_BUF_TTL = 10;
/** Default per-client queue size in frames. */
export const DEFAULT_QUEUE_SIZE = 8192;
/**
 * Default limit of a client frame body in bytes. The reference broker has no
 * limit; ours refuses larger frames before allocating anything.
 */
export const DEFAULT_PAYLOAD_LIMIT = 64 * 1024 * 1024;

/** This package's name, as in deno.json (tests/version_test.ts keeps the two equal). */
export const PACKAGE_NAME = "@busrt/busrt";
/**
 * This package's version, as in deno.json (tests/version_test.ts keeps the two
 * equal): the `version` of the `.broker` `info` reply and of `busrt --version`.
 */
export const VERSION = "0.1.0";
/**
 * The `author` of the `.broker` `info` reply: this package's name (the
 * reference puts its copyright line there; the field name is kept so that
 * reference clients still read the reply).
 */
export const AUTHOR: string = PACKAGE_NAME;
/** Version of the reference broker (the Rust crate `busrt`) whose wire protocol this one speaks. */
export const REFERENCE_VERSION = "0.5.6";

/** Size of a client → broker frame header: id(4) flags(1) len(4). */
export const CLIENT_HEADER_SIZE = 9;
/** Size of a broker → client frame header: kind(1) len(4) realtime(1). */
export const BROKER_HEADER_SIZE = 6;
