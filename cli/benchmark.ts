/**
 * The load generator behind `busrt benchmark` and the end-to-end benchmarks:
 * the reference tool's stages, run by several worker clients, in one of two
 * modes:
 *
 * - `"pipelined"` (default): up to `window` acknowledged frames (default
 *   4096) and up to 256 RPC calls in flight per worker; measures what the
 *   broker can carry.
 * - `"sequential"`: one acknowledged frame or call in flight per worker, as
 *   the reference `busrt benchmark` does; its figures compare with that
 *   tool's on the same broker.
 *
 * QoS 0 stages are the same in both modes: nothing is acknowledged, so the
 * reference cannot wait for anything either (ours keeps a receiver at most
 * 4096 frames behind so a broker's queue limit is never hit).
 *
 * Worker connections are opened once and kept across stages of one family
 * (the message stages, the RPC stages): reconnecting with the same names
 * right after a QoS 0 flood can meet a broker still reading the old
 * connection (the reference answers 0x76). Between families every worker
 * ends with an acknowledged frame before it closes, and registering a name
 * just released is retried briefly while the broker says it is in use.
 *
 * @module
 */
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import type { BusClient } from "../client/bus_client.ts";

/** Opens a new client for a worker. */
export type ClientFactory = (name: string) => Promise<BusClient>;

/** How many operations a worker keeps in flight; see the module docs. */
export type BenchmarkMode = "pipelined" | "sequential";

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
  /** `"pipelined"` (default) or `"sequential"`. */
  mode?: BenchmarkMode;
  /** Acknowledged frames a worker may have in flight in pipelined mode. Default 4096. */
  window?: number;
  /** Stage names to run (default: {@linkcode BENCHMARK_STAGES}). */
  stages?: readonly string[];
  /** Called with the stage name and the iterations done so far. */
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Extra stages (e.g. RPC ones) by name. */
  extraStages?: Record<string, StageDefinition>;
}

/** Runs one worker's share of a stage; resolves when all `iterations` completed. */
export type StageRunner = (ctx: WorkerContext) => Promise<void>;

/** A stage: its runner and the family whose stages share worker connections. */
export interface StageDefinition {
  /** Stages of one family run on the same connections; another family reconnects. */
  family: string;
  /** Runs one worker's share. */
  run: StageRunner;
}

/** What a stage runner gets for one worker. */
export interface WorkerContext {
  /** This worker's client (kept across the stages of a family). */
  client: BusClient;
  /** Iterations this worker must complete. */
  iterations: number;
  /** Payload to send. */
  payload: Uint8Array;
  /** A registered-nowhere target name for this worker. */
  nullTarget: string;
  /** Acknowledged frames or calls in flight: 1 in sequential mode. */
  window: number;
  /** Reports completed iterations (cumulative for this worker). */
  progress: (done: number) => void;
  /** Connects an extra client `<worker>-<suffix>` (closed with the family's connections). */
  connect: (suffix: string) => Promise<BusClient>;
  /** Per-worker state kept across the stages of a family: `create()` runs on first use of `key`. */
  keep: <T>(key: string, create: () => T) => T;
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

/** Built-in message stages, in the reference order (`send->recv.qos.no` is ours). */
export const BENCHMARK_STAGES: readonly string[] = [
  "send.qos.no",
  "send.qos.processed",
  "send+recv.qos.no",
  "send+recv.qos.processed",
  "send->recv.qos.no",
];

/** Family of the built-in message stages. */
export const MESSAGE_FAMILY = "message";

const BATCH = 256;
const QOS0_WINDOW = 4096;
const EMPTY = new Uint8Array(0);

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
  const window = ctx.window;
  const inFlight: Promise<void>[] = [];
  while (sent < ctx.iterations) {
    const n = Math.min(BATCH, window, ctx.iterations - sent);
    for (let i = 0; i < n; i++) {
      inFlight.push(client.send(nullTarget, payload, QoS.RealtimeProcessed).catch(() => {}));
    }
    sent += n;
    if (inFlight.length >= window) {
      await Promise.all(inFlight.splice(0, inFlight.length - Math.floor(window / 2)));
      if (window === 1 ? sent % BATCH === 0 : true) ctx.progress(sent - inFlight.length);
    }
  }
  await Promise.all(inFlight);
  ctx.progress(sent);
}

/**
 * Sends from `sender` to `receiver` (possibly the same client) and waits
 * until everything arrived, keeping the receiver at most 4096 frames behind;
 * with QoS 3 at most `window` ACKs are awaited at once.
 */
async function sendRecv(
  ctx: WorkerContext,
  sender: BusClient,
  receiver: BusClient,
  qos: typeof QoS.No | typeof QoS.RealtimeProcessed,
): Promise<void> {
  const total = ctx.iterations;
  const payload = ctx.payload;
  const window = QOS0_WINDOW;
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
  const ackWindow = qos === QoS.No ? Infinity : ctx.window;
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
    const n = Math.min(BATCH, ackWindow, total - sent);
    if (qos === QoS.No) {
      for (let i = 0; i < n; i++) sender.send(target, payload);
    } else {
      for (let i = 0; i < n; i++) acks.push(sender.send(target, payload, qos));
      if (acks.length >= ackWindow) await Promise.all(acks.splice(0, acks.length));
    }
    sent += n;
    await sender.flush();
    if (sent % (BATCH * 4) < n) ctx.progress(received);
  }
  await Promise.all(acks);
  await consumer;
  if (received < total) throw new Error(`Benchmark receiver stopped after ${received} of ${total} frames`);
  ctx.progress(total);
}

const MESSAGE_STAGES: Record<string, StageDefinition> = {
  "send.qos.no": { family: MESSAGE_FAMILY, run: (ctx) => sendNull(ctx, false) },
  "send.qos.processed": { family: MESSAGE_FAMILY, run: (ctx) => sendNull(ctx, true) },
  "send+recv.qos.no": {
    family: MESSAGE_FAMILY,
    run: (ctx) => sendRecv(ctx, ctx.client, ctx.client, QoS.No),
  },
  "send+recv.qos.processed": {
    family: MESSAGE_FAMILY,
    run: (ctx) => sendRecv(ctx, ctx.client, ctx.client, QoS.RealtimeProcessed),
  },
  "send->recv.qos.no": {
    family: MESSAGE_FAMILY,
    run: async (ctx) => {
      const receiver = await ctx.keep("receiver", () => ctx.connect("rx"));
      await sendRecv(ctx, ctx.client, receiver, QoS.No);
    },
  },
};

/** The connections of one worker for the current family. */
interface Worker {
  client: BusClient;
  extra: BusClient[];
  state: Map<string, unknown>;
  nullTarget: string;
}

/**
 * Runs the stages in order. Workers connect once per family of stages and
 * keep their connections across its stages (see the module docs).
 *
 * @example Every message stage, a thousand iterations each, over a unix socket
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
 * @param options the client factory, stages, mode, iterations, workers and payload size
 * @returns one result per stage, in order
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<StageResult[]> {
  const workerCount = options.workers ?? 1;
  const total = options.iterations ?? 1_000_000;
  const payload = new Uint8Array(options.payloadSize ?? 100).fill(0xee);
  const window = (options.mode ?? "pipelined") === "sequential" ? 1 : options.window ?? 4096;
  const definitions = { ...MESSAGE_STAGES, ...options.extraStages };
  const stages = options.stages ?? BENCHMARK_STAGES;
  for (const stage of stages) {
    if (!Object.hasOwn(definitions, stage)) throw new RangeError(`Unknown benchmark stage "${stage}"`);
  }
  const perWorker = Math.floor(total / workerCount);
  const results: StageResult[] = [];
  let workers: Worker[] = [];
  let family: string | null = null;
  try {
    for (const stage of stages) {
      const definition = definitions[stage];
      if (definition.family !== family) {
        await releaseWorkers(workers);
        workers = [];
        family = definition.family;
        for (let w = 1; w <= workerCount; w++) {
          const client = await connectReleasedName(options.connect, `${options.name}-${w}`);
          workers.push({ client, extra: [], state: new Map(), nullTarget: `${options.name}-${w}-null` });
        }
      }
      const done = new Array<number>(workerCount).fill(0);
      const report = () =>
        options.onProgress?.(stage, done.reduce((a, b) => a + b, 0), perWorker * workerCount);
      const contexts = workers.map((worker, i): WorkerContext => ({
        client: worker.client,
        iterations: perWorker,
        payload,
        nullTarget: worker.nullTarget,
        window,
        progress: (n) => {
          done[i] = n;
          report();
        },
        connect: async (suffix) => {
          const c = await connectReleasedName(options.connect, `${worker.client.name}-${suffix}`);
          worker.extra.push(c);
          return c;
        },
        keep: <T>(key: string, create: () => T): T => {
          if (!worker.state.has(key)) worker.state.set(key, create());
          return worker.state.get(key) as T;
        },
      }));
      const started = performance.now();
      await Promise.all(contexts.map((ctx) => definition.run(ctx)));
      const seconds = (performance.now() - started) / 1000;
      const iterations = perWorker * workerCount;
      results.push({ stage, iterations, seconds, rate: iterations / seconds });
    }
  } finally {
    await releaseWorkers(workers);
  }
  return results;
}

/**
 * Ends every connection of the workers with an acknowledged frame (so the
 * broker has read all they sent), then closes them.
 */
async function releaseWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(workers.flatMap((worker) =>
    [worker.client, ...worker.extra].map(async (client) => {
      try {
        if (client.isConnected()) await client.send(worker.nullTarget, EMPTY, QoS.Processed);
      } catch {
        // 0x71 (nobody has that name) is the expected answer; a dead link closes anyway
      }
      await client.close().catch(() => {});
    })
  ));
}

const BUSY_RETRIES = 40;
const BUSY_RETRY_MS = 25;

/**
 * Connects `name`, retrying for up to a second while the broker still holds
 * the name of a connection closed a moment ago.
 */
async function connectReleasedName(connect: ClientFactory, name: string): Promise<BusClient> {
  for (let attempt = 1;; attempt++) {
    try {
      return await connect(name);
    } catch (err) {
      if (attempt >= BUSY_RETRIES || !isBusy(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
    }
  }
}

function isBusy(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof BusError && e.isBusy()) return true;
  }
  return false;
}
