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
import { runScript } from "./_cli_helpers.ts";
import { REFERENCE_UNAVAILABLE } from "./_reference.ts";

const SCRIPT = "bench/latency_bench.ts";

const TARGETS = [
  "raw ping-pong",
  "raw relay",
  "rpc (ours)",
  ...(REFERENCE_UNAVAILABLE === null ? ["rpc (busrtd)"] : []),
];

for (const handler of ["same", "process"]) {
  Deno.test(`${SCRIPT} measures every target (echoing side: ${handler})`, async () => {
    const only = REFERENCE_UNAVAILABLE === null ? [] : ["--only", "raw,ours"];
    const r = await runScript(SCRIPT, [
      "--rounds",
      "1",
      "--calls",
      "200",
      "--qos",
      "3",
      "--handler",
      handler,
      ...only,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split("\n").filter((l) => TARGETS.some((t) => l.startsWith(t)));
    assert.deepEqual(rows.map((l) => TARGETS.find((t) => l.startsWith(t))), TARGETS, r.stdout);
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
  const help = await runScript(SCRIPT, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno run -A bench\/latency_bench\.ts/);
  const bad = await runScript(SCRIPT, ["--bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Unknown option '--bogus'/);
});
