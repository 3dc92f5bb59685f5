/**
 * A smoke run of `bench/large_payload.ts`: our broker with owned and borrowed
 * payloads and busrtd, 1 MiB, one short round; the table, the goals and the
 * markdown page come out, with a figure for every target (every payload of a
 * cell is verified, so a figure means nothing was lost or damaged).
 *
 * @module
 */
import assert from "node:assert/strict";
import { runScript } from "./_cli_helpers.ts";
import { REFERENCE_UNAVAILABLE } from "./_reference.ts";

const BENCH = "bench/large_payload.ts";

Deno.test({
  name: "bench/large_payload.ts measures owned and borrowed payloads against busrtd and writes its page",
  ignore: REFERENCE_UNAVAILABLE !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-lp-smoke-" });
    try {
      const page = `${dir}/LARGE_PAYLOADS.md`;
      const out = await runScript(BENCH, [
        "--sizes",
        "1048576",
        "--rounds",
        "1",
        "--cap-ms",
        "300",
        "--only",
        "busrt-unix,busrt-borrowed-unix,busrtd-unix,busrtd-borrowed-unix",
        "--markdown",
        page,
      ]);
      const text = out.stdout;
      assert.equal(out.code, 0, `${text}\n${out.stderr}`);
      for (
        const label of ["busrt (unix)", "busrt (unix), borrowed", "busrtd (unix)", "busrtd (unix), borrowed"]
      ) {
        // a row with a rate (a failed cell prints "failed: …" instead)
        assert.match(
          text,
          new RegExp(`\\| 1 MiB \\| ${label.replace(/[()]/g, "\\$&")} \\| [\\d,]+ \\| `),
          label,
        );
      }
      assert.match(
        text,
        /\| 1→1 over unix ≥ 3 GB\/s \(borrowed\) \| 1 MiB \| \d+\.\d\d GB\/s \| (yes|\*\*no\*\*) \|/,
      );
      assert.match(text, /\| ≥ busrtd, same client \(owned\) \| 1 MiB \| \d+\.\d\d× \|/);
      const markdown = await Deno.readTextFile(page);
      assert.match(markdown, /^# Large payloads: 1→1 over unix sockets/);
      assert.match(markdown, /\| 1 MiB \| busrt \(unix\), borrowed \| [\d,]+ \|/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
