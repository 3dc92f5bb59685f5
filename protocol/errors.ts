/**
 * The error family of the bus: one class carrying the protocol's one-byte code.
 *
 * @module
 */
import { ErrorCode } from "./constants.ts";

const CODE_NAMES: Record<number, string> = {
  [ErrorCode.NotRegistered]: "client not registered",
  [ErrorCode.Data]: "data error",
  [ErrorCode.Io]: "I/O error",
  [ErrorCode.Other]: "other error",
  [ErrorCode.NotSupported]: "not supported",
  [ErrorCode.Busy]: "busy",
  [ErrorCode.NotDelivered]: "not delivered",
  [ErrorCode.Timeout]: "timeout",
  [ErrorCode.Access]: "access denied",
  [ErrorCode.Eof]: "connection closed",
};

/**
 * Human-readable name of a protocol code.
 *
 * @param code a one-byte response or error code
 * @returns the name, or `code 0x..` for an unknown code
 */
export function describeCode(code: number): string {
  return CODE_NAMES[code] ?? `code 0x${code.toString(16).padStart(2, "0")}`;
}

/**
 * An error reported by the bus: a refused registration, a non-OK ACK, a
 * timeout or a closed connection. Branch on the predicates, not on the text.
 *
 * @example Branch on the kind of failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { BusError, ErrorCode } from "./mod.ts";
 * const err = new BusError(ErrorCode.NotRegistered);
 * assert.ok(err.isNotRegistered());
 * assert.ok(!err.isTimeout());
 * assert.equal(err.message, "client not registered");
 * ```
 */
export class BusError extends Error {
  /** The one-byte protocol code (see {@linkcode ErrorCode}). */
  readonly code: number;

  /**
   * Creates an error for a protocol code, with an optional detail message.
   *
   * @param code the one-byte protocol code
   * @param message the detail message (default: the code's name)
   * @param options the error options (`cause`)
   */
  constructor(code: number, message?: string, options?: ErrorOptions) {
    super(message ?? describeCode(code), options);
    this.name = "BusError";
    this.code = code;
  }

  /** The target (or the primary of a secondary) is not registered (0x71). */
  isNotRegistered(): boolean {
    return this.code === ErrorCode.NotRegistered;
  }
  /** Invalid data, e.g. a bad client name (0x72). */
  isData(): boolean {
    return this.code === ErrorCode.Data;
  }
  /** I/O failure (0x73). */
  isIo(): boolean {
    return this.code === ErrorCode.Io;
  }
  /** Unsupported protocol or greeting (0x75). */
  isNotSupported(): boolean {
    return this.code === ErrorCode.NotSupported;
  }
  /** The name is taken (0x76). */
  isBusy(): boolean {
    return this.code === ErrorCode.Busy;
  }
  /** The target's queue was full (0x77). */
  isNotDelivered(): boolean {
    return this.code === ErrorCode.NotDelivered;
  }
  /** An operation timed out (0x78). */
  isTimeout(): boolean {
    return this.code === ErrorCode.Timeout;
  }
  /** Refused by access control (0x79). */
  isAccessDenied(): boolean {
    return this.code === ErrorCode.Access;
  }
  /** The connection is closed (0xFF). */
  isClosed(): boolean {
    return this.code === ErrorCode.Eof;
  }
}
