/**
 * Streaming-call benchmark (docs/PROTOCOL.md §25), one run, a broker in
 * another process (ours, or busrtd with `--busrtd`), both clients in this
 * one, over a unix socket:
 *
 * 1. throughput: items/s of a server stream of 100-byte items (credit
 *    window `--window`), produced by a sync and by an async generator,
 *    against plain pipelined MESSAGE frames of 100 bytes
 *    (QoS 1, as the stream's frames, at most 4,096 not yet received), and
 *    their ratio; also the CPU time per item of both processes (this one and
 *    the broker), which a loaded machine disturbs less than the rate;
 * 2. memory: a fast producer streaming `--slow-items` items of `--slow-size`
 *    bytes to a consumer that sleeps 1 ms every 10 items; RSS and heap of
 *    this process and the broker's RSS before, at the peak and after.
 *
 * Run: deno run -A bench/rpc_stream_bench.ts [--items N] [--window N] [--slow-items N] [--slow-size BYTES] [--busrtd]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { benchArgs } from "./bench_args.ts";
import { spawnBrokerProcess } from "./broker_process.ts";

const USAGE =
  "Usage: deno run -A bench/rpc_stream_bench.ts [--items N] [--window N] [--slow-items N] [--slow-size BYTES] [--busrtd]";

const options = benchArgs(USAGE, () =>
  parseArgs({
    args: Deno.args,
    options: {
      items: { type: "string", default: "200000" },
      window: { type: "string", default: "1024" },
      "slow-items": { type: "string", default: "20000" },
      "slow-size": { type: "string", default: "10000" },
      busrtd: { type: "boolean", default: false },
    },
  }).values);

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, not "${text}"`);
  return n;
}

const ITEMS = benchArgs(USAGE, () => positive("items", options.items));
const WINDOW = benchArgs(USAGE, () => positive("window", options.window));
const SLOW_ITEMS = benchArgs(USAGE, () => positive("slow-items", options["slow-items"]));
const SLOW_SIZE = benchArgs(USAGE, () => positive("slow-size", options["slow-size"]));
const ITEM_SIZE = 100;
/** Plain messages sent and not yet received, at most (below the broker's queue of 8,192 frames). */
const PLAIN_IN_FLIGHT = 4096;
const MB = 1024 * 1024;

async function startBroker(path: string): Promise<Deno.ChildProcess> {
  if (options.busrtd) {
    const busrtd = new URL("../../shared/rustref/bin/busrtd", import.meta.url).pathname;
    const child = new Deno.Command(busrtd, {
      args: ["-B", path, "--queue-size", "1000000"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 500; i++) {
      try {
        (await Deno.connect({ transport: "unix", path })).close();
        return child;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    throw new Error("busrtd did not start");
  }
  return await spawnBrokerProcess(path);
}

function rssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(/VmRSS:\s+(\d+) kB/);
  return m === null ? 0 : Number(m[1]) * 1024;
}

interface Memory {
  rss: number;
  heap: number;
  broker: number;
}

function memory(brokerPid: number): Memory {
  const m = Deno.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, broker: rssOf(brokerPid) };
}

/** CPU seconds the process `pid` used so far (user + system), from /proc. */
function cpuOf(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks of 1/100 s
}

/** Wall-clock rate and CPU per item (this process and the broker's), which a loaded machine disturbs less. */
interface Rate {
  perSecond: number;
  cpuMicrosPerItem: number;
}

/** Starts measuring; the returned function ends it for `items` items. */
function meter(brokerPid: number): (items: number) => Rate {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const brokerCpu = cpuOf(brokerPid);
  return (items) => {
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const micros = used.user + used.system + (cpuOf(brokerPid) - brokerCpu) * 1e6;
    return { perSecond: items / seconds, cpuMicrosPerItem: micros / items };
  };
}

function mb(n: number): string {
  return (n / MB).toFixed(1);
}

/**
 * Plain MESSAGE frames, QoS 1, pipelined with up to {@linkcode PLAIN_IN_FLIGHT}
 * not yet received (the consumer's count is read in-process, so this pacing
 * costs no frames); items/s until the last one arrives. Unpaced, they would
 * fill the consumer's broker queue: our broker answers 0x77 then.
 */
async function plainMessages(path: string, brokerPid: number): Promise<Rate> {
  const producer = await connect(path, { name: "bench.plain.producer", timeout: 30 });
  const consumer = await connect(path, { name: "bench.plain.consumer", timeout: 30 });
  const payload = new Uint8Array(ITEM_SIZE).fill(1);
  let received = 0;
  let wake = null as (() => void) | null;
  const done = (async () => {
    for await (const _ of consumer) {
      received++;
      if (wake !== null && (received === ITEMS || received % 256 === 0)) {
        const w = wake;
        wake = null;
        w();
      }
      if (received === ITEMS) return;
    }
  })();
  const measured = meter(brokerPid);
  let failed: unknown = null;
  const fail = (err: unknown) => failed = err;
  for (let sent = 0; sent < ITEMS; sent++) {
    while (sent - received >= PLAIN_IN_FLIGHT) await new Promise<void>((r) => wake = r);
    producer.send("bench.plain.consumer", payload, QoS.Processed).catch(fail);
  }
  await done;
  const rate = measured(ITEMS);
  if (failed !== null) throw failed;
  await Promise.all([producer.close(), consumer.close()]);
  return rate;
}

/** A server stream of 100-byte items (from a sync or an async generator); items/s until the end arrives. */
async function streamed(path: string, brokerPid: number, async: boolean): Promise<Rate> {
  const server = new RpcClient(await connect(path, { name: "bench.stream.server", timeout: 30 }));
  const caller = new RpcClient(await connect(path, { name: "bench.stream.caller", timeout: 30 }));
  const payload = new Uint8Array(ITEM_SIZE).fill(1);
  server.handleStream(
    "items",
    async
      ? async function* () {
        for (let i = 0; i < ITEMS; i++) yield payload;
      }
      : function* () {
        for (let i = 0; i < ITEMS; i++) yield payload;
      },
    { raw: true },
  );
  const measured = meter(brokerPid);
  let n = 0;
  for await (
    const _ of caller.callStream("bench.stream.server", "items", undefined, { window: WINDOW, raw: true })
  ) {
    n++;
  }
  const rate = measured(ITEMS);
  if (n !== ITEMS) throw new Error(`received ${n} of ${ITEMS} items`);
  await Promise.all([server.close(), caller.close()]);
  return rate;
}

/** A fast producer, a consumer sleeping 1 ms every 10 items; memory before, at the peak, after. */
async function slowConsumer(
  path: string,
  brokerPid: number,
): Promise<{ before: Memory; peak: Memory; after: Memory; seconds: number }> {
  const server = new RpcClient(await connect(path, { name: "bench.slow.server", timeout: 30 }));
  const caller = new RpcClient(await connect(path, { name: "bench.slow.caller", timeout: 30 }));
  const payload = new Uint8Array(SLOW_SIZE).fill(2);
  server.handleStream("flood", function* () {
    for (let i = 0; i < SLOW_ITEMS; i++) yield payload;
  }, { raw: true });
  // deno-lint-ignore no-explicit-any
  (globalThis as any).gc?.();
  const before = memory(brokerPid);
  const peak = { ...before };
  const sampler = setInterval(() => {
    const now = memory(brokerPid);
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heap);
    peak.broker = Math.max(peak.broker, now.broker);
  }, 50);
  const started = performance.now();
  let n = 0;
  for await (
    const _ of caller.callStream("bench.slow.server", "flood", undefined, { window: WINDOW, raw: true })
  ) {
    if (++n % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (n !== SLOW_ITEMS) throw new Error(`received ${n} of ${SLOW_ITEMS} items`);
  const stats = [server.streamStats(), caller.streamStats()];
  if (stats.some((s) => s.calling + s.serving !== 0)) {
    throw new Error(`streams left: ${JSON.stringify(stats)}`);
  }
  await Promise.all([server.close(), caller.close()]);
  // deno-lint-ignore no-explicit-any
  (globalThis as any).gc?.();
  return { before, peak, after: memory(brokerPid), seconds };
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "busrt-stream-bench-" });
  const path = `${dir}/bus.sock`;
  const broker = await startBroker(path);
  try {
    const brokerName = options.busrtd ? "busrtd" : "ours (another process)";
    console.log(`broker: ${brokerName}, unix socket; ${ITEMS} items of ${ITEM_SIZE} bytes, window ${WINDOW}`);
    // warm-up of both paths
    await plainMessages(path, broker.pid);
    await streamed(path, broker.pid, false);
    await streamed(path, broker.pid, true);
    const plain = await plainMessages(path, broker.pid);
    const stream = await streamed(path, broker.pid, false);
    const asyncStream = await streamed(path, broker.pid, true);
    const show = (label: string, r: Rate) => {
      const rate = `${Math.round(r.perSecond).toLocaleString("en")} items/s`.padStart(16);
      const cpu = `${r.cpuMicrosPerItem.toFixed(1)} µs CPU/item`.padStart(17);
      const ratio = r === plain
        ? ""
        : `  ratio ${(r.perSecond / plain.perSecond).toFixed(2)} (CPU ${
          (r.cpuMicrosPerItem / plain.cpuMicrosPerItem).toFixed(2)
        }x)`;
      console.log(`${label.padEnd(44)} ${rate} ${cpu}${ratio}`);
    };
    show("plain pipelined messages (QoS 1)", plain);
    show(`server stream, sync generator (credit ${WINDOW})`, stream);
    show(`server stream, async generator (credit ${WINDOW})`, asyncStream);
    const total = SLOW_ITEMS * SLOW_SIZE;
    console.log(
      `\nslow consumer (1 ms sleep every 10 items), fast producer: ${SLOW_ITEMS} items of ${SLOW_SIZE} bytes (${
        mb(total)
      } MB), window ${WINDOW} items and 1 MiB (${
        mb(Math.max(4, Math.min(WINDOW, Math.floor(1024 * 1024 / SLOW_SIZE))) * SLOW_SIZE)
      } MB in flight at most)`,
    );
    const m = await slowConsumer(path, broker.pid);
    console.log(`took ${m.seconds.toFixed(1)} s`);
    console.log(`               before   peak   after (MB)`);
    for (const key of ["rss", "heap", "broker"] as const) {
      const label = { rss: "this RSS", heap: "this heap", broker: "broker RSS" }[key];
      console.log(
        `${label.padEnd(12)} ${mb(m.before[key]).padStart(8)} ${mb(m.peak[key]).padStart(6)} ${
          mb(m.after[key]).padStart(7)
        }`,
      );
    }
  } finally {
    broker.kill("SIGTERM");
    await broker.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
