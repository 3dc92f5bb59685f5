/**
 * RPC benchmark: a broker with core RPC in another process, callers and a
 * handler in this one, 100-byte params, over a unix socket.
 *
 * Stages: `rpc.call` (`.broker` `benchmark.test`), `rpc.call+handle` (a
 * handler client echoing the params), `rpc.call0` (to the handler, resolved
 * on the broker's ACK); each sequentially (one in flight) and with 32 in flight.
 *
 * Run: deno run -A bench/rpc_bench.ts [seconds per stage, default 2] [stage name filter]
 * Profile the client side: deno run -A --cpu-prof bench/rpc_bench.ts; the broker
 * process gets extra Deno flags from `RPC_BENCH_BROKER_FLAGS` (e.g. `--cpu-prof`);
 * `RPC_BENCH_IN_FLIGHT=32` runs only the given in-flight counts.
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { spawnBrokerProcess } from "./broker_process.ts";

const PARAMS_SIZE = 100;
const IN_FLIGHT = 32;

/** One measured stage. */
interface StageResult {
  stage: string;
  inFlight: number;
  calls: number;
  seconds: number;
  perSecond: number;
}

/** Runs `op` with `inFlight` concurrent loops for about `seconds`; returns calls/s. */
async function measure(
  stage: string,
  inFlight: number,
  seconds: number,
  op: () => Promise<unknown>,
): Promise<StageResult> {
  // warm up the JIT and the buffers
  const warmUntil = performance.now() + 200;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < warmUntil) await op();
  }));
  let calls = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    // check the clock every 64 calls only: performance.now() is not free
    for (;;) {
      for (let i = 0; i < 64; i++) await op();
      calls += 64;
      if (performance.now() >= until) return;
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  return { stage, inFlight, calls, seconds: elapsed, perSecond: calls / elapsed };
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  const filter = Deno.args[1] ?? "";
  const inFlightCounts = (Deno.env.get("RPC_BENCH_IN_FLIGHT") ?? `1,${IN_FLIGHT}`).split(",").map(Number);
  const dir = await Deno.makeTempDir({ prefix: "busrt-rpc-bench-" });
  const path = `${dir}/busrt.sock`;
  const broker = await spawnBrokerProcess(
    path,
    (Deno.env.get("RPC_BENCH_BROKER_FLAGS") ?? "").split(" ").filter(Boolean),
  );
  try {
    const handler = new RpcClient(await connect(path, { name: "bench.handler", timeout: 5 }), {
      handlers: { onCall: (call) => call.method === "echo" ? call.params : undefined },
    });
    const caller = new RpcClient(await connect(path, { name: "bench.caller", timeout: 5 }));
    const params = new Uint8Array(PARAMS_SIZE).fill(0x5a);
    const stages: [string, () => Promise<unknown>][] = [
      ["rpc.call", () => caller.call(".broker", "benchmark.test", params)],
      ["rpc.call+handle", () => caller.call("bench.handler", "echo", params)],
      ["rpc.call0", () => caller.call0("bench.handler", "noop", params)],
    ];
    const results: StageResult[] = [];
    for (const [stage, op] of stages) {
      if (!stage.includes(filter)) continue;
      for (const inFlight of inFlightCounts) {
        const r = await measure(stage, inFlight, seconds, op);
        results.push(r);
        console.log(
          `${stage.padEnd(16)} ${String(inFlight).padStart(2)} in flight  ` +
            `${Math.round(r.perSecond).toLocaleString("en-US").padStart(9)} calls/s  (${r.calls} calls)`,
        );
      }
    }
    await caller.close();
    await handler.close();
  } finally {
    broker.kill("SIGTERM");
    await broker.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
