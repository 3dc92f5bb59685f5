/**
 * `deno task compile`: the task builds `dist/busrt` with least-privilege
 * flags, and the binary runs. Compiling needs Deno's `denort` runtime, which
 * is downloaded from dl.deno.land; where it is not cached (or given by
 * DENORT_BIN) the build test is skipped, saying why. The test never probes
 * the network: tests talk only to loopback.
 */
import assert from "node:assert/strict";

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

Deno.test("the compile task builds dist/busrt from cli.ts with least-privilege flags", () => {
  const words = TASK.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "compile"]);
  assert.equal(words.at(-1), "cli.ts");
  assert.equal(words[words.indexOf("--output") + 1], "dist/busrt");
  assert.ok(!words.includes("-A") && !words.includes("--allow-all"), `no blanket permissions in "${TASK}"`);
  for (const w of words.filter((w) => w.startsWith("--allow-"))) {
    assert.match(w, /^--allow-(read|write|net|sys=hostname)$/, `unexpected permission flag "${w}"`);
  }
});

Deno.test({
  name: "deno compile produces a binary that runs --version",
  ignore: unavailable !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-compile-" });
    try {
      const args = TASK.split(/\s+/).slice(1).map((w) => w === "dist/busrt" ? `${dir}/busrt` : w);
      const build = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
      const run = await new Deno.Command(`${dir}/busrt`, {
        args: ["--version"],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      assert.match(new TextDecoder().decode(run.stdout), /^busrt \d+\.\d+\.\d+ \(BUS\/RT protocol v1/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
