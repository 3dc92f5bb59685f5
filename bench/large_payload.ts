/**
 * Large payloads, 1→1 over unix sockets: our broker against the Rust
 * reference `busrtd` and redis-server in the same run, rounds interleaved,
 * through the load generator of the peer comparison (`bench/peers/cells.ts`:
 * flow control, every delivery counted). Prints GB/s, broker CPU per message
 * and peak RSS per cell, the median of the rounds, and our ratios.
 *
 * Run: deno run -A bench/large_payload.ts [--sizes 100,1048576,16777216] [--rounds 3] [--cap-ms 1500]
 *      [--only busrt-unix,busrtd-unix,redis-unix] [--baseline DIR]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchArgs } from "./bench_args.ts";
import { busrtTarget } from "./peers/busrt_target.ts";
import { type Budget, type CellResult, formatSize, type Row, runCell, sweepRow } from "./peers/cells.ts";
import { redisTarget } from "./peers/redis_target.ts";
import { BUSRTD } from "./peers/reference_binaries.ts";
import { ServerProcess } from "./peers/server_process.ts";
import { startBusrt } from "./peers/servers.ts";
import type { Target } from "./peers/target.ts";

const USAGE = `Usage: deno run -A bench/large_payload.ts [options]

1→1 pipelined messages over unix sockets at large payload sizes: our broker,
busrtd (the Rust reference) and redis-server, interleaved rounds, medians.

Options:
  --sizes LIST        payload sizes in bytes (default 100,1048576,16777216)
  --rounds N          rounds (default 3)
  --cap-ms MS         timed run per cell (default 1500)
  --only LIST         targets: busrt-unix, busrtd-unix, redis-unix (default all)
  --baseline DIR      also our broker from another checkout (e.g. \`git archive\` of an
                      older commit), as target busrt-base-unix: before/after in one run
  -h, --help          this text`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`Invalid --${name} "${text}": must be a positive integer`);
  }
  return n;
}

async function startBusrtd(dir: string): Promise<{ process: ServerProcess; target: Target }> {
  const path = `${dir}/busrtd.sock`;
  const process = ServerProcess.spawn("busrtd", BUSRTD, ["-B", path]);
  await process.waitForConnect({ transport: "unix", path });
  const target = busrtTarget({
    id: "busrtd-unix",
    label: "busrtd (unix)",
    family: "busrt",
    transport: "unix",
    address: path,
    pid: process.pid,
  });
  return { process, target };
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

if (import.meta.main) {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        sizes: { type: "string", default: "100,1048576,16777216" },
        rounds: { type: "string", default: "3" },
        "cap-ms": { type: "string", default: "1500" },
        only: { type: "string", default: "busrt-unix,busrtd-unix,redis-unix" },
        baseline: { type: "string" },
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
    windowBytes: 4 << 20,
  };
  const dir = await Deno.makeTempDir({ prefix: "busrt-large-" });
  const servers: ServerProcess[] = [];
  Deno.addSignalListener("SIGINT", async () => {
    await ServerProcess.stopAll();
    Deno.exit(130);
  });
  try {
    const targets: Target[] = [];
    if (only.has("busrt-unix")) {
      const s = await startBusrt(dir);
      servers.push(s.process);
      targets.push(s.targets[0]);
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
    if (only.has("busrtd-unix")) {
      const s = await startBusrtd(dir);
      servers.push(s.process);
      targets.push(s.target);
    }
    if (only.has("redis-unix")) {
      const s = await startRedisUnix(dir);
      servers.push(s.process);
      targets.push(s.target);
    }
    const rows: Row[] = sizes.map(sweepRow);
    const results: CellResult[] = [];
    const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
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
    console.log(`\nmedians of ${rounds} rounds (load average at end ${load()}):`);
    console.log("| payload | target | msg/s | GB/s | server CPU µs/msg | peak RSS MB | ours ÷ this |");
    console.log("|---|---|--:|--:|--:|--:|--:|");
    for (const row of rows) {
      const of = (t: Target) => results.filter((r) => r.row === row.id && r.target === t.id && !r.error);
      const ours = median(of(targets[0]).map((r) => r.rate));
      for (const t of targets) {
        const cells = of(t);
        const rate = median(cells.map((r) => r.rate));
        const cpu = median(cells.map((r) => r.serverCpuUsPerMsg));
        const rss = median(cells.map((r) => r.serverPeakRss));
        console.log(
          `| ${formatSize(row.payloadSize)} | ${t.label} | ${Math.round(rate).toLocaleString("en")} | ${
            (rate * row.payloadSize / 1e9).toFixed(3)
          } | ${cpu.toFixed(1)} | ${(rss / 1e6).toFixed(0)} | ${
            t === targets[0] ? "" : (ours / rate).toFixed(2)
          } |`,
        );
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
