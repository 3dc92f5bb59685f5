import assertStrict from "node:assert/strict";
import { assert, assertEquals } from "./_assert.ts";
import { Broker } from "../broker/mod.ts";
import { type BusClient, connect, type OpResult } from "../client/mod.ts";
import { BENCHMARK_STAGES, runBenchmark } from "../cli/benchmark.ts";
import { RPC_STAGE_DEFINITIONS } from "../cli/benchmark_rpc_stages.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { RpcKind } from "../rpc/payload.ts";

Deno.test("runBenchmark() completes every stage and routes the frames it reports", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  const path = `${dir}/b.sock`;
  await broker.serveUnix(path);
  try {
    const before = broker.stats();
    const progress = new Map<string, number>();
    const results = await runBenchmark({
      name: "bench",
      workers: 2,
      iterations: 4000,
      window: 512,
      connect: (name) => connect(path, { name }),
      onProgress: (stage, done) => progress.set(stage, done),
    });
    assertEquals(results.map((r) => r.stage), [...BENCHMARK_STAGES]);
    for (const r of results) {
      assertEquals(r.iterations, 4000);
      assert(r.rate > 0 && Number.isFinite(r.rate), `rate of ${r.stage}`);
      assertEquals(progress.get(r.stage), 4000, `progress of ${r.stage}`);
    }
    const after = broker.stats();
    // three stages deliver their 4000 frames each; the two send.* stages go to an unknown target
    assert(after.w_frames - before.w_frames >= 3 * 4000, "deliveries counted by the broker");
    assert(after.r_frames - before.r_frames >= 5 * 4000, "frames received by the broker");
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench/e2e.ts measures the broker and the relay ceiling in one run", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../bench/e2e.ts", import.meta.url).pathname,
      "--iterations",
      "3000",
      "--rounds",
      "1",
      "--stages",
      "send+recv.qos.no,send->recv.qos.no",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  for (const stage of ["send+recv.qos.no", "send->recv.qos.no"]) {
    const line = text.split("\n").find((l) => l.startsWith(stage));
    assert(line !== undefined, `row for ${stage} in:\n${text}`);
    assert(/\d[\d,]* +\d[\d,]* +\d+\.\d\d$/.test(line!.trim()), `broker, relay and ratio in "${line}"`);
  }
});

/**
 * A client whose acknowledged sends (RPC replies aside: a handler's reply is
 * not an operation of the worker) are counted while they wait for their ACK.
 */
function countingInFlight(client: BusClient, stats: { now: number; max: number }): BusClient {
  return new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== "send") return typeof value === "function" ? value.bind(target) : value;
      return (...args: Parameters<BusClient["send"]>) => {
        const acked = (target.send as (...a: unknown[]) => OpResult)(...args);
        const payload = args[1];
        const reply = payload instanceof Uint8Array &&
          (payload[0] === RpcKind.Reply || payload[0] === RpcKind.Error);
        if (acked === undefined || reply) return acked;
        stats.max = Math.max(stats.max, ++stats.now);
        const done = () => void stats.now--;
        acked.then(done, done);
        return acked;
      };
    },
  });
}

Deno.test("sequential mode keeps one acknowledged frame or call in flight per worker; pipelined keeps many", async () => {
  const broker = new Broker();
  enableCoreRpc(broker);
  try {
    for (const mode of ["sequential", "pipelined"] as const) {
      const stats = { now: 0, max: 0 };
      const results = await runBenchmark({
        name: `bench.${mode}`,
        mode,
        iterations: 3000,
        stages: ["send.qos.processed", "send+recv.qos.processed", "rpc.call", "rpc.call+handle", "rpc.call0"],
        extraStages: RPC_STAGE_DEFINITIONS,
        connect: (name) => Promise.resolve(countingInFlight(broker.registerClient(name), stats)),
      });
      assertEquals(results.length, 5);
      if (mode === "sequential") assertEquals(stats.max, 1, "at most one ACK awaited at a time");
      else assert(stats.max > 100, `pipelined kept ${stats.max} in flight`);
    }
  } finally {
    await broker.close();
  }
});

Deno.test("workers keep one connection per family of stages: registered once for the message stages, once for the RPC stages", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  const path = `${dir}/b.sock`;
  await broker.serveUnix(path);
  const names: string[] = [];
  try {
    await runBenchmark({
      name: "keep",
      workers: 2,
      iterations: 2000,
      stages: ["send.qos.no", "send.qos.processed", "send+recv.qos.no", "rpc.call", "rpc.call0"],
      extraStages: RPC_STAGE_DEFINITIONS,
      connect: (name) => {
        names.push(name);
        return connect(path, { name });
      },
    });
    assertEquals(names, ["keep-1", "keep-2", "keep-1", "keep-2"]);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the rpc.call echo check compares contents, not only lengths", async () => {
  const broker = new Broker();
  enableCoreRpc(broker, {
    methods: { "benchmark.test": (call) => call.params.map((b) => b ^ 1) }, // same length, other bytes
  });
  try {
    await assertStrict.rejects(
      runBenchmark({
        name: "echo",
        iterations: 10,
        stages: ["rpc.call"],
        extraStages: RPC_STAGE_DEFINITIONS,
        connect: (name) => Promise.resolve(broker.registerClient(name)),
      }),
      /returned 100 bytes that differ from the 100 bytes sent/,
    );
  } finally {
    await broker.close();
  }
});
