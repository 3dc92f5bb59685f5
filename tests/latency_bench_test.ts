/**
 * Smoke run of bench/latency_bench.ts: every target (raw ping-pong, raw
 * relay, our RPC through our broker and through `busrtd`) completes a few
 * round trips, with the echoing side in this process and in its own, and
 * prints a row of figures each; `--help` and bad options as the other
 * benchmark scripts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { REFERENCE_UNAVAILABLE } from "./_reference.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = "bench/latency_bench.ts";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

const TARGETS = [
  "raw ping-pong",
  "raw relay",
  "rpc (ours)",
  ...(REFERENCE_UNAVAILABLE === null ? ["rpc (busrtd)"] : []),
];

for (const handler of ["same", "process"]) {
  Deno.test(`${SCRIPT} measures every target (echoing side: ${handler})`, async () => {
    const only = REFERENCE_UNAVAILABLE === null ? [] : ["--only", "raw,ours"];
    const r = await run(["--rounds", "1", "--calls", "200", "--qos", "3", "--handler", handler, ...only]);
    assert.equal(r.code, 0, r.err);
    const rows = r.out.split("\n").filter((l) => TARGETS.some((t) => l.startsWith(t)));
    assert.deepEqual(rows.map((l) => TARGETS.find((t) => l.startsWith(t))), TARGETS, r.out);
    for (const row of rows) {
      // p50, p90, p99, round trips/s, ratio, CPU: numbers, the latencies positive
      const cells = row.slice(15).trim().split(/\s+/);
      assert.equal(cells.length, 7, row);
      assert.ok(cells.every((c) => Number.isFinite(Number(c.replace(/,/g, "")))), row);
      assert.ok(Number(cells[0]) > 0 && Number(cells[0]) <= Number(cells[2]), row);
    }
  });
}

Deno.test(`${SCRIPT} --help prints its usage; an unknown option exits 2`, async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: deno run -A bench\/latency_bench\.ts/);
  const bad = await run(["--bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^error: Unknown option '--bogus'/);
});
