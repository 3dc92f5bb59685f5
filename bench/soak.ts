/**
 * Soak (not in CI): the reliability suite at scale against a broker in a
 * process of its own. Fuzz connections over unix and TCP write random and
 * damaged frames (10^6 by default), churn connects and drops primaries with
 * secondaries, a subscriber that never reads comes back every few seconds
 * (and must be dropped at its queue's byte bound), and a control pair checks
 * every one of its messages by sequence and checksum. The broker's RSS and
 * event-loop delay are sampled every second; a summary table is printed at
 * the end, and the exit code is 1 when anything was lost or corrupted, the
 * broker died or RSS went past the bound.
 *
 * Run: deno run -A bench/soak.ts [--frames N] [--workers W] [--queue-bytes B]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { startBrokerProcess } from "../tests/_broker_process.ts";
import { ControlPair, FrameFuzzer, fuzzConnection } from "../tests/_fuzz.ts";
import { prng } from "../tests/_helpers.ts";
import { benchArgs } from "./bench_args.ts";

const USAGE = `Usage: deno run -A bench/soak.ts [options]

  --frames N        fuzz frames to write in all (default 1000000)
  --workers W       concurrent fuzz connections (default 4)
  --queue-bytes B   the broker's per-client queue bound (default 16777216)
  --rss-margin MB   allowed RSS above queue bytes + start (default 100)`;

const MiB = 1024 * 1024;

interface Sample {
  t: number;
  frames: number;
  rss: number;
}

if (import.meta.main) {
  const values = benchArgs(USAGE, () =>
    parseArgs({
      args: Deno.args,
      options: {
        frames: { type: "string", default: "1000000" },
        workers: { type: "string", default: "4" },
        "queue-bytes": { type: "string", default: String(16 * MiB) },
        "rss-margin": { type: "string", default: "100" },
      },
    }).values);
  const target = Number(values.frames);
  const workers = Number(values.workers);
  const queueBytes = Number(values["queue-bytes"]);
  const margin = Number(values["rss-margin"]) * 1e6;
  for (const [name, v] of [["frames", target], ["workers", workers], ["queue-bytes", queueBytes]] as const) {
    if (!(Number.isInteger(v) && v > 0)) {
      console.error(`error: --${name} must be a positive integer\n\n${USAGE}`);
      Deno.exit(2);
    }
  }
  Deno.exit(await soak(target, workers, queueBytes, margin));
}

async function soak(target: number, workers: number, queueBytes: number, margin: number): Promise<number> {
  const statsFile = await Deno.makeTempFile({ prefix: "busrt-soak-", suffix: ".jsonl" });
  const broker = await startBrokerProcess({ timeout: 2, queueBytes }, { BUSRT_STATS: statsFile });
  const startRss = broker.rss();
  const pair = await ControlPair.open(broker.unix, broker.tcp);
  let running = true;
  let frames = 0;
  let connections = 0;
  let churnCycles = 0;
  let silentSubscribers = 0;
  let silentDropped = 0;
  const samples: Sample[] = [];
  const started = performance.now();

  const sampler = setInterval(() => {
    if (!broker.alive()) return;
    samples.push({
      t: (performance.now() - started) / 1000,
      frames,
      rss: broker.rss(),
    });
  }, 1000);

  const control = (async () => {
    while (running) await pair.send(64);
  })();

  const churn = (async () => {
    while (running) {
      const c = await connect(churnCycles % 2 ? broker.unix : broker.tcp, { name: "soak.churn", timeout: 5 })
        .catch(() => null);
      if (c === null) continue;
      const s = await connect(broker.unix, { name: "soak.churn%%1", timeout: 5 }).catch(() => null);
      await c.close();
      if (s !== null) await s.closed;
      churnCycles++;
    }
  })();

  const silent = (async () => {
    while (running) {
      const conn = await Deno.connect({ transport: "unix", path: broker.unix });
      const ok = await register(conn, "soak.silent");
      if (ok) {
        // subscribes to what the fuzzers publish and to the control pair's topic, then never reads
        const topics = new TextEncoder().encode("fz/a\0fz/#\0ctl/seq\0#");
        const frame = new Uint8Array(9 + topics.length);
        frame[4] = 0x02;
        new DataView(frame.buffer).setUint32(5, topics.length, true);
        frame.set(topics, 9);
        await conn.write(frame);
        // pings keep it registered: only its queue's byte bound may drop it
        const until = performance.now() + 5000;
        while (running && performance.now() < until) {
          await new Promise((r) => setTimeout(r, 250));
          if (!await conn.write(new Uint8Array(9)).then(() => true, () => false)) {
            silentDropped++;
            break;
          }
        }
      }
      conn.close();
      silentSubscribers++;
    }
  })();

  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    const rnd = prng(5000 + w);
    const fuzzer = new FrameFuzzer(rnd);
    while (frames < target && broker.alive()) {
      const address = connections % 2 === 0 ? broker.unix : broker.tcp;
      const name = [`fz.w${w}`, "fz.x", `fz.x%%${w}`][Math.floor(rnd() * 3)];
      connections++;
      frames += await fuzzConnection(address, name, fuzzer, 1000, rnd() < 0.5);
    }
  }));
  running = false;
  await Promise.all([control, churn, silent]);
  clearInterval(sampler);
  const report = await pair.finish(30_000);
  const alive = broker.alive();
  let probeOk = false;
  if (alive) {
    const probe = await connect(broker.tcp, { name: "soak.probe", timeout: 5 }).catch(() => null);
    if (probe !== null) {
      probeOk = await probe.send("soak.probe", new Uint8Array(1), QoS.Processed).then(
        () => true,
        () => false,
      );
      await probe.close();
    }
  }
  await pair.close();
  const peakRss = alive ? broker.peakRss() : NaN;
  await broker.stop();
  const loop = (await Deno.readTextFile(statsFile)).trim().split("\n").filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { t: number; loopDelayMaxMs: number; rss: number });
  await Deno.remove(statsFile);
  const seconds = (performance.now() - started) / 1000;

  // one row per tenth of the run
  const rows: string[][] = [["elapsed s", "fuzz frames", "broker RSS MiB", "max loop delay ms"]];
  const slices = 10;
  for (let i = 1; i <= slices; i++) {
    const until = (seconds * i) / slices;
    const from = (seconds * (i - 1)) / slices;
    const s = samples.filter((x) => x.t > from && x.t <= until);
    const l = loop.filter((x) => x.t > from && x.t <= until);
    if (s.length === 0) continue;
    rows.push([
      until.toFixed(1),
      String(s[s.length - 1].frames),
      (Math.max(...s.map((x) => x.rss)) / MiB).toFixed(1),
      l.length === 0 ? "-" : Math.max(...l.map((x) => x.loopDelayMaxMs)).toFixed(1),
    ]);
  }
  printTable(rows);
  const bound = startRss + queueBytes + margin;
  const delays = loop.map((x) => x.loopDelayMaxMs).sort((a, b) => a - b);
  console.log(
    `\n${frames} fuzz frames over ${connections} connections in ${seconds.toFixed(1)} s; ` +
      `${churnCycles} churn cycles; ${silentSubscribers} silent subscribers, ${silentDropped} dropped by the broker\n` +
      `control pair: ${report.sent} sent, ${report.received} verified, ${report.lost} lost, ` +
      `${report.corrupted} corrupted, ${report.reordered} out of order\n` +
      `broker: ${alive ? "alive" : "DEAD"}, probe ${probeOk ? "ok" : "FAILED"}; peak RSS ` +
      `${(peakRss / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB); loop delay p50 ` +
      `${(delays[Math.floor(delays.length / 2)] ?? 0).toFixed(1)} ms, max ${
        (delays.at(-1) ?? 0).toFixed(1)
      } ms`,
  );
  const pass = alive && probeOk && report.lost === 0 && report.corrupted === 0 && report.reordered === 0 &&
    peakRss <= bound;
  console.log(pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

async function register(conn: Deno.Conn, name: string): Promise<boolean> {
  const read = async (n: number) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n;) {
      const got = await conn.read(out.subarray(off));
      if (got === null) return null;
      off += got;
    }
    return out;
  };
  const hello = await read(3);
  if (hello === null) return false;
  await conn.write(hello);
  if ((await read(1))?.[0] !== 1) return false;
  const bytes = new TextEncoder().encode(name);
  await conn.write(new Uint8Array([bytes.length & 0xff, bytes.length >> 8, ...bytes]));
  return (await read(1))?.[0] === 1;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [n, r] of rows.entries()) {
    console.log(r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  "));
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}
