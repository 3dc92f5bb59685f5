/**
 * The peer comparison: our broker (unix and TCP), the raw relay ceiling, the
 * Rust reference broker busrtd, nats-server, redis-server and mosquitto,
 * driven by one load generator in one interleaved run; then the reference's
 * own `busrt benchmark` tool against our broker and busrtd; writes
 * docs/PERFORMANCE.md and docs/performance.svg.
 *
 * Run: deno run -A bench/peers/compare.ts [--quick | --smoke] [--rounds N] [--cap-ms MS]
 *      [--only busrt-unix,busrtd-unix,nats-tcp,…] [--rows 1to1,fanout,…] [--no-idle]
 *      [--no-busrtd] [--tool | --no-tool] [--tool-rounds N] [--tool-iters N]
 *      [--tool-workers 1,4,8] [--tool-payloads 100,10240]
 *      [--profile <dir>] [--plain-reqrep] [--write | --no-write] [--out <dir>] [--json <file>]
 *      [--from-json <file>]  (re-render the docs of a run saved with --json, measuring nothing)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchArgs } from "../bench_args.ts";
import { type Budget, type CellResult, type Row, ROWS, runCell, supports } from "./cells.ts";
import { describeEnvironment, loadAverage } from "./environment.ts";
import { type IdleResult, measureIdle } from "./idle_probe.ts";
import { ensurePeerPackages } from "./install.ts";
import { formatSelfTimes, newestProfile, summarizeProfile } from "./profile_summary.ts";
import { renderChart, renderMarkdown, type RunReport } from "./report.ts";
import {
  type RunningServer,
  startBusrt,
  startBusrtd,
  startBusrtServe,
  startBusrtUnixOnly,
  startMosquitto,
  startNats,
  startRedis,
  startRelay,
} from "./servers.ts";
import { ServerProcess } from "./server_process.ts";
import type { Target } from "./target.ts";
import { referenceUnavailable, referenceVersion } from "./reference_binaries.ts";
import { runToolTable } from "./reference_tool.ts";
import type { ToolReport } from "./tool_report.ts";

type Mode = "full" | "quick" | "smoke";

const BUDGETS: Record<Mode, Budget & { rounds: number }> = {
  // within the 10-minute budget of `deno task bench:peers` on 2 shared cores, the tool table included
  full: {
    rounds: 3,
    capMs: 400,
    warmupMs: 100,
    streamTotal: 5_000_000,
    requestTotal: 2_000_000,
    connectTotal: 3000,
    window: 4096,
    windowBytes: 4 << 20,
  },
  quick: {
    rounds: 1,
    capMs: 300,
    warmupMs: 100,
    streamTotal: 2_000_000,
    requestTotal: 1_000_000,
    connectTotal: 1000,
    window: 4096,
    windowBytes: 4 << 20,
  },
  smoke: {
    rounds: 1,
    capMs: 300,
    warmupMs: 50,
    streamTotal: 5000,
    requestTotal: 2000,
    connectTotal: 100,
    window: 1024,
    windowBytes: 1 << 20,
  },
};

/** The `busrt benchmark` table: rounds, iterations per stage at one worker (doubled for more workers). */
const TOOL_BUDGETS: Record<Mode, { rounds: number; iterations: number; timeoutMs: number }> = {
  // the tool spins the CPU for 5 s before its stages: 36 runs cost 3 minutes whatever the iterations
  full: { rounds: 3, iterations: 2500, timeoutMs: 120_000 },
  quick: { rounds: 1, iterations: 1500, timeoutMs: 120_000 },
  smoke: { rounds: 1, iterations: 200, timeoutMs: 60_000 },
};
const TOOL_WORKERS = [1, 4, 8];
const TOOL_PAYLOADS = [100, 10 * 1024];
const SMOKE_TOOL_WORKERS = [1];
const SMOKE_TOOL_PAYLOADS = [100];

const SMOKE_ROWS = ["1to1", "reqrep1", "8to1"];
const SMOKE_TARGETS = ["busrt-unix", "relay-unix", "busrtd-unix"];
const USAGE = `Usage: deno run -A bench/peers/compare.ts [options]

Compares our broker (unix, tcp) and the raw relay with the Rust reference
broker busrtd (../shared/rustref/bin, skipped when it cannot run),
nats-server, redis-server and mosquitto (installed from Debian when missing)
in one interleaved run; then runs the reference tool \`busrt benchmark\`
against our broker (cli.ts serve) and busrtd; writes docs/PERFORMANCE.md and
docs/performance.svg.

Options:
  --quick | --smoke          shorter runs (smoke: a few messages, no peers needed)
  --rounds N                 rounds per cell, best kept (goals against busrtd: medians)
  --cap-ms MS                time cap of a timed cell (default 400; quick 300)
  --only T1,T2,...           targets (busrt-unix, busrt-tcp, relay-unix, busrtd-unix, nats-tcp, ...)
  --rows R1,R2,...           workloads (1to1, fanout, ...)
  --no-idle                  skip the idle-clients probe
  --no-busrtd                leave the reference broker out (and the tool table)
  --tool | --no-tool         run the busrt benchmark table (default: not in --smoke; with busrtd-unix in --only)
  --tool-rounds N            its rounds (default 3; medians)
  --tool-iters N             its iterations per stage at 1 worker (doubled for more workers)
  --tool-workers W1,W2,...   its worker counts (default 1,4,8; smoke 1)
  --tool-payloads B1,B2,...  its payload sizes in bytes (default 100,10240; smoke 100)
  --idle-clients N           clients of the idle probe
  --profile DIR              CPU-profile the broker into DIR
  --plain-reqrep             request/reply without the RPC layer
  --write | --no-write       write the docs (default: full runs only)
  --out DIR                  where to write them
  --json FILE                save the run as JSON
  --from-json FILE           re-render the docs of a saved run, measuring nothing
  -h, --help                 this text`;

const IDLE_CLIENTS = 10_000;
const IDLE_PROCESSES = 4;

function parseOptions() {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean", default: false },
        smoke: { type: "boolean", default: false },
        rounds: { type: "string" },
        "cap-ms": { type: "string" },
        only: { type: "string" },
        rows: { type: "string" },
        "no-idle": { type: "boolean", default: false },
        "no-busrtd": { type: "boolean", default: false },
        tool: { type: "boolean" },
        "no-tool": { type: "boolean", default: false },
        "tool-rounds": { type: "string" },
        "tool-iters": { type: "string" },
        "tool-workers": { type: "string" },
        "tool-payloads": { type: "string" },
        "idle-clients": { type: "string" },
        profile: { type: "string" },
        "plain-reqrep": { type: "boolean", default: false },
        write: { type: "boolean" },
        "no-write": { type: "boolean", default: false },
        out: { type: "string" },
        json: { type: "string" },
        "from-json": { type: "string" },
      },
    }).values);
  const mode: Mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const budget = { ...BUDGETS[mode] };
  if (values.rounds !== undefined) budget.rounds = positiveInt("rounds", values.rounds);
  if (values["cap-ms"] !== undefined) budget.capMs = positiveInt("cap-ms", values["cap-ms"]);
  const list = (s: string | undefined) =>
    s === undefined ? null : s.split(",").map((x) => x.trim()).filter(Boolean);
  const toolBudget = { ...TOOL_BUDGETS[mode] };
  if (values["tool-rounds"] !== undefined) {
    toolBudget.rounds = positiveInt("tool-rounds", values["tool-rounds"]);
  }
  if (values["tool-iters"] !== undefined) {
    toolBudget.iterations = positiveInt("tool-iters", values["tool-iters"]);
  }
  const ints = (name: string, s: string | undefined, fallback: number[]) =>
    list(s)?.map((x) => positiveInt(name, x)) ?? fallback;
  return {
    mode,
    budget,
    only: list(values.only) ?? (mode === "smoke" ? SMOKE_TARGETS : null),
    rows: list(values.rows) ?? (mode === "smoke" ? SMOKE_ROWS : null),
    idle: mode !== "smoke" && !values["no-idle"],
    busrtd: !values["no-busrtd"],
    tool: !values["no-busrtd"] && !values["no-tool"] && (values.tool ?? mode !== "smoke"),
    toolBudget,
    toolWorkers: ints(
      "tool-workers",
      values["tool-workers"],
      mode === "smoke" ? SMOKE_TOOL_WORKERS : TOOL_WORKERS,
    ),
    toolPayloads: ints(
      "tool-payloads",
      values["tool-payloads"],
      mode === "smoke" ? SMOKE_TOOL_PAYLOADS : TOOL_PAYLOADS,
    ),
    idleClients: values["idle-clients"] === undefined
      ? IDLE_CLIENTS
      : positiveInt("idle-clients", values["idle-clients"]),
    profileDir: values.profile ?? null,
    requestReply: values["plain-reqrep"] ? "plain" as const : "rpc" as const,
    write: values["no-write"] ? false : values.write ?? mode === "full",
    outDir: values.out ?? new URL("../../docs", import.meta.url).pathname,
    json: values.json ?? null,
    fromJson: values["from-json"] ?? null,
  };
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`Invalid --${name} "${text}": must be a positive integer`);
  }
  return n;
}

function log(line: string): void {
  console.error(line);
}

function describeCell(row: Row, target: Target, r: CellResult): string {
  if (r.error !== null) return `${row.id.padEnd(12)} ${target.id.padEnd(12)} FAILED: ${r.error}`;
  const lat = r.p50Us === null ? "" : `  p50 ${r.p50Us.toFixed(0)} µs p99 ${r.p99Us!.toFixed(0)} µs`;
  return `${row.id.padEnd(12)} ${target.id.padEnd(12)} ${
    Math.round(r.rate).toLocaleString("en").padStart(11)
  }/s` +
    `  server ${r.serverCpuUsPerMsg.toFixed(2)} µs/msg  client ${
      r.clientCpuUsPerMsg.toFixed(2)
    } µs/msg${lat}`;
}

async function runIdleTests(dir: string, withPeers: boolean, count: number): Promise<IdleResult[]> {
  const results: IdleResult[] = [];
  const tests: {
    id: string;
    kind: "busrt" | "nats" | "redis" | "mqtt";
    start: () => Promise<{ process: ServerProcess; address: string }>;
  }[] = [
    {
      id: "busrt-unix",
      kind: "busrt",
      start: async () => {
        const s = await startBusrtUnixOnly(dir);
        return { process: s.process, address: s.path };
      },
    },
  ];
  if (withPeers) {
    const tcpAddress = (s: RunningServer) => ({ process: s.process, address: tcpOf(s) });
    tests.push(
      { id: "nats-tcp", kind: "nats", start: async () => tcpAddress(await startNats(dir)) },
      { id: "redis-tcp", kind: "redis", start: async () => tcpAddress(await startRedis(dir, false)) },
      { id: "mqtt-tcp", kind: "mqtt", start: async () => tcpAddress(await startMosquitto(dir, false)) },
    );
  }
  for (const t of tests) {
    const server = await t.start();
    try {
      const r = await measureIdle(t.id, t.kind, server.address, server.process.pid, count, IDLE_PROCESSES);
      log(
        `idle         ${t.id.padEnd(12)} ${
          r.error ??
            `${r.connections} clients: RSS ${(r.baselineRss / 1e6).toFixed(1)} → ${
              (r.rss / 1e6).toFixed(1)
            } MB`
        }`,
      );
      results.push(r);
    } finally {
      await server.process.stop();
    }
  }
  return results;
}

/**
 * The `busrt benchmark` table: our broker as `busrt serve` and busrtd, each
 * fresh and in its own process, the tool run against each in turn.
 */
async function runTool(dir: string, opts: ReturnType<typeof parseOptions>): Promise<ToolReport> {
  const started = performance.now();
  const ours = await startBusrtServe(dir);
  const reference = await startBusrtd(dir);
  try {
    const { rounds, iterations, timeoutMs } = opts.toolBudget;
    const runs = await runToolTable(
      [
        { id: "ours", address: ours.path, pid: ours.process.pid },
        { id: "busrtd", address: reference.addresses.unix!, pid: reference.process.pid },
      ],
      {
        workers: opts.toolWorkers,
        payloadSizes: opts.toolPayloads,
        rounds,
        // more workers: twice the iterations (they run in parallel), a multiple of the worker count
        iterations: (workers) => Math.ceil(iterations * (workers > 1 ? 2 : 1) / workers) * workers,
        timeoutMs,
        // a smoke run checks the shape: both brokers at once saves the tool's fixed 5 s CPU warm-up
        concurrent: opts.mode === "smoke",
      },
      log,
    );
    return {
      workers: opts.toolWorkers,
      payloadSizes: opts.toolPayloads,
      rounds,
      runs,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await ours.process.stop();
    await reference.process.stop();
  }
}

/** The `127.0.0.1:<port>` a server listens on. */
function tcpOf(s: RunningServer): string {
  const address = s.addresses.tcp;
  if (address === undefined) throw new Error(`${s.process.name} has no TCP listener`);
  return address;
}

async function writeDocs(report: RunReport, outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  const markdown = `${outDir}/PERFORMANCE.md`;
  await Deno.writeTextFile(markdown, renderMarkdown(report));
  await Deno.writeTextFile(`${outDir}/performance.svg`, renderChart(report));
  // the repo's `deno fmt --check` covers docs/: write the file as deno fmt would (tables aligned, prose wrapped)
  const root = new URL("../..", import.meta.url).pathname;
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", markdown],
    cwd: root,
    stderr: "piped",
  })
    .output();
  if (!fmt.success) log(`deno fmt ${markdown} failed: ${new TextDecoder().decode(fmt.stderr).trim()}`);
  log(`wrote ${outDir}/PERFORMANCE.md and ${outDir}/performance.svg`);
}

async function main(): Promise<number> {
  const opts = parseOptions();
  if (opts.fromJson !== null) {
    // re-render the docs of a saved run (after a change to the report's text), measuring nothing
    const report = JSON.parse(await Deno.readTextFile(opts.fromJson)) as RunReport;
    console.log(renderMarkdown(report));
    if (opts.write) await writeDocs(report, opts.outDir);
    return 0;
  }
  const started = performance.now();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const peers = opts.mode !== "smoke" &&
    (opts.only === null || opts.only.some((id) => !id.startsWith("busrt") && !id.startsWith("relay")));
  globalThis.addEventListener("unhandledrejection", (e) => {
    // a peer client failing asynchronously must not end the whole run: the cell notices missing replies
    e.preventDefault();
    log(`unhandled rejection: ${e.reason instanceof Error ? e.reason.message : e.reason}`);
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      log(`${signal}: stopping the servers started here`);
      await ServerProcess.stopAll();
      Deno.exit(130);
    });
  }
  if (peers) await ensurePeerPackages();
  const env = await describeEnvironment(peers);
  const wantsBusrtd = opts.busrtd && (opts.only === null || opts.only.includes("busrtd-unix"));
  const referenceSkipped = opts.busrtd ? referenceUnavailable() : "left out with --no-busrtd";
  if (opts.busrtd && referenceSkipped !== null) {
    log(`busrtd skipped: the reference binaries cannot run here: ${referenceSkipped}`);
  }
  const withReference = referenceSkipped === null;
  if (withReference) env.servers["busrtd (Rust reference)"] = referenceVersion();
  log(`mode ${opts.mode}, load average ${env.loadAtStart}, ${env.cpus} cores`);
  const dir = await Deno.makeTempDir({ prefix: "busrt-peers-" });
  const servers: RunningServer[] = [];
  const cells: CellResult[] = [];
  let idle: IdleResult[] = [];
  const notes: string[] = [];
  let profileText: string | null = null;
  try {
    const profileFlags = opts.profileDir === null ? [] : ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`];
    servers.push(await startBusrt(dir, profileFlags, opts.requestReply));
    servers.push(await startRelay(dir, opts.requestReply));
    if (withReference && wantsBusrtd) servers.push(await startBusrtd(dir, opts.requestReply));
    if (peers) {
      servers.push(await startNats(dir));
      servers.push(await startRedis(dir));
      servers.push(await startMosquitto(dir));
    }
    let targets = servers.flatMap((s) => s.targets);
    if (opts.only !== null) targets = targets.filter((t) => opts.only!.includes(t.id));
    const rows = opts.rows === null ? ROWS : ROWS.filter((r) => opts.rows!.includes(r.id));
    if (targets.length === 0 || rows.length === 0) {
      throw new RangeError("Nothing to run: no target or row selected");
    }
    let seq = 0;
    for (const row of rows) {
      for (let round = 0; round < opts.budget.rounds; round++) {
        // rotate the order each round so no target always runs first
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const target of order) {
          if (!supports(target, row)) continue;
          const r = await runCell(target, row, opts.budget, round, `b${seq++}`);
          cells.push(r);
          log(describeCell(row, target, r));
        }
      }
    }
    if (opts.profileDir !== null) {
      await servers[0].process.stop();
      const file = await newestProfile(opts.profileDir);
      if (file !== null) {
        profileText = formatSelfTimes(summarizeProfile(JSON.parse(await Deno.readTextFile(file))), 25);
        log(`\nour broker's profile (${file}):\n${profileText}\n`);
      }
    }
    for (const s of servers) await s.process.stop();
    servers.length = 0;
    const tool = withReference && wantsBusrtd && opts.tool ? await runTool(dir, opts) : undefined;
    if (opts.idle) idle = await runIdleTests(dir, peers, opts.idleClients);
    const report: RunReport = {
      mode: opts.mode,
      rounds: opts.budget.rounds,
      startedAt,
      durationSeconds: (performance.now() - started) / 1000,
      env,
      loadAtEnd: loadAverage(),
      capMs: opts.budget.capMs,
      window: { messages: opts.budget.window, bytes: opts.budget.windowBytes },
      rows: [...rows],
      targets: targets.map((t) => ({
        id: t.id,
        label: t.label,
        family: t.family,
        requestReplyMethod: t.requestReplyMethod,
      })),
      cells,
      idle,
      notes,
      tool,
      referenceSkipped,
    };
    const markdown = renderMarkdown(report);
    console.log(markdown);
    if (opts.write) await writeDocs(report, opts.outDir);
    if (opts.json !== null) {
      await Deno.writeTextFile(opts.json, JSON.stringify({ ...report, profile: profileText }, null, 1));
    }
    log(`done in ${report.durationSeconds.toFixed(0)} s, load average ${report.loadAtEnd}`);
    const failed = cells.some((c) => c.error !== null) || idle.some((i) => i.error !== null) ||
      (tool?.runs.some((r) => r.error !== null) ?? false);
    return failed ? 1 : 0;
  } finally {
    for (const s of servers) await s.process.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    console.error(`peer comparison failed: ${err instanceof Error ? err.stack : err}`);
    code = 2;
  }
  Deno.exit(code);
}
