/**
 * The published form of a run: the markdown report (docs/PERFORMANCE.md)
 * and the panels of its SVG chart (docs/performance.svg).
 *
 * @module
 */
import { type Bar, barChartSvg, type ChartPanel, formatCompact } from "./chart.ts";
import type { CellResult, Row } from "./cells.ts";
import { formatSize } from "./cells.ts";
import type { Environment } from "./environment.ts";
import type { IdleResult } from "./idle_probe.ts";
import type { Family } from "./target.ts";
import { median } from "./reference_tool.ts";
import { renderToolSection, toolChartPanels, toolGoals, type ToolReport } from "./tool_report.ts";

/** Where the payload sweep sends readers for large payloads (a page of its own bench). */
const LARGE_PAYLOAD_LINK = "Payloads of 1 MiB and 16 MiB, with our client owning or borrowing them " +
  "(`largePayloads`), against `busrtd` and Redis: [LARGE_PAYLOADS.md](LARGE_PAYLOADS.md) " +
  "(`bench/large_payload.ts`, a run of its own).";
/** A target as the report describes it. */
export interface TargetInfo {
  /** Target id. */
  id: string;
  /** Label. */
  label: string;
  /** Server family. */
  family: Family;
  /** How request/reply is done on it. */
  requestReplyMethod: string;
}

/** Everything a report is made from. */
export interface RunReport {
  /** `full`, `quick` or `smoke`. */
  mode: string;
  /** Rounds per cell. */
  rounds: number;
  /** ISO time the run started. */
  startedAt: string;
  /** Wall time of the whole run. */
  durationSeconds: number;
  /** Machine and versions. */
  env: Environment;
  /** Load average at the end. */
  loadAtEnd: string;
  /** Time cap of a timed cell, ms. */
  capMs: number;
  /** Flow-control window (messages / bytes). */
  window: { messages: number; bytes: number };
  /** Rows run. */
  rows: Row[];
  /** Targets run, in column order. */
  targets: TargetInfo[];
  /** Every cell of every round. */
  cells: CellResult[];
  /** Idle-connection tests. */
  idle: IdleResult[];
  /** Extra notes (e.g. how our request/reply was done). */
  notes: string[];
  /** The `busrt benchmark` table against our broker and busrtd, when run. */
  tool?: ToolReport;
  /** Why busrtd was left out, when it was. */
  referenceSkipped?: string | null;
}

/** The target every ratio is taken against ("ours"). */
export const OURS = "busrt-unix";

const COLORS: Record<Family, string> = {
  busrt: "#2563eb",
  busrtd: "#ea580c",
  relay: "#94a3b8",
  nats: "#16a34a",
  redis: "#dc2626",
  mqtt: "#9333ea",
};

/**
 * The best round (highest rate, no error) of each cell, keyed `row/target`.
 *
 * @example
 * ```ts ignore
 * const best = bestCells(report.cells).get("1to1/busrt-unix");
 * ```
 */
export function bestCells(cells: CellResult[]): Map<string, CellResult> {
  const best = new Map<string, CellResult>();
  for (const c of cells) {
    const key = `${c.row}/${c.target}`;
    const prev = best.get(key);
    if (
      prev === undefined || (prev.error !== null && c.error === null) ||
      (c.error === null && c.rate > prev.rate)
    ) {
      best.set(key, c);
    }
  }
  return best;
}

/** Median figures of a cell over its successful rounds. */
export interface MedianCell {
  /** Median rate. */
  rate: number;
  /** Median server CPU per routed message, µs. */
  serverCpuUsPerMsg: number;
  /** Successful rounds. */
  rounds: number;
}

/**
 * The median over successful rounds of each cell, keyed `row/target`.
 *
 * @example
 * ```ts ignore
 * const m = medianCells(report.cells).get("1to1/busrtd-unix");
 * ```
 */
export function medianCells(cells: CellResult[]): Map<string, MedianCell> {
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    if (c.error !== null) continue;
    const key = `${c.row}/${c.target}`;
    groups.set(key, [...groups.get(key) ?? [], c]);
  }
  const out = new Map<string, MedianCell>();
  for (const [key, list] of groups) {
    out.set(key, {
      rate: median(list.map((c) => c.rate)),
      serverCpuUsPerMsg: median(list.map((c) => c.serverCpuUsPerMsg)),
      rounds: list.length,
    });
  }
  return out;
}

/** The reference broker's target id. */
export const REFERENCE_TARGET = "busrtd-unix";

/**
 * The goals against busrtd (medians, same client): throughput ≥ 2× on
 * 1→1, 8→1 and fan-out, broker CPU per message ≤ 1/3 of busrtd's.
 */
function referenceGoals(report: RunReport): GoalCheck[] {
  const medians = medianCells(report.cells);
  const checks: GoalCheck[] = [];
  const rows = ["1to1", "8to1", "fanout"].map((id) => ({
    id,
    title: report.rows.find((r) => r.id === id)?.title ?? id,
  }));
  for (const { id, title } of rows) {
    const ours = medians.get(`${id}/${OURS}`);
    const ref = medians.get(`${id}/${REFERENCE_TARGET}`);
    const goal = `${title}: busrt (unix) ≥ 2 × busrtd (unix), same client, medians`;
    if (!ours || !ref) {
      checks.push({ goal, measured: report.referenceSkipped ?? "not measured", met: null });
      continue;
    }
    const r = ours.rate / ref.rate;
    checks.push({
      goal,
      measured: `${r.toFixed(2)} × (${formatRate(ours.rate)} vs ${formatRate(ref.rate)} /s)`,
      met: r >= 2,
    });
  }
  for (const { id, title } of rows) {
    const ours = medians.get(`${id}/${OURS}`);
    const ref = medians.get(`${id}/${REFERENCE_TARGET}`);
    const goal = `${title}: broker CPU per message ≤ 1/3 of busrtd's, medians`;
    if (!ours || !ref) {
      checks.push({ goal, measured: report.referenceSkipped ?? "not measured", met: null });
      continue;
    }
    const r = ours.serverCpuUsPerMsg / ref.serverCpuUsPerMsg;
    if (!Number.isFinite(r) || !(ref.serverCpuUsPerMsg > 0)) {
      checks.push({ goal, measured: "too little CPU time to divide (run longer)", met: null });
      continue;
    }
    checks.push({
      goal,
      measured: `${r.toFixed(2)} × (${ours.serverCpuUsPerMsg.toFixed(2)} vs ${
        ref.serverCpuUsPerMsg.toFixed(2)
      } µs)`,
      met: r <= 1 / 3,
    });
  }
  return checks;
}

/** One goal of the issue and whether the run meets it. */
export interface GoalCheck {
  /** What is required. */
  goal: string;
  /** What was measured. */
  measured: string;
  /** true: met, false: missed, null: not measured. */
  met: boolean | null;
}

/**
 * Checks the goals against the best cells and the idle test.
 *
 * @example
 * ```ts ignore
 * for (const g of checkGoals(report)) console.log(g.goal, g.met);
 * ```
 */
export function checkGoals(report: RunReport): GoalCheck[] {
  const best = bestCells(report.cells);
  const checks: GoalCheck[] = [...referenceGoals(report), ...toolGoals(report.tool)];
  const ratioGoal = (row: string, title: string, min: number) => {
    const ours = best.get(`${row}/${OURS}`);
    const nats = best.get(`${row}/nats-tcp`);
    if (!ours || !nats || ours.error || nats.error) {
      checks.push({
        goal: `${title}: busrt (unix) ≥ ${min.toFixed(1)} × nats-server`,
        measured: "not measured",
        met: null,
      });
      return;
    }
    const ratio = ours.rate / nats.rate;
    checks.push({
      goal: `${title}: busrt (unix) ≥ ${min.toFixed(1)} × nats-server`,
      measured: `${ratio.toFixed(2)} × (${formatRate(ours.rate)} vs ${formatRate(nats.rate)} /s)`,
      met: ratio >= min,
    });
  };
  ratioGoal("1to1", "1→1", 1.5);
  ratioGoal("8to1", "8→1", 1.5);
  ratioGoal("fanout", "fan-out 1→8", 1.0);
  ratioGoal("reqrep1", "request/reply sequential", 1.0);
  ratioGoal("reqrep32", "request/reply 32 in flight", 1.0);
  for (const row of ["1to1", "fanout", "8to1"]) {
    const ours = best.get(`${row}/${OURS}`);
    const title = report.rows.find((r) => r.id === row)?.title ?? row;
    checks.push({
      goal: `broker CPU ≤ 1 µs per routed 100-byte message (${title}, unix)`,
      measured: ours && !ours.error ? `${ours.serverCpuUsPerMsg.toFixed(2)} µs` : "not measured",
      met: ours && !ours.error ? ours.serverCpuUsPerMsg <= 1 : null,
    });
  }
  const idle = report.idle.find((i) => i.target === OURS);
  checks.push({
    goal: "10,000 idle clients: broker RSS < 200 MB",
    measured: idle && !idle.error
      ? `${formatMb(idle.rss)} with ${idle.connections.toLocaleString("en")} clients (${
        formatMb(idle.baselineRss)
      } idle)`
      : "not measured",
    met: idle && !idle.error ? idle.rss < 200e6 && idle.connections >= 10_000 : null,
  });
  return checks;
}

function formatRate(v: number): string {
  return Math.round(v).toLocaleString("en");
}

function formatMb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)} MB` : "–";
}

function fixed(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function unitOf(row: Row): string {
  if (row.kind === "request") return "req/s";
  if (row.kind === "connect") return "conn/s";
  return "msg/s";
}

/**
 * The markdown of docs/PERFORMANCE.md.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("docs/PERFORMANCE.md", renderMarkdown(report));
 * ```
 */
export function renderMarkdown(report: RunReport): string {
  const best = bestCells(report.cells);
  const env = report.env;
  const out: string[] = [];
  out.push("# Performance: busrt-deno against the brokers users would pick instead", "");
  out.push(
    `Generated by \`deno task bench:peers\` (\`bench/peers/compare.ts\`, mode \`${report.mode}\`) on ${report.startedAt}, ` +
      `in ${
        report.durationSeconds.toFixed(0)
      } s. Every figure below comes from this one run; each cell is the best of ` +
      `${report.rounds} interleaved round${
        report.rounds > 1 ? "s" : ""
      }. Ratios are busrt over unix (“ours”) divided by the other target; the goals against \`busrtd\` (the Rust ` +
      `reference broker) use the median of the rounds instead of the best. The machine is shared and noisy ` +
      `(other work runs at the same time): compare ratios within this run, not absolute figures across runs.`,
    "",
  );
  out.push("![Throughput per workload](performance.svg)", "");
  out.push(...readingNotes(best), "");
  out.push("## Goals", "", "| goal | measured | met |", "|---|---|:-:|");
  for (const g of checkGoals(report)) {
    out.push(`| ${g.goal} | ${g.measured} | ${g.met === null ? "–" : g.met ? "yes" : "**no**"} |`);
  }
  out.push("");

  out.push("## Machine and versions", "");
  out.push(
    `- CPU: ${env.cpuModel}, ${env.cpus} cores (nproc); memory ${
      (env.memoryBytes / 2 ** 30).toFixed(1)
    } GiB; Linux ${env.kernel}`,
  );
  out.push(
    `- Load average (1/5/15 min) at start ${env.loadAtStart}, at end ${report.loadAtEnd} (the cores are shared with other work)`,
  );
  out.push(`- ${env.deno}`);
  for (const [name, version] of Object.entries(env.servers)) out.push(`- ${name}: ${version}`);
  for (const [name, spec] of Object.entries(env.clients)) out.push(`- npm client ${name}: \`${spec}\``);
  out.push("");

  const mainRows = report.rows.filter((r) => r.kind !== "connect" && !r.sweep);
  const sweepRows = report.rows.filter((r) => r.sweep || r.id === "1to1");
  const connectRows = report.rows.filter((r) => r.kind === "connect");
  const header = [
    "| workload | target | rate | p50 µs | p99 µs | server CPU µs/msg | server peak RSS | client CPU µs/msg | ours ÷ this |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|",
  ];
  const rowLines = (rows: Row[]): string[] => {
    const lines: string[] = [];
    for (const row of rows) {
      const ours = best.get(`${row.id}/${OURS}`);
      let first = true;
      for (const t of report.targets) {
        const c = best.get(`${row.id}/${t.id}`);
        if (c === undefined) continue;
        const title = first ? row.title : "";
        first = false;
        if (c.error !== null) {
          lines.push(`| ${title} | ${t.label} | failed: ${c.error.replaceAll("|", "/")} | | | | | | |`);
          continue;
        }
        const ratio = ours && !ours.error && t.id !== OURS ? `${(ours.rate / c.rate).toFixed(2)}` : "";
        lines.push(
          `| ${title} | ${t.label} | ${formatRate(c.rate)} ${unitOf(row)} | ${fixed(c.p50Us, 0)} | ${
            fixed(c.p99Us, 0)
          } | ` +
            `${fixed(c.serverCpuUsPerMsg, 2)} | ${formatMb(c.serverPeakRss)} | ${
              fixed(c.clientCpuUsPerMsg, 2)
            } | ${ratio} |`,
        );
      }
    }
    return lines;
  };
  out.push("## Workloads (100-byte payloads)", "", ...header, ...rowLines(mainRows), "");
  if (sweepRows.length > 1) {
    out.push("## Payload sweep, 1→1 pipelined", "");
    out.push(...payloadMatrix(report, sweepRows, best), "");
    out.push(
      "<details><summary>Every figure of the sweep</summary>",
      "",
      ...header,
      ...rowLines(sweepRows.filter((r) => r.sweep)),
      "",
      "</details>",
      "",
      LARGE_PAYLOAD_LINK,
      "",
    );
  }
  if (connectRows.length > 0) {
    out.push("## Connection set-up", "");
    out.push(
      "Connect, complete the protocol handshake, close; 8 at a time. Server CPU is per connection.",
      "",
    );
    out.push(...header, ...rowLines(connectRows), "");
  }
  if (report.idle.length > 0) {
    out.push(
      "## Idle connections",
      "",
      "| server | clients | RSS before | RSS with clients | per client | peak RSS | connect time |",
      "|---|--:|--:|--:|--:|--:|--:|",
    );
    for (const i of report.idle) {
      const label = report.targets.find((t) => t.id === i.target)?.label ?? i.target;
      if (i.error !== null) {
        out.push(`| ${label} | failed: ${i.error.replaceAll("|", "/")} | | | | | |`);
        continue;
      }
      const per = i.connections > 0
        ? `${((i.rss - i.baselineRss) / i.connections / 1024).toFixed(1)} KiB`
        : "–";
      out.push(
        `| ${label} | ${i.connections.toLocaleString("en")} | ${formatMb(i.baselineRss)} | ${
          formatMb(i.rss)
        } | ${per} | ` +
          `${formatMb(i.peakRss)} | ${i.connectSeconds.toFixed(1)} s |`,
      );
    }
    out.push("");
  }
  if (report.tool !== undefined) out.push(...renderToolSection(report.tool));
  else if (report.referenceSkipped) {
    out.push(`busrtd and \`busrt benchmark\` skipped: ${report.referenceSkipped}`, "");
  }
  const failed = report.cells.filter((c) => c.error !== null);
  if (failed.length > 0) {
    out.push("## Failed rounds", "");
    for (const c of failed) out.push(`- ${c.row} / ${c.target} (round ${c.round + 1}): ${c.error}`);
    out.push("");
  }
  out.push(...methodSection(report), "");
  return out.join("\n");
}

function readingNotes(best: Map<string, CellResult>): string[] {
  const lines = [
    "How to read it: the load generator is one Deno process driving every broker through its usual npm " +
    "client, so a peer's rate is often the ceiling of its client library running in Deno rather than of " +
    "its server. The *client CPU µs/msg* column shows that cost; *server CPU µs/msg* compares the servers " +
    "themselves (lower is better).",
  ];
  const ours = best.get(`1to1/${OURS}`);
  const examples: string[] = [];
  for (const [id, name] of [["nats-tcp", "nats.js"], ["redis-tcp", "ioredis"], ["mqtt-tcp", "MQTT.js"]]) {
    const c = best.get(`1to1/${id}`);
    if (c === undefined || c.error !== null) continue;
    examples.push(
      `${name} ${c.clientCpuUsPerMsg.toFixed(2)} µs in the client vs ${
        c.serverCpuUsPerMsg.toFixed(2)
      } µs in its server`,
    );
  }
  if (examples.length > 0 && ours !== undefined && ours.error === null) {
    lines.push(
      "",
      `Per message in the 1→1 row: ours ${ours.clientCpuUsPerMsg.toFixed(2)} µs in the client vs ` +
        `${ours.serverCpuUsPerMsg.toFixed(2)} µs in the broker; ${examples.join("; ")}.`,
    );
  }
  return lines;
}

function payloadMatrix(report: RunReport, rows: Row[], best: Map<string, CellResult>): string[] {
  const targets = report.targets.filter((t) => rows.some((r) => best.has(`${r.id}/${t.id}`)));
  const lines = [
    `| payload | ${targets.map((t) => t.label).join(" | ")} | ours ÷ nats |`,
    `|---|${targets.map(() => "--:").join("|")}|--:|`,
  ];
  const sorted = [...rows].sort((a, b) => a.payloadSize - b.payloadSize);
  for (const row of sorted) {
    const cells = targets.map((t) => {
      const c = best.get(`${row.id}/${t.id}`);
      if (c === undefined) return "";
      if (c.error !== null) return "failed";
      return `${formatCompact(c.rate)}/s, ${formatMiBps(c.rate * row.payloadSize)}`;
    });
    const ours = best.get(`${row.id}/${OURS}`);
    const nats = best.get(`${row.id}/nats-tcp`);
    const ratio = ours && nats && !ours.error && !nats.error ? (ours.rate / nats.rate).toFixed(2) : "–";
    lines.push(`| ${formatSize(row.payloadSize)} | ${cells.join(" | ")} | ${ratio} |`);
  }
  return lines;
}

function formatMiBps(bytesPerSecond: number): string {
  return `${formatCompact(bytesPerSecond / 2 ** 20)} MiB/s`;
}

function methodSection(report: RunReport): string[] {
  const lines = ["## Method", ""];
  lines.push(
    "- **Servers**, all on loopback, started by the benchmark and stopped by their own PID: our broker " +
      "(`bench/broker_server.ts`, its own Deno process, listening on a unix socket and 127.0.0.1), the raw relay " +
      "(`bench/relay.ts`: same framing and batched writer, no broker logic — the ceiling for direct messages " +
      "and RPC, which rides on them; it forwards and ACKs but has no topics), the Rust reference broker `busrtd` " +
      "(busrt 0.5.6 from `../shared/rustref/bin`, its own process, unix socket, `--queue-size 1000000` as its README " +
      "advises for benchmarks; driven by our client exactly as our broker; it runs 4 worker threads by default, " +
      "our broker one JavaScript thread, so when other work competes for the 2 cores the scheduler's per-thread " +
      "shares favour it — see the load average above), " +
      "`nats-server` (generated config, 127.0.0.1 only; it has no unix listener), `redis-server` (pub/sub, " +
      '`--save "" --appendonly no`, 127.0.0.1 and a unix socket) and `mosquitto` (generated config: 127.0.0.1 ' +
      "and a unix socket, no persistence, no log, `max_queued_messages 0` because its default of 1000 queued " +
      "packets per client silently drops QoS 0 messages under a 4096-message window). Ports are free ephemeral " +
      "ports; sockets live in a private temp dir.",
    "- **Load generator**: this Deno process, the same code for every target (`bench/peers/workloads.ts`), through " +
      "each server's usual client: ours (`client/`), `nats` (nats.js), `ioredis` (an explicit pipeline per batch), `mqtt` " +
      "(MQTT.js, QoS 0). Our 1→1 and N→1 rows use direct messages (`send`), fan-out uses publish/subscribe; the peers " +
      "publish to a per-receiver inbox topic or to the shared topic.",
    `- **Flow control**: senders keep at most ${report.window.messages} messages (at most ` +
      `${
        formatSize(report.window.bytes)
      }) ahead of the slowest receiver, in batches of up to 256, so no server drops ` +
      "or buffers without bound; every message sent is counted at every receiver before the cell ends (a shortfall is a failure).",
    "- **Verification**: every message carries its sender's sequence number and index (`bench/peers/payload_check.ts`); " +
      "each receiver checks the length, that every sender's messages arrive once and in order, two bytes of the " +
      "content of each message and all of every 256th; each request/reply echo is compared byte for byte with its " +
      "request. A cell with a lost, repeated, reordered or damaged message fails and gives no figure.",
    `- **Cells**: fresh connections, a warm-up, then a timed run capped at ${
      (report.capMs / 1000).toFixed(1)
    } s. Rounds ` +
      "interleave the targets (the order rotates each round) so load from other work on the machine spreads over all of them.",
    "- **Rates**: messages delivered to receivers per second (fan-out counts each of the 8 deliveries), round trips per " +
      "second for request/reply, connections per second for set-up.",
    "- **Latency**: round-trip time of each request, measured in the load generator (p50, p99).",
    "- **Server CPU per message**: utime + stime of the server process (all threads) from `/proc/<pid>/stat` " +
      "before and after the timed run, divided by the messages it routed (deliveries; request + reply per round trip; one per connection).",
    "- **Server peak RSS**: `VmHWM` from `/proc/<pid>/status` after the timed run, reset before it through " +
      "`/proc/<pid>/clear_refs`. Client CPU per message is the same figure for the load generator.",
    "- **Idle connections**: a fresh server, raw sockets doing each protocol's minimal handshake from 4 client " +
      "processes (`bench/peers/idle_clients.ts`, open-files limit raised); RSS read 1.5 s after the last connect. " +
      "Our idle clients ping every 2 s as our client does.",
  );
  const methods = new Map<string, string[]>();
  for (const t of report.targets) {
    methods.set(t.requestReplyMethod, [...methods.get(t.requestReplyMethod) ?? [], t.label]);
  }
  for (const [method, labels] of methods) lines.push(`- Request/reply on ${labels.join(", ")}: ${method}.`);
  for (const n of report.notes) lines.push(`- ${n}`);
  lines.push(
    "",
    "Reproduce: `deno task bench:peers` (installs nats-server, redis-server and mosquitto with apt-get when missing; " +
      "under 10 minutes on 2 cores, the `busrt benchmark` table included), `--quick` for a fast pass, `--smoke` " +
      "for ours against the relay and busrtd only (add `--tool` for a tiny tool table), " +
      "`--only busrt-unix,busrtd-unix --rows 1to1` to narrow, `--no-busrtd` or `--no-tool` to leave the reference " +
      "out, `--tool-rounds N`, `--tool-iters N`, `--cap-ms MS` for longer or shorter runs, `--profile <dir>` to " +
      "run our broker under `--cpu-prof`.",
  );
  return lines;
}

/**
 * The chart panels: one per main workload, the sweep's end points, set-up and idle memory.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("docs/performance.svg", renderChart(report));
 * ```
 */
export function renderChart(report: RunReport): string {
  const best = bestCells(report.cells);
  const panels: ChartPanel[] = [];
  const rows = report.rows.filter((r) => !r.sweep || r.payloadSize >= 1024 * 1024 || r.payloadSize === 1024);
  for (const row of rows) {
    const ours = best.get(`${row.id}/${OURS}`);
    const bars: Bar[] = [];
    for (const t of report.targets) {
      const c = best.get(`${row.id}/${t.id}`);
      if (c === undefined) continue;
      const ok = c.error === null;
      const note = ok && ours && !ours.error && t.id !== OURS
        ? `ours ${(ours.rate / c.rate).toFixed(2)}×`
        : undefined;
      bars.push({ label: t.label, value: ok ? c.rate : null, color: COLORS[t.family], note });
    }
    if (bars.length > 0) panels.push({ title: row.title, unit: unitOf(row), bars });
  }
  if (report.tool !== undefined) panels.push(...toolChartPanels(report.tool));
  if (report.idle.length > 0) {
    panels.push({
      title: "RSS with 10,000 idle clients (lower is better)",
      unit: "MB",
      bars: report.idle.map((i) => {
        const t = report.targets.find((x) => x.id === i.target);
        return {
          label: t?.label ?? i.target,
          value: i.error === null ? i.rss / 1e6 : null,
          color: COLORS[t?.family ?? "busrt"],
        };
      }),
    });
  }
  return barChartSvg(panels, {
    title: "busrt-deno vs busrtd, nats-server, redis-server, mosquitto (higher is better)",
    subtitle: `${report.env.cpuModel}, ${report.env.cpus} cores · ${report.env.deno.split(",")[0]} · ` +
      `best of ${report.rounds} round${report.rounds > 1 ? "s" : ""} · ${report.startedAt.slice(0, 10)}`,
    columns: 2,
    panelWidth: 520,
  });
}
