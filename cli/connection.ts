/**
 * Connecting the CLI's client to the broker, with failures turned into one
 * clear sentence, and bounding each awaited step by `--timeout`.
 *
 * @module
 */
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { tlsDial } from "../transport/tls_dial.ts";
import { BusError } from "../protocol/errors.ts";
import { AddressError, type BusAddress, parseAddress } from "../transport/address.ts";
import type { Link } from "../transport/link.ts";
import type { GlobalOptions } from "./args.ts";
import { requireClientPermissions } from "./client_permissions.ts";
import { CliError, UsageError } from "./errors.ts";
import { printErrorLine } from "./output.ts";

const PING_INTERVAL = 0.5;

/**
 * Connects and registers `name` (default: `--name`) at `--socket`.
 *
 * @param globals the global options (`--socket`, `--timeout`, TLS files)
 * @param name the client name to register
 * @returns the registered client
 * @throws {UsageError} when `--socket` is not an address
 * @throws {CliError} naming every missing Deno permission, or saying why the broker could not be reached or refused the name
 */
export async function openClient(globals: GlobalOptions, name: string = globals.name): Promise<IpcClient> {
  const address = globals.socket;
  const transport = socketAddress(address).transport;
  await requireClientPermissions(globals);
  let dial: ((address: string) => Promise<Link>) | undefined;
  if (transport === "tls") dial = tlsDial(await readTlsFiles(globals));
  // wss:// verifies the broker with --tls-ca (client certificates are not sent over WebSocket)
  const tls = transport === "wss" && globals.tls.ca !== undefined ? await readTlsFiles(globals) : undefined;
  if (globals.token !== undefined && transport !== "ws" && transport !== "wss") {
    printErrorLine(
      `busrt: note: --token is only sent to ws:// and wss:// brokers; not used for "${address}"`,
    );
  }
  if (globals.verbose) printErrorLine(`Connecting to ${address}, using service name ${name}`);
  try {
    // Pings every 0.5 s, as the reference CLI: a broker drops clients silent
    // for 1.25 × its own timeout, which may be much shorter than ours.
    const client = await connect(address, {
      name,
      timeout: globals.timeout,
      dial,
      tls,
      pingInterval: PING_INTERVAL,
      bufSize: globals.bufSize,
      queueSize: globals.queueSize,
      token: globals.token,
      payloadLimit: globals.payloadLimit,
    });
    if (globals.verbose) printErrorLine(`Registered as ${name}`);
    return client;
  } catch (err) {
    throw new CliError(connectFailure(err, address, name, globals.timeout), 1, { cause: err });
  }
}

function socketAddress(address: string): BusAddress {
  try {
    return parseAddress(address);
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    throw new UsageError(`Invalid value "${address}" for --socket: ${err.reason}`);
  }
}

async function readTlsFiles(
  globals: GlobalOptions,
): Promise<{ caCerts?: string[]; cert?: string; key?: string }> {
  const read = async (file: string | undefined, option: string) => {
    if (file === undefined) return undefined;
    try {
      return await Deno.readTextFile(file);
    } catch (err) {
      throw new CliError(`Cannot read ${option} "${file}": ${err instanceof Error ? err.message : err}`);
    }
  };
  const ca = await read(globals.tls.ca, "--tls-ca");
  return {
    caCerts: ca === undefined ? undefined : [ca],
    cert: await read(globals.tls.cert, "--tls-cert"),
    key: await read(globals.tls.key, "--tls-key"),
  };
}

function connectFailure(err: unknown, address: string, name: string, timeout: number): string {
  if (err instanceof BusError) {
    if (err.isBusy()) {
      return `Cannot register "${name}": the name is in use on the broker (pick another with --name)`;
    }
    if (err.isAccessDenied()) return `Cannot register "${name}": refused by the broker's access control`;
    if (err.isNotRegistered()) return `Cannot register "${name}": its primary client is not connected`;
    if (err.isData()) return `Cannot register "${name}": the broker rejected the name`;
    if (err.isTimeout()) return `Cannot connect to "${address}": no answer within ${timeout} s`;
    if (err.isNotSupported()) return `Cannot connect to "${address}": not a BUS/RT v1 broker`;
    const cause = err.cause;
    if (cause instanceof Deno.errors.NotFound || cause instanceof Deno.errors.ConnectionRefused) {
      const path = unixPath(address);
      const what = path === null ? null : socketFileProblem(path);
      if (what !== null) return `Cannot connect to "${address}": ${what}`;
      if (cause instanceof Deno.errors.NotFound) {
        return `Cannot connect to "${address}": no such socket (is the broker running?)`;
      }
      return `Cannot connect to "${address}": connection refused (is the broker running?)`;
    }
    if (cause instanceof Deno.errors.NotCapable || cause instanceof Deno.errors.PermissionDenied) {
      return `Cannot connect to "${address}": permission denied (${firstLine(cause.message)})`;
    }
    if (cause instanceof Error) return `Cannot connect to "${address}": ${firstLine(cause.message)}`;
    return firstLine(err.message);
  }
  if (err instanceof TypeError || err instanceof RangeError) return firstLine(err.message);
  return `Cannot connect to "${address}": ${err instanceof Error ? firstLine(err.message) : err}`;
}

function unixPath(address: string): string | null {
  try {
    const addr = parseAddress(address);
    return addr.transport === "unix" ? addr.path : null;
  } catch {
    return null;
  }
}

/**
 * What is wrong with the file at a unix socket path the broker did not answer
 * on: it does not exist, or it is a directory or another file, not a socket.
 * Null when it is a socket (nobody listens on it) or it may not be read.
 */
function socketFileProblem(path: string): string | null {
  try {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
  } catch {
    return null;
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "it does not exist (is the broker running?)";
    return null;
  }
  if (info.isSocket === true) return null;
  if (info.isDirectory) return "it is a directory, not a socket";
  return `it is not a socket${info.isFile ? " but a regular file" : ""}`;
}

function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i === -1 ? text : text.slice(0, i);
}

/**
 * Waits for `promise` at most `seconds`; otherwise fails with
 * `<what>: no answer within N s`.
 *
 * @example A settled promise, then one that never settles
 * ```ts
 * import assert from "node:assert/strict";
 * import { withDeadline } from "./connection.ts";
 * assert.equal(await withDeadline(Promise.resolve(1), 1, "test"), 1);
 * const never = new Promise<number>(() => {});
 * await assert.rejects(withDeadline(never, 0.01, "Cannot ping"), /Cannot ping: no answer within 0\.01 s/);
 * ```
 *
 * @param promise what to wait for
 * @param seconds the longest wait
 * @param what the start of the error message
 * @returns what `promise` resolves with
 */
export async function withDeadline<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CliError(`${what}: no answer within ${seconds} s`)),
          seconds * 1000,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Describes a failed bus operation: `Cannot <action>: <reason>`.
 *
 * @example Describe a message to a client that is not connected
 * ```ts
 * import assert from "node:assert/strict";
 * import { BusError, ErrorCode } from "../protocol/mod.ts";
 * import { operationFailure } from "./connection.ts";
 * const err = operationFailure(new BusError(ErrorCode.NotRegistered), 'send to "x"');
 * assert.equal(err.message, 'Cannot send to "x": client not registered');
 * ```
 *
 * @param err the failure
 * @param action what was attempted, e.g. `send to "x"`
 * @returns the error to report
 */
export function operationFailure(err: unknown, action: string): CliError {
  if (err instanceof CliError) return err;
  const reason = err instanceof Error ? firstLine(err.message) : String(err);
  return new CliError(`Cannot ${action}: ${reason}`, 1, { cause: err });
}
