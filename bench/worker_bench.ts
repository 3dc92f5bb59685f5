/**
 * Worker-client benchmark: a broker in this thread, clients in Web Workers
 * connected over worker ports, a broadcast channel, and a unix socket (the
 * baseline), measured in one run: 1→1 pipelined throughput (sender and
 * receiver in two workers) and sequential RPC round trips (caller and
 * handler in two workers).
 *
 * Run: deno run -A bench/worker_bench.ts [--messages N] [--calls N] [--rounds R]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Broker } from "../broker/broker.ts";
import { benchArgs } from "./bench_args.ts";
import { benchRound, figureTable, keepBest, type RoundFigures } from "./bench_rounds.ts";
import type { BenchTask } from "./worker_bench_client.ts";

const USAGE = `Usage: deno run -A bench/worker_bench.ts [options]

Clients in Web Workers over worker ports, a broadcast channel and a unix
socket, against one broker in the main thread: pipelined 1->1 throughput
and sequential RPC round trips, interleaved, best of the rounds.

Options:
  --messages N   messages per throughput run (default 300000)
  --calls N      calls per latency run (default 5000)
  --rounds R     rounds (default 3)
  -h, --help     this text`;

type Via = "port" | "channel" | "socket";

/** Runs the workloads for each transport; returns rows of figures. */
export async function runWorkerBench(messages: number, calls: number, rounds: number) {
  const broker = new Broker();
  const ports = await broker.serveWorkerPorts({ timeout: 10, queueSize: 1 << 20 });
  await broker.serveChannel("busrt-bench", { timeout: 10, queueSize: 1 << 20 });
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/bench.sock`;
  await broker.serveUnix(socket, { timeout: 10, queueSize: 1 << 20 });
  const via = (v: Via): BenchTask["via"] =>
    v === "port" ? { port: ports.port() } : v === "channel" ? { channel: "busrt-bench" } : { socket };
  const best = new Map<Via, RoundFigures>();
  let n = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const v of ["port", "channel", "socket"] as Via[]) {
        keepBest(best, v, await benchRound(() => via(v), n++, messages, calls));
      }
    }
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
  return best;
}

if (import.meta.main) {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        messages: { type: "string", default: "300000" },
        calls: { type: "string", default: "5000" },
        rounds: { type: "string", default: "3" },
      },
    }).values);
  const best = await runWorkerBench(Number(values.messages), Number(values.calls), Number(values.rounds));
  console.log(`messages ${values.messages}, calls ${values.calls}, 100 B, best of ${values.rounds} rounds`);
  for (const line of figureTable(best, "socket")) console.log(line);
  Deno.exit(0);
}
