/**
 * Latency with one operation in flight, over unix sockets, in one run:
 *
 * - `raw ping-pong`: a Deno process echoing what it reads, one 100-byte
 *   write and read at a time — the floor of one socket hop there and back;
 * - `raw relay`: the same through a middle Deno process that forwards both
 *   ways (caller → relay → echoing side → relay → caller) — the floor of a
 *   request and its reply through a broker process;
 * - `rpc (ours)`, `rpc (busrtd)`: our RPC layer (`RpcClient.call()`, 100-byte
 *   params, QoS 1 by default) to a handler echoing the params, through our
 *   broker (`cli.ts serve`, its own process) or the reference `busrtd`.
 *
 * The echoing side (the relay's echo, the RPC handler) runs in this process
 * by default, as in the peer comparison (bench/peers), or with
 * `--handler process` in a process of its own. Targets run interleaved
 * (the order rotates each round), `--calls` round trips each after a
 * warm-up; the percentiles are over all round trips of a target. CPU per
 * round trip (utime + stime from `/proc`) is given for the process in the
 * middle (broker, relay; the echo process for the ping-pong) and for this one.
 *
 * Run: deno run -A bench/latency_bench.ts [--rounds 3] [--calls 20000] [--qos 1] [--handler same|process] [--only rpc]
 * Profile our broker: `--broker-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connect } from "../client/ipc_client.ts";
import type { QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { benchArgs } from "./bench_args.ts";
import { cpuMicros } from "./peers/proc_stats.ts";

const USAGE = `Usage: deno run -A bench/latency_bench.ts [options]
  --rounds N        interleaved rounds (default 3)
  --calls N         round trips per target and round (default 20000)
  --qos N           QoS of the RPC requests, 0-3 (default 1, the RPC client's default)
  --handler WHERE   where the echoing side runs: same (this process, default) or process
  --only LIST       targets whose name contains one of these comma-separated words
  --broker-flags F  extra Deno flags of our broker process, space-separated`;

const SIZE = 100;
const BUSRTD = new URL("../../shared/rustref/bin/busrtd", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Round-trip times, µs, and the CPU time spent on them, µs per round trip. */
interface Timed {
  rtts: number[];
  /** CPU of the middle process (broker, relay) or the echo process. */
  serverCpu: number;
  /** CPU of this process (the caller, and the echoing side when it runs here). */
  selfCpu: number;
}

/** Figures of one target over all rounds. */
interface Sample extends Timed {
  target: string;
  rounds: number;
}

/** A process started for a round, stopped by its PID. */
interface Child {
  process: Deno.ChildProcess;
  stop(): Promise<void>;
}

async function waitForSocket(path: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 400; i++) {
    try {
      if (Deno.statSync(path).isSocket) {
        await new Promise((r) => setTimeout(r, 50));
        return;
      }
    } catch {
      // not there yet
    }
    if (exited) throw new Error(`the process serving ${path} ended early`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${path}`);
}

function spawn(cmd: string, args: string[], stderr: "inherit" | "null" = "inherit"): Child {
  const process = new Deno.Command(cmd, { args, stdout: "null", stderr, stdin: "null" }).spawn();
  return {
    process,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch {
        // ended already
      }
      await process.status;
    },
  };
}

function spawnRole(role: string, path: string, extra: string[] = []): Child {
  return spawn(Deno.execPath(), ["run", "-A", SELF, "--role", role, "--path", path, ...extra]);
}

/** Times `n` sequential round trips of `op` after `warm` untimed ones; `server` is the PID of the process in the middle. */
async function time(n: number, warm: number, server: number, op: () => Promise<unknown>): Promise<Timed> {
  for (let i = 0; i < warm; i++) await op();
  const rtts = new Array<number>(n);
  const server0 = cpuMicros(server);
  const self0 = cpuMicros(Deno.pid);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op();
    rtts[i] = (performance.now() - t0) * 1000;
  }
  return { rtts, serverCpu: (cpuMicros(server) - server0) / n, selfCpu: (cpuMicros(Deno.pid) - self0) / n };
}

/** One round trip over `conn`: `SIZE` bytes out, as many back. */
function rawRoundTrip(conn: Deno.Conn): () => Promise<void> {
  const out = new Uint8Array(SIZE).fill(0x5a);
  const buf = new Uint8Array(65536);
  return async () => {
    await conn.write(out);
    let got = 0;
    while (got < SIZE) {
      const r = await conn.read(buf);
      if (r === null) throw new Error("the echoing side closed the connection");
      got += r;
    }
  };
}

/** Round trips to the echo process listening on `path`. */
async function rawRoundTrips(path: string, n: number, server: number): Promise<Timed> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    return await time(n, Math.min(n, 2000), server, rawRoundTrip(conn));
  } finally {
    conn.close();
  }
}

async function rpcRoundTrips(
  path: string,
  n: number,
  qos: QoS,
  handler: string,
  server: number,
): Promise<Timed> {
  const rpc = new RpcClient(await connect(path, { name: `lat.caller.${Date.now()}`, timeout: 5 }), { qos });
  const params = new Uint8Array(SIZE).fill(0x5a);
  try {
    // the handler registers in its own process: wait until it answers
    for (let i = 0; i < 200; i++) {
      try {
        await rpc.call(handler, "echo", params, { timeout: 1 });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    return await time(n, Math.min(n, 2000), server, async () => {
      const reply = await rpc.call(handler, "echo", params);
      if (reply.payload.length !== SIZE) throw new Error(`reply of ${reply.payload.length} bytes`);
    });
  } finally {
    await rpc.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// ---------------------------------------------------------------- roles of the child processes

/** Echoes every connection's bytes back. */
async function echoRole(path: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  for await (const conn of listener) echo(conn);
}

/**
 * Pairs accepted connections two by two (first with second, third with
 * fourth …) and forwards each one's bytes to the other.
 */
async function relayRole(path: string): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  let first: Deno.Conn | null = null;
  for await (const conn of listener) {
    if (first === null) first = conn;
    else {
      pipe(first, conn);
      pipe(conn, first);
      first = null;
    }
  }
}

/** Connects to `path` and echoes what it reads. */
async function echoClientRole(path: string): Promise<void> {
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  await echo(await Deno.connect({ transport: "unix", path }));
}

/** Writes what `from` reads to `to` until either side ends; then closes `to`. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      await to.write(buf.subarray(0, n));
    }
  } catch {
    // a side went away
  }
  try {
    to.close();
  } catch {
    // closed already
  }
}

/** Echoes what `conn` reads back to it. */
function echo(conn: Deno.Conn): Promise<void> {
  return pipe(conn, conn);
}

/** An RPC handler echoing the params of `echo`. */
function echoHandler(client: Awaited<ReturnType<typeof connect>>): RpcClient {
  return new RpcClient(client, {
    handlers: { onCall: (call) => call.method === "echo" ? call.params : undefined },
  });
}

async function handlerRole(path: string, name: string): Promise<void> {
  const rpc = echoHandler(await connect(path, { name, timeout: 5 }));
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  await rpc.closed;
}

// ---------------------------------------------------------------- targets

let socketCount = 0;

/** A socket path not used before in this run (a stopped process may leave its file behind). */
function fresh(dir: string, what: string): string {
  return `${dir}/${what}.${++socketCount}.sock`;
}

/** Where the echoing side runs: in this process, or in a process of its own. */
type Placement = "same" | "process";

interface TargetRun {
  dir: string;
  calls: number;
  qos: QoS;
  brokerFlags: string[];
  handler: Placement;
}

type Target = (run: TargetRun) => Promise<Timed>;

const TARGETS: [string, Target][] = [
  ["raw ping-pong", async ({ dir, calls }) => {
    const path = fresh(dir, "echo");
    const echoer = spawnRole("echo", path);
    try {
      await waitForSocket(path, echoer.process);
      return await rawRoundTrips(path, calls, echoer.process.pid);
    } finally {
      await echoer.stop();
    }
  }],
  ["raw relay", async ({ dir, calls, handler }) => {
    const path = fresh(dir, "relay");
    const relay = spawnRole("relay", path);
    let echoer: Child | null = null;
    let echoConn: Deno.Conn | null = null;
    try {
      await waitForSocket(path, relay.process);
      // the relay pairs connections in accept order: the caller's first, then the echoing one
      const caller = await Deno.connect({ transport: "unix", path });
      if (handler === "same") {
        echoConn = await Deno.connect({ transport: "unix", path });
        echo(echoConn);
      } else echoer = spawnRole("echo-client", path);
      return await time(calls, Math.min(calls, 2000), relay.process.pid, rawRoundTrip(caller))
        .finally(() => caller.close());
    } finally {
      await echoer?.stop();
      await relay.stop();
    }
  }],
  ["rpc (ours)", async (run) => {
    const path = fresh(run.dir, "ours");
    const broker = spawn(
      Deno.execPath(),
      ["run", "-A", ...run.brokerFlags, CLI, "serve", "-B", path],
      "null",
    );
    return await rpcVia(broker, path, run);
  }],
  ["rpc (busrtd)", async (run) => {
    const path = fresh(run.dir, "busrtd");
    const broker = spawn(BUSRTD, ["-B", path, "--queue-size", "1000000"], "null");
    return await rpcVia(broker, path, run);
  }],
];

async function rpcVia(broker: Child, path: string, { calls, qos, handler }: TargetRun): Promise<Timed> {
  let child: Child | null = null;
  let local: RpcClient | null = null;
  const name = "lat.handler";
  try {
    await waitForSocket(path, broker.process);
    if (handler === "same") local = echoHandler(await connect(path, { name, timeout: 5 }));
    else child = spawnRole("handler", path, ["--name", name]);
    return await rpcRoundTrips(path, calls, qos, name, broker.process.pid);
  } finally {
    await local?.close();
    await child?.stop();
    await broker.stop();
    await Deno.remove(path).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        role: { type: "string" },
        path: { type: "string" },
        handler: { type: "string", default: "same" },
        name: { type: "string" },
        rounds: { type: "string", default: "3" },
        calls: { type: "string", default: "20000" },
        qos: { type: "string", default: "1" },
        only: { type: "string", default: "" },
        "broker-flags": { type: "string", default: "" },
      },
    }));
  const path = values.path ?? "";
  if (values.role === "echo") await echoRole(path);
  else if (values.role === "relay") await relayRole(path);
  else if (values.role === "echo-client") await echoClientRole(path);
  else if (values.role === "handler") await handlerRole(path, values.name!);
  else {
    const rounds = Number(values.rounds);
    const calls = Number(values.calls);
    const qos = Number(values.qos) as QoS;
    if (![0, 1, 2, 3].includes(qos)) throw new RangeError(`Invalid --qos "${values.qos}"`);
    const only = values.only.split(",").filter(Boolean);
    const targets = TARGETS.filter(([name]) => only.length === 0 || only.some((w) => name.includes(w)));
    const brokerFlags = values["broker-flags"].split(" ").filter(Boolean);
    const handler = values.handler as Placement;
    if (handler !== "same" && handler !== "process") throw new RangeError(`Invalid --handler "${handler}"`);
    const dir = await Deno.makeTempDir({ prefix: "busrt-latency-" });
    const samples = new Map<string, Sample>(
      targets.map(([t]) => [t, { target: t, rtts: [], serverCpu: 0, selfCpu: 0, rounds: 0 }]),
    );
    try {
      for (let round = 0; round < rounds; round++) {
        // rotate the order so load from elsewhere spreads over every target
        for (let i = 0; i < targets.length; i++) {
          const [name, run] = targets[(i + round) % targets.length];
          const timed = await run({ dir, calls, qos, brokerFlags, handler });
          const sample = samples.get(name)!;
          sample.rtts.push(...timed.rtts);
          sample.serverCpu += timed.serverCpu;
          sample.selfCpu += timed.selfCpu;
          sample.rounds++;
          const rtts = timed.rtts;
          const s = [...rtts].sort((a, b) => a - b);
          console.error(
            `round ${round + 1} ${name}: p50 ${percentile(s, 0.5).toFixed(1)} µs, ` +
              `p99 ${percentile(s, 0.99).toFixed(1)} µs`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    const base = samples.get("raw ping-pong");
    const baseP50 = base === undefined ? NaN : percentile(base.rtts.sort((a, b) => a - b), 0.5);
    console.log(
      `${rounds} rounds × ${calls} round trips, ${SIZE}-byte payload, RPC QoS ${qos}, ` +
        `echoing side ${handler === "same" ? "in this process" : "in its own process"}, unix sockets\n` +
        "target           p50 µs   p90 µs   p99 µs   round trips/s   p50 ÷ raw ping-pong" +
        "   middle CPU µs/rt   caller CPU µs/rt",
    );
    for (const { target, rtts, serverCpu, selfCpu, rounds: n } of samples.values()) {
      const s = rtts.sort((a, b) => a - b);
      const mean = s.reduce((a, b) => a + b, 0) / s.length;
      const p50 = percentile(s, 0.5);
      console.log(
        `${target.padEnd(15)} ${p50.toFixed(1).padStart(7)} ${percentile(s, 0.9).toFixed(1).padStart(8)} ${
          percentile(s, 0.99).toFixed(1).padStart(8)
        } ${Math.round(1e6 / mean).toLocaleString("en-US").padStart(15)} ${
          (p50 / baseP50).toFixed(2).padStart(21)
        } ${(serverCpu / n).toFixed(1).padStart(18)} ${(selfCpu / n).toFixed(1).padStart(18)}`,
      );
    }
  }
}
