import { assert, assertEquals } from "./_assert.ts";
import { Broker } from "../broker/mod.ts";
import { connect } from "../client/mod.ts";
import { BENCHMARK_STAGES, runBenchmark } from "../cli/benchmark.ts";

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
