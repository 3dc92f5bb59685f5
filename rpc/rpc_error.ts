/**
 * RPC error codes and the {@linkcode RpcError} class: application codes of
 * the JSON-RPC-like set, and transport failures mapped to `-32000 - code`.
 *
 * @module
 */
import { ErrorCode } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";

/**
 * RPC error codes (i16). Application codes come from the reference RPC layer;
 * transport codes are `-32000 - <one-byte bus error code>`.
 */
export const RpcErrorCode = {
  /** Unknown or expired object, e.g. a cursor (`RPC_ERROR_CODE_NOT_FOUND`). */
  NotFound: -32001,
  /** Params could not be decoded (`RPC_ERROR_CODE_PARSE`). */
  Parse: -32700,
  /** Malformed request (`RPC_ERROR_CODE_INVALID_REQUEST`). */
  InvalidRequest: -32600,
  /** No such method (`RPC_ERROR_CODE_METHOD_NOT_FOUND`). */
  MethodNotFound: -32601,
  /** Params are not what the method accepts (`RPC_ERROR_CODE_INVALID_METHOD_PARAMS`). */
  InvalidParams: -32602,
  /** The handler failed (`RPC_ERROR_CODE_INTERNAL`). */
  Internal: -32603,
  /** Transport: the target is not registered (ACK 0x71). */
  NotRegistered: -32000 - ErrorCode.NotRegistered,
  /** Transport: invalid data, e.g. a method name that is not UTF-8 (0x72). */
  Data: -32000 - ErrorCode.Data,
  /** Transport: I/O error (0x73). */
  Io: -32000 - ErrorCode.Io,
  /** Transport: other error (0x74). */
  Other: -32000 - ErrorCode.Other,
  /** Transport: not supported (0x75). */
  NotSupported: -32000 - ErrorCode.NotSupported,
  /** Transport: busy (0x76). */
  Busy: -32000 - ErrorCode.Busy,
  /** Transport: the target's queue was full (ACK 0x77). */
  NotDelivered: -32000 - ErrorCode.NotDelivered,
  /** Transport: timed out (0x78), including a reply that did not come in time. */
  Timeout: -32000 - ErrorCode.Timeout,
  /** Transport: refused by access control (ACK 0x79). */
  Access: -32000 - ErrorCode.Access,
  /** Transport: the connection is closed (0xFF, "Eof"). */
  Eof: -32000 - ErrorCode.Eof,
} as const;
/** One of the {@linkcode RpcErrorCode} values (handlers may use any other i16 too). */
export type RpcErrorCode = typeof RpcErrorCode[keyof typeof RpcErrorCode];

const CODE_NAMES: Record<number, string> = {
  [RpcErrorCode.NotFound]: "not found",
  [RpcErrorCode.Parse]: "parse error",
  [RpcErrorCode.InvalidRequest]: "invalid request",
  [RpcErrorCode.MethodNotFound]: "method not found",
  [RpcErrorCode.InvalidParams]: "invalid method params",
  [RpcErrorCode.Internal]: "internal error",
  [RpcErrorCode.NotRegistered]: "target not registered",
  [RpcErrorCode.Data]: "data error",
  [RpcErrorCode.Io]: "I/O error",
  [RpcErrorCode.Other]: "other error",
  [RpcErrorCode.NotSupported]: "not supported",
  [RpcErrorCode.Busy]: "busy",
  [RpcErrorCode.NotDelivered]: "not delivered",
  [RpcErrorCode.Timeout]: "timeout",
  [RpcErrorCode.Access]: "access denied",
  [RpcErrorCode.Eof]: "connection closed",
};

const EMPTY = new Uint8Array(0);
const lenientDecoder = new TextDecoder();
const encoder = new TextEncoder();

/** Options of {@linkcode RpcError}. */
export interface RpcErrorOptions extends ErrorOptions {
  /** Whether the error came in an error reply from the remote handler. Default false. */
  remote?: boolean;
}

/**
 * An RPC failure: an error reply from the remote handler, or a transport
 * failure (not registered, timeout, closed …) mapped to its RPC code.
 * Throw it from a call handler to send an error reply with that code and data.
 *
 * @example Branch on the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { RpcError, RpcErrorCode } from "./mod.ts";
 * const err = new RpcError(RpcErrorCode.MethodNotFound, "no such method");
 * assert.ok(err.isMethodNotFound());
 * assert.equal(err.message, "no such method");
 * assert.equal(new RpcError(RpcErrorCode.MethodNotFound).message, "method not found");
 * ```
 */
export class RpcError extends Error {
  /** The i16 error code. */
  readonly code: number;
  /** The raw error data (conventionally a UTF-8 message; may be empty). */
  readonly data: Uint8Array;
  /** Whether the error came in an error reply from the remote handler. */
  readonly remote: boolean;

  /**
   * Creates an error. `data` is the error payload: a string is sent as UTF-8.
   * The message is the data decoded as UTF-8, or the code's description when
   * the data is empty.
   *
   * @param code the i16 error code
   * @param data the error data: bytes, or a string sent as UTF-8
   * @param options `cause`, and whether the error came from the remote handler
   * @throws {RangeError} when `code` is not an i16
   */
  constructor(code: number, data?: Uint8Array | string | null, options?: RpcErrorOptions) {
    if (!Number.isInteger(code) || code < -32768 || code > 32767) {
      throw new RangeError(`Invalid RPC error code "${code}": must be an i16`);
    }
    const bytes = data == null ? EMPTY : typeof data === "string" ? encoder.encode(data) : data;
    const text = typeof data === "string" ? data : bytes.length > 0 ? lenientDecoder.decode(bytes) : "";
    super(text.length > 0 ? text : describeRpcCode(code), options);
    this.name = "RpcError";
    this.code = code;
    this.data = bytes;
    this.remote = options?.remote ?? false;
  }

  /** The call did not complete in time (-32120). */
  isTimeout(): boolean {
    return this.code === RpcErrorCode.Timeout;
  }
  /** The target is not registered (-32113). */
  isNotRegistered(): boolean {
    return this.code === RpcErrorCode.NotRegistered;
  }
  /** The target's queue was full (-32119). */
  isNotDelivered(): boolean {
    return this.code === RpcErrorCode.NotDelivered;
  }
  /** Refused by access control (-32121). */
  isAccessDenied(): boolean {
    return this.code === RpcErrorCode.Access;
  }
  /** The connection is closed (-32255). */
  isClosed(): boolean {
    return this.code === RpcErrorCode.Eof;
  }
  /** Invalid data, e.g. a method name that is not UTF-8 (-32114). */
  isData(): boolean {
    return this.code === RpcErrorCode.Data;
  }
  /** I/O failure (-32115). */
  isIo(): boolean {
    return this.code === RpcErrorCode.Io;
  }
  /** The method does not exist (-32601). */
  isMethodNotFound(): boolean {
    return this.code === RpcErrorCode.MethodNotFound;
  }
  /** The params were refused (-32602). */
  isInvalidParams(): boolean {
    return this.code === RpcErrorCode.InvalidParams;
  }
  /** The request was malformed (-32600). */
  isInvalidRequest(): boolean {
    return this.code === RpcErrorCode.InvalidRequest;
  }
  /** The params could not be decoded (-32700). */
  isParse(): boolean {
    return this.code === RpcErrorCode.Parse;
  }
  /** The handler failed internally (-32603). */
  isInternal(): boolean {
    return this.code === RpcErrorCode.Internal;
  }
  /** An object (e.g. a cursor) is unknown or expired (-32001). */
  isNotFound(): boolean {
    return this.code === RpcErrorCode.NotFound;
  }
  /** The error came in an error reply from the remote handler. */
  isRemote(): boolean {
    return this.remote;
  }
  /** The code is a mapped transport failure (-32113 … -32255). */
  isTransport(): boolean {
    return this.code <= -32000 - ErrorCode.NotRegistered && this.code >= -32000 - ErrorCode.Eof;
  }
}

/**
 * Human-readable name of an RPC error code.
 *
 * @example Name a standard code
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeRpcCode } from "./mod.ts";
 * assert.equal(describeRpcCode(-32601), "method not found");
 * assert.equal(describeRpcCode(42), "RPC error 42");
 * ```
 *
 * @param code an RPC error code
 * @returns its name, or `RPC error <code>` for an unknown code
 */
export function describeRpcCode(code: number): string {
  return CODE_NAMES[code] ?? `RPC error ${code}`;
}

/**
 * The RPC code of a transport failure: `-32000 - code` for a known bus error
 * code (0x71…0x79, 0xFF), -32116 ("other") for anything else.
 *
 * @example Map "not registered"
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrorCode } from "../protocol/mod.ts";
 * import { rpcCodeOfBusCode } from "./mod.ts";
 * assert.equal(rpcCodeOfBusCode(ErrorCode.NotRegistered), -32113);
 * ```
 *
 * @param code a one-byte bus error code
 * @returns the RPC error code
 */
export function rpcCodeOfBusCode(code: number): number {
  if ((code >= ErrorCode.NotRegistered && code <= ErrorCode.Access) || code === ErrorCode.Eof) {
    return -32000 - code;
  }
  return RpcErrorCode.Other;
}

/**
 * Converts any failure of the transport into an {@linkcode RpcError}: a
 * {@linkcode BusError} keeps its code (mapped), anything else is an I/O error
 * (-32115). An `RpcError` is returned unchanged.
 *
 * @example Convert a refused operation
 * ```ts
 * import assert from "node:assert/strict";
 * import { BusError, ErrorCode } from "../protocol/mod.ts";
 * import { toRpcError } from "./mod.ts";
 * const err = toRpcError(new BusError(ErrorCode.Access));
 * assert.ok(err.isAccessDenied());
 * assert.ok(err.cause instanceof BusError);
 * ```
 *
 * @param err the failure
 * @returns the failure as an `RpcError`
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof BusError) {
    const code = rpcCodeOfBusCode(err.code);
    return new RpcError(code, null, { cause: err });
  }
  return new RpcError(RpcErrorCode.Io, err instanceof Error ? err.message : String(err), { cause: err });
}
