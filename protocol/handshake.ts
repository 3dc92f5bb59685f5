/**
 * The connection handshake layout (docs/PROTOCOL.md §3), shared by the broker and
 * the IPC client:
 *
 * 1. broker → client: greeting `EB 01 00` (`GREETINGS`, protocol version u16 LE);
 * 2. client → broker: the same 3 bytes back; broker → client: one result code;
 * 3. client → broker: the registration, name length u16 LE + name bytes;
 *    broker → client: one result code.
 *
 * @module
 */
import { GREETINGS, PROTOCOL_VERSION } from "./constants.ts";

/** Size of the greeting in bytes: greeting byte + version u16. */
export const GREETING_SIZE = 3;
/** Size of the length prefix of the registration message. */
export const REGISTRATION_LENGTH_SIZE = 2;
/** Longest client name the registration message can carry, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 0xffff;

/**
 * The greeting bytes: `[GREETINGS, version lo, version hi]`. Returns a new
 * array each time (the caller may hand it to a socket write).
 *
 * @returns the 3 greeting bytes
 *
 * @example Encode the greeting
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGreeting } from "./handshake.ts";
 * assert.deepEqual([...encodeGreeting()], [0xeb, 0x01, 0x00]);
 * ```
 */
export function encodeGreeting(): Uint8Array {
  return new Uint8Array([GREETINGS, PROTOCOL_VERSION & 0xff, PROTOCOL_VERSION >>> 8]);
}

/**
 * Whether `bytes` starts with a greeting of the protocol version spoken here.
 *
 * @param bytes received greeting (at least {@linkcode GREETING_SIZE} bytes)
 * @returns true for `EB 01 00`
 *
 * @example Check a greeting
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGreeting, isSupportedGreeting } from "./handshake.ts";
 * assert.ok(isSupportedGreeting(encodeGreeting()));
 * assert.ok(!isSupportedGreeting(new Uint8Array([0xeb, 0x02, 0x00])));
 * assert.ok(!isSupportedGreeting(new Uint8Array([0xeb])));
 * ```
 */
export function isSupportedGreeting(bytes: Uint8Array): boolean {
  return bytes.length >= GREETING_SIZE && bytes[0] === GREETINGS &&
    (bytes[1] | (bytes[2] << 8)) === PROTOCOL_VERSION;
}

/**
 * The registration message: name length u16 LE followed by the name bytes.
 *
 * @param nameBytes the client name as UTF-8 (1..65535 bytes)
 * @returns the message to write after the greeting is accepted
 * @throws {RangeError} when the name is empty or longer than 65535 bytes
 *
 * @example Encode the registration of "app"
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRegistration } from "./handshake.ts";
 * const msg = encodeRegistration(new TextEncoder().encode("app"));
 * assert.deepEqual([...msg], [3, 0, 0x61, 0x70, 0x70]);
 * ```
 */
export function encodeRegistration(nameBytes: Uint8Array): Uint8Array {
  const len = nameBytes.length;
  if (len === 0 || len > MAX_NAME_BYTES) {
    throw new RangeError(`Invalid client name: must be 1 to ${MAX_NAME_BYTES} bytes, got ${len}`);
  }
  const msg = new Uint8Array(REGISTRATION_LENGTH_SIZE + len);
  msg[0] = len & 0xff;
  msg[1] = len >>> 8;
  msg.set(nameBytes, REGISTRATION_LENGTH_SIZE);
  return msg;
}

/**
 * Reads the name length from the registration's length prefix.
 *
 * @param bytes the first {@linkcode REGISTRATION_LENGTH_SIZE} bytes of the registration
 * @returns the name length in bytes
 *
 * @example Read the length prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRegistration, registrationNameLength } from "./handshake.ts";
 * const name = new Uint8Array(300).fill(0x61);
 * assert.equal(registrationNameLength(encodeRegistration(name)), 300);
 * ```
 */
export function registrationNameLength(bytes: Uint8Array): number {
  return bytes[0] | (bytes[1] << 8);
}
