/**
 * Command-line parsing shared by every command: the global options, splitting
 * argv at a subcommand, and strict conversion of option values.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { AddressError, parseAddress } from "../transport/address.ts";
import { UsageError } from "./errors.ts";

/** Options accepted before or after any client command. */
export const GLOBAL_OPTIONS = {
  socket: { type: "string", short: "s" },
  name: { type: "string", short: "n" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  silent: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  "buf-size": { type: "string" },
  "queue-size": { type: "string" },
  token: { type: "string" },
  "payload-limit": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

/** Default broker address of the client commands. */
export const DEFAULT_SOCKET = "/tmp/busrt.sock";
/** Default client timeout in seconds (as the reference CLI). */
export const DEFAULT_CLI_TIMEOUT = 5;

/** Global options after defaults were applied. */
export interface GlobalOptions {
  /** Broker address: unix socket path or `host:port`. */
  socket: string;
  /** Client name to register. */
  name: string;
  /** Timeout in seconds for connecting and for each awaited step. */
  timeout: number;
  /** Machine-readable output. */
  json: boolean;
  /** TLS files for `tls://` addresses (file names, read when connecting). */
  tls: { ca?: string; cert?: string; key?: string };
  /** `--silent`: results of `rpc call` and `broker test` on one line, as the reference's silent mode. */
  silent: boolean;
  /** `--verbose`: connection steps on stderr. */
  verbose: boolean;
  /** `--buf-size`: the client's read buffer and write flush threshold, in bytes (floors apply). */
  bufSize?: number;
  /** `--queue-size`: incoming frames the client buffers before it stops reading. */
  queueSize?: number;
  /** `--token`: bearer token for a `ws://` or `wss://` broker that requires one. */
  token?: string;
  /**
   * `--payload-limit`: the broker's payload limit in bytes; larger frames are
   * refused before sending. `null` (`none`): no limit. Default: the broker's default.
   */
  payloadLimit?: number | null;
}

/** Raw values of {@linkcode GLOBAL_OPTIONS} as parsed, before defaults. */
export interface RawGlobals {
  /** `--socket` */
  socket?: string;
  /** `--name` */
  name?: string;
  /** `--timeout` */
  timeout?: string;
  /** `--json` */
  json?: boolean;
  /** `--tls-ca` */
  "tls-ca"?: string;
  /** `--tls-cert` */
  "tls-cert"?: string;
  /** `--tls-key` */
  "tls-key"?: string;
  /** `--silent` */
  silent?: boolean;
  /** `--verbose` */
  verbose?: boolean;
  /** `--buf-size` */
  "buf-size"?: string;
  /** `--queue-size` */
  "queue-size"?: string;
  /** `--token` */
  token?: string;
  /** `--payload-limit` */
  "payload-limit"?: string;
  /** `--help` */
  help?: boolean;
}

/** A command line cut at its first positional word. */
export interface SplitArgs {
  /** Option tokens before the word. */
  before: string[];
  /** The word (a command name), or `null` when there is none. */
  word: string | null;
  /** Everything after the word. */
  rest: string[];
}

/**
 * Cuts `args` at the first positional word, skipping the values of options
 * that take one, so that options after a subcommand belong to it.
 *
 * @example Global options before the command word
 * ```ts
 * import assert from "node:assert/strict";
 * import { GLOBAL_OPTIONS, splitAtWord } from "./args.ts";
 * const s = splitAtWord(["-s", "/tmp/x.sock", "listen", "-t", "a"], GLOBAL_OPTIONS);
 * assert.deepEqual(s, { before: ["-s", "/tmp/x.sock"], word: "listen", rest: ["-t", "a"] });
 * ```
 *
 * @param args the command line
 * @param options the options that may come before the word
 * @returns the tokens before the word, the word and the rest
 */
export function splitAtWord(args: readonly string[], options: ParseArgsOptionsConfig): SplitArgs {
  const takesValue = valueOptions(options);
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (token === "--") {
      return { before: args.slice(0, i), word: args[i + 1] ?? null, rest: args.slice(i + 2) };
    }
    if (token.startsWith("-") && token !== "-") {
      if (takesValue.has(token)) i++;
      continue;
    }
    return { before: args.slice(0, i), word: token, rest: args.slice(i + 1) };
  }
  return { before: [...args], word: null, rest: [] };
}

/** Parsed options and positionals of one command. */
export interface ParsedCommand<V> {
  /** Option values by long name. */
  values: V;
  /** Positional arguments. */
  positionals: string[];
}

/** Value types produced by an option config. */
export type OptionValues<T extends ParseArgsOptionsConfig> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? (T[K]["type"] extends "boolean" ? boolean[] : string[])
    : T[K]["type"] extends "boolean" ? boolean
    : string;
};

/**
 * Parses a command's arguments strictly: unknown options, missing values and
 * missing or surplus positionals become a {@linkcode UsageError} naming
 * `command`. `usage` names the positionals: `<REQUIRED> [OPTIONAL] [MORE...]`.
 *
 * @example Options and positionals of `send`
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "./args.ts";
 * import { UsageError } from "./errors.ts";
 * const options = { json: { type: "boolean" } } as const;
 * const { values, positionals } = parseCommand("send", ["x", "--json"], options, "<TARGET> [PAYLOAD]");
 * assert.equal(values.json, true);
 * assert.deepEqual(positionals, ["x"]);
 * assert.throws(() => parseCommand("send", [], options, "<TARGET> [PAYLOAD]"), UsageError);
 * ```
 *
 * @param command the command name, for error messages
 * @param args the command's arguments
 * @param options the options it accepts
 * @param usage the positionals, e.g. `<TARGET> [PAYLOAD]`
 * @returns the option values and the positionals
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(
  command: string,
  args: readonly string[],
  options: T,
  usage = "",
): ParsedCommand<OptionValues<T>> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(parseErrorText(err), command);
  }
  const { positionals } = parsed;
  if (parsed.values.help !== true) {
    const names = usage.split(/\s+/).filter((n) => n !== "");
    const required = names.filter((n) => n.startsWith("<"));
    const variadic = names.some((n) => n.endsWith("...") || n.endsWith("...]"));
    if (!variadic && positionals.length > names.length) {
      throw new UsageError(`Unexpected argument "${positionals[names.length]}"`, command);
    }
    if (positionals.length < required.length) {
      throw new UsageError(`Missing argument ${required[positionals.length].replace(/[<>]/g, "")}`, command);
    }
  }
  return { values: { ...parsed.values } as OptionValues<T>, positionals };
}

function parseErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option "${quoted}"`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument "${quoted}"`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const long = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
      return message.includes("does not take")
        ? `Option "${long}" does not take a value`
        : `Option "${long}" needs a value`;
    }
    default:
      return message;
  }
}

/** Constraints of {@linkcode parseNumber}. */
export interface NumberRule {
  /** Only whole numbers. */
  integer?: boolean;
  /** Smallest accepted value. */
  min?: number;
  /** Whether `min` itself is accepted. Default true. */
  minInclusive?: boolean;
  /** Largest accepted value. */
  max?: number;
}

/**
 * Converts an option value to a number, or throws a {@linkcode UsageError}
 * quoting the option and the value. `_` digit separators are accepted.
 *
 * @example Parse a count with digit separators
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNumber } from "./args.ts";
 * assert.equal(parseNumber("1_000", "--iters", "benchmark", { integer: true, min: 1 }), 1000);
 * assert.throws(() => parseNumber("0", "--iters", "benchmark", { min: 1 }), /must be at least 1/);
 * ```
 *
 * @param text the option value
 * @param option the option, for error messages
 * @param command the command, for error messages
 * @param rule whole number or not, and the bounds
 * @returns the number
 */
export function parseNumber(text: string, option: string, command: string, rule: NumberRule = {}): number {
  const clean = text.replaceAll("_", "");
  const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) ? Number(clean) : NaN;
  const what = rule.integer ? "a whole number" : "a number";
  if (!Number.isFinite(value) || (rule.integer && !Number.isInteger(value))) {
    throw new UsageError(`Invalid value "${text}" for ${option}: expected ${what}`, command);
  }
  if (rule.min !== undefined) {
    const inclusive = rule.minInclusive ?? true;
    if (inclusive ? value < rule.min : value <= rule.min) {
      throw new UsageError(
        `Invalid value "${text}" for ${option}: must be ${inclusive ? "at least" : "more than"} ${rule.min}`,
        command,
      );
    }
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new UsageError(`Invalid value "${text}" for ${option}: must be at most ${rule.max}`, command);
  }
  return value;
}

/**
 * Applies defaults to global options; later sources (options given after the
 * command word) override earlier ones.
 *
 * @example Options after the command word win
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveGlobals } from "./args.ts";
 * const g = resolveGlobals("send", { socket: "/a.sock", timeout: "5" }, { timeout: "2" });
 * assert.equal(g.socket, "/a.sock");
 * assert.equal(g.timeout, 2);
 * ```
 *
 * @param command the command, for error messages
 * @param sources the raw global options, earliest first
 * @returns the global options with defaults applied
 */
export function resolveGlobals(command: string, ...sources: RawGlobals[]): GlobalOptions {
  const raw: RawGlobals = {};
  for (const s of sources) {
    for (const [k, v] of Object.entries(s)) if (v !== undefined) (raw as Record<string, unknown>)[k] = v;
  }
  const timeout = raw.timeout === undefined
    ? DEFAULT_CLI_TIMEOUT
    : parseNumber(raw.timeout, "--timeout", command, { min: 0, minInclusive: false });
  const name = raw.name ?? defaultClientName();
  if (name === "") throw new UsageError('Invalid value "" for --name: must not be empty', command);
  if (name.startsWith(".")) {
    throw new UsageError(`Invalid value "${name}" for --name: names starting with "." are reserved`, command);
  }
  if ((raw["tls-cert"] === undefined) !== (raw["tls-key"] === undefined)) {
    throw new UsageError("Options --tls-cert and --tls-key go together: give both or neither", command);
  }
  const size = (text: string | undefined, option: string) =>
    text === undefined ? undefined : parseNumber(text, option, command, { integer: true, min: 1 });
  return {
    socket: checkSocket(raw.socket ?? DEFAULT_SOCKET, command),
    name,
    timeout,
    json: raw.json ?? false,
    tls: { ca: raw["tls-ca"], cert: raw["tls-cert"], key: raw["tls-key"] },
    silent: raw.silent ?? false,
    verbose: raw.verbose ?? false,
    bufSize: size(raw["buf-size"], "--buf-size"),
    queueSize: size(raw["queue-size"], "--queue-size"),
    token: raw.token,
    payloadLimit: raw["payload-limit"] === "none"
      ? null
      : raw["payload-limit"] === undefined
      ? undefined
      : parseNumber(raw["payload-limit"], "--payload-limit", command, {
        integer: true,
        min: 1,
        max: 0xffffffff,
      }),
  };
}

/** A `--socket` value the client can dial, or a {@linkcode UsageError} (exit 2) saying why not. */
function checkSocket(address: string, command: string): string {
  let reason: string;
  try {
    if (parseAddress(address).transport !== "fifo") return address;
    reason = "the client commands do not dial fifo: addresses (fifo: is a broker's command channel)";
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    reason = err.reason;
  }
  throw new UsageError(`Invalid value "${address}" for --socket: ${reason}`, command);
}

/**
 * Picks the global options out of a command's parsed values.
 *
 * @param values a command's parsed option values
 * @returns the global options among them
 */
export function pickGlobals(values: RawGlobals): RawGlobals {
  return {
    socket: values.socket,
    name: values.name,
    timeout: values.timeout,
    json: values.json,
    "tls-ca": values["tls-ca"],
    "tls-cert": values["tls-cert"],
    "tls-key": values["tls-key"],
    silent: values.silent,
    verbose: values.verbose,
    "buf-size": values["buf-size"],
    "queue-size": values["queue-size"],
    token: values.token,
    "payload-limit": values["payload-limit"],
  };
}

/**
 * Rewrites a command line written for the reference CLI — `busrt [OPTIONS]
 * ADDRESS COMMAND …`, the broker address as a positional word before the
 * command — into this tool's form (`--socket ADDRESS`). Before the command
 * word `-s` means `--socket` when a value follows it, as here; it means the
 * reference's `--silent` when the address is positional (`busrt ADDR -s …`)
 * or when an option or nothing follows it (`busrt -s -n x ADDR …`). Lines
 * without a positional address come back unchanged.
 *
 * @example The reference's form and ours
 * ```ts
 * import assert from "node:assert/strict";
 * import { GLOBAL_OPTIONS, fromReferenceForm } from "./args.ts";
 * const commands = new Set(["broker", "listen"]);
 * assert.deepEqual(
 *   fromReferenceForm(["/tmp/b.sock", "-s", "broker", "test"], GLOBAL_OPTIONS, commands),
 *   ["--socket", "/tmp/b.sock", "--silent", "broker", "test"],
 * );
 * assert.deepEqual(
 *   fromReferenceForm(["-s", "-n", "me", "127.0.0.1:7777", "listen"], GLOBAL_OPTIONS, commands),
 *   ["--silent", "-n", "me", "--socket", "127.0.0.1:7777", "listen"],
 * );
 * assert.deepEqual(fromReferenceForm(["-s", "/tmp/b.sock", "listen"], GLOBAL_OPTIONS, commands), [
 *   "-s",
 *   "/tmp/b.sock",
 *   "listen",
 * ]);
 * ```
 *
 * @param args the command line
 * @param options the options that may come before the command word
 * @param commands the command words
 * @returns the command line in this tool's form
 */
export function fromReferenceForm(
  args: readonly string[],
  options: ParseArgsOptionsConfig,
  commands: ReadonlySet<string>,
): string[] {
  const takesValue = valueOptions(options);
  const out: string[] = [];
  let address: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (token === "-s" || token === "--silent") {
      const next = args[i + 1];
      if (token === "--silent" || address !== null || next === undefined || next.startsWith("-")) {
        out.push("--silent");
        continue;
      }
    }
    if (token === "--") return [...out, ...args.slice(i)];
    if (token.startsWith("-") && token !== "-") {
      out.push(token);
      if (takesValue.has(token) && i + 1 < args.length) out.push(args[++i]);
      continue;
    }
    if (commands.has(token) || address !== null) {
      return address === null ? [...args] : [...out, ...args.slice(i)];
    }
    // a positional word that is no command: the reference's address, if a command follows
    address = token;
    out.push("--socket", token);
  }
  return [...args];
}

function valueOptions(options: ParseArgsOptionsConfig): Set<string> {
  const takesValue = new Set<string>();
  for (const [long, spec] of Object.entries(options)) {
    if (spec.type !== "string") continue;
    takesValue.add(`--${long}`);
    if (spec.short !== undefined) takesValue.add(`-${spec.short}`);
  }
  return takesValue;
}

/** `cli.<hostname>.<pid>`, as the reference; `localhost` when the host name may not be read. */
export function defaultClientName(): string {
  let host = "localhost";
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
      host = Deno.hostname();
    }
  } catch {
    // permission API unavailable: keep the fallback
  }
  return `cli.${host}.${Deno.pid}`;
}
