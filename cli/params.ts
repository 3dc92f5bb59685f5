/**
 * RPC parameters from the command line: `key=value` tokens converted as the
 * reference tools do, a JSON object, or raw bytes.
 *
 * @module
 */
import { Encoder } from "@msgpack/msgpack";
import { encodeKeyValueParams as encodeMap } from "../rpc/key_value_params.ts";
import { UsageError } from "./errors.ts";
import { parseJsonObject } from "./render.ts";

export { convertParamValue, type ParamValue } from "../rpc/key_value_params.ts";

/**
 * Builds the MessagePack map of `key=value` tokens (see
 * `rpc/key_value_params.ts`), as a usage error for a token without `=`.
 *
 * @example One boolean
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKeyValueParams } from "./params.ts";
 * assert.deepEqual(encodeKeyValueParams(["on=true"], "rpc call"), new Uint8Array([0x81, 0xa2, 0x6f, 0x6e, 0xc3]));
 * assert.throws(() => encodeKeyValueParams(["on"], "rpc call"), /expected key=value/);
 * ```
 *
 * @param tokens the `key=value` tokens
 * @param command the command, for error messages
 * @returns the MessagePack map
 * @throws {UsageError} for a token without `=`
 */
export function encodeKeyValueParams(tokens: readonly string[], command: string): Uint8Array {
  try {
    return encodeMap(tokens);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UsageError(err.message, command);
    throw err;
  }
}

/** What `rpc call` sends as params, and how it got them. */
export type ParamsSource =
  | { kind: "none" }
  | { kind: "stdin" }
  | { kind: "bytes"; bytes: Uint8Array };

/**
 * Interprets the PARAMS arguments of `rpc call` / `call0`: none → empty;
 * exactly `-` → raw stdin; one argument that is a JSON object → that object
 * as MessagePack; otherwise `key=value` tokens.
 *
 * @example Stdin, none, and `key=value` tokens
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramsFromArgs } from "./params.ts";
 * assert.equal(paramsFromArgs(["-"], "rpc call").kind, "stdin");
 * assert.equal(paramsFromArgs([], "rpc call").kind, "none");
 * assert.equal(paramsFromArgs(["on=true"], "rpc call").kind, "bytes");
 * ```
 *
 * @param args the PARAMS arguments
 * @param command the command, for error messages
 * @returns where the params come from
 */
export function paramsFromArgs(args: readonly string[], command: string): ParamsSource {
  if (args.length === 0) return { kind: "none" };
  if (args.length === 1 && args[0] === "-") return { kind: "stdin" };
  if (args.length === 1 && args[0].trimStart().startsWith("{")) {
    const object = parseJsonObject(args[0]);
    if (object === undefined) throw new UsageError(`Invalid JSON object "${args[0]}"`, command);
    return { kind: "bytes", bytes: jsonEncoder.encode(object) };
  }
  return { kind: "bytes", bytes: encodeKeyValueParams(args, command) };
}

const jsonEncoder = new Encoder({ useBigInt64: true });
