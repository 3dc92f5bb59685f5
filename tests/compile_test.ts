/**
 * `deno task compile` (tools/compile.ts): builds `dist/busrt` with the
 * documented permission set and accepts the build only when the binary runs
 * as our CLI. Compiling needs Deno's `denort` runtime, which is downloaded
 * from dl.deno.land; where it is not cached (or given by DENORT_BIN) the
 * build test is skipped, saying why. The test never probes the network:
 * tests talk only to loopback.
 */
import assert from "node:assert/strict";
import { COMPILE_PERMISSIONS, compileCli } from "../tools/compile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TASK: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.compile;
const RUNTIME_NAME = `denort-${Deno.build.target}.zip`;
const RUNTIME_URL = `https://dl.deno.land/release/v${Deno.version.deno}/${RUNTIME_NAME}`;

/** Why the compile runtime cannot be had, or null when it can. */
async function runtimeUnavailable(): Promise<string | null> {
  if (Deno.env.get("DENORT_BIN")) return null;
  const denoDir = Deno.env.get("DENO_DIR") ?? await denoDirOfInfo();
  if (denoDir !== null) {
    try {
      await Deno.stat(`${denoDir}/dl/release/v${Deno.version.deno}/${RUNTIME_NAME}`);
      return null;
    } catch {
      // not cached
    }
  }
  // no network probe: tests talk only to loopback, so an uncached runtime means skipping
  return `${RUNTIME_URL} is not cached (set DENORT_BIN or cache it with a deno compile run that can reach dl.deno.land)`;
}

async function denoDirOfInfo(): Promise<string | null> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir ?? null;
  } catch {
    return null;
  }
}

const unavailable = await runtimeUnavailable();
if (unavailable !== null) console.error(`compile_test: skipping the build: ${unavailable}`);

Deno.test("the compile task runs tools/compile.ts, whose binary gets network, files and the host name only", () => {
  const words = TASK.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.ok(words.includes("tools/compile.ts"));
  assert.equal(words[words.indexOf("--output") + 1], "dist/busrt");
  assert.deepEqual([...COMPILE_PERMISSIONS].sort(), [
    "--allow-net",
    "--allow-read",
    "--allow-sys=hostname",
    "--allow-write",
  ]);
});

Deno.test("a build whose runtime is the deno command instead of denort is refused and removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-compile-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "tools/compile.ts",
        "--output",
        `${dir}/busrt`,
      ],
      cwd: ROOT,
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, err);
    assert.match(err, /compile: the built binary is not the busrt CLI: .*printed "deno \d/);
    assert.match(err, /DENORT_BIN \(.*\) must be the denort runtime/);
    assert.equal(await Deno.stat(`${dir}/busrt`).catch(() => null), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deno compile produces a binary that runs --version",
  ignore: unavailable !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-compile-" });
    try {
      assert.equal(await compileCli(`${dir}/busrt`), null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
