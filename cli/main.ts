/**
 * The `busrt` command line: dispatch to a command, report failures as one
 * line on stderr, return the exit status.
 *
 * @module
 */
import { fromReferenceForm, GLOBAL_OPTIONS, parseCommand, type RawGlobals, splitAtWord } from "./args.ts";
import { type CommandRunner, GLOBAL_HELP } from "./command.ts";
import { describeFailure, UsageError } from "./errors.ts";
import { printErrorLine, printLine } from "./output.ts";
import { stderrStyle } from "./style.ts";
import { versionLine } from "./version.ts";
import { runListen } from "./listen.ts";
import { runBroadcast, runPublish, runSend } from "./send.ts";
import { runRpc } from "./rpc_commands.ts";
import { runServe } from "./serve.ts";
import { runBenchmarkCommand } from "./benchmark_command.ts";
import { runBroker, runClient } from "./broker_commands.ts";

/** Help of `busrt` itself. */
export const MAIN_HELP: string = `busrt — BUS/RT broker and client tool

Usage: busrt [options] <command> [arguments]
       busrt [options] <ADDRESS> <command> [arguments]   (the reference CLI's form)

Broker:
  serve                                 run a broker (unix socket, TCP, TLS, WebSocket)

Messages:
  listen                                subscribe and print what arrives
  send <TARGET> [DATA]                  send a message (a mask with * or ? broadcasts)
  broadcast <MASK> [DATA]               broadcast to clients matching a name mask
  publish <TOPIC> [DATA]                publish to a topic

RPC:
  rpc call <TARGET> <METHOD> [PARAMS]   call a method and print the result
  rpc call0 <TARGET> <METHOD> [PARAMS]  call without waiting for a result
  rpc notify <TARGET> [DATA]            send an RPC notification
  rpc listen                            print RPC calls and notifications

Broker information:
  broker info | stats | test            query the broker's core RPC
  client list                           list the connected clients
  benchmark                             measure throughput against a broker

Run "busrt <command> --help" for the options of a command.

${GLOBAL_HELP}
  -V, --version         show the version`;

const COMMANDS: Record<string, CommandRunner> = {
  serve: (args) => runServe(args),
  listen: runListen,
  send: runSend,
  broadcast: runBroadcast,
  publish: runPublish,
  rpc: runRpc,
  broker: runBroker,
  client: runClient,
  benchmark: runBenchmarkCommand,
};

const TOP_OPTIONS = { ...GLOBAL_OPTIONS, version: { type: "boolean", short: "V" } } as const;
const COMMAND_WORDS: ReadonlySet<string> = new Set([...Object.keys(COMMANDS), "help"]);

/**
 * Runs the command line `args` and returns the exit status: 0 on success,
 * 1 when the command failed, 2 when the command line was wrong. Errors are
 * printed as one line on stderr.
 *
 * @example Call the broker's `test` method (prints its reply)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, enableCoreRpc } from "../mod.ts";
 * import { main } from "./main.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const { bind } = await broker.serveTcp("127.0.0.1:0");
 * assert.equal(await main(["rpc", "call", "-s", bind, ".broker", "test"]), 0);
 * await broker.close();
 * ```
 *
 * @param args the command line, without the program name
 * @returns the exit status
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (err) {
    const { line, exitCode } = describeFailure(err);
    printErrorLine(`${stderrStyle().red("busrt:")} ${line}`);
    return exitCode;
  }
}

async function dispatch(args: readonly string[]): Promise<number> {
  const { before, word, rest } = splitAtWord(
    fromReferenceForm(args, TOP_OPTIONS, COMMAND_WORDS),
    TOP_OPTIONS,
  );
  const { values } = parseCommand("", before, TOP_OPTIONS);
  if (values.version === true) {
    printLine(versionLine());
    return 0;
  }
  if (word === null) {
    if (values.help === true) {
      printLine(MAIN_HELP);
      return 0;
    }
    throw new UsageError("Missing command");
  }
  if (word === "help") {
    const topic = rest.join(" ");
    if (topic === "") printLine(MAIN_HELP);
    else {
      const entry = Object.hasOwn(COMMANDS, rest[0]) ? COMMANDS[rest[0]] : undefined;
      if (entry === undefined) throw new UsageError(`Unknown command "${topic}"`);
      await entry([...rest.slice(1), "--help"], {});
    }
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
  if (entry === undefined) throw new UsageError(`Unknown command "${word}"`);
  const base: RawGlobals = { ...values };
  delete (base as { version?: boolean }).version;
  return await entry(rest, base);
}
