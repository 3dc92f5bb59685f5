/**
 * The second table of the comparison: the reference CLI's own load generator,
 * `busrt <socket> benchmark -w W -i N --payload-size P`, against our broker
 * and against `busrtd`. The tool prints a line when each stage starts and
 * completes; the broker's CPU time and peak RSS are read from `/proc` at those
 * lines, so every stage gets its own figures.
 *
 * @module
 */
import { BUSRT_TOOL } from "./reference_binaries.ts";
import { cpuMicros, memory, resetPeakRss } from "./proc_stats.ts";

/** The stages the reference tool runs, in its order. */
export const TOOL_STAGES: readonly string[] = [
  "rpc.call",
  "rpc.call+handle",
  "rpc.call0",
  "send.qos.no",
  "send.qos.processed",
  "send+recv.qos.no",
  "send+recv.qos.processed",
];

/** A stage shorter than this (median) is marked: a few ms of timing are at the mercy of the scheduler. */
export const SHORT_STAGE_SECONDS = 0.05;

/** Broker CPU below this many µs over a cell's rounds (10 clock ticks) is too coarse to divide per message. */
export const MIN_CPU_SAMPLE_US = 100_000;

/** One stage of one run of the tool. */
export interface ToolStage {
  /** Stage name as the tool prints it. */
  stage: string;
  /** Iterations the tool completed (all workers). */
  iterations: number;
  /** The tool's own time for the stage. */
  seconds: number;
  /** Iterations per second. */
  rate: number;
  /** Broker CPU (user + system, all threads) during the stage, µs. */
  brokerCpuUs: number;
  /** Broker peak RSS during the stage, bytes. */
  brokerPeakRss: number;
}

/** What one run of the tool is asked to do. */
export interface ToolSpec {
  /** Broker address (a unix socket path). */
  address: string;
  /** Broker PID (CPU and memory are read from it). */
  pid: number;
  /** `-w`. */
  workers: number;
  /** `--payload-size`. */
  payloadSize: number;
  /** `-i`: iterations of every stage, all workers together. */
  iterations: number;
  /** The run is killed and failed after this long. */
  timeoutMs: number;
}

const STARTED = /^!!! stage started: (\S+)/;
const COMPLETED = /^\*\*\* stage completed: (\S+) \(([\d_]+) iters, ([\d.]+) secs\)/;
const RESULT_ROW = /^\s*(\S+)\s+([\d_]+)\s+([\d.]+)\s+([\d.]+)\s+([\d_]+)\s*$/;

/**
 * Parses a number as the tool prints it (`20_000`).
 *
 * @example
 * ```ts
 * import { toolNumber } from "./reference_tool.ts";
 * console.assert(toolNumber("1_000_000") === 1e6);
 * ```
 */
export function toolNumber(text: string): number {
  return Number(text.replaceAll("_", ""));
}

/**
 * Reads the tool's closing table (` stage  iters  secs  msecs  iters/s`):
 * stage → iterations and milliseconds.
 *
 * @example
 * ```ts
 * import { parseToolResults } from "./reference_tool.ts";
 * const r = parseToolResults(" rpc.call                 20_000  1.372  1371.715  14_580\n");
 * console.assert(r.get("rpc.call")?.iterations === 20000 && r.get("rpc.call")?.ms === 1371.715);
 * ```
 */
export function parseToolResults(stdout: string): Map<string, { iterations: number; ms: number }> {
  const rows = new Map<string, { iterations: number; ms: number }>();
  for (const line of stdout.split("\n")) {
    const m = line.match(RESULT_ROW);
    if (m === null || !TOOL_STAGES.includes(m[1])) continue;
    rows.set(m[1], { iterations: toolNumber(m[2]), ms: Number(m[4]) });
  }
  return rows;
}

/**
 * Runs the tool once and returns its stages with the broker's figures.
 * Throws when it fails, times out, skips a stage or completes fewer
 * iterations than asked (no figure from a run that lost work).
 *
 * @example
 * ```ts ignore
 * const stages = await runTool({ address: sock, pid, workers: 1, payloadSize: 100,
 *   iterations: 5000, timeoutMs: 60_000 });
 * ```
 */
export async function runTool(spec: ToolSpec): Promise<ToolStage[]> {
  const child = new Deno.Command(BUSRT_TOOL, {
    args: [
      "-s",
      spec.address,
      "benchmark",
      "-w",
      String(spec.workers),
      "-i",
      String(spec.iterations),
      "--payload-size",
      String(spec.payloadSize),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }, spec.timeoutMs);
  const stderr = new Response(child.stderr).text();
  const started = new Map<string, number>();
  const measured = new Map<string, { cpuUs: number; peak: number }>();
  let stdout = "";
  let pending = "";
  const onLine = (line: string) => {
    const s = line.match(STARTED);
    if (s !== null) {
      resetPeakRss(spec.pid);
      started.set(s[1], cpuMicros(spec.pid));
      return;
    }
    const c = line.match(COMPLETED);
    if (c !== null && started.has(c[1])) {
      measured.set(c[1], { cpuUs: cpuMicros(spec.pid) - started.get(c[1])!, peak: memory(spec.pid).peak });
    }
  };
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  const status = await child.status;
  const errText = (await stderr).trim().split("\n").slice(-3).join(" / ");
  if (!status.success) {
    throw new Error(
      `busrt benchmark exited with ${status.signal ?? status.code}${
        status.signal === "SIGKILL" ? ` (timeout ${spec.timeoutMs} ms)` : ""
      }: ${errText}`,
    );
  }
  const results = parseToolResults(stdout);
  const stages: ToolStage[] = [];
  for (const stage of TOOL_STAGES) {
    const r = results.get(stage);
    const m = measured.get(stage);
    if (r === undefined || m === undefined) throw new Error(`busrt benchmark did not report stage ${stage}`);
    if (r.iterations !== spec.iterations) {
      throw new Error(
        `busrt benchmark completed ${r.iterations} of ${spec.iterations} iterations of ${stage}`,
      );
    }
    stages.push({
      stage,
      iterations: r.iterations,
      seconds: r.ms / 1000,
      rate: r.iterations / (r.ms / 1000),
      brokerCpuUs: m.cpuUs,
      brokerPeakRss: m.peak,
    });
  }
  return stages;
}

/** A broker the tool is run against. */
export interface ToolBroker {
  /** `ours` or `busrtd`. */
  id: string;
  /** Unix socket path. */
  address: string;
  /** PID. */
  pid: number;
}

/** One run of the tool against one broker in one cell and round. */
export interface ToolRun {
  /** Broker id. */
  broker: string;
  /** `-w`. */
  workers: number;
  /** `--payload-size`. */
  payloadSize: number;
  /** `-i`. */
  iterations: number;
  /** Round (0-based). */
  round: number;
  /** Why the run failed, or null. */
  error: string | null;
  /** The stages (empty when failed). */
  stages: ToolStage[];
}

/** The grid and budget of the table. */
export interface ToolPlan {
  /** Worker counts. */
  workers: readonly number[];
  /** Payload sizes. */
  payloadSizes: readonly number[];
  /** Rounds (each cell runs once per broker per round; order alternates). */
  rounds: number;
  /** Iterations per stage for a cell. */
  iterations: (workers: number, payloadSize: number) => number;
  /** Timeout of one run. */
  timeoutMs: number;
  /** Run the brokers of a cell at the same time (smoke runs: checks the shape, figures meaningless). */
  concurrent?: boolean;
}

/**
 * Runs the whole table: every cell against every broker, interleaved (each
 * round alternates which broker goes first in each cell).
 *
 * @example
 * ```ts ignore
 * const runs = await runToolTable([ours, busrtd], { workers: [1], payloadSizes: [100], rounds: 3,
 *   iterations: () => 5000, timeoutMs: 120_000 }, console.error);
 * ```
 */
export async function runToolTable(
  brokers: readonly ToolBroker[],
  plan: ToolPlan,
  log: (line: string) => void,
): Promise<ToolRun[]> {
  const runs: ToolRun[] = [];
  let cell = 0;
  for (let round = 0; round < plan.rounds; round++) {
    for (const payloadSize of plan.payloadSizes) {
      for (const workers of plan.workers) {
        const shift = (round + cell++) % brokers.length;
        const order = brokers.map((_, i) => brokers[(i + shift) % brokers.length]);
        const runOne = async (broker: ToolBroker): Promise<void> => {
          const iterations = plan.iterations(workers, payloadSize);
          const run: ToolRun = {
            broker: broker.id,
            workers,
            payloadSize,
            iterations,
            round,
            error: null,
            stages: [],
          };
          try {
            run.stages = await runTool({
              address: broker.address,
              pid: broker.pid,
              workers,
              payloadSize,
              iterations,
              timeoutMs: plan.timeoutMs,
            });
          } catch (err) {
            run.error = err instanceof Error ? err.message : String(err);
          }
          runs.push(run);
          log(describeRun(run));
        };
        if (plan.concurrent) await Promise.all(order.map(runOne));
        else for (const broker of order) await runOne(broker);
      }
    }
  }
  return runs;
}

function describeRun(run: ToolRun): string {
  const head = `tool w${run.workers} ${run.payloadSize} B r${run.round + 1} ${run.broker.padEnd(7)}`;
  if (run.error !== null) return `${head} FAILED: ${run.error}`;
  return `${head} ${
    run.stages.map((s) => `${s.stage} ${Math.round(s.rate).toLocaleString("en")}/s`).join(", ")
  }`;
}

/** Medians of one stage of one cell for one broker. */
export interface ToolFigure {
  /** Median iterations per second. */
  rate: number;
  /** Median duration of the stage, seconds. */
  seconds: number;
  /**
   * Broker CPU per iteration in µs over all successful rounds (their CPU time
   * summed, divided by their iterations), or null when that sum is under
   * {@linkcode MIN_CPU_SAMPLE_US}: `/proc` counts in 10 ms ticks.
   */
  cpuUsPerOp: number | null;
  /** Highest broker peak RSS over rounds, bytes. */
  peakRss: number;
  /** Rounds that succeeded. */
  rounds: number;
}

/**
 * The median of some numbers (mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./reference_tool.ts";
 * console.assert(median([3, 1, 2]) === 2 && median([4, 1, 2, 3]) === 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Medians over the successful rounds, keyed `broker/workers/payloadSize/stage`.
 *
 * @example
 * ```ts ignore
 * const f = toolFigures(runs).get("ours/1/100/rpc.call");
 * ```
 */
export function toolFigures(runs: readonly ToolRun[]): Map<string, ToolFigure> {
  const groups = new Map<string, ToolStage[]>();
  for (const run of runs) {
    if (run.error !== null) continue;
    for (const s of run.stages) {
      const key = toolKey(run.broker, run.workers, run.payloadSize, s.stage);
      groups.set(key, [...groups.get(key) ?? [], s]);
    }
  }
  const figures = new Map<string, ToolFigure>();
  for (const [key, stages] of groups) {
    const cpuUs = stages.reduce((sum, s) => sum + s.brokerCpuUs, 0);
    const iterations = stages.reduce((sum, s) => sum + s.iterations, 0);
    figures.set(key, {
      rate: median(stages.map((s) => s.rate)),
      seconds: median(stages.map((s) => s.seconds)),
      cpuUsPerOp: cpuUs < MIN_CPU_SAMPLE_US ? null : cpuUs / iterations,
      peakRss: Math.max(...stages.map((s) => s.brokerPeakRss)),
      rounds: stages.length,
    });
  }
  return figures;
}

/** The key of {@linkcode toolFigures}. */
export function toolKey(broker: string, workers: number, payloadSize: number, stage: string): string {
  return `${broker}/${workers}/${payloadSize}/${stage}`;
}
