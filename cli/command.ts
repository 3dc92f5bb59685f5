/**
 * What every client command does first: parse its options together with the
 * global ones, answer `--help`, and resolve the global settings.
 *
 * @module
 */
import type { ParseArgsOptionsConfig } from "node:util";
import {
  GLOBAL_OPTIONS,
  type GlobalOptions,
  type OptionValues,
  parseCommand,
  pickGlobals,
  type RawGlobals,
  resolveGlobals,
  splitAtWord,
} from "./args.ts";
import { UsageError } from "./errors.ts";
import { printLine } from "./output.ts";
import { stdoutStyle, type Style } from "./style.ts";

/** Runs a command with its arguments (after the command words) and the global options given before them. */
export type CommandRunner = (args: string[], base: RawGlobals) => Promise<number>;

/** A prepared command: its options, positionals, globals and output style. */
export interface PreparedCommand<V> {
  /** The command's own option values (and the global ones). */
  values: V;
  /** Positional arguments. */
  positionals: string[];
  /** Global settings with defaults. */
  globals: GlobalOptions;
  /** Style of stdout. */
  style: Style;
}

/**
 * Parses a client command (`usage` names its positionals, as for
 * {@linkcode parseCommand}). Returns `null` after printing `help` when
 * `--help` was given.
 *
 * @example Parse `publish t x --json`
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareCommand } from "./command.ts";
 * const cmd = prepareCommand("publish", "usage", ["t", "x", "--json"], {}, {}, "<TOPIC> [PAYLOAD]");
 * assert.ok(cmd !== null);
 * assert.equal(cmd.globals.json, true);
 * assert.deepEqual(cmd.positionals, ["t", "x"]);
 * ```
 *
 * @param path the command, e.g. `rpc call`
 * @param help the help text printed for `--help`
 * @param args the command's arguments
 * @param base the global options given before the command word
 * @param options the command's own options
 * @param usage the positionals, e.g. `<TOPIC> [PAYLOAD]`
 * @returns the parsed command, or `null` when help was printed
 */
export function prepareCommand<T extends ParseArgsOptionsConfig>(
  path: string,
  help: string,
  args: readonly string[],
  base: RawGlobals,
  options: T,
  usage = "",
): PreparedCommand<OptionValues<T & typeof GLOBAL_OPTIONS>> | null {
  const all = { ...GLOBAL_OPTIONS, ...options } as T & typeof GLOBAL_OPTIONS;
  const { values, positionals } = parseCommand(path, args, all, usage);
  if (values.help === true || base.help === true) {
    printLine(help);
    return null;
  }
  const globals = resolveGlobals(path, base, pickGlobals(values as RawGlobals));
  return { values, positionals, globals, style: stdoutStyle() };
}

/** Text of the global options, appended to each client command's help. */
export const GLOBAL_HELP = `Global options (before or after the command):
  -s, --socket <ADDR>   broker address: unix socket path, host:port, tls://host:port,
                        ws://host:port[/path] or wss://host:port[/path]
                        (default /tmp/busrt.sock); or, as the reference CLI,
                        the address as a word before the command:
                        busrt /tmp/busrt.sock listen
  -n, --name <NAME>     client name (default cli.<hostname>.<pid>)
      --timeout <SEC>   connect timeout and limit of each awaited step (default 5)
      --json            machine-readable output (JSON)
      --tls-ca <FILE>   CA certificate (PEM) to verify a tls:// broker
      --tls-cert <FILE> client certificate (PEM) for a tls:// broker
      --tls-key <FILE>  client private key (PEM)
      --silent          results of rpc call and broker test on one line (JSON) or
                        as raw bytes, as the reference's --silent; -s means
                        --silent only after a positional address or before
                        another option (busrt ADDR -s ..., busrt -s -n x ADDR ...)
  -v, --verbose         connection steps on stderr
      --buf-size <BYTES>   the client's read buffer and write flush threshold
                        (at least 16384 and 65536 bytes are used)
      --queue-size <N>  incoming frames buffered before reading pauses (8192)
      --token <TOKEN>   bearer token for a ws:// or wss:// broker that requires
                        one (other transports do not use it; a note says so)
      --payload-limit <BYTES>  the broker's payload limit (default 64 MiB, as
                        busrt serve's; "none" for none): a larger frame is
                        refused here instead of the broker disconnecting
  -h, --help            show help`;

/**
 * Dispatches a command group (`rpc`, `broker`, `client`): global options may
 * come before the subcommand word; `--help` without a word shows `help`.
 *
 * @param group the group name
 * @param help the group's help text
 * @param subcommands the runners by subcommand word
 * @param args the arguments after the group name
 * @param base the global options given before the group name
 * @returns the exit status
 */
export async function runGroup(
  group: string,
  help: string,
  subcommands: Record<string, CommandRunner>,
  args: readonly string[],
  base: RawGlobals,
): Promise<number> {
  const { before, word, rest } = splitAtWord(args, GLOBAL_OPTIONS);
  const { values } = parseCommand(group, before, GLOBAL_OPTIONS);
  const merged: RawGlobals = { ...base, ...definedOnly(values as RawGlobals) };
  if (word === null) {
    if (merged.help === true) {
      printLine(help);
      return 0;
    }
    throw new UsageError(`Missing subcommand: one of ${Object.keys(subcommands).join(", ")}`, group);
  }
  const sub = Object.hasOwn(subcommands, word) ? subcommands[word] : undefined;
  if (sub === undefined) throw new UsageError(`Unknown subcommand "${group} ${word}"`, group);
  return await sub(rest, merged);
}

function definedOnly(values: RawGlobals): RawGlobals {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as RawGlobals;
}
