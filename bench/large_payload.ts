/**
 * Large payloads, 1→1 over unix sockets: our broker against the Rust
 * reference `busrtd` and redis-server in the same run, rounds interleaved,
 * through the load generator of the peer comparison (`bench/peers/cells.ts`:
 * flow control, every delivery verified). Our client receives either way:
 * owning each payload (the default) and borrowing large ones
 * (`largePayloads: "borrowed"`, buffers reused), against both brokers. Prints
 * GB/s, broker CPU per message and peak RSS per cell, the medians of the
 * rounds, our ratios and the issue's goals; `--markdown FILE` also writes them
 * as a page (docs/LARGE_PAYLOADS.md).
 *
 * Run: deno run -A bench/large_payload.ts [--sizes 100,1048576,16777216] [--rounds 3] [--cap-ms 2500]
 *      [--only LIST] [--baseline DIR] [--markdown FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchArgs } from "./bench_args.ts";
import { busrtTarget } from "./peers/busrt_target.ts";
import { type Budget, type CellResult, formatSize, type Row, runCell, sweepRow } from "./peers/cells.ts";
import { redisTarget } from "./peers/redis_target.ts";
import { BUSRTD } from "./peers/reference_binaries.ts";
import { describeEnvironment } from "./peers/environment.ts";
import { ServerProcess } from "./peers/server_process.ts";
import { startBusrt } from "./peers/servers.ts";
import type { Target } from "./peers/target.ts";

const USAGE = `Usage: deno run -A bench/large_payload.ts [options]

1→1 pipelined messages over unix sockets at large payload sizes: our broker,
busrtd (the Rust reference) and redis-server, interleaved rounds, medians.

Options:
  --sizes LIST        payload sizes in bytes (default 100,1048576,16777216)
  --rounds N          rounds (default 3)
  --cap-ms MS         timed run per cell (default 2500)
  --only LIST         targets: busrt-unix, busrt-borrowed-unix, busrtd-unix,
                      busrtd-borrowed-unix, redis-unix (default all)
  --baseline DIR      also our broker from another checkout (e.g. \`git archive\` of an
                      older commit), as target busrt-base-unix: before/after in one run
  --markdown FILE     also write the results as a markdown page
  -h, --help          this text`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`Invalid --${name} "${text}": must be a positive integer`);
  }
  return n;
}

const ALL_TARGETS = [
  "busrt-unix",
  "busrt-borrowed-unix",
  "busrtd-unix",
  "busrtd-borrowed-unix",
  "redis-unix",
];

async function startBusrtd(dir: string): Promise<{ process: ServerProcess; targets: Target[] }> {
  const path = `${dir}/busrtd.sock`;
  const process = ServerProcess.spawn("busrtd", BUSRTD, ["-B", path]);
  await process.waitForConnect({ transport: "unix", path });
  const target = (borrowed: boolean) =>
    busrtTarget({
      id: borrowed ? "busrtd-borrowed-unix" : "busrtd-unix",
      label: borrowed ? "busrtd (unix), borrowed" : "busrtd (unix)",
      family: "busrt",
      transport: "unix",
      address: path,
      pid: process.pid,
      largePayloads: borrowed ? "borrowed" : "owned",
    });
  return { process, targets: [target(false), target(true)] };
}

/** redis-server with the pub/sub output limit off: a 16 MiB window would trip the default 32 MiB limit. */
async function startRedisUnix(dir: string): Promise<{ process: ServerProcess; target: Target }> {
  const path = `${dir}/redis.sock`;
  const process = ServerProcess.spawn("redis-server", "redis-server", [
    "--port",
    "0",
    "--unixsocket",
    path,
    "--unixsocketperm",
    "700",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--loglevel",
    "warning",
    "--client-output-buffer-limit",
    "pubsub 0 0 0",
    "--proto-max-bulk-len",
    "1gb",
  ]);
  await process.waitForConnect({ transport: "unix", path });
  return { process, target: redisTarget({ transport: "unix", path }, process.pid) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}

/** The median rate of a target in a row, or NaN without a verified cell. */
function rateOf(results: CellResult[], row: Row, id: string): number {
  return median(results.filter((r) => r.row === row.id && r.target === id && !r.error).map((r) => r.rate));
}

/** The medians table and the goals, as markdown lines. */
function summarise(targets: Target[], rows: Row[], results: CellResult[]): string[] {
  const lines = [
    "| payload | target | msg/s | GB/s | server CPU µs/msg | peak RSS MB | ours ÷ this | ours, borrowed ÷ this |",
    "|---|---|--:|--:|--:|--:|--:|--:|",
  ];
  const ratio = (a: number, b: number) => Number.isFinite(a / b) ? (a / b).toFixed(2) : "–";
  for (const row of rows) {
    const owned = rateOf(results, row, "busrt-unix");
    const borrowed = rateOf(results, row, "busrt-borrowed-unix");
    for (const t of targets) {
      const cells = results.filter((r) => r.row === row.id && r.target === t.id && !r.error);
      const rate = median(cells.map((r) => r.rate));
      const failed = results.find((r) => r.row === row.id && r.target === t.id && r.error)?.error;
      lines.push(
        `| ${formatSize(row.payloadSize)} | ${t.label} | ${
          cells.length === 0 ? `failed: ${failed ?? "no cell"}` : Math.round(rate).toLocaleString("en")
        } | ${(rate * row.payloadSize / 1e9).toFixed(3)} | ${
          median(cells.map((r) => r.serverCpuUsPerMsg)).toFixed(1)
        } | ${(median(cells.map((r) => r.serverPeakRss)) / 1e6).toFixed(0)} | ${
          t.id === "busrt-unix" ? "" : ratio(owned, rate)
        } | ${t.id === "busrt-borrowed-unix" ? "" : ratio(borrowed, rate)} |`,
      );
    }
  }
  const large = rows.filter((r) => r.payloadSize >= 1024 * 1024);
  if (large.length === 0) return lines;
  lines.push("", "| goal (issue 17) | payload | measured | met |", "|---|---|---|:-:|");
  for (const row of large) {
    const size = formatSize(row.payloadSize);
    const gbps = (id: string) => rateOf(results, row, id) * row.payloadSize / 1e9;
    const goal = (text: string, measured: string, met: boolean) =>
      lines.push(`| ${text} | ${size} | ${measured} | ${met ? "yes" : "**no**"} |`);
    for (const [id, how] of [["busrt-unix", "owned"], ["busrt-borrowed-unix", "borrowed"]] as const) {
      const ours = gbps(id);
      if (!Number.isFinite(ours)) continue;
      goal(`1→1 over unix ≥ 3 GB/s (${how})`, `${ours.toFixed(2)} GB/s`, ours >= 3);
      const redis = gbps("redis-unix");
      if (Number.isFinite(redis)) {
        goal(`≥ 2× Redis over unix (${how})`, `${ratio(ours, redis)}×`, ours >= 2 * redis);
      }
      const busrtd = gbps(how === "owned" ? "busrtd-unix" : "busrtd-borrowed-unix");
      if (Number.isFinite(busrtd)) {
        goal(`≥ busrtd, same client (${how})`, `${ratio(ours, busrtd)}×`, ours >= busrtd);
      }
    }
  }
  return lines;
}

/** What a page of results says about its run. */
interface PageRun {
  started: string;
  seconds: number;
  rounds: number;
  capMs: number;
  machine: string;
  load: string;
}

/** The markdown page of a run (docs/LARGE_PAYLOADS.md). */
function largePayloadPage(summary: string[], run: PageRun): string {
  return `# Large payloads: 1→1 over unix sockets

Generated by \`deno run -A bench/large_payload.ts --markdown docs/LARGE_PAYLOADS.md\` on ${run.started}, in ${run.seconds} s:
${run.rounds} interleaved rounds of ${run.capMs} ms per cell, medians. Machine: ${run.machine}; load average ${run.load}
(shared with other work: compare ratios within this run, not absolute figures across runs).

One Deno load generator drives every target (\`bench/peers/cells.ts\`: pipelined 1→1 with a window bounded in
bytes; every payload verified on arrival, a cell that lost, repeated, reordered or damaged one gives no figure).
_Owned_: our client hands each large payload to the application in memory of its own, as Redis's client does.
_Borrowed_: the receiver connects with \`largePayloads: "borrowed"\` and its payloads over 256 KiB arrive in
buffers the client reuses once the application asks for the next frame (\`ConnectOptions.largePayloads\`).
Fresh memory for every payload is what limits the owned figures: on this VM, filling new pages runs at about
0.3–1 GB/s, reused ones at 20+ GB/s, and one unix socket hop at 6.6 GB/s. The broker reuses its own large-frame
buffers in both cases (\`LargeBufferPool\`). At 100 B both modes run the same code: their difference there
is the noise of this machine.

${summary.join("\n")}
`;
}

if (import.meta.main) {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        sizes: { type: "string", default: "100,1048576,16777216" },
        rounds: { type: "string", default: "3" },
        "cap-ms": { type: "string", default: "2500" },
        only: { type: "string", default: ALL_TARGETS.join(",") },
        baseline: { type: "string" },
        markdown: { type: "string" },
      },
    }).values);
  const sizes = values.sizes.split(",").map((s) => positiveInt("sizes", s.trim()));
  const rounds = positiveInt("rounds", values.rounds);
  const only = new Set(values.only.split(",").map((s) => s.trim()));
  const budget: Budget = {
    capMs: positiveInt("cap-ms", values["cap-ms"]),
    warmupMs: 300,
    streamTotal: 5_000_000,
    requestTotal: 0,
    connectTotal: 0,
    window: 4096,
    // 2 × 16 MiB or 32 × 1 MiB in flight: within the broker's 64 MiB queue and its 48 MiB buffer pool
    windowBytes: 32 << 20,
  };
  const dir = await Deno.makeTempDir({ prefix: "busrt-large-" });
  const servers: ServerProcess[] = [];
  Deno.addSignalListener("SIGINT", async () => {
    await ServerProcess.stopAll();
    Deno.exit(130);
  });
  try {
    const targets: Target[] = [];
    if (only.has("busrt-unix") || only.has("busrt-borrowed-unix")) {
      const s = await startBusrt(dir);
      servers.push(s.process);
      const unix = s.targets[0];
      if (only.has("busrt-unix")) targets.push(unix);
      if (only.has("busrt-borrowed-unix")) {
        targets.push(busrtTarget({
          id: "busrt-borrowed-unix",
          label: "busrt (unix), borrowed",
          family: "busrt",
          transport: "unix",
          address: s.addresses.unix!,
          pid: s.process.pid,
          largePayloads: "borrowed",
        }));
      }
    }
    if (values.baseline !== undefined) {
      const path = `${dir}/busrt-base.sock`;
      const process = ServerProcess.spawn("busrt baseline", Deno.execPath(), [
        "run",
        "-A",
        `${values.baseline}/bench/broker_server.ts`,
        path,
      ]);
      await process.waitForOutput(/ready/);
      servers.push(process);
      targets.push(busrtTarget({
        id: "busrt-base-unix",
        label: "busrt baseline (unix)",
        family: "busrt",
        transport: "unix",
        address: path,
        pid: process.pid,
      }));
    }
    if (only.has("busrtd-unix") || only.has("busrtd-borrowed-unix")) {
      const s = await startBusrtd(dir);
      servers.push(s.process);
      targets.push(...s.targets.filter((t) => only.has(t.id)));
    }
    if (only.has("redis-unix")) {
      const s = await startRedisUnix(dir);
      servers.push(s.process);
      targets.push(s.target);
    }
    const rows: Row[] = sizes.map(sweepRow);
    const results: CellResult[] = [];
    const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
    const started = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const t0 = performance.now();
    const loadAtStart = load();
    console.log(`load average ${load()}, ${navigator.hardwareConcurrency} cores, ${rounds} rounds`);
    for (let round = 0; round < rounds; round++) {
      for (const row of rows) {
        // the order rotates each round: load from other work spreads over all targets
        for (let i = 0; i < targets.length; i++) {
          const target = targets[(i + round) % targets.length];
          const r = await runCell(target, row, budget, round, `lp${round}${i}`);
          results.push(r);
          const size = row.payloadSize;
          console.log(
            `${formatSize(size).padEnd(7)} ${target.id.padEnd(12)} ` +
              (r.error ??
                `${Math.round(r.rate).toLocaleString("en").padStart(10)} msg/s ${
                  (r.rate * size / 1e9).toFixed(3).padStart(7)
                } GB/s  server ${r.serverCpuUsPerMsg.toFixed(1)} µs/msg  peak RSS ${
                  (r.serverPeakRss / 1e6).toFixed(0)
                } MB`),
          );
        }
      }
    }
    const summary = summarise(targets, rows, results);
    console.log(`\nmedians of ${rounds} rounds (load average at end ${load()}):`);
    console.log(summary.join("\n"));
    if (values.markdown !== undefined) {
      const env = await describeEnvironment(false);
      await Deno.writeTextFile(
        values.markdown,
        largePayloadPage(summary, {
          started,
          seconds: Math.round((performance.now() - t0) / 1000),
          rounds,
          capMs: budget.capMs,
          machine: `${env.cpuModel}, ${env.cpus} cores; ${env.deno}`,
          load: `${loadAtStart} at start, ${load()} at end`,
        }),
      );
      console.log(`wrote ${values.markdown}`);
    }
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
