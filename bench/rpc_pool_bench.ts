/**
 * Worker-pool benchmark: a broker process with core RPC, member processes
 * (`tests/_pool_worker.ts`, `work` answered at once) and the callers in
 * this process, over a unix socket; 32 calls in flight, 100-byte params.
 *
 * Stages, in one run:
 * - `direct`: plain `rpc.call` to one member, the baseline;
 * - `pool xN`: `pool.call` round robin over N = 1, 2, 4 member processes
 *   (three pools whose masks pick 1, 2 or 4 of the same four processes);
 *   the stages are interleaved over rounds, medians reported;
 * - `kill`: 4 members, idempotent calls, the oldest member SIGKILLed half way:
 *   calls done in the second before and the second after the kill, the
 *   worst 100 ms after it, and the calls that failed (none should); then
 *   the same with non-idempotent calls, whose losses fail with `mayHaveRun`.
 *
 * On a 2-core machine the broker, the callers and the members share the
 * cores: more members add parallelism only up to that.
 *
 * Run: deno run -A bench/rpc_pool_bench.ts [seconds per stage, default 2] [rounds, default 3]
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { spawnBrokerProcess } from "./broker_process.ts";
import { pack } from "../rpc/msgpack.ts";
import { PoolCallError, type RpcPool } from "../rpc/pool.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { WorkerProcess } from "../tests/_pool_processes.ts";

const IN_FLIGHT = 32;
/** 100 bytes of MessagePack params (the member unpacks them). */
const PARAMS = pack({ pad: "x".repeat(94) });

/** Runs `op` from IN_FLIGHT loops for `seconds` after a short warm-up; returns calls/s. */
async function throughput(seconds: number, op: () => Promise<unknown>): Promise<number> {
  const warm = performance.now() + 300;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < warm) await op();
  }));
  let calls = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < until) {
      for (let i = 0; i < 16; i++) await op();
      calls += 16;
    }
  }));
  return calls / ((performance.now() - start) / 1000);
}

/** Calls through `pool` for `seconds`, killing `victim` half way; calls done in the second before and after. */
async function killRun(
  pool: RpcPool,
  victim: WorkerProcess,
  seconds: number,
  idempotent: boolean,
): Promise<
  {
    before: number;
    after: number;
    worstAfter: number;
    slowestBefore: number;
    slowestAfter: number;
    failed: number;
    mayHaveRun: number;
  }
> {
  const start = performance.now();
  const killAt = start + seconds * 500;
  const until = start + seconds * 1000;
  const done: number[] = [];
  let slowestBefore = 0;
  let slowestAfter = 0;
  let failed = 0;
  let mayHaveRun = 0;
  const killer = new Promise<void>((resolve) =>
    setTimeout(() => {
      victim.signal("SIGKILL");
      resolve();
    }, killAt - performance.now())
  );
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await pool.call("work", PARAMS, { idempotent });
        const t1 = performance.now();
        done.push(t1);
        // a call in flight at the kill counts as after it
        if (t1 < killAt) slowestBefore = Math.max(slowestBefore, t1 - t0);
        else if (t0 < killAt + 1000) slowestAfter = Math.max(slowestAfter, t1 - t0);
      } catch (err) {
        failed++;
        if (err instanceof PoolCallError && err.mayHaveRun) mayHaveRun++;
      }
    }
  }));
  await killer;
  const within = (from: number, to: number) => done.filter((t) => t >= from && t < to).length;
  const before = within(killAt - 1000, killAt);
  const after = within(killAt, killAt + 1000);
  let worstAfter = Infinity;
  for (let t = killAt; t < killAt + 1000; t += 100) {
    worstAfter = Math.min(worstAfter, within(t, t + 100) * 10);
  }
  return { before, after, worstAfter, slowestBefore, slowestAfter, failed, mayHaveRun };
}

function rate(n: number): string {
  return Math.round(n).toLocaleString("en-US").padStart(7);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  const rounds = Number(Deno.args[1] ?? 3);
  if (!(seconds > 0) || !(rounds >= 1)) {
    console.error(
      "Usage: deno run -A bench/rpc_pool_bench.ts [seconds per stage, default 2] [rounds, default 3]",
    );
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "busrt-pool-bench-" });
  const socket = `${dir}/busrt.sock`;
  const broker = await spawnBrokerProcess(socket);
  const workers: WorkerProcess[] = [];
  const rpc = new RpcClient(await connect(socket, { name: "bench.caller", timeout: 5 }));
  const pools: RpcPool[] = [];
  try {
    // names chosen so that masks pick 1, 2 or all 4 of the same processes
    const names = ["bench.a.a.a", "bench.a.a.b", "bench.a.b.a", "bench.a.b.b"];
    workers.push(...await Promise.all(names.map((n) => WorkerProcess.start(socket, n))));
    const stages: [string, () => Promise<unknown>][] = [
      ["direct rpc.call, 1 member", () => rpc.call("bench.a.a.a", "work", PARAMS)],
    ];
    for (const [n, mask] of [[1, "bench.a.a.a"], [2, "bench.a.a.*"], [4, "bench.a.*"]] as const) {
      const pool = await rpc.pool(mask, { strategy: "round-robin" });
      if (pool.size !== n) throw new Error(`pool ${mask} has ${pool.size} members, expected ${n}`);
      pools.push(pool);
      stages.push([`pool.call round robin, ${n} member${n > 1 ? "s" : ""}`, () => pool.call("work", PARAMS)]);
    }
    // rounds interleave the stages: a noisy moment hits all of them alike
    const results = stages.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < stages.length; i++) results[i].push(await throughput(seconds, stages[i][1]));
    }
    const direct = median(results[0]);
    for (let i = 0; i < stages.length; i++) {
      const m = median(results[i]);
      console.log(
        `${stages[i][0].padEnd(34)} ${rate(m)} calls/s  (${(m / direct).toFixed(2)} × direct; ` +
          `median of ${rounds}: ${results[i].map((x) => Math.round(x)).join(", ")})`,
      );
    }
    const pool = pools[2];
    for (const idempotent of [true, false]) {
      // kill the oldest member, and start another so that the next run has 4 again
      const victim = workers.find((w) => pool.members().some((m) => m.name === w.name))!;
      const r = await killRun(pool, victim, Math.max(2, seconds), idempotent);
      const lost = Math.max(0, r.before - r.after - r.failed);
      console.log(
        `kill -9 of 1 of 4 members, ${idempotent ? "idempotent    " : "non-idempotent"} calls: ` +
          `${rate(r.before)} calls in the second before, ${rate(r.after)} in the second after ` +
          `(${lost} fewer, ${(lost / r.before * 100).toFixed(1)} %; worst 100 ms after at ${
            rate(r.worstAfter)
          } calls/s); ` +
          `${r.failed} failed` + (idempotent ? "" : ` (${r.mayHaveRun} with mayHaveRun)`) +
          `; slowest call ${r.slowestBefore.toFixed(1)} ms before, ${
            r.slowestAfter.toFixed(1)
          } ms around and after`,
      );
      workers.push(await WorkerProcess.start(socket, `bench.a.c.${workers.length}`));
      while (pool.size < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    for (const p of pools) await p.close();
    await rpc.close();
    await Promise.all(workers.map((w) => w.kill()));
    broker.kill("SIGTERM");
    await broker.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
