/**
 * The cost of the HTTP monitoring endpoint: 1→1 pipelined throughput
 * (`send->recv.qos.no`) against two broker processes in the same run, one
 * without the endpoint and one with it while a worker thread polls every
 * route of it, rounds interleaved; prints the rates (best of the rounds)
 * and their ratio. A third figure, the broker without the endpoint measured
 * while the other one is polled, separates the CPU the polling itself takes
 * on this machine (client, HTTP stack) from the cost to the broker.
 *
 * Run: deno run -A bench/http_monitor_bench.ts [--iterations N] [--rounds R] [--poll-ms MS]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchArgs } from "./bench_args.ts";
import { measure } from "./e2e.ts";
import { Broker } from "../broker/mod.ts";

const USAGE = `Usage: deno run -A bench/http_monitor_bench.ts [options]

Measures 1->1 pipelined throughput (send->recv.qos.no) against a broker
without the HTTP endpoint and one with it being polled (every route, from a
worker thread), interleaved.

Options:
  --iterations N   messages per round (default 4000000)
  --payload-size B payload bytes (default 32)
  --rounds R       rounds, best kept (default 5)
  --poll-ms MS     interval between two polls of every route (default 1000)
  -h, --help       this text`;

interface Child {
  process: Deno.ChildProcess;
  path: string;
  http: string | null;
}

async function startChild(path: string, http: boolean): Promise<Child> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", path, ...(http ? ["--http"] : [])],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.getReader();
  const { value } = await reader.read();
  const line = new TextDecoder().decode(value).trim();
  reader.releaseLock();
  process.stdout.cancel();
  const m = /^ready(?: (\S+))?$/.exec(line);
  if (m === null) throw new Error(`the broker process did not start: ${line}`);
  return { process, path, http: m[1] ?? null };
}

/** Polls every route from a worker thread until stopped; `stop()` returns the number of requests. */
function poll(base: string, everyMs: number): { stop: () => Promise<number> } {
  const worker = new Worker(new URL("./http_poller.ts", import.meta.url), { type: "module" });
  worker.postMessage({ base, everyMs });
  return {
    stop: () =>
      new Promise<number>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<number>) => {
          worker.terminate();
          resolve(e.data);
        };
        worker.onerror = (e) => {
          worker.terminate();
          reject(new Error(`poller failed: ${e.message}`));
        };
        worker.postMessage("stop");
      }),
  };
}

/** Best rates (messages per second) of {@linkcode runHttpMonitorBench}. */
export interface HttpMonitorBenchResult {
  /** The broker without the endpoint, nothing polled. */
  off: number;
  /** The broker with the endpoint, polled. */
  on: number;
  /** The broker without the endpoint while the other one is polled: the cost of polling on this machine. */
  control: number;
  /** on / off. */
  ratio: number;
  /** on / control: what the endpoint costs the broker itself. */
  controlRatio: number;
  /** HTTP requests made. */
  requests: number;
}

/**
 * Runs the comparison.
 *
 * @param iterations messages per round
 * @param payloadSize payload bytes
 * @param rounds rounds (best kept)
 * @param pollMs interval between polls
 * @returns the best rates and the ratio on/off
 */
export async function runHttpMonitorBench(
  iterations: number,
  payloadSize: number,
  rounds: number,
  pollMs: number,
): Promise<HttpMonitorBenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-bench-" });
  const off = await startChild(`${dir}/off.sock`, false);
  const on = await startChild(`${dir}/on.sock`, true);
  let bestOff = 0;
  let bestOn = 0;
  let bestControl = 0;
  let requests = 0;
  const stage = ["send->recv.qos.no"];
  const run = async (path: string, polled: boolean) => {
    const poller = polled ? poll(on.http!, pollMs) : null;
    const [result] = await measure(path, stage, iterations, payloadSize, 1);
    if (poller !== null) requests += await poller.stop();
    return result.rate;
  };
  try {
    for (let r = 0; r < rounds; r++) {
      // the order turns every round, so that none gets the warmer start
      const order = [0, 1, 2].map((k) => (k + r) % 3);
      for (const k of order) {
        if (k === 0) bestOff = Math.max(bestOff, await run(off.path, false));
        else if (k === 1) bestOn = Math.max(bestOn, await run(on.path, true));
        else bestControl = Math.max(bestControl, await run(off.path, true));
      }
    }
  } finally {
    for (const c of [off, on]) {
      c.process.kill("SIGTERM");
      await c.process.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return {
    off: bestOff,
    on: bestOn,
    control: bestControl,
    ratio: bestOn / bestOff,
    controlRatio: bestOn / bestControl,
    requests,
  };
}

async function child(path: string, http: boolean): Promise<void> {
  const broker = new Broker();
  await broker.serveUnix(path, { timeout: 5 });
  const endpoint = http ? await broker.serveHttp({ hostname: "127.0.0.1", port: 0 }) : null;
  console.log(endpoint === null ? "ready" : `ready ${endpoint.url}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await broker.close();
    Deno.exit(0);
  });
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await child(Deno.args[1], Deno.args[2] === "--http");
  } else {
    const values = benchArgs(USAGE, () =>
      parseArgs({
        args: Deno.args,
        options: {
          iterations: { type: "string", default: "4000000" },
          "payload-size": { type: "string", default: "32" },
          rounds: { type: "string", default: "5" },
          "poll-ms": { type: "string", default: "1000" },
        },
      }).values);
    const result = await runHttpMonitorBench(
      Number(values.iterations),
      Number(values["payload-size"]),
      Number(values.rounds),
      Number(values["poll-ms"]),
    );
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
    console.log(`send->recv.qos.no, 1->1 pipelined, best of ${values.rounds} rounds`);
    console.log(`  endpoint off:             ${fmt(result.off)} msg/s`);
    console.log(`  endpoint on, polled:      ${fmt(result.on)} msg/s (${result.requests} HTTP requests)`);
    console.log(`  endpoint off, other polled: ${fmt(result.control)} msg/s (control: the poller's CPU)`);
    console.log(`  ratio on/off:             ${result.ratio.toFixed(3)}`);
    console.log(`  ratio on/control:         ${result.controlRatio.toFixed(3)}`);
  }
}
