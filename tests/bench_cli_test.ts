/**
 * The benchmark scripts answer `--help` and bad options like the CLI does:
 * usage and exit 0, or one error line, the usage and exit 2; no stack trace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runScript } from "./_cli_helpers.ts";

for (const script of ["bench/e2e.ts", "bench/peers/compare.ts"]) {
  Deno.test(`${script} --help prints its usage and exits 0`, async () => {
    const r = await runScript(script, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: deno run -A ${script.replace(/[./]/g, "\\$&")}`));
    assert.equal(r.stderr, "");
  });

  Deno.test(`${script} with an unknown option says so in one line and exits 2`, async () => {
    const r = await runScript(script, ["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: Unknown option '--bogus'\n\nUsage: /);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
}
