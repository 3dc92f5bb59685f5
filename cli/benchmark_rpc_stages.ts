/**
 * The reference benchmark's RPC stages, plugged into the load generator of
 * `cli/benchmark.ts` through its `extraStages` hook (the generator itself
 * knows nothing of the RPC layer).
 *
 * @module
 */
import { BROKER_NAME, QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import type { StageRunner, WorkerContext } from "./benchmark.ts";

/** Names of the RPC stages, in the reference order. */
export const RPC_STAGES: readonly string[] = ["rpc.call", "rpc.call+handle", "rpc.call0"];

const SELFTEST = "benchmark.selftest";
const MAX_LANES = 256;

/**
 * Issues `ctx.iterations` operations with up to `window` (at most 256) in
 * flight, reporting progress every 256 completions.
 */
async function pipelined(ctx: WorkerContext, issue: () => Promise<void>): Promise<void> {
  const lanes = Math.max(1, Math.min(ctx.window, MAX_LANES, ctx.iterations));
  let started = 0;
  let done = 0;
  const lane = async () => {
    while (started < ctx.iterations) {
      started++;
      await issue();
      if (++done % 256 === 0) ctx.progress(done);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  ctx.progress(done);
}

function echoChecked(
  rpc: RpcClient,
  target: string,
  method: string,
  payload: Uint8Array,
): () => Promise<void> {
  return async () => {
    const reply = await rpc.call(target, method, payload, { qos: QoS.RealtimeProcessed });
    if (reply.payload.length !== payload.length) {
      throw new Error(
        `Benchmark call "${method}" returned ${reply.payload.length} bytes, expected ${payload.length}`,
      );
    }
  };
}

/** Runners of {@linkcode RPC_STAGES} for `runBenchmark({ extraStages })`. */
export const RPC_STAGE_RUNNERS: Record<string, StageRunner> = {
  // .broker echoes benchmark.test params
  "rpc.call": async (ctx) => {
    const rpc = new RpcClient(ctx.client, { timeout: 0 });
    await pipelined(ctx, echoChecked(rpc, BROKER_NAME, "benchmark.test", ctx.payload));
  },
  // each worker calls itself and echoes in its own handler
  "rpc.call+handle": async (ctx) => {
    const rpc = new RpcClient(ctx.client, {
      timeout: 0,
      handlers: { onCall: (call) => call.method === SELFTEST ? call.params.slice() : undefined },
    });
    await pipelined(ctx, echoChecked(rpc, ctx.client.name, SELFTEST, ctx.payload));
  },
  // call0 to a name nobody has: the broker's 0x71 ACK is awaited and ignored
  "rpc.call0": async (ctx) => {
    const rpc = new RpcClient(ctx.client, { timeout: 0 });
    await pipelined(
      ctx,
      () => rpc.call0(ctx.nullTarget, "test", ctx.payload, { qos: QoS.RealtimeProcessed }).catch(() => {}),
    );
  },
};
