/**
 * Clients in real Web Workers (tests/_worker_client.ts) against a broker in
 * this thread, over worker ports and over a broadcast channel: messages
 * between workers, in-process and socket clients; RPC both ways; a worker
 * terminated mid-stream; 100,000 messages in order; fan-out to 8 workers;
 * access policy; `client.list` kind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { AaaMap, ClientAaa } from "../broker/aaa.ts";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { ErrorCode, QoS } from "../protocol/constants.ts";
import type { WorkerReport, WorkerTask } from "./_worker_client.ts";
import { text, waitFor, withTimeout } from "./_helpers.ts";

const SCRIPT = new URL("./_worker_client.ts", import.meta.url).href;

/** A worker running one client, with its reports as a queue. */
class TestWorker {
  readonly worker = new Worker(SCRIPT, { type: "module" });
  readonly #reports: WorkerReport[] = [];
  #waiter: (() => void) | null = null;
  #terminated = false;

  constructor(task: WorkerTask) {
    this.worker.onmessage = (e: MessageEvent<WorkerReport>) => {
      this.#reports.push(e.data);
      this.#waiter?.();
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.#reports.push({ type: "error", code: null, message: e.message });
      this.#waiter?.();
    };
    const transfer = "port" in task.via ? [task.via.port] : [];
    this.worker.postMessage(task, transfer);
  }

  /** The next report, failing on an error report. */
  async next(ms = 20_000): Promise<WorkerReport> {
    const deadline = Date.now() + ms;
    while (this.#reports.length === 0) {
      assert.ok(Date.now() < deadline, "the worker did not report in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.#reports.shift()!;
  }

  async expect<T extends WorkerReport["type"]>(type: T): Promise<Extract<WorkerReport, { type: T }>> {
    const r = await this.next();
    assert.equal(r.type, type, JSON.stringify(r));
    return r as Extract<WorkerReport, { type: T }>;
  }

  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.worker.terminate();
  }
}

type Via = "port" | "channel";

/** A broker serving worker ports and a channel, plus a unix socket. */
async function workerBroker(options: { timeout?: number; policy?: AaaMap } = {}) {
  const broker = new Broker();
  const timeout = options.timeout ?? 5;
  const ports = await broker.serveWorkerPorts({ timeout, policy: options.policy ?? null });
  const channel = `busrt-test-${crypto.randomUUID()}`;
  await broker.serveChannel(channel, { timeout, policy: options.policy ?? null });
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  await broker.serveUnix(path, { timeout });
  const via = (v: Via): WorkerTask["via"] => v === "port" ? { port: ports.port() } : { channel };
  const close = async () => {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { broker, via, path, close };
}

for (const via of ["port", "channel"] as const) {
  Deno.test(`workers (${via}): worker to worker, to an in-process and to a socket client, in order`, async () => {
    const bus = await workerBroker();
    const workers: TestWorker[] = [];
    try {
      const rx = new TestWorker({ via: bus.via(via), name: "w.rx", role: "receive", target: null });
      workers.push(rx);
      await rx.expect("ready");
      const local = bus.broker.registerClient("local");
      const sock = await connect(bus.path, { name: "sock", timeout: 5 });

      for (const target of ["w.rx", "local", "sock"]) {
        const tx = new TestWorker({
          via: bus.via(via),
          name: `w.tx.${target}`,
          role: "send",
          target,
          count: 1000,
        });
        workers.push(tx);
        assert.equal((await tx.expect("sent")).count, 1000);
      }
      const got = await rx.expect("received");
      assert.deepEqual(got, { type: "received", count: 1000, inOrder: true, senders: ["w.tx.w.rx"] });
      for (const reader of [local, sock]) {
        const it = reader[Symbol.asyncIterator]();
        for (let i = 0; i < 1000; i++) {
          const { value } = await it.next();
          assert.equal(text(value!.payload), String(i));
          assert.match(value!.sender!, /^w\.tx\./);
        }
        assert.equal(text((await it.next()).value!.payload), "end");
      }
      const kinds = new Map(bus.broker.clientList().map((c) => [c.name, c.kind]));
      assert.equal(kinds.get("sock"), "local_ipc");
      assert.equal(kinds.get("local"), "internal");
      await sock.close();
    } finally {
      for (const w of workers) w.terminate();
      await bus.close();
    }
  });
}

Deno.test("workers: RPC from a socket client to a worker and from the worker's handler back to the socket client", async () => {
  const bus = await workerBroker();
  const w = new TestWorker({ via: bus.via("port"), name: "w.rpc", role: "rpc", callBack: "sock" });
  const sock = await connect(bus.path, { name: "sock", timeout: 5 });
  const rpc = new RpcClient(sock, {
    handlers: { onCall: (c) => c.method === "ping" ? new TextEncoder().encode("pong") : null },
  });
  try {
    await w.expect("ready");
    assert.equal(text((await rpc.call("w.rpc", "echo", new TextEncoder().encode("hi"))).payload), "hi");
    assert.equal(text((await rpc.call("w.rpc", "ask", new Uint8Array(0))).payload), "worker got pong");
    await assert.rejects(rpc.call("w.rpc", "nope", new Uint8Array(0)));
  } finally {
    w.terminate();
    await rpc.close();
    await bus.close();
  }
});

for (const via of ["port", "channel"] as const) {
  Deno.test(`workers (${via}): a worker terminated mid-stream disappears within the timeout, its secondary too`, async () => {
    const bus = await workerBroker({ timeout: 1 });
    const sink = bus.broker.registerClient("sink", { queueSize: 1_000_000 });
    const w = new TestWorker({
      via: bus.via(via),
      name: "w.stream",
      role: "stream",
      target: "sink",
      pingInterval: 0.25,
    });
    try {
      await w.expect("ready");
      await waitFor(() => bus.broker.isRegistered("w.stream%%0"), 5000, "the secondary registered");
      const it = sink[Symbol.asyncIterator]();
      for (let i = 0; i < 100; i++) assert.equal(text((await it.next()).value!.payload), String(i));
      w.terminate();
      const t0 = performance.now();
      await waitFor(() => !bus.broker.isRegistered("w.stream"), 10_000, "the worker's registration ends");
      assert.equal(bus.broker.isRegistered("w.stream%%0"), false, "the secondary went with it");
      console.log(
        `${via}: registration gone ${Math.round(performance.now() - t0)} ms after terminate (timeout 1 s)`,
      );
    } finally {
      w.terminate();
      await bus.close();
    }
  });
}

Deno.test("workers: 100,000 messages from a worker arrive in order", async () => {
  const bus = await workerBroker();
  const rx = bus.broker.registerClient("rx", { queueSize: 200_000 });
  const tx = new TestWorker({
    via: bus.via("port"),
    name: "w.tx",
    role: "send",
    target: "rx",
    count: 100_000,
  });
  try {
    assert.equal((await tx.expect("sent")).count, 100_000);
    const it = rx[Symbol.asyncIterator]();
    for (let i = 0; i < 100_000; i++) {
      const { value } = await it.next();
      if (text(value!.payload) !== String(i)) assert.fail(`frame ${i} was ${text(value!.payload)}`);
    }
    assert.equal(text((await it.next()).value!.payload), "end");
  } finally {
    tx.terminate();
    await bus.close();
  }
});

Deno.test("workers: a publication fans out to 8 workers, each in order", async () => {
  const bus = await workerBroker();
  const workers = Array.from(
    { length: 8 },
    (_, i) =>
      new TestWorker({
        via: bus.via(i % 2 === 0 ? "port" : "channel"),
        name: `w.sub.${i}`,
        role: "receive",
        target: "fan/#",
      }),
  );
  try {
    for (const w of workers) await w.expect("ready");
    const pub = bus.broker.registerClient("pub");
    for (let i = 0; i < 2000; i++) pub.publish("fan/out", String(i));
    await pub.publish("fan/out", "end", QoS.Processed);
    for (const w of workers) {
      assert.deepEqual(await w.expect("received"), {
        type: "received",
        count: 2000,
        inOrder: true,
        senders: ["pub"],
      });
    }
  } finally {
    for (const w of workers) w.terminate();
    await bus.close();
  }
});

Deno.test("workers: the listener's access policy applies (0x79 for a name not in the map)", async () => {
  const bus = await workerBroker({ policy: new AaaMap({ "w.allowed": new ClientAaa() }) });
  const bad = new TestWorker({ via: bus.via("port"), name: "w.denied", role: "receive", target: null });
  const badChannel = new TestWorker({
    via: bus.via("channel"),
    name: "w.denied",
    role: "receive",
    target: null,
  });
  const good = new TestWorker({ via: bus.via("port"), name: "w.allowed", role: "receive", target: null });
  try {
    for (const w of [bad, badChannel]) {
      const r = await w.expect("error");
      assert.equal(r.code, ErrorCode.Access);
    }
    await good.expect("ready");
    assert.deepEqual(bus.broker.clientList().map((c) => [c.name, c.kind]), [["w.allowed", "worker"]]);
  } finally {
    for (const w of [bad, badChannel, good]) w.terminate();
    await withTimeout(bus.close(), 10_000, "broker close");
  }
});

Deno.test("bench/worker_bench.ts runs every transport (smoke, tiny counts)", async () => {
  const { runWorkerBench } = await import("../bench/worker_bench.ts");
  const best = await runWorkerBench(2000, 20, 1);
  assert.deepEqual([...best.keys()], ["port", "channel", "socket"]);
  for (const e of best.values()) assert.ok(e.rate > 0 && e.p50 > 0 && e.p99 >= e.p50);
});
