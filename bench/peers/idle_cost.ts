/**
 * What an idle client costs a server, in one run: our broker and a raw Deno
 * unix socket server (the floor, `idle_server.ts raw`) each get `count` idle
 * clients (`idle_clients.ts`: busrt handshake, a ping every 2 s); for each,
 * the server's memory after a full GC (V8 heap, ArrayBuffers, RSS) before and
 * with the clients, its RSS 1.5 s after the last connect, and its CPU while
 * the clients idle. Servers take turns, round after round; the table shows
 * medians.
 *
 * Run: deno run -A bench/peers/idle_cost.ts [clients, default 10000] [cpu window s, default 10] [servers, default raw,busrt] [rounds, default 1]
 * (a server `busrt@DIR` runs `DIR/bench/peers/idle_server.ts`: another checkout, e.g. a baseline;
 * `busrtd` the Rust reference broker, RSS figures only)
 * (`BUSRT_IDLE_DENO_FLAGS="--cpu-prof --cpu-prof-dir=DIR"` adds flags to the server's `deno run`,
 * `BUSRT_IDLE_V8_FLAGS=--max-semi-space-size=1` V8 flags)
 *
 * @module
 */
import { cpuMicros, memory } from "./proc_stats.ts";
import { measureIdle } from "./idle_probe.ts";
import { ServerProcess } from "./server_process.ts";

const IDLE_SERVER = new URL("./idle_server.ts", import.meta.url).pathname;
/** The Rust reference broker (`../shared/rustref`), measured as a server kind `busrtd` (no GC figures). */
const BUSRTD = new URL("../../../shared/rustref/bin/busrtd", import.meta.url).pathname;
/** The broker timeout of the probe (busrtd's default): NOPs every 2.5 s, clients ping every 2 s. */
const TIMEOUT_S = 5;
const CLIENT_PROCESSES = 4;
let serial = 0;

/** Memory of a server after a full GC. */
interface GcMemory {
  heapUsed: number;
  external: number;
  rss: number;
  /** V8 heap committed. */
  heapTotal: number;
  /** V8 young generation committed. */
  newSpace: number;
}

/** Figures of one server. */
export interface IdleCost {
  /** `raw` or `busrt`. */
  server: string;
  /** Clients connected. */
  clients: number;
  /** After a GC, before any client. */
  before: GcMemory;
  /** After a GC, with the clients connected. */
  after: GcMemory;
  /** RSS 1.5 s after the last connect (no forced GC) minus the RSS before. */
  rssGrowth: number;
  /** Anonymous RSS (not the binary's pages) before the clients, after a GC. */
  anonBefore: number;
  /** Anonymous RSS with the clients, before the GC. */
  anonNoGc: number;
  /** Anonymous RSS with the clients, after a GC. */
  anonAfter: number;
  /** Server CPU while idle, share of one core. */
  cpu: number;
}

async function gcMemory(server: ServerProcess, seq: number): Promise<GcMemory> {
  Deno.kill(server.pid, "SIGUSR1");
  const m = await server.waitForOutput(
    new RegExp(`mem ${seq} (\\d+) (\\d+) (\\d+) (\\w+) (\\d+) (\\d+)`),
    30_000,
  );
  if (m[4] !== "gc") throw new Error("the server has no gc(): run it with --v8-flags=--expose-gc");
  return {
    heapUsed: Number(m[1]),
    external: Number(m[2]),
    rss: Number(m[3]),
    heapTotal: Number(m[5]),
    newSpace: Number(m[6]),
  };
}

/**
 * Measures one server kind.
 *
 * @param kind `raw` or `busrt`
 * @param dir a temp dir for the socket
 * @param count clients
 * @param windowS seconds of CPU sampling
 * @returns its figures
 */
export async function measureIdleCost(
  kind: string,
  dir: string,
  count: number,
  windowS: number,
): Promise<IdleCost> {
  // `busrt@DIR`: the idle_server.ts of another checkout (a baseline in the same run)
  const [serverKind, checkout] = kind.split("@");
  const script = checkout === undefined ? IDLE_SERVER : `${checkout}/bench/peers/idle_server.ts`;
  const path = `${dir}/${++serial}.sock`;
  const v8Flags = Deno.env.get("BUSRT_IDLE_V8_FLAGS") ?? "";
  const reference = kind === "busrtd";
  const server = reference
    ? ServerProcess.spawn("busrtd", BUSRTD, ["-B", path, "-t", String(TIMEOUT_S)])
    : ServerProcess.spawn(`${kind} server`, Deno.execPath(), [
      "run",
      "-A",
      `--v8-flags=--expose-gc${v8Flags === "" ? "" : `,${v8Flags}`}`,
      ...(Deno.env.get("BUSRT_IDLE_DENO_FLAGS") ?? "").split(" ").filter((f) => f !== ""),
      script,
      serverKind,
      path,
      String(TIMEOUT_S),
    ]);
  // the reference has no GC: its figures are its RSS only
  const memoryNow = (seq: number) =>
    reference
      ? Promise.resolve({
        heapUsed: NaN,
        external: NaN,
        rss: memory(server.pid).rss,
        heapTotal: NaN,
        newSpace: NaN,
      })
      : gcMemory(server, seq);
  try {
    if (reference) await server.waitForConnect({ transport: "unix", path });
    else await server.waitForOutput(/ready/);
    await new Promise((r) => setTimeout(r, 500));
    const before = await memoryNow(1);
    const anonBefore = anonRss(server.pid);
    let after = before;
    let anonNoGc = NaN;
    let anonAfter = NaN;
    let cpu = NaN;
    const r = await measureIdle(kind, "busrt", path, server.pid, count, CLIENT_PROCESSES, async () => {
      anonNoGc = anonRss(server.pid);
      const c0 = cpuMicros(server.pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, windowS * 1000));
      cpu = (cpuMicros(server.pid) - c0) / ((performance.now() - t0) * 1000);
      after = await memoryNow(2);
      anonAfter = anonRss(server.pid);
    });
    if (r.error !== null) throw new Error(`${kind}: ${r.error}`);
    return {
      server: kind,
      clients: r.connections,
      before,
      after,
      rssGrowth: r.rss - before.rss,
      anonBefore,
      anonNoGc,
      anonAfter,
      cpu,
    };
  } finally {
    await server.stop();
  }
}

/** Anonymous resident memory of a process (RssAnon: heap, stacks; not the mapped binary), bytes. */
function anonRss(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^RssAnon:\s+(\d+) kB/m);
  return m === null ? NaN : Number(m[1]) * 1024;
}

/** The per-client figures of one measurement, in the table's column order (KiB, then CPU %). */
function figures(r: IdleCost): number[] {
  const kib = (bytes: number) => bytes / r.clients / 1024;
  return [
    kib(r.after.heapUsed - r.before.heapUsed),
    r.after.newSpace / 2 ** 20,
    kib(r.after.external - r.before.external),
    kib(r.rssGrowth),
    kib(r.anonNoGc - r.anonBefore),
    kib(r.anonAfter - r.anonBefore),
    r.cpu * 100,
  ];
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The markdown table of a run: one row per server, the median of its
 * measurements (rounds) in each column.
 *
 * @param rows the measurements
 * @param windowS the CPU window
 * @returns the table
 */
export function idleCostTable(rows: IdleCost[], windowS: number): string {
  const out = [
    `| server | clients | rounds | heap used/client (GC) | young gen (GC) | ArrayBuffers/client (GC) | RSS/client | anon RSS/client | anon RSS/client (GC) | idle CPU (${windowS} s) |`,
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  const servers = [...new Set(rows.map((r) => r.server))];
  for (const server of servers) {
    const mine = rows.filter((r) => r.server === server);
    const f = mine.map(figures);
    const col = (i: number) => median(f.map((x) => x[i]));
    const units = [" KiB", " MiB", " KiB", " KiB", " KiB", " KiB", " %"];
    const cells = units.map((u, i) => Number.isNaN(col(i)) ? "–" : `${col(i).toFixed(i === 6 ? 1 : 2)}${u}`);
    out.push(
      `| ${server} | ${Math.min(...mine.map((r) => r.clients)).toLocaleString("en")} | ${mine.length} | ${
        cells.join(" | ")
      } |`,
    );
  }
  return out.join("\n");
}

function openFilesLimit(): number {
  const out = new Deno.Command("bash", { args: ["-c", "ulimit -Hn"] }).outputSync();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 10_000);
  const windowS = Number(Deno.args[1] ?? 10);
  const kinds = (Deno.args[2] ?? "raw,busrt").split(",");
  const rounds = Number(Deno.args[3] ?? 1);
  const limit = openFilesLimit();
  if (limit < count + 256) {
    console.error(`the hard open-files limit (${limit}) is too low for ${count} connections in one server`);
    Deno.exit(1);
  }
  const dir = await Deno.makeTempDir({ prefix: "busrt-idle-cost-" });
  const rows: IdleCost[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const kind of kinds) {
        const r = await measureIdleCost(kind, dir, count, windowS);
        console.error(`${kind}: ${JSON.stringify(r)}`);
        console.error(idleCostTable([r], windowS).split("\n")[2]);
        rows.push(r);
      }
    }
    console.log(idleCostTable(rows, windowS));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
