/**
 * `deno task compile`: builds the self-contained `busrt` binary and checks
 * that what was built is our CLI. `deno compile` embeds the program in Deno's
 * `denort` runtime, which it downloads (or takes from `DENORT_BIN`); given the
 * plain `deno` binary as `DENORT_BIN` it silently produces a file that runs
 * as `deno`, so the build is only accepted when `<output> --version` prints
 * `busrt <version> (BUS/RT protocol v1 …`.
 *
 * Run: deno run --allow-run --allow-read --allow-write --allow-env tools/compile.ts [--output FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";

/**
 * The permissions baked into the binary: network, files and the host name
 * (client names default to it), nothing else (no subprocesses, environment,
 * FFI). Network and file access are not scoped to paths because socket
 * paths, ports and TLS files are chosen at run time; for a fixed deployment
 * run `cli.ts` with scoped `deno run` flags instead (see docs/SECURITY.md).
 */
export const COMPILE_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-sys=hostname",
];

/** What `busrt --version` prints first. */
export const VERSION_LINE: RegExp = /^busrt \d+\.\d+\.\d+ \(BUS\/RT protocol v1/;

/**
 * Compiles `cli.ts` into `output` and checks the result.
 *
 * @param output the binary to write
 * @returns null on success, or why the build failed
 */
export async function compileCli(output: string): Promise<string | null> {
  const root = new URL("../", import.meta.url).pathname;
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...COMPILE_PERMISSIONS, "--output", output, "cli.ts"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!build.success) {
    return `deno compile failed (exit ${build.code}); it needs Deno's denort runtime, downloaded from ` +
      `dl.deno.land or given by DENORT_BIN`;
  }
  const out = `${output.startsWith("/") ? "" : root}${output}`;
  let printed = "";
  try {
    const run = await new Deno.Command(out, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    printed = new TextDecoder().decode(run.stdout).trim() || new TextDecoder().decode(run.stderr).trim();
  } catch (err) {
    printed = err instanceof Error ? err.message : String(err);
  }
  if (VERSION_LINE.test(printed)) return null;
  await Deno.remove(out).catch(() => {});
  const runtime = Deno.env.get("DENORT_BIN");
  return `the built binary is not the busrt CLI: "${output} --version" printed "${
    printed.split("\n")[0]
  }"; ` +
    (runtime
      ? `DENORT_BIN (${runtime}) must be the denort runtime of Deno ${Deno.version.deno} ` +
        `(the binary inside denort-${Deno.build.target}.zip), not the deno command`
      : "the denort runtime deno compile used is not a matching one") +
    `; the binary was removed`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string", default: "dist/busrt" } },
  });
  const problem = await compileCli(values.output!);
  if (problem !== null) {
    console.error(`compile: ${problem}`);
    Deno.exit(1);
  }
  console.log(`compile: ${values.output} built and checked`);
}
