/**
 * `busrt broker info | stats | test | client.list` and `busrt client list`:
 * the broker's core RPC (`.broker`) shown as tables or JSON.
 *
 * @module
 */
import { BROKER_NAME } from "../protocol/constants.ts";
import { unpack } from "../rpc/msgpack.ts";
import type { GlobalOptions, RawGlobals } from "./args.ts";
import { type CommandRunner, GLOBAL_HELP, prepareCommand, runGroup } from "./command.ts";
import { printJson, printLine } from "./output.ts";
import { stringifyJson } from "./render.ts";
import { rpcFailure, withRpc } from "./rpc_session.ts";
import type { Style } from "./style.ts";
import { type Column, formatCount, formatTable } from "./table.ts";

/** Help of `busrt broker`. */
export const BROKER_HELP: string = `Usage: busrt broker <info|stats|test|client.list> [options]

Queries the broker's core RPC (the client ".broker").

  info          author and version of the broker
  stats         uptime and traffic counters
  test          checks that the core RPC answers ({"ok": true})
  client.list   the connected clients (same as "busrt client list")

${GLOBAL_HELP}`;

/** Help of `busrt client list`. */
export const CLIENT_LIST_HELP: string = `Usage: busrt client list [--filter REGEX] [options]

Lists the clients connected to the broker (primaries only, sorted by name,
without this tool's own client): name, type, source, port, frames and bytes
received and written by the broker, queued frames, instances (1 + secondaries).
A terminal gets an aligned, coloured table; --json prints an array of objects.

Options:
      --filter <REGEX>  only names matching the regular expression (unanchored)

${GLOBAL_HELP}`;

/** Help of `busrt client`. */
export const CLIENT_HELP: string = `Usage: busrt client list [options]

  list    the connected clients

Run "busrt client list --help" for details.`;

/** One client as `client.list` returns it. */
interface ClientRow {
  name: string;
  kind: string;
  source: string | null;
  port: string | null;
  r_frames: number | bigint;
  r_bytes: number | bigint;
  w_frames: number | bigint;
  w_bytes: number | bigint;
  queue: number | bigint;
  instances: number | bigint;
}

async function callBroker(globals: GlobalOptions, method: string, params?: unknown): Promise<unknown> {
  try {
    return await withRpc(
      globals,
      async (rpc) => unpack((await rpc.call(BROKER_NAME, method, params)).payload),
    );
  } catch (err) {
    throw rpcFailure(err, `call "${method}" on "${BROKER_NAME}"`);
  }
}

function fieldTable(rows: [string, string][], style: Style): string {
  return formatTable(
    [{ title: "field", color: style.cyan }, { title: "value" }],
    rows,
    style,
  );
}

function simpleCommand(
  method: string,
  help: string,
  show: (value: Record<string, unknown>, style: Style, globals: GlobalOptions) => string,
) {
  return async (args: string[], base: RawGlobals): Promise<number> => {
    const cmd = prepareCommand(`broker ${method}`, help, args, base, {});
    if (cmd === null) return 0;
    const value = (await callBroker(cmd.globals, method) ?? {}) as Record<string, unknown>;
    if (cmd.globals.json) printJson(value);
    else printLine(show(value, cmd.style, cmd.globals));
    return 0;
  };
}

const text = (v: unknown): string => v === null || v === undefined ? "" : String(v);
const count = (v: unknown): string =>
  typeof v === "number" || typeof v === "bigint" ? formatCount(v) : text(v);

const runInfo = simpleCommand(
  "info",
  `Usage: busrt broker info [options]\n\nShows the broker's author and version.\n\n${GLOBAL_HELP}`,
  (v, style) => fieldTable([["author", text(v.author)], ["version", text(v.version)]], style),
);

const runStats = simpleCommand(
  "stats",
  `Usage: busrt broker stats [options]\n\nShows the broker's uptime (s) and traffic counters, and its bridge's\nstate when it is bridged to other hosts.\n\n${GLOBAL_HELP}`,
  (v, style) =>
    fieldTable(
      [
        ...["r_frames", "r_bytes", "w_frames", "w_bytes", "uptime"].map((k) =>
          [k, count(v[k])] as [string, string]
        ),
        // a broker bridged to other hosts (docs/CLUSTER.md) adds its bridge's state
        ...Object.entries(bridgeOf(v)).map(([k, x]) => [`bridge.${k}`, count(x)] as [string, string]),
      ],
      style,
    ),
);

function bridgeOf(stats: Record<string, unknown>): Record<string, unknown> {
  const b = stats.bridge;
  return typeof b === "object" && b !== null ? b as Record<string, unknown> : {};
}

const runTest = simpleCommand(
  "test",
  `Usage: busrt broker test [options]\n\nCalls the core RPC method "test"; prints {"ok": true}\n(on one line with --silent).\n\n${GLOBAL_HELP}`,
  (v, _style, globals) => stringifyJson(v, !globals.silent),
);

async function runClientList(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("client list", CLIENT_LIST_HELP, args, base, { filter: { type: "string" } });
  if (cmd === null) return 0;
  const { globals, style } = cmd;
  const params = cmd.values.filter === undefined ? undefined : { filter: cmd.values.filter };
  const reply = await callBroker(globals, "client.list", params) as { clients?: ClientRow[] } | undefined;
  const clients = (reply?.clients ?? []).filter((c) => c.name !== globals.name);
  if (globals.json) {
    printJson(clients);
    return 0;
  }
  const columns: Column[] = [
    { title: "name", color: style.cyan },
    { title: "type", color: style.yellow },
    { title: "source" },
    { title: "port" },
    { title: "r_frames", align: "right" },
    { title: "r_bytes", align: "right" },
    { title: "w_frames", align: "right" },
    { title: "w_bytes", align: "right" },
    { title: "queue", align: "right" },
    { title: "ins", align: "right" },
  ];
  const rows = clients.map((c) => [
    c.name,
    c.kind,
    text(c.source),
    text(c.port),
    count(c.r_frames),
    count(c.r_bytes),
    count(c.w_frames),
    count(c.w_bytes),
    count(c.queue),
    count(c.instances),
  ]);
  printLine(formatTable(columns, rows, style));
  return 0;
}

const BROKER_SUBCOMMANDS: Record<string, CommandRunner> = {
  info: runInfo,
  stats: runStats,
  test: runTest,
  "client.list": runClientList,
};

/**
 * Runs `busrt broker …`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runBroker(args: string[], base: RawGlobals): Promise<number> {
  return runGroup("broker", BROKER_HELP, BROKER_SUBCOMMANDS, args, base);
}

/**
 * Runs `busrt client …`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runClient(args: string[], base: RawGlobals): Promise<number> {
  return runGroup(
    "client",
    CLIENT_HELP,
    { list: runClientList },
    args,
    base,
  );
}
