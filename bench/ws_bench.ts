/**
 * WebSocket benchmark: a broker in this thread with a TCP and a WebSocket
 * listener; clients in Web Workers (bench/worker_bench_client.ts) connect to
 * either, measured in one run, interleaved: 1→1 pipelined throughput
 * (sender and receiver in two workers) and sequential RPC round trips
 * (caller and handler in two workers).
 *
 * Run: deno run -A bench/ws_bench.ts [--messages N] [--calls N] [--rounds R] [--size B]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Broker } from "../broker/broker.ts";
import { benchArgs } from "./bench_args.ts";
import { benchRound, figureTable, keepBest, type RoundFigures } from "./bench_rounds.ts";

const USAGE = `Usage: deno run -A bench/ws_bench.ts [options]

Clients in Web Workers over TCP and over WebSocket, against one broker in
the main thread: pipelined 1->1 throughput and sequential RPC round trips,
interleaved, best of the rounds.

Options:
  --messages N   messages per throughput run (default 300000)
  --calls N      calls per latency run (default 5000)
  --rounds R     rounds (default 3)
  --size B       payload bytes (default 100)
  -h, --help     this text`;

/** The transports compared. */
export type WsBenchTransport = "tcp" | "ws";

/**
 * Runs the workloads over TCP and WebSocket.
 *
 * @param messages messages per throughput run
 * @param calls calls per latency run
 * @param rounds rounds (the best of each is kept)
 * @param size payload bytes
 * @returns the best figures per transport
 */
export async function runWsBench(
  messages: number,
  calls: number,
  rounds: number,
  size = 100,
): Promise<Map<WsBenchTransport, RoundFigures>> {
  const broker = new Broker();
  const options = { timeout: 10, queueSize: 1 << 20 };
  const tcp = await broker.serve("127.0.0.1:0", options);
  const ws = await broker.serve("ws://127.0.0.1:0/", options);
  const address = (t: WsBenchTransport) => t === "tcp" ? tcp.bind : ws.bind;
  const best = new Map<WsBenchTransport, RoundFigures>();
  let n = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const t of ["tcp", "ws"] as WsBenchTransport[]) {
        keepBest(best, t, await benchRound(() => ({ socket: address(t) }), n++, messages, calls, size));
      }
    }
  } finally {
    await broker.close();
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
        size: { type: "string", default: "100" },
      },
    }).values);
  const best = await runWsBench(
    Number(values.messages),
    Number(values.calls),
    Number(values.rounds),
    Number(values.size),
  );
  console.log(
    `messages ${values.messages}, calls ${values.calls}, ${values.size} B, best of ${values.rounds} rounds`,
  );
  for (const line of figureTable(best, "tcp")) console.log(line);
  Deno.exit(0);
}
