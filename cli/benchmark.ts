/**
 * The load generator behind `busrt benchmark` and the end-to-end benchmarks:
 * stages in the style of the reference tool, run by several worker clients.
 *
 * @module
 */
import { QoS } from "../protocol/constants.ts";
import type { BusClient } from "../client/bus_client.ts";

/** Opens a new client for a worker. */
export type ClientFactory = (name: string) => Promise<BusClient>;

/** Settings of a benchmark run. */
export interface BenchmarkOptions {
  /** Connects a client with the given name. */
  connect: ClientFactory;
  /** Base name of the worker clients (`<name>-1 … <name>-W`). */
  name: string;
  /** Number of worker clients. Default 1. */
  workers?: number;
  /** Payload size in bytes. Default 100. */
  payloadSize?: number;
  /** Total iterations per stage, split over the workers. Default 1,000,000. */
  iterations?: number;
  /** Frames a worker may have in flight before waiting. Default 4096. */
  window?: number;
  /** Stage names to run (default: all of {@linkcode BENCHMARK_STAGES}). */
  stages?: readonly string[];
  /** Called with the stage name and the iterations done so far. */
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Extra stages (e.g. RPC ones) by name. */
  extraStages?: Record<string, StageRunner>;
}

/** Runs one worker's share of a stage; resolves when all `iterations` completed. */
export type StageRunner = (ctx: WorkerContext) => Promise<void>;

/** What a stage runner gets for one worker. */
export interface WorkerContext {
  /** This worker's client. */
  client: BusClient;
  /** Iterations this worker must complete. */
  iterations: number;
  /** Payload to send. */
  payload: Uint8Array;
  /** A registered-nowhere target name for this worker. */
  nullTarget: string;
  /** Flow-control window. */
  window: number;
  /** Reports completed iterations (cumulative for this worker). */
  progress: (done: number) => void;
  /** Connects an extra client (closed by the runner afterwards). */
  connect: (suffix: string) => Promise<BusClient>;
}

/** Result of one stage. */
export interface StageResult {
  /** Stage name. */
  stage: string;
  /** Iterations completed. */
  iterations: number;
  /** Wall time in seconds. */
  seconds: number;
  /** Iterations per second. */
  rate: number;
}

/** Built-in stages, in the reference order. */
export const BENCHMARK_STAGES: readonly string[] = [
  "send.qos.no",
  "send.qos.processed",
  "send+recv.qos.no",
  "send+recv.qos.processed",
  "send->recv.qos.no",
];

const BATCH = 256;

/** Sends to a target nobody has: measures the sender → broker path only. */
async function sendNull(ctx: WorkerContext, acked: boolean): Promise<void> {
  const { client, payload, nullTarget } = ctx;
  let sent = 0;
  if (!acked) {
    while (sent < ctx.iterations) {
      const n = Math.min(BATCH * 4, ctx.iterations - sent);
      for (let i = 0; i < n; i++) client.send(nullTarget, payload);
      sent += n;
      await client.flush();
      ctx.progress(sent);
    }
    return;
  }
  // QoS 3 to an unknown target: every ACK is 0x71, awaited and ignored
  let done = 0;
  const inFlight: Promise<void>[] = [];
  while (sent < ctx.iterations) {
    const n = Math.min(BATCH, ctx.iterations - sent);
    for (let i = 0; i < n; i++) {
      inFlight.push(client.send(nullTarget, payload, QoS.RealtimeProcessed).catch(() => {}));
    }
    sent += n;
    if (inFlight.length >= ctx.window) {
      await Promise.all(inFlight.splice(0, inFlight.length - ctx.window / 2));
      done = sent - inFlight.length;
      ctx.progress(done);
    }
  }
  await Promise.all(inFlight);
  ctx.progress(sent);
}

/**
 * Sends from `sender` to `receiver` (possibly the same client) and waits
 * until everything arrived, keeping at most `window` frames in flight.
 */
async function sendRecv(
  ctx: WorkerContext,
  sender: BusClient,
  receiver: BusClient,
  qos: typeof QoS.No | typeof QoS.RealtimeProcessed,
): Promise<void> {
  const total = ctx.iterations;
  const payload = ctx.payload;
  const window = ctx.window;
  let received = 0;
  let wake = null as (() => void) | null;
  let wakeAt = 0;
  const consumer = (async () => {
    if (total === 0) return;
    for await (const _ of receiver) {
      received++;
      if (wake !== null && received >= wakeAt) {
        const w = wake;
        wake = null;
        w();
      }
      if (received >= total) break;
    }
  })();
  const target = receiver.name;
  let sent = 0;
  const acks: Promise<void>[] = [];
  while (sent < total) {
    const room = window - (sent - received);
    if (room < BATCH && sent - received > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      wake = resolve;
      wakeAt = sent - window + BATCH;
      await promise;
      ctx.progress(received);
      continue;
    }
    const n = Math.min(BATCH, total - sent);
    if (qos === QoS.No) {
      for (let i = 0; i < n; i++) sender.send(target, payload);
    } else {
      for (let i = 0; i < n; i++) acks.push(sender.send(target, payload, qos));
      if (acks.length > window) await Promise.all(acks.splice(0, acks.length));
    }
    sent += n;
    await sender.flush();
  }
  await Promise.all(acks);
  await consumer;
  if (received < total) throw new Error(`Benchmark receiver stopped after ${received} of ${total} frames`);
  ctx.progress(total);
}

const BUILTIN: Record<string, StageRunner> = {
  "send.qos.no": (ctx) => sendNull(ctx, false),
  "send.qos.processed": (ctx) => sendNull(ctx, true),
  "send+recv.qos.no": (ctx) => sendRecv(ctx, ctx.client, ctx.client, QoS.No),
  "send+recv.qos.processed": (ctx) => sendRecv(ctx, ctx.client, ctx.client, QoS.RealtimeProcessed),
  "send->recv.qos.no": async (ctx) => {
    const receiver = await ctx.connect("rx");
    await sendRecv(ctx, ctx.client, receiver, QoS.No);
  },
};

/**
 * Runs the benchmark stages in order, each with fresh worker connections.
 *
 * @example Every stage, a thousand iterations each, over a unix socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { connect } from "../client/mod.ts";
 * import { BENCHMARK_STAGES, runBenchmark } from "./benchmark.ts";
 * const dir = await Deno.makeTempDir();
 * const broker = new Broker();
 * await broker.serveUnix(`${dir}/busrt.sock`);
 * const results = await runBenchmark({
 *   name: "bench",
 *   iterations: 1000,
 *   connect: (name) => connect(`${dir}/busrt.sock`, { name }),
 * });
 * assert.deepEqual(results.map((r) => r.stage), BENCHMARK_STAGES);
 * assert.ok(results.every((r) => r.iterations === 1000 && r.rate > 0));
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param options the client factory, stages, iterations, workers and payload size
 * @returns one result per stage, in order
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<StageResult[]> {
  const workers = options.workers ?? 1;
  const total = options.iterations ?? 1_000_000;
  const payload = new Uint8Array(options.payloadSize ?? 100).fill(0xee);
  const window = options.window ?? 4096;
  const runners = { ...BUILTIN, ...options.extraStages };
  const stages = options.stages ?? BENCHMARK_STAGES;
  const results: StageResult[] = [];
  for (const stage of stages) {
    const runner = runners[stage];
    if (runner === undefined) throw new RangeError(`Unknown benchmark stage "${stage}"`);
    const clients: BusClient[] = [];
    try {
      const perWorker = Math.floor(total / workers);
      const done = new Array<number>(workers).fill(0);
      const report = () => options.onProgress?.(stage, done.reduce((a, b) => a + b, 0), perWorker * workers);
      const contexts: WorkerContext[] = [];
      for (let w = 1; w <= workers; w++) {
        const client = await options.connect(`${options.name}-${w}`);
        clients.push(client);
        contexts.push({
          client,
          iterations: perWorker,
          payload,
          nullTarget: `${options.name}-${w}-null`,
          window,
          progress: (n) => {
            done[w - 1] = n;
            report();
          },
          connect: async (suffix) => {
            const c = await options.connect(`${options.name}-${w}-${suffix}`);
            clients.push(c);
            return c;
          },
        });
      }
      const started = performance.now();
      await Promise.all(contexts.map((ctx) => runner(ctx)));
      const seconds = (performance.now() - started) / 1000;
      const iterations = perWorker * workers;
      results.push({ stage, iterations, seconds, rate: iterations / seconds });
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    }
  }
  return results;
}
