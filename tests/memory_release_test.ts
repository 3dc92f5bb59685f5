/**
 * Regression (issue #12, item 3): a dropped client's queued bytes are
 * released with its connection, not kept until the listener accepts the
 * next one. Measured in a subprocess with `--expose-gc`.
 *
 * @module
 */
import assert from "node:assert/strict";

const MiB = 1024 * 1024;

Deno.test("memory: a dropped client's queued bytes are released once every client is gone", async () => {
  const probe = new URL("./_drop_memory_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", probe],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `probe failed: ${stderr}`);
  const m = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as {
    baseline: number;
    peak: number;
    after: number;
  };
  // the probe is meaningful only if the queue really held tens of MiB
  assert.ok(m.peak - m.baseline > 32 * MiB, `peak only ${((m.peak - m.baseline) / MiB).toFixed(1)} MiB`);
  assert.ok(
    m.after - m.baseline < 8 * MiB,
    `external memory still ${
      ((m.after - m.baseline) / MiB).toFixed(1)
    } MiB above the baseline after the drop`,
  );
});
