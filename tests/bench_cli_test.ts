/**
 * The benchmark scripts answer `--help` and bad options like the CLI does:
 * usage and exit 0, or one error line, the usage and exit 2; no stack trace.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

async function runScript(
  script: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

for (const script of ["bench/e2e.ts", "bench/peers/compare.ts"]) {
  Deno.test(`${script} --help prints its usage and exits 0`, async () => {
    const r = await runScript(script, ["--help"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^Usage: deno run -A ${script.replace(/[./]/g, "\\$&")}`));
    assert.equal(r.err, "");
  });

  Deno.test(`${script} with an unknown option says so in one line and exits 2`, async () => {
    const r = await runScript(script, ["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: Unknown option '--bogus'\n\nUsage: /);
    assert.doesNotMatch(r.err, /^\s+at /m);
  });
}
