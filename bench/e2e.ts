/**
 * End-to-end benchmark: the load generator in this process against our
 * broker in another process, and against the raw relay (the ceiling) in the
 * same run, over unix sockets.
 *
 * Run: deno run -A bench/e2e.ts [--iterations N] [--payload-size B] [--workers W] [--rounds R]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchArgs } from "./bench_args.ts";
import { connect } from "../client/mod.ts";
import { runBenchmark, type StageResult } from "../cli/benchmark.ts";

interface Server {
  path: string;
  process: Deno.ChildProcess;
}

async function start(script: string, path: string): Promise<Server> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("ready")) throw new Error(`${script} did not start`);
  reader.releaseLock();
  process.stdout.cancel();
  return { path, process };
}

async function stop(server: Server): Promise<void> {
  server.process.kill("SIGTERM");
  await server.process.status;
}

/** Runs the stages against one server. */
export async function measure(
  path: string,
  stages: string[],
  iterations: number,
  payloadSize: number,
  workers: number,
): Promise<StageResult[]> {
  return await runBenchmark({
    name: `bench.${Math.random().toString(36).slice(2, 8)}`,
    iterations,
    payloadSize,
    workers,
    stages,
    connect: (name) => connect(path, { name, timeout: 5 }),
  });
}

const USAGE = `Usage: deno run -A bench/e2e.ts [options]

Runs the busrt benchmark stages against our broker and a raw relay (the
ceiling), each in its own process, over unix sockets, interleaved.

Options:
  --iterations N      messages per stage (default 1000000)
  --payload-size B    payload bytes (default 100)
  --workers W         client workers (default 1)
  --rounds R          rounds, best kept (default 3)
  --stages LIST       comma-separated stage names
  -h, --help          this text`;

if (import.meta.main) {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        iterations: { type: "string", default: "1000000" },
        "payload-size": { type: "string", default: "100" },
        workers: { type: "string", default: "1" },
        rounds: { type: "string", default: "3" },
        stages: {
          type: "string",
          default: "send.qos.no,send.qos.processed,send+recv.qos.no,send->recv.qos.no",
        },
      },
    }).values);
  const iterations = Number(values.iterations);
  const payloadSize = Number(values["payload-size"]);
  const workers = Number(values.workers);
  const rounds = Number(values.rounds);
  const stages = values.stages!.split(",");
  const dir = await Deno.makeTempDir();
  const broker = await start("./broker_server.ts", `${dir}/broker.sock`);
  const relay = await start("./relay.ts", `${dir}/relay.sock`);
  const best = new Map<string, { broker: number; relay: number }>();
  try {
    for (let r = 0; r < rounds; r++) {
      // interleaved: broker then relay each round, best of the rounds kept
      const b = await measure(broker.path, stages, iterations, payloadSize, workers);
      const x = await measure(
        relay.path,
        stages.filter((s) => !s.startsWith("send.qos.processed")),
        iterations,
        payloadSize,
        workers,
      );
      for (const res of b) {
        const e = best.get(res.stage) ?? { broker: 0, relay: 0 };
        e.broker = Math.max(e.broker, res.rate);
        best.set(res.stage, e);
      }
      for (const res of x) {
        const e = best.get(res.stage) ?? { broker: 0, relay: 0 };
        e.relay = Math.max(e.relay, res.rate);
        best.set(res.stage, e);
      }
    }
  } finally {
    await stop(broker);
    await stop(relay);
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `iterations ${iterations}, payload ${payloadSize} B, workers ${workers}, best of ${rounds} rounds`,
  );
  console.log("stage                      broker msg/s    relay msg/s   ratio");
  for (const [stage, e] of best) {
    const ratio = e.relay > 0 ? (e.broker / e.relay).toFixed(2) : "-";
    console.log(
      `${stage.padEnd(24)} ${Math.round(e.broker).toLocaleString("en").padStart(14)} ${
        (e.relay > 0 ? Math.round(e.relay).toLocaleString("en") : "-").padStart(14)
      }   ${ratio}`,
    );
  }
}
