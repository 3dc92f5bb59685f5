/**
 * Bridge benchmark: the same workloads on one broker and across two
 * brokers joined through a real 3-node NATS cluster on 127.0.0.1 (broker A
 * bridged to node 1, broker B to node 2), in one run, with unix-socket
 * clients on both sides:
 *
 * - publications: a publisher sends N 64-byte publications, the subscriber
 *   counts them; throughput from the first send to the last arrival, on a
 *   broker without a bridge, on a bridged broker (whose bridge exports them
 *   too), and from a client of A to a client of B;
 * - RPC: sequential calls with 64-byte params echoed by a handler (latency
 *   p50/p99), and calls per second with 32 in flight from one client.
 *
 * Run: deno run -A bench/bridge_bench.ts [--publications N] [--calls N] [--rounds R]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Broker } from "../broker/mod.ts";
import { Bridge } from "../bridge/mod.ts";
import { connect, type IpcClient } from "../client/mod.ts";
import { QoS } from "../protocol/mod.ts";
import { RpcClient } from "../rpc/mod.ts";
import { startNatsCluster } from "../tests/_nats_cluster.ts";
import { benchArgs } from "./bench_args.ts";

const USAGE = `Usage: deno run -A bench/bridge_bench.ts [--publications N] [--calls N] [--rounds R]

  --publications N  publications per round (default 100000)
  --calls N         sequential RPC calls per round (default 3000)
  --rounds R        rounds of each workload, best kept (default 3)`;

const opts = benchArgs(USAGE, () =>
  parseArgs({
    args: Deno.args,
    options: {
      publications: { type: "string", default: "100000" },
      calls: { type: "string", default: "3000" },
      rounds: { type: "string", default: "3" },
    },
  }).values);
const PUBLICATIONS = Number(opts.publications);
const CALLS = Number(opts.calls);
const ROUNDS = Number(opts.rounds);
const PAYLOAD = new Uint8Array(64).fill(7);
/** Publications sent but not yet received, at most (well below the subscriber's queue of 8192). */
const WINDOW = 4096;

/** Counts the frames a client receives; `reach(n)` resolves once that many have come in all. */
class Counter {
  got = 0;
  #target = Infinity;
  #wake: () => void = () => {};
  constructor(client: IpcClient) {
    (async () => {
      for await (const _f of client) {
        if (++this.got >= this.#target) {
          this.#target = Infinity;
          this.#wake();
        }
      }
    })();
  }
  reach(n: number): Promise<void> {
    if (this.got >= n) return Promise.resolve();
    this.#target = n;
    return new Promise((r) => this.#wake = r);
  }
}

/**
 * Publications per second from `pub` to the subscriber counted by `sub`,
 * with an end-to-end window: at most WINDOW publications not yet received
 * (NATS gives no backpressure from the subscriber's broker back to the publisher's).
 */
async function publications(pub: IpcClient, sub: Counter, topic: string): Promise<number> {
  const base = sub.got;
  const t0 = performance.now();
  for (let i = 0; i < PUBLICATIONS; i++) {
    const r = pub.publish(topic, PAYLOAD, (i & 1023) === 1023 ? QoS.Processed : QoS.No);
    if (r !== undefined) {
      await r;
      await sub.reach(base + i + 1 - WINDOW);
    }
  }
  await sub.reach(base + PUBLICATIONS);
  return PUBLICATIONS / ((performance.now() - t0) / 1000);
}

/** Latencies (ms) of sequential calls to `target`. */
async function calls(rpc: RpcClient, target: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await rpc.call(target, "echo", PAYLOAD);
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** Calls per second to `target` with `inFlight` calls outstanding. */
async function concurrentCalls(rpc: RpcClient, target: string, inFlight: number): Promise<number> {
  let left = CALLS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (left-- > 0) await rpc.call(target, "echo", PAYLOAD);
  }));
  return CALLS / ((performance.now() - t0) / 1000);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const dir = await Deno.makeTempDir({ prefix: "busrt-bridge-bench-" });
const cluster = await startNatsCluster(3);
const urls = cluster.nodes.map((n) => n.url);
const plain = new Broker(); // no bridge: the baseline
const a = new Broker();
const b = new Broker();
const bridges = [
  Bridge.start(a, { servers: [urls[0], urls[2]], node: "A" }),
  Bridge.start(b, { servers: [urls[1], urls[2]], node: "B" }),
];
try {
  await Promise.all(bridges.map((x) => x.connected));
  await plain.serveUnix(`${dir}/p.sock`);
  const pubP = await connect(`${dir}/p.sock`, { name: "pub" });
  const subP = await connect(`${dir}/p.sock`, { name: "sub" });
  await subP.subscribe("bench/local", QoS.Processed);
  const countP = new Counter(subP);
  await a.serveUnix(`${dir}/a.sock`);
  await b.serveUnix(`${dir}/b.sock`);
  const pubA = await connect(`${dir}/a.sock`, { name: "pub" });
  const subA = await connect(`${dir}/a.sock`, { name: "sub" });
  const subB = await connect(`${dir}/b.sock`, { name: "sub" });
  await subA.subscribe("bench/local", QoS.Processed);
  await subB.subscribe("bench/remote", QoS.Processed);
  const countA = new Counter(subA);
  const countB = new Counter(subB);
  const handler = { onCall: (call: { params: Uint8Array }) => call.params };
  const svcA = new RpcClient(await connect(`${dir}/a.sock`, { name: "svc" }), { handlers: handler });
  const svcB = new RpcClient(await connect(`${dir}/b.sock`, { name: "svc" }), { handlers: handler });
  const app = new RpcClient(await connect(`${dir}/a.sock`, { name: "app" }), { timeout: 5 });
  // until B's subscription and bridge are known across the cluster
  for (let i = 0; i < 100; i++) {
    try {
      await app.call("@B/svc", "echo", PAYLOAD);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await new Promise((r) => setTimeout(r, 300));

  let plainPub = 0;
  let localPub = 0;
  let remotePub = 0;
  let localRpc32 = 0;
  let remoteRpc32 = 0;
  let localRpc: number[] = [];
  let remoteRpc: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plainPub = Math.max(plainPub, await publications(pubP, countP, "bench/local"));
    localPub = Math.max(localPub, await publications(pubA, countA, "bench/local"));
    remotePub = Math.max(remotePub, await publications(pubA, countB, "bench/remote"));
    const l = await calls(app, "svc");
    const c = await calls(app, "@B/svc");
    localRpc32 = Math.max(localRpc32, await concurrentCalls(app, "svc", 32));
    remoteRpc32 = Math.max(remoteRpc32, await concurrentCalls(app, "@B/svc", 32));
    if (localRpc.length === 0 || pct(l, 0.5) < pct(localRpc, 0.5)) localRpc = l;
    if (remoteRpc.length === 0 || pct(c, 0.5) < pct(remoteRpc, 0.5)) remoteRpc = c;
  }
  const f = (n: number) => n.toFixed(3);
  console.log(`publications (64 B, ${PUBLICATIONS} per round, best of ${ROUNDS}):`);
  console.log(`  one broker, no bridge          ${Math.round(plainPub)} /s`);
  console.log(
    `  one broker, bridge exporting   ${Math.round(localPub)} /s   ratio ${(localPub / plainPub).toFixed(3)}`,
  );
  console.log(
    `  across the bridge (A -> B)     ${Math.round(remotePub)} /s   ratio ${
      (remotePub / plainPub).toFixed(3)
    }`,
  );
  console.log(`RPC (64 B echo, ${CALLS} sequential calls, best p50 of ${ROUNDS}):`);
  console.log(`  one broker        p50 ${f(pct(localRpc, 0.5))} ms  p99 ${f(pct(localRpc, 0.99))} ms`);
  console.log(
    `  across the bridge p50 ${f(pct(remoteRpc, 0.5))} ms  p99 ${f(pct(remoteRpc, 0.99))} ms   ` +
      `p50 ratio ${(pct(remoteRpc, 0.5) / pct(localRpc, 0.5)).toFixed(2)}`,
  );
  console.log(`RPC with 32 calls in flight from one client (${CALLS} calls, best of ${ROUNDS}):`);
  console.log(`  one broker        ${Math.round(localRpc32)} calls/s`);
  console.log(
    `  across the bridge ${Math.round(remoteRpc32)} calls/s   ratio ${(remoteRpc32 / localRpc32).toFixed(3)}`,
  );
  console.log(`bridge A: ${JSON.stringify(bridges[0].stats())}`);
  await app.close();
  await svcA.close();
  await svcB.close();
  await Promise.all([pubA.close(), subA.close(), subB.close(), pubP.close(), subP.close()]);
} finally {
  await Promise.all(bridges.map((x) => x.close()));
  await Promise.all([a.close(), b.close(), plain.close()]);
  await cluster.stop();
  await Deno.remove(dir, { recursive: true });
}
