/**
 * `busrt rpc call | call0 | notify | listen`: the RPC layer from the
 * command line.
 *
 * @module
 */
import { QoS } from "../protocol/constants.ts";
import { decodeUtf8 } from "../protocol/text.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError } from "../rpc/rpc_error.ts";
import type { RpcCall, RpcNotification } from "../rpc/rpc_event.ts";
import type { GlobalOptions, RawGlobals } from "./args.ts";
import { type CommandRunner, GLOBAL_HELP, prepareCommand, runGroup } from "./command.ts";
import { openClient, withDeadline } from "./connection.ts";
import { CliError } from "./errors.ts";
import { frameEvent, printEvent, type ReceivedEvent } from "./frame_printer.ts";
import {
  onStopSignal,
  payloadArgument,
  printErrorLine,
  printJson,
  printLine,
  printOk,
  readStdin,
} from "./output.ts";
import { paramsFromArgs } from "./params.ts";
import { decodePayload, stringifyJson, toHex } from "./render.ts";
import { rpcFailure, withRpc } from "./rpc_session.ts";
import type { Style } from "./style.ts";

const PARAMS_HELP = `PARAMS:
  (none)           empty params
  key=value ...    a MessagePack map; values true/false become booleans, 64-bit
                   integers integers, other numbers floats, anything else strings
                   (the value is the text between the first and second "=")
  '{"k": 1}'       one JSON object, sent as a MessagePack map
  -                the raw bytes of stdin`;

/** Help of `busrt rpc call`. */
export const RPC_CALL_HELP: string = `Usage: busrt rpc call <TARGET> <METHOD> [PARAMS...] [options]

Calls METHOD on the client TARGET and prints the result: decoded MessagePack
or JSON as pretty JSON, text as it is, other bytes as HEX. With --silent (as
the reference's silent mode) JSON is on one line and other bytes are written
unchanged. An error reply prints "RPC error <code>: <message>" on stderr and
exits with 1.

Options:
      --raw        write the result bytes to stdout unchanged
With --json: {"format": "msgpack"|"json"|"text"|"hex"|"empty", "result": ...},
or {"error": {"code": ..., "message": ...}} for an error reply.

${PARAMS_HELP}

${GLOBAL_HELP}`;

/** Help of `busrt rpc call0`. */
export const RPC_CALL0_HELP: string = `Usage: busrt rpc call0 <TARGET> <METHOD> [PARAMS...] [options]

Calls METHOD on TARGET with call id 0: the handler runs but sends no reply.
Prints OK once the broker acknowledged the request.

${PARAMS_HELP}

${GLOBAL_HELP}`;

/** Help of `busrt rpc notify`. */
export const RPC_NOTIFY_HELP: string = `Usage: busrt rpc notify <TARGET> [PAYLOAD] [options]

Sends an RPC notification to TARGET. PAYLOAD is sent as UTF-8 text; without
it (or with "-") all of stdin is sent. Prints OK once acknowledged.

${GLOBAL_HELP}`;

/** Help of `busrt rpc listen`. */
export const RPC_LISTEN_HELP: string = `Usage: busrt rpc listen [-t TOPIC]... [options]

Prints RPC calls, notifications and other frames this client receives, until
Ctrl-C. Every call is answered with an empty successful result.

Options:
  -t, --topics <TOPIC>  subscribe to a topic pattern (repeatable)

${GLOBAL_HELP}`;

/** Help of `busrt rpc`. */
export const RPC_HELP: string = `Usage: busrt rpc <call|call0|notify|listen> ... [options]

  call <TARGET> <METHOD> [PARAMS...]   call a method and print the result
  call0 <TARGET> <METHOD> [PARAMS...]  call without a reply (call id 0)
  notify <TARGET> [PAYLOAD]            send a notification
  listen [-t TOPIC]...                 print incoming calls and notifications

Run "busrt rpc <subcommand> --help" for details.`;

async function paramsBytes(args: readonly string[], command: string): Promise<Uint8Array | undefined> {
  const source = paramsFromArgs(args, command);
  if (source.kind === "none") return undefined;
  if (source.kind === "stdin") return await readStdin();
  return source.bytes;
}

async function runCall(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand(
    "rpc call",
    RPC_CALL_HELP,
    args,
    base,
    { raw: { type: "boolean" } },
    "<TARGET> <METHOD> [PARAMS...]",
  );
  if (cmd === null) return 0;
  const [target, method, ...rest] = cmd.positionals;
  const params = await paramsBytes(rest, "rpc call");
  const { globals, style } = cmd;
  let result: Uint8Array;
  try {
    result = await withRpc(globals, async (rpc) => (await rpc.call(target, method, params)).payload.slice());
  } catch (err) {
    if (globals.json && err instanceof RpcError && err.remote) {
      printJson({ error: { code: err.code, message: err.message } });
    }
    throw rpcFailure(err, `call "${method}" on "${target}"`);
  }
  if (cmd.values.raw === true) {
    await Deno.stdout.write(result);
    return 0;
  }
  await printResult(result, globals, style);
  return 0;
}

/**
 * Prints an RPC result: JSON mode `{"format", "result"}`; text mode pretty
 * JSON for MessagePack and JSON, the text itself, or `HEX:`; silent mode
 * (the reference's `--silent`) one-line JSON, the text, or the bytes as
 * they are.
 *
 * @param result the result bytes
 * @param globals the global options (`--json`, `--silent`)
 * @param style the styling of the text form
 * @returns once written
 */
export async function printResult(result: Uint8Array, globals: GlobalOptions, style: Style): Promise<void> {
  if (result.length === 0) {
    if (globals.json) printJson({ format: "empty", result: null });
    else if (!globals.silent) printLine(style.dim("(empty result)"));
    return;
  }
  const decoded = decodePayload(result);
  if (globals.json) {
    printJson({ format: decoded.format, result: decoded.value });
    return;
  }
  switch (decoded.format) {
    case "json":
    case "msgpack":
      printLine(stringifyJson(decoded.value, !globals.silent));
      break;
    case "text":
      printLine((decoded.value as string).replace(/\n$/, ""));
      break;
    case "hex":
      if (globals.silent) await Deno.stdout.write(result);
      else printLine(`HEX: ${result.length > 256 ? `${toHex(result.subarray(0, 256))}...` : decoded.value}`);
  }
}

async function runCall0(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("rpc call0", RPC_CALL0_HELP, args, base, {}, "<TARGET> <METHOD> [PARAMS...]");
  if (cmd === null) return 0;
  const [target, method, ...rest] = cmd.positionals;
  const params = await paramsBytes(rest, "rpc call0");
  const { globals } = cmd;
  await withRpc(
    globals,
    (rpc) =>
      withDeadline(
        rpc.call0(target, method, params, { qos: QoS.Processed }),
        globals.timeout,
        `Cannot call0 "${method}"`,
      ),
  ).catch((err) => Promise.reject(rpcFailure(err, `call0 "${method}" on "${target}"`)));
  printOk(globals, cmd.style);
  return 0;
}

async function runNotify(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("rpc notify", RPC_NOTIFY_HELP, args, base, {}, "<TARGET> [PAYLOAD]");
  if (cmd === null) return 0;
  const [target, payloadText] = cmd.positionals;
  const payload = await payloadArgument(payloadText);
  const { globals } = cmd;
  await withRpc(
    globals,
    (rpc) =>
      withDeadline(
        rpc.notify(target, payload, { qos: QoS.Processed }),
        globals.timeout,
        `Cannot notify "${target}"`,
      ),
  ).catch((err) => Promise.reject(rpcFailure(err, `notify "${target}"`)));
  printOk(globals, cmd.style);
  return 0;
}

function callEvent(call: RpcCall): ReceivedEvent {
  const text = decodeUtf8(call.methodBytes, 0, call.methodBytes.length);
  return {
    kind: "call",
    sender: call.sender,
    topic: null,
    method: text ?? `HEX: ${toHex(call.methodBytes)}`,
    payload: call.params,
    realtime: call.realtime,
  };
}

function notificationEvent(n: RpcNotification): ReceivedEvent {
  return {
    kind: "notification",
    sender: n.sender,
    topic: null,
    method: null,
    payload: n.payload,
    realtime: n.realtime,
  };
}

async function runRpcListen(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("rpc listen", RPC_LISTEN_HELP, args, base, {
    topics: { type: "string", short: "t", multiple: true },
  });
  if (cmd === null) return 0;
  const { globals, style } = cmd;
  const topics = cmd.values.topics ?? [];
  const client = await openClient(globals);
  const json = globals.json;
  const rpc = new RpcClient(client, {
    timeout: globals.timeout,
    handlers: {
      onFrame: (frame) => printEvent(frameEvent(frame), json, style),
      onNotification: (n) => printEvent(notificationEvent(n), json, style),
      onCall: (call) => {
        printEvent(callEvent(call), json, style);
        return undefined;
      },
    },
  });
  let stopped = false;
  const removeSignals = onStopSignal(() => {
    stopped = true;
    rpc.close();
  });
  try {
    if (topics.length > 0) {
      await withDeadline(client.subscribe(topics, QoS.Processed), globals.timeout, "Subscribe")
        .catch((err) => Promise.reject(rpcFailure(err, "subscribe")));
    }
    const banner = `Listening to RPC messages for ${globals.name} ...`;
    if (json) printErrorLine(banner);
    else printLine(`${style.dim("----")}\n${style.cyan(banner)}`);
    await rpc.closed;
  } finally {
    removeSignals();
    await rpc.close();
  }
  if (stopped) return 0;
  throw new CliError(`Disconnected: ${client.closeReason?.message ?? "connection closed"}`);
}

const SUBCOMMANDS: Record<string, CommandRunner> = {
  call: runCall,
  call0: runCall0,
  notify: runNotify,
  listen: runRpcListen,
};

/**
 * Runs `busrt rpc …`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runRpc(args: string[], base: RawGlobals): Promise<number> {
  return runGroup("rpc", RPC_HELP, SUBCOMMANDS, args, base);
}
