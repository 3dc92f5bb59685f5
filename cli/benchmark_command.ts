/**
 * `busrt benchmark`: runs the load generator against a broker with a live
 * progress bar on a terminal and prints a table (or JSON) of the results.
 *
 * @module
 */
import { BENCHMARK_STAGES, type BenchmarkMode, runBenchmark, type StageResult } from "./benchmark.ts";
import { RPC_STAGE_DEFINITIONS, RPC_STAGES } from "./benchmark_rpc_stages.ts";
import { parseNumber, type RawGlobals } from "./args.ts";
import { GLOBAL_HELP, prepareCommand } from "./command.ts";
import { openClient } from "./connection.ts";
import { UsageError } from "./errors.ts";
import { onStopSignal, printJson, printLine } from "./output.ts";
import { ProgressBar } from "./progress_bar.ts";
import { stderrIsTerminal, stdoutIsTerminal, type Style } from "./style.ts";
import { formatCount, formatTable } from "./table.ts";

/** Every stage `busrt benchmark` can run, in the default order of the pipelined mode. */
export const ALL_STAGES: readonly string[] = [...BENCHMARK_STAGES, ...RPC_STAGES];

/** The reference tool's stages in its order: the default of the sequential mode. */
export const REFERENCE_STAGES: readonly string[] = ALL_STAGES.filter((s) => s !== "send->recv.qos.no");

/** Help of `busrt benchmark`. */
export const BENCHMARK_HELP: string =
  `Usage: busrt benchmark [-w N] [--payload-size BYTES] [-i N] [--mode MODE] [--stages LIST] [options]

Measures the broker with the reference tool's stages, run by worker clients
named <name>-1 ... <name>-N, which keep their connections across the message
stages and across the RPC stages:
${ALL_STAGES.map((s) => `  ${s}`).join("\n")}
send.* send to a name nobody has; send+recv.* send to themselves;
send->recv.* (ours, not in the reference) to a second client; rpc.call calls
.broker benchmark.test, rpc.call+handle calls itself, rpc.call0 calls a
missing name. "processed" stages and rpc stages use QoS 3 (realtime,
acknowledged); the call echoes are checked byte for byte.

Modes (QoS 0 stages run alike in both):
  pipelined   up to 4096 acknowledged frames and 256 calls in flight per
              worker: what the broker can carry (default)
  sequential  one acknowledged frame or call in flight per worker, as the
              reference "busrt benchmark": figures comparable with it;
              default stages: the reference's seven, in its order

Options:
  -w, --workers <N>          worker clients (default 1)
      --payload-size <BYTES> payload size (default 100)
  -i, --iters <N>            iterations per stage, split over the workers
                             (default 1000000)
      --mode <MODE>          pipelined or sequential (default pipelined)
      --stages <LIST>        comma-separated stages to run (default: all of
                             the mode)

A terminal shows a progress bar on stderr (fitted to its width; none when
stdout or stderr is not a terminal); the results table goes to stdout
(with --json: {mode, workers, payloadSize, iterations, results: [{stage,
iterations, seconds, rate}]}).

${GLOBAL_HELP}`;

const OPTIONS = {
  workers: { type: "string", short: "w" },
  "payload-size": { type: "string" },
  iters: { type: "string", short: "i" },
  mode: { type: "string" },
  stages: { type: "string" },
} as const;

/**
 * Runs `busrt benchmark`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export async function runBenchmarkCommand(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("benchmark", BENCHMARK_HELP, args, base, OPTIONS);
  if (cmd === null) return 0;
  const { globals, style, values } = cmd;
  const workers = values.workers === undefined
    ? 1
    : parseNumber(values.workers, "--workers", "benchmark", { integer: true, min: 1, max: 1000 });
  const payloadSize = values["payload-size"] === undefined
    ? 100
    : parseNumber(values["payload-size"], "--payload-size", "benchmark", { integer: true, min: 0 });
  const iterations = values.iters === undefined
    ? 1_000_000
    : parseNumber(values.iters, "--iters", "benchmark", { integer: true, min: 1 });
  if (iterations < workers) {
    throw new UsageError(
      `Invalid value "${values.iters}" for --iters: must be at least the number of workers`,
      "benchmark",
    );
  }
  const mode = parseMode(values.mode);
  const stages = values.stages === undefined
    ? (mode === "sequential" ? REFERENCE_STAGES : ALL_STAGES)
    : parseStages(values.stages);
  if (!globals.json) {
    printLine(
      `Starting benchmark, ${workers} worker(s), ${formatCount(iterations)} iters, ` +
        `${formatCount(Math.floor(iterations / workers))} iters/worker, ${
          formatCount(payloadSize)
        } byte(s) payload`,
    );
    printLine(
      mode === "sequential"
        ? "Mode: sequential (one acknowledged frame or call in flight per worker, as the reference tool)"
        : "Mode: pipelined (up to 4096 frames and 256 calls in flight per worker)",
    );
  }
  // only for a person watching: not when the output goes to a file, a pipe or a CI log
  const bar = stdoutIsTerminal() && stderrIsTerminal() && !globals.json ? new ProgressBar() : null;
  // Ctrl-C: stop drawing and leave the line clean; the default exit follows
  const removeSignals = onStopSignal(() => {
    bar?.clear();
    Deno.exit(130);
  });
  let results: StageResult[];
  try {
    results = await runBenchmark({
      connect: (name) => openClient(globals, name),
      name: globals.name,
      workers,
      payloadSize,
      iterations,
      mode,
      stages,
      extraStages: RPC_STAGE_DEFINITIONS,
      onProgress: bar === null ? undefined : (stage, done, total) => bar.update(stage, done, total),
    });
  } finally {
    bar?.clear();
    removeSignals();
  }
  if (globals.json) printJson({ mode, workers, payloadSize, iterations, results });
  else printLine(resultsTable(results, style));
  return 0;
}

function parseMode(text: string | undefined): BenchmarkMode {
  if (text === undefined || text === "pipelined" || text === "sequential") return text ?? "pipelined";
  throw new UsageError(`Invalid value "${text}" for --mode: expected pipelined or sequential`, "benchmark");
}

function parseStages(text: string): string[] {
  const stages = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (stages.length === 0) {
    throw new UsageError(`Invalid value "${text}" for --stages: no stage given`, "benchmark");
  }
  for (const s of stages) {
    if (!ALL_STAGES.includes(s)) {
      throw new UsageError(
        `Invalid value "${s}" for --stages: expected one of ${ALL_STAGES.join(", ")}`,
        "benchmark",
      );
    }
  }
  return stages;
}

function resultsTable(results: readonly StageResult[], style: Style): string {
  return formatTable(
    [
      { title: "stage", color: style.cyan },
      { title: "iters", align: "right" },
      { title: "secs", align: "right" },
      { title: "iters/s", align: "right", color: style.yellow },
    ],
    results.map((
      r,
    ) => [r.stage, formatCount(r.iterations), r.seconds.toFixed(3), formatCount(Math.round(r.rate))]),
    style,
  );
}
