/**
 * Command-line handling shared by the benchmark scripts: `--help`/`-h`
 * prints the usage and exits 0; a bad option prints one line and the usage
 * and exits 2 (no stack trace).
 *
 * @module
 */

/**
 * Parses the script's arguments with `parse`, handling help and errors.
 *
 * @example Parse options of a benchmark script
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "node:util";
 * import { benchArgs } from "./bench_args.ts";
 * const values = benchArgs("Usage: x [--rounds N]", () =>
 *   parseArgs({ args: ["--rounds", "2"], options: { rounds: { type: "string" } } }).values);
 * assert.equal(values.rounds, "2");
 * ```
 *
 * @param usage the usage text
 * @param parse parses `Deno.args` (e.g. with `node:util` `parseArgs`), throwing on bad input
 * @returns what `parse` returned
 */
export function benchArgs<T>(usage: string, parse: () => T): T {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    return parse();
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    Deno.exit(2);
  }
}
