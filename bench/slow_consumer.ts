/**
 * One subscriber that never reads, against a broker in a process of its
 * own: the broker's peak RSS above its start and the p99 of another
 * client's `.broker` calls while a publisher sends `--total` bytes in
 * publications of `--payload-size` bytes (not in CI). The probing client
 * runs in a process of its own by default (`--prober process`), so that its
 * figures are the broker's and not this process's: writing a 16 MiB
 * publication keeps the publisher's own event loop busy too.
 *
 * Run: deno run -A bench/slow_consumer.ts [--payload-size B] [--total B] [--queue-bytes B]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { startBrokerProcess } from "../tests/_broker_process.ts";
import { clientFrame, topicsBody, WireClient } from "../tests/_helpers.ts";
import { Op } from "../protocol/constants.ts";
import { benchArgs } from "./bench_args.ts";

const USAGE = `Usage: deno run -A bench/slow_consumer.ts [options]

  --payload-size B   bytes per publication (default 65536)
  --total B          bytes published in all (default 1073741824)
  --queue-bytes B    the broker's per-client byte bound (default: the broker's, 64 MiB)
  --timeout S        the broker's timeout in seconds (default 30)
  --prober WHERE     process (default): the .broker caller runs in a process of its own;
                     same: in this process, beside the publisher`;

const MiB = 1024 * 1024;

if (import.meta.main) {
  const v = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        "payload-size": { type: "string", default: "65536" },
        total: { type: "string", default: String(1024 * MiB) },
        "queue-bytes": { type: "string" },
        timeout: { type: "string", default: "30" },
        prober: { type: "string", default: "process" },
        probe: { type: "string" },
      },
    }).values);
  if (v.probe !== undefined) {
    await probeUntilStdinEnds(v.probe);
    Deno.exit(0);
  }
  if (v.prober !== "process" && v.prober !== "same") {
    console.error(`--prober must be "process" or "same", not "${v.prober}"`);
    Deno.exit(2);
  }
  const size = Number(v["payload-size"]);
  const total = Number(v.total);
  const timeout = Number(v.timeout);
  const options = v["queue-bytes"] === undefined
    ? { timeout }
    : { timeout, queueBytes: Number(v["queue-bytes"]) };
  const broker = await startBrokerProcess(options);
  const silent = await WireClient.open(broker.unix);
  await silent.handshake("silent");
  silent.startPinging(Math.min(1000, timeout * 250));
  await silent.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["load/#"])));
  await silent.readFrame();
  const publisher = await connect(broker.unix, { name: "publisher", timeout: 60 });
  const prober = new RpcClient(await connect(broker.tcp, { name: "prober", timeout: 60 }), { timeout: 60 });
  for (let i = 0; i < 20; i++) await prober.call(".broker", "test");
  const baseline = broker.rss();
  let running = true;
  let latencies: number[] = [];
  const child = v.prober === "process" ? await startProberProcess(broker.tcp) : null;
  const probing = child !== null ? Promise.resolve() : (async () => {
    while (running) {
      const t0 = performance.now();
      await prober.call(".broker", "test");
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const payload = new Uint8Array(size).fill(0x42);
  const frames = Math.max(1, Math.floor(total / size));
  const ackEvery = Math.max(1, Math.floor((4 * MiB) / size));
  const t0 = performance.now();
  for (let i = 1; i <= frames; i++) {
    if (i % ackEvery === 0 || i === frames) await publisher.publish("load/x", payload, QoS.Processed);
    else publisher.publish("load/x", payload);
  }
  const seconds = (performance.now() - t0) / 1000;
  running = false;
  await probing;
  if (child !== null) latencies = await child.stop();
  latencies.sort((a, b) => a - b);
  const clients = (await prober.call(".broker", "client.list")).unpack() as { clients: { name: string }[] };
  console.log(JSON.stringify({
    payloadSize: size,
    prober: v.prober,
    publishedMiB: (frames * size) / MiB,
    seconds: Number(seconds.toFixed(2)),
    peakRssAboveStartMiB: Number(((broker.peakRss() - baseline) / MiB).toFixed(1)),
    rpcCalls: latencies.length,
    rpcP99Ms: Number((latencies[Math.floor(latencies.length * 0.99)] ?? NaN).toFixed(1)),
    rpcMaxMs: Number((latencies.at(-1) ?? NaN).toFixed(1)),
    silentStillRegistered: clients.clients.some((c) => c.name === "silent"),
  }));
  silent.close();
  await prober.client.close();
  await publisher.close();
  await broker.stop();
}

/** Calls `.broker test` every 10 ms until stdin ends, then prints the latencies (ms) as JSON. */
async function probeUntilStdinEnds(address: string): Promise<void> {
  const prober = new RpcClient(await connect(address, { name: "prober.process", timeout: 60 }), {
    timeout: 60,
  });
  for (let i = 0; i < 20; i++) await prober.call(".broker", "test");
  let running = true;
  const stdinEnded = (async () => {
    for await (const _ of Deno.stdin.readable) {
      // the parent writes nothing: it closes stdin to stop the probe
    }
    running = false;
  })();
  const latencies: number[] = [];
  console.log("probing");
  while (running) {
    const t0 = performance.now();
    await prober.call(".broker", "test");
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 10));
  }
  await stdinEnded;
  console.log(JSON.stringify(latencies));
  await prober.client.close();
}

interface ProberProcess {
  /** Ends the probe and returns its latencies (ms). */
  stop(): Promise<number[]>;
}

/** Starts this script as a probing process against `address` and waits until it probes. */
async function startProberProcess(address: string): Promise<ProberProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--probe", address],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("probing\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the probing process ended before it started probing");
    text += value;
  }
  return {
    async stop(): Promise<number[]> {
      await child.stdin.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      await child.status;
      const last = text.trim().split("\n").at(-1) ?? "[]";
      return JSON.parse(last) as number[];
    },
  };
}
