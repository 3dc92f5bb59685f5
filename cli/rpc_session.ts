/**
 * An RPC client for one CLI command: connect, run, close; RPC failures turned
 * into one readable line.
 *
 * @module
 */
import { RpcClient, type RpcHandlers } from "../rpc/rpc_client.ts";
import { RpcError } from "../rpc/rpc_error.ts";
import type { GlobalOptions } from "./args.ts";
import { openClient } from "./connection.ts";
import { CliError } from "./errors.ts";

/**
 * Connects, wraps the client in an {@linkcode RpcClient} (call timeout =
 * `--timeout`), runs `body`, and closes the client whatever happens.
 *
 * @param globals the global options (`--socket`, `--name`, `--timeout` …)
 * @param body what to do with the RPC client
 * @param handlers handlers for incoming calls, notifications and frames
 * @returns what `body` resolves with
 */
export async function withRpc<T>(
  globals: GlobalOptions,
  body: (rpc: RpcClient) => Promise<T>,
  handlers?: RpcHandlers,
): Promise<T> {
  const client = await openClient(globals);
  const rpc = new RpcClient(client, { timeout: globals.timeout, handlers });
  try {
    return await body(rpc);
  } finally {
    await rpc.close();
  }
}

/**
 * Describes a failed RPC operation. An error reply from the remote handler
 * reads `RPC error <code>: <data>` (as the reference); a transport failure
 * reads `Cannot <action>: <reason> (<code>)`.
 *
 * @example A remote error and a transport failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { RpcError } from "../rpc/rpc_error.ts";
 * import { rpcFailure } from "./rpc_session.ts";
 * const remote = rpcFailure(new RpcError(-32601, "no such method", { remote: true }), 'call "x" on "y"');
 * assert.equal(remote.message, "RPC error -32601: no such method");
 * const local = rpcFailure(new RpcError(-32113), 'call "x" on "y"');
 * assert.match(local.message, /^Cannot call "x" on "y": /);
 * ```
 *
 * @param err the failure
 * @param action what was attempted, e.g. `call "x" on "y"`
 * @returns the error to report
 */
export function rpcFailure(err: unknown, action: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof RpcError) {
    const text = err.message.split("\n")[0];
    if (err.remote) return new CliError(`RPC error ${err.code}: ${text}`, 1, { cause: err });
    return new CliError(`Cannot ${action}: ${text} (${err.code})`, 1, { cause: err });
  }
  const text = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new CliError(`Cannot ${action}: ${text}`, 1, { cause: err });
}
