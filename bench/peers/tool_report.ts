/**
 * The published form of the reference-tool table (`busrt benchmark` against
 * our broker and `busrtd`): the markdown section, its goals and chart panels.
 *
 * @module
 */
import type { ChartPanel } from "./chart.ts";
import { formatSize } from "./cells.ts";
import {
  SHORT_STAGE_SECONDS,
  TOOL_STAGES,
  type ToolFigure,
  toolFigures,
  toolKey,
  type ToolRun,
} from "./reference_tool.ts";

/** The reference-tool part of a run. */
export interface ToolReport {
  /** Worker counts. */
  workers: number[];
  /** Payload sizes. */
  payloadSizes: number[];
  /** Rounds. */
  rounds: number;
  /** Every run of the tool. */
  runs: ToolRun[];
  /** Wall time of the table. */
  seconds: number;
}

/** The two brokers of the table. */
const OURS = "ours";
const REFERENCE = "busrtd";

/** A goal of the issue as the report shows it (same shape as report.ts GoalCheck). */
export interface ToolGoal {
  /** What is required. */
  goal: string;
  /** What was measured. */
  measured: string;
  /** true: met, false: missed, null: not measured. */
  met: boolean | null;
}

/** The cells of the table, payload-major: `[workers, payloadSize]`. */
function grid(tool: ToolReport): [number, number][] {
  return tool.payloadSizes.flatMap((size) =>
    tool.workers.map((workers): [number, number] => [workers, size])
  );
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0)) return null;
  return a / b;
}

function fixed(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function rate(v: number | undefined): string {
  return v === undefined ? "–" : Math.round(v).toLocaleString("en");
}

function mb(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? "–" : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * One goal per cell: ours ≥ 1× busrtd on every stage (median rates).
 *
 * @example
 * ```ts ignore
 * for (const g of toolGoals(report.tool)) console.log(g.goal, g.met);
 * ```
 */
export function toolGoals(tool: ToolReport | undefined): ToolGoal[] {
  if (tool === undefined) {
    return [{ goal: "every stage of `busrt benchmark`: ours ≥ 1× busrtd", measured: "not run", met: null }];
  }
  const figures = toolFigures(tool.runs);
  const goals: ToolGoal[] = [];
  for (const [workers, size] of grid(tool)) {
    let worst: { stage: string; r: number } | null = null;
    let missing = 0;
    for (const stage of TOOL_STAGES) {
      const r = ratio(
        figures.get(toolKey(OURS, workers, size, stage))?.rate,
        figures.get(toolKey(REFERENCE, workers, size, stage))?.rate,
      );
      if (r === null) missing++;
      else if (worst === null || r < worst.r) worst = { stage, r };
    }
    const goal = `\`busrt benchmark -w ${workers}\`, ${formatSize(size)}: ours ≥ 1× busrtd on every stage`;
    if (worst === null || missing > 0) {
      goals.push({ goal, measured: "not measured", met: null });
      continue;
    }
    const below = TOOL_STAGES.filter((stage) =>
      (ratio(
        figures.get(toolKey(OURS, workers, size, stage))?.rate,
        figures.get(toolKey(REFERENCE, workers, size, stage))?.rate,
      ) ?? 0) < 1
    );
    const short = (stage: string) =>
      [OURS, REFERENCE].some((b) =>
          (figures.get(toolKey(b, workers, size, stage))?.seconds ?? 0) < SHORT_STAGE_SECONDS
        )
        ? " †"
        : "";
    goals.push({
      goal,
      measured: `lowest ${worst.r.toFixed(2)} × (${worst.stage}${short(worst.stage)})${
        below.length > 0 ? `; below 1× on ${below.map((b) => b + short(b)).join(", ")}` : ""
      }`,
      met: below.length === 0,
    });
  }
  return goals;
}

/**
 * The markdown section of the table.
 *
 * @example
 * ```ts ignore
 * lines.push(...renderToolSection(report.tool));
 * ```
 */
export function renderToolSection(tool: ToolReport): string[] {
  const figures = toolFigures(tool.runs);
  const out: string[] = [
    "## The reference benchmark tool: `busrt benchmark` against both brokers",
    "",
    "The Rust reference CLI's own load generator (`busrt <socket> benchmark -w W -i N --payload-size P`, one " +
    "operation in flight per worker) against our broker (`cli.ts serve`, its own process) and `busrtd " +
    "--queue-size 1000000`, both on a unix socket. " +
    `Medians of ${tool.rounds} interleaved round${tool.rounds > 1 ? "s" : ""} (each round alternates which ` +
    "broker goes first). Broker CPU is per iteration of the stage (a message sent or a call made): utime + " +
    "stime of the broker process from `/proc/<pid>/stat`, read at the tool's stage-started and stage-completed " +
    "lines, summed over the rounds and divided by their iterations; “–” where that is under 0.1 s (too few " +
    "10 ms clock ticks to divide: the fast QoS 0 stages). A run that fails, or completes fewer iterations " +
    "than asked, is a failure and gives no figure. † marks a stage that took under 50 ms: the tool runs " +
    "every stage for the same number of iterations, so its QoS 0 stages finish in a few milliseconds and " +
    "their ratio is mostly scheduling noise.",
    "",
    "| workers | payload | stage | ours iters/s | busrtd iters/s | ours ÷ busrtd | ours CPU µs/op | busrtd CPU µs/op | CPU ours ÷ busrtd |",
    "|--:|--:|---|--:|--:|--:|--:|--:|--:|",
  ];
  for (const [workers, size] of grid(tool)) {
    let first = true;
    for (const stage of TOOL_STAGES) {
      const o: ToolFigure | undefined = figures.get(toolKey(OURS, workers, size, stage));
      const b: ToolFigure | undefined = figures.get(toolKey(REFERENCE, workers, size, stage));
      const r = ratio(o?.rate, b?.rate);
      const short = Math.min(o?.seconds ?? Infinity, b?.seconds ?? Infinity) < SHORT_STAGE_SECONDS
        ? " †"
        : "";
      const cells = [
        first ? String(workers) : "",
        first ? formatSize(size) : "",
        stage,
        rate(o?.rate),
        rate(b?.rate),
        (r === null ? "–" : r < 1 ? `**${r.toFixed(2)}**` : r.toFixed(2)) + short,
        fixed(o?.cpuUsPerOp ?? null, 1),
        fixed(b?.cpuUsPerOp ?? null, 1),
        fixed(ratio(o?.cpuUsPerOp, b?.cpuUsPerOp), 2),
      ];
      first = false;
      out.push(`| ${cells.join(" | ")} |`);
    }
  }
  out.push(
    "",
    "Broker peak RSS per cell (highest `VmHWM` over the stages and rounds, reset at each stage start):",
    "",
    "| workers | payload | ours | busrtd |",
    "|--:|--:|--:|--:|",
  );
  for (const [workers, size] of grid(tool)) {
    const peak = (broker: string) => {
      const peaks = TOOL_STAGES.map((s) => figures.get(toolKey(broker, workers, size, s))?.peakRss)
        .filter((v): v is number => v !== undefined);
      return peaks.length === 0 ? undefined : Math.max(...peaks);
    };
    out.push(`| ${workers} | ${formatSize(size)} | ${mb(peak(OURS))} | ${mb(peak(REFERENCE))} |`);
  }
  const failed = tool.runs.filter((r) => r.error !== null);
  if (failed.length > 0) {
    out.push("", "Failed runs of the tool:", "");
    for (const r of failed) {
      out.push(
        `- ${r.broker}, ${r.workers} worker(s), ${formatSize(r.payloadSize)}, round ${
          r.round + 1
        }: ${r.error}`,
      );
    }
  }
  out.push("");
  return out;
}

/**
 * Chart panels: ours ÷ busrtd per stage at 1 worker (per payload) and at the
 * most workers with the smallest payload.
 *
 * @example
 * ```ts ignore
 * panels.push(...toolChartPanels(report.tool));
 * ```
 */
export function toolChartPanels(tool: ToolReport): ChartPanel[] {
  const figures = toolFigures(tool.runs);
  const cells: [number, number][] = [];
  const fewest = Math.min(...tool.workers);
  const most = Math.max(...tool.workers);
  for (const size of tool.payloadSizes) cells.push([fewest, size]);
  if (most !== fewest) cells.push([most, Math.min(...tool.payloadSizes)]);
  return cells.map(([workers, size]) => ({
    title: `busrt benchmark -w ${workers}, ${formatSize(size)}: ours ÷ busrtd per stage`,
    unit: "×",
    bars: TOOL_STAGES.map((stage) => {
      const r = ratio(
        figures.get(toolKey(OURS, workers, size, stage))?.rate,
        figures.get(toolKey(REFERENCE, workers, size, stage))?.rate,
      );
      return { label: stage, value: r, color: r !== null && r < 1 ? "#ea580c" : "#2563eb" };
    }),
  }));
}
