/**
 * The real `promtool check metrics` (Debian package `prometheus`) for tests
 * of `/metrics`: found where Debian puts it, fed a text on stdin.
 *
 * @module
 */

/** @returns the path of promtool, or null when it is not installed (the check is then skipped) */
export async function findPromtool(): Promise<string | null> {
  for (const path of ["/usr/bin/promtool", "/usr/local/bin/promtool"]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * Runs `promtool check metrics` on an exposition text.
 *
 * @param promtool the promtool path
 * @param metrics the text
 * @returns the exit code and what promtool printed (empty when there is nothing to say)
 */
export async function promtoolCheck(
  promtool: string,
  metrics: string,
): Promise<{ code: number; report: string }> {
  const child = new Deno.Command(promtool, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(metrics));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    report: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}
