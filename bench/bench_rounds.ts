/**
 * One round of the client benchmarks run in Web Workers
 * (bench/worker_bench_client.ts), shared by bench/worker_bench.ts and
 * bench/ws_bench.ts: a pipelined 1→1 throughput run (sender and receiver in
 * two workers), then a sequential RPC latency run (caller and handler in two
 * workers), and the best figures kept over rounds.
 *
 * @module
 */
import type { BenchReport, BenchTask } from "./worker_bench_client.ts";

const SCRIPT = new URL("./worker_bench_client.ts", import.meta.url).href;

/** The figures of a round, or the best of several. */
export interface RoundFigures {
  /** Pipelined 1→1 messages per second. */
  rate: number;
  /** Median RPC round trip, µs. */
  p50: number;
  /** 99th percentile RPC round trip, µs. */
  p99: number;
}

/** A worker running one task, and its reports in order. */
interface BenchWorker {
  worker: Worker;
  next: () => Promise<BenchReport>;
}

function startWorker(task: BenchTask): BenchWorker {
  const worker = new Worker(SCRIPT, { type: "module" });
  const reports: BenchReport[] = [];
  let wake: (() => void) | null = null;
  worker.onmessage = (e: MessageEvent<BenchReport>) => {
    reports.push(e.data);
    wake?.();
  };
  worker.postMessage(task, "port" in task.via ? [task.via.port] : []);
  const next = async () => {
    while (reports.length === 0) await new Promise<void>((r) => wake = r);
    return reports.shift()!;
  };
  return { worker, next };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * Runs one round: `messages` pipelined messages, then `calls` sequential calls.
 *
 * @param via how each worker reaches the broker (called once per worker: a worker port is transferred)
 * @param id what makes this round's client names unique
 * @param messages messages of the throughput run
 * @param calls calls of the latency run
 * @param size payload bytes of the messages (default 100)
 * @returns the round's figures
 */
export async function benchRound(
  via: () => BenchTask["via"],
  id: number,
  messages: number,
  calls: number,
  size = 100,
): Promise<RoundFigures> {
  const rx = startWorker({ via: via(), name: `rx.${id}`, role: "receive" });
  await rx.next();
  const tx = startWorker({
    via: via(),
    name: `tx.${id}`,
    role: "send",
    target: `rx.${id}`,
    count: messages,
    size,
  });
  await tx.next();
  await tx.next();
  const got = await rx.next();
  const rate = got.count! / (got.ms! / 1000);
  tx.worker.terminate();
  rx.worker.terminate();

  const srv = startWorker({ via: via(), name: `srv.${id}`, role: "rpc-server" });
  await srv.next();
  const caller = startWorker({
    via: via(),
    name: `caller.${id}`,
    role: "rpc-caller",
    target: `srv.${id}`,
    count: calls,
  });
  const done = await caller.next();
  const rtts = done.rtts!.sort((a, b) => a - b);
  caller.worker.terminate();
  srv.worker.terminate();
  return { rate, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99) };
}

/**
 * Keeps the best figures per key: the highest rate, the lowest latencies.
 *
 * @param best the best so far, updated in place
 * @param key the transport
 * @param round the figures of a round
 */
export function keepBest<K>(best: Map<K, RoundFigures>, key: K, round: RoundFigures): void {
  const e = best.get(key) ?? { rate: 0, p50: Infinity, p99: Infinity };
  best.set(key, {
    rate: Math.max(e.rate, round.rate),
    p50: Math.min(e.p50, round.p50),
    p99: Math.min(e.p99, round.p99),
  });
}

/**
 * The figures as a table, one row per transport, with each rate relative to
 * the baseline's.
 *
 * @param best the figures per transport, in row order
 * @param baseline the transport the rates are compared with
 * @returns the header line and one line per transport
 */
export function figureTable<K extends string>(best: Map<K, RoundFigures>, baseline: K): string[] {
  const base = best.get(baseline)!;
  const lines = [`transport   1->1 msg/s  vs ${baseline.padEnd(6)}   rpc p50 µs   rpc p99 µs`];
  for (const [key, e] of best) {
    lines.push(
      `${key.padEnd(9)} ${Math.round(e.rate).toLocaleString("en").padStart(12)} ${
        (e.rate / base.rate).toFixed(2).padStart(11)
      } ${e.p50.toFixed(0).padStart(12)} ${e.p99.toFixed(0).padStart(12)}`,
    );
  }
  return lines;
}
