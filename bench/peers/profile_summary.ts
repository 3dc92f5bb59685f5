/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the functions
 * with the most self time, with their share of all samples.
 *
 * Run: deno run -A bench/peers/profile_summary.ts <file.cpuprofile | dir> [top]
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time of one function (all its nodes together). */
export interface SelfTime {
  /** `name (file:line)`. */
  name: string;
  /** Self time in ms. */
  ms: number;
  /** Share of the busy (non-idle) sampled time, 0..1. */
  share: number;
}

/**
 * Aggregates self time per function from a parsed profile, largest first;
 * `(idle)` is left out and shares are of the busy time.
 *
 * @example
 * ```ts ignore
 * const top = summarizeProfile(JSON.parse(await Deno.readTextFile(path)));
 * console.log(top[0].name, top[0].share);
 * ```
 */
export function summarizeProfile(profile: CpuProfile): SelfTime[] {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // time attributed to a sample is the delta to the next one
    for (let i = 0; i < samples.length; i++) {
      const d = deltas[i + 1] ?? 0;
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, d));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  let total = 0;
  const byName = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^file:\/\/.*?\/(broker|protocol|client|bench|rpc)\//, "$1/");
    const name = `${f.functionName || "(anonymous)"}${file ? ` (${file}:${f.lineNumber + 1})` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + us);
    if (f.functionName !== "(idle)") total += us;
  }
  return [...byName.entries()]
    .filter(([name]) => name !== "(idle)")
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * The newest `.cpuprofile` file in a directory, or null.
 *
 * @example
 * ```ts ignore
 * const file = await newestProfile("/tmp/prof");
 * ```
 */
export async function newestProfile(dir: string): Promise<string | null> {
  let best: { path: string; mtime: number } | null = null;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".cpuprofile")) continue;
    const path = `${dir}/${e.name}`;
    const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    if (best === null || mtime > best.mtime) best = { path, mtime };
  }
  return best?.path ?? null;
}

/**
 * Formats the top entries as a markdown table.
 *
 * @example
 * ```ts ignore
 * console.log(formatSelfTimes(summarizeProfile(profile), 20));
 * ```
 */
export function formatSelfTimes(entries: SelfTime[], top: number): string {
  const lines = ["| % of busy | self ms | function |", "|---:|---:|---|"];
  for (const e of entries.slice(0, top)) {
    lines.push(
      `| ${(e.share * 100).toFixed(1)} | ${e.ms.toFixed(0)} | \`${e.name.replaceAll("|", "\\|")}\` |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const arg = Deno.args[0];
  if (arg === undefined) {
    console.error("usage: profile_summary.ts <file.cpuprofile | dir> [top]");
    Deno.exit(2);
  }
  const path = (await Deno.stat(arg)).isDirectory ? await newestProfile(arg) : arg;
  if (path === null) {
    console.error(`no .cpuprofile in "${arg}"`);
    Deno.exit(1);
  }
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  console.log(`${path}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled\n`);
  console.log(formatSelfTimes(summarizeProfile(profile), Number(Deno.args[1] ?? 25)));
}
