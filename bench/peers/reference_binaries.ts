/**
 * The Rust reference broker `busrtd` and CLI `busrt` (busrt 0.5.6, see
 * `../shared/rustref/README.md`) as benchmark peers, and whether they run here.
 *
 * @module
 */

/** Directory of the reference binaries: `../shared/rustref/bin` next to the checkout. */
export const REFERENCE_BIN_DIR: string = new URL("../../../shared/rustref/bin", import.meta.url).pathname;

/** The reference broker. */
export const BUSRTD: string = `${REFERENCE_BIN_DIR}/busrtd`;

/** The reference CLI (its `benchmark` command drives the second table). */
export const BUSRT_TOOL: string = `${REFERENCE_BIN_DIR}/busrt`;

/** Per-client frame queue given to busrtd: its README advises 1,000,000 for benchmarks. */
export const BUSRTD_QUEUE_SIZE = 1_000_000;

/**
 * Why the reference binaries cannot run here (missing, not executable, wrong
 * architecture), or `null` when both answer `--help`.
 *
 * @example
 * ```ts ignore
 * const why = referenceUnavailable();
 * if (why !== null) console.error(`busrtd skipped: ${why}`);
 * ```
 */
export function referenceUnavailable(): string | null {
  for (const binary of [BUSRTD, BUSRT_TOOL]) {
    try {
      const out = new Deno.Command(binary, { args: ["--help"], stdout: "null", stderr: "null" }).outputSync();
      if (!out.success) return `${binary} --help exited with ${out.code}`;
    } catch (err) {
      return `${binary} cannot run (${err instanceof Error ? err.message : err})`;
    }
  }
  return null;
}

/**
 * The reference version line (`busrtd -V` is not offered: the CLI's `-V`).
 *
 * @example
 * ```ts ignore
 * console.log(referenceVersion()); // "busrt 0.5.6"
 * ```
 */
export function referenceVersion(): string {
  try {
    const out = new Deno.Command(BUSRT_TOOL, { args: ["-V"], stdout: "piped", stderr: "null" }).outputSync();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}
