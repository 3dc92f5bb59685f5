/**
 * The reference benchmark's RPC stages, plugged into the load generator of
 * `cli/benchmark.ts` through its `extraStages` hook (the generator itself
 * knows nothing of the RPC layer). Each worker wraps its connection in one
 * RPC client, kept across the RPC stages.
 *
 * @module
 */
import { BROKER_NAME, QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import type { StageDefinition, WorkerContext } from "./benchmark.ts";

/** Names of the RPC stages, in the reference order. */
export const RPC_STAGES: readonly string[] = ["rpc.call", "rpc.call+handle", "rpc.call0"];

/** Family of the RPC stages (they share the workers' RPC clients). */
export const RPC_FAMILY = "rpc";

const SELFTEST = "benchmark.selftest";
const MAX_LANES = 256;

/** The worker's RPC client; it echoes `benchmark.selftest` params, as the reference tool's handler. */
function workerRpc(ctx: WorkerContext): RpcClient {
  return ctx.keep("rpc", () =>
    new RpcClient(ctx.client, {
      timeout: 0,
      handlers: {
        onCall: (call) => {
          if (call.method !== SELFTEST) throw new RpcError(RpcErrorCode.MethodNotFound);
          return call.params.slice();
        },
      },
    }));
}

/**
 * Issues `ctx.iterations` operations with up to `window` (at most 256) in
 * flight (one in sequential mode), reporting progress every 256 completions.
 */
async function inLanes(ctx: WorkerContext, issue: () => Promise<void>): Promise<void> {
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
    const echoed = reply.payload;
    if (!sameBytes(echoed, payload)) {
      throw new Error(
        `Benchmark call "${method}" on "${target}" returned ${echoed.length} bytes that differ from the ` +
          `${payload.length} bytes sent`,
      );
    }
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Definitions of {@linkcode RPC_STAGES} for `runBenchmark({ extraStages })`. */
export const RPC_STAGE_DEFINITIONS: Record<string, StageDefinition> = {
  // .broker echoes benchmark.test params
  "rpc.call": {
    family: RPC_FAMILY,
    run: (ctx) => inLanes(ctx, echoChecked(workerRpc(ctx), BROKER_NAME, "benchmark.test", ctx.payload)),
  },
  // each worker calls itself and echoes in its own handler
  "rpc.call+handle": {
    family: RPC_FAMILY,
    run: (ctx) => inLanes(ctx, echoChecked(workerRpc(ctx), ctx.client.name, SELFTEST, ctx.payload)),
  },
  // call0 to a name nobody has: the broker's 0x71 ACK is awaited and ignored
  "rpc.call0": {
    family: RPC_FAMILY,
    run: (ctx) => {
      const rpc = workerRpc(ctx);
      return inLanes(
        ctx,
        () => rpc.call0(ctx.nullTarget, "test", ctx.payload, { qos: QoS.RealtimeProcessed }).catch(() => {}),
      );
    },
  },
};
