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
 * @example
 * ```ts
 * import { RpcError } from "../rpc/rpc_error.ts";
 * import { rpcFailure } from "./rpc_session.ts";
 * const err = rpcFailure(new RpcError(-32601, "no such method", { remote: true }), 'call "x" on "y"');
 * console.assert(err.message === "RPC error -32601: no such method");
 * ```
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
