/**
 * Bridge faults: NATS unreachable from the start (local clients are not
 * disturbed, messages to other nodes answer 0x71 at once, the outbound
 * buffer is bounded and counts its drops), and one bridge's NATS link cut
 * and restored through a loopback TCP proxy (buffered publications are
 * sent in order after the reconnect, the oldest dropped by policy);
 * overlapping import patterns and malformed frames put on NATS directly.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker, type InProcessClient } from "../broker/mod.ts";
import { Bridge } from "../bridge/mod.ts";
import { connect } from "../client/mod.ts";
import { type BusError, type Frame, QoS } from "../protocol/mod.ts";
import { enableCoreRpc, RpcClient, type RpcError } from "../rpc/mod.ts";
import { NATS_AVAILABLE, startNatsCluster } from "./_nats_cluster.ts";
import { findPromtool, promtoolCheck } from "./_promtool.ts";
import { connect as natsConnect, headers as natsHeaders } from "@nats-io/transport-node";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function collect(client: InProcessClient): Frame[] {
  const frames: Frame[] = [];
  (async () => {
    for await (const f of client) frames.push(f);
  })();
  return frames;
}

/** A loopback TCP proxy to `target` that can be cut (connections closed, port refused) and restored. */
class TcpProxy {
  readonly #target: number;
  #listener: Deno.Listener | null = null;
  #conns = new Set<Deno.Conn>();
  port = 0;

  constructor(target: number) {
    this.#target = target;
  }

  open(): void {
    const l = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.port = (l.addr as Deno.NetAddr).port;
    this.#listener = l;
    (async () => {
      try {
        for await (const a of l) this.#pipe(a);
      } catch {
        // closed
      }
    })();
  }

  async #pipe(a: Deno.Conn): Promise<void> {
    this.#conns.add(a);
    let b: Deno.Conn;
    try {
      b = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
    } catch {
      this.#drop(a);
      return;
    }
    this.#conns.add(b);
    const done = () => {
      this.#drop(a);
      this.#drop(b);
    };
    a.readable.pipeTo(b.writable).then(done, done);
    b.readable.pipeTo(a.writable).then(done, done);
  }

  #drop(c: Deno.Conn): void {
    if (!this.#conns.delete(c)) return;
    try {
      c.close();
    } catch {
      // closed by its pipe
    }
  }

  cut(): void {
    this.#listener?.close();
    this.#listener = null;
    for (const c of [...this.#conns]) this.#drop(c);
  }
}

Deno.test({
  name: "a bridge that cannot reach NATS does not disturb local clients; its buffer is bounded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-bridge-" });
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // refused once closed
    const port = (silent.addr as Deno.NetAddr).port;
    silent.close();
    const broker = new Broker();
    enableCoreRpc(broker);
    const bridge = Bridge.start(broker, {
      servers: [`nats://127.0.0.1:${port}`],
      node: "A",
      bufferBytes: 4 * (100 + 128),
    });
    try {
      await broker.serveUnix(`${dir}/a.sock`);
      const sub = await connect(`${dir}/a.sock`, { name: "sub" });
      await sub.subscribe("t/#", QoS.Processed);
      const pub = await connect(`${dir}/a.sock`, { name: "pub" });
      for (let i = 0; i < 20; i++) await pub.publish("t/x", new Uint8Array(100).fill(i), QoS.Processed);
      const it = sub[Symbol.asyncIterator]();
      for (let i = 0; i < 20; i++) assert.equal((await it.next()).value?.payload[0], i);
      const t0 = performance.now();
      await assert.rejects(pub.send("@B/svc", "x", QoS.Processed), (e: BusError) => e.code === 0x71);
      assert.ok(performance.now() - t0 < 500, "answered at once");
      const rpc = new RpcClient(pub);
      assert.equal((await rpc.call(".broker", "test")).payload.length > 0, true);
      const stats = broker.stats().bridge!;
      assert.equal(stats.state, "connecting");
      assert.equal(stats.exported, 20);
      assert.equal(stats.buffered, 4);
      assert.equal(stats.dropped, 16);
      // the monitoring endpoint shows the bridge too, and its metrics pass promtool
      const http = await broker.serveHttp({ hostname: "127.0.0.1", port: 0 });
      const api = await (await fetch(`${http.url}/api/stats`)).json();
      assert.equal(api.bridge.state, "connecting");
      assert.equal(api.bridge.dropped, 16);
      const metrics = await (await fetch(`${http.url}/metrics`)).text();
      assert.match(metrics, /^busrt_bridge_connected\{node="A"\} 0$/m);
      assert.match(metrics, /^busrt_bridge_dropped_total\{node="A"\} 16$/m);
      assert.match(metrics, /^busrt_bridge_buffered_frames\{node="A"\} 4$/m);
      const promtool = await findPromtool();
      if (promtool === null) console.log("promtool not found (Debian package prometheus): check skipped");
      else {
        const { code, report } = await promtoolCheck(promtool, metrics);
        assert.equal(code, 0, report);
        assert.equal(report.trim(), "", report);
      }
      await sub.close();
      await pub.close();
      const c0 = performance.now();
      await bridge.close();
      assert.ok(performance.now() - c0 < 2000, "close does not wait for NATS");
      assert.equal(broker.stats().bridge, undefined, "detached");
    } finally {
      await bridge.close();
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a bridge's NATS link cut and restored: buffered publications follow in order, the oldest dropped",
  ignore: !NATS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const nats = await startNatsCluster(1);
    const natsPort = Number(new URL(nats.nodes[0].url.replace("nats:", "http:")).port);
    const proxy = new TcpProxy(natsPort);
    proxy.open();
    const a = new Broker();
    const b = new Broker();
    const frameBytes = 16 + 128; // payload + the buffer's per-frame allowance
    const bridgeA = Bridge.start(a, {
      servers: [`nats://127.0.0.1:${proxy.port}`],
      node: "A",
      bufferBytes: 10 * frameBytes,
      dropPolicy: "oldest",
    });
    const bridgeB = Bridge.start(b, { servers: [nats.nodes[0].url], node: "B" });
    try {
      await Promise.all([bridgeA.connected, bridgeB.connected]);
      const sub = b.registerClient("sub");
      await sub.subscribe("cut/#");
      const got = collect(sub);
      const pub = a.registerClient("pub");
      await until(
        () => {
          pub.publish("cut/warm", new Uint8Array(16));
          return got.length > 0;
        },
        10_000,
        "the link",
      );
      await delay(100);
      got.length = 0;

      proxy.cut();
      await until(() => bridgeA.state === "reconnecting", 10_000, "A to notice the cut");
      for (let i = 0; i < 30; i++) pub.publish("cut/seq", new Uint8Array(16).fill(i));
      let stats = bridgeA.stats();
      assert.equal(stats.buffered, 10);
      assert.equal(stats.dropped, 20);
      // local clients of A are not disturbed meanwhile
      const local = a.registerClient("local");
      await local.subscribe("cut/#");
      const localGot = collect(local);
      pub.publish("cut/local", new Uint8Array(16));
      await until(() => localGot.length === 1, 1000, "a local publication");

      proxy.open(); // the same port again
      await until(() => bridgeA.state === "connected", 10_000, "A to reconnect");
      await until(() => got.length >= 10, 10_000, "the buffered publications");
      await delay(200);
      // the local one was exported too: 31 buffered, the 10 newest kept
      assert.deepEqual(got.map((f) => f.payload[0]), [21, 22, 23, 24, 25, 26, 27, 28, 29, 0]);
      assert.equal(got.at(-1)?.topic, "cut/local");
      assert.ok(got.every((f) => f.sender === "@A/pub"));
      stats = bridgeA.stats();
      assert.equal(stats.buffered, 0);
      assert.equal(stats.dropped, 21);
      assert.equal(stats.reconnects, 1);
      // and new traffic flows
      await pub.send("@B/sub", "after", QoS.Processed);
    } finally {
      proxy.cut();
      await Promise.all([bridgeA.close(), bridgeB.close()]);
      await Promise.all([a.close(), b.close()]);
      await nats.stop();
    }
  },
});

Deno.test({
  name: "overlapping import patterns import once; malformed frames from NATS are refused and counted",
  ignore: !NATS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const nats = await startNatsCluster(1);
    const a = new Broker();
    const b = new Broker();
    const bridgeA = Bridge.start(a, { servers: [nats.nodes[0].url], node: "A" });
    const bridgeB = Bridge.start(b, {
      servers: [nats.nodes[0].url],
      node: "B",
      imports: ["dup/#", "#", "dup/+"],
      broadcast: true,
    });
    const raw = await natsConnect({ servers: nats.nodes[0].url });
    try {
      await Promise.all([bridgeA.connected, bridgeB.connected]);
      const sub = b.registerClient("sub");
      await sub.subscribe("#");
      const got = collect(sub);
      const pub = a.registerClient("pub");
      await until(
        () => {
          pub.publish("warm", "w");
          return got.length > 0;
        },
        10_000,
        "the link",
      );
      await delay(100);
      got.length = 0;
      await pub.publish("dup/x", "once");
      await pub.publish("other", "once");
      await until(() => got.length >= 2, 5000, "two publications");

      // garbage straight onto the bridge's subjects
      const h = (fields: Record<string, string>) => {
        const out = natsHeaders();
        for (const [k, v] of Object.entries(fields)) out.set(k, v);
        return out;
      };
      const enc = new TextEncoder();
      raw.publish("busrt.pub.bad", enc.encode("no headers"));
      raw.publish("busrt.pub.bad", enc.encode("x"), {
        headers: h({ "Busrt-Origin": "Z/../x", "Busrt-Sender": "s" }),
      });
      raw.publish("busrt.pub.bad", enc.encode("x"), {
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "a\0b" }),
      });
      raw.publish("busrt.pub.bad~00", enc.encode("x"), {
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "s" }),
      });
      raw.publish("busrt.pub.bad~zz", enc.encode("x"), {
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "s" }),
      });
      raw.publish("busrt.pub.bad", new Uint8Array([0, 0, 0, 9, 1]), {
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "s", "Busrt-Batch": "1" }),
      });
      raw.publish("busrt.bcast", enc.encode("x"), { headers: h({ "Busrt-Origin": "Z", "Busrt-Node": "*" }) });
      const reply = await raw.request("busrt.msg.B", enc.encode("x"), {
        timeout: 2000,
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "s\0t", "Busrt-Target": "sub" }),
      });
      assert.deepEqual([...reply.data], [0x71]);
      // a well-formed one from a node that is only a raw client still arrives
      raw.publish("busrt.pub.good", enc.encode("ok"), {
        headers: h({ "Busrt-Origin": "Z", "Busrt-Sender": "s" }),
      });
      await until(() => got.some((f) => f.topic === "good"), 5000, "the good one");
      await pub.publish("after/garbage", "still");
      await until(() => got.some((f) => f.topic === "after/garbage"), 5000, "traffic after the garbage");
      await delay(200);
      assert.deepEqual(got.map((f) => `${f.sender} ${f.topic}`), [
        "@A/pub dup/x",
        "@A/pub other",
        "@Z/s good",
        "@A/pub after/garbage",
      ]);
      assert.ok(Number(bridgeB.stats().rejected) >= 6, JSON.stringify(bridgeB.stats()));

      // a node that takes messages but never answers: 0x78 after requestTimeout (0.5 s), never a hang
      const mute = raw.subscribe("busrt.msg.MUTE", { callback: () => {} });
      await raw.flush();
      const app = new RpcClient(a.registerClient("app"), { timeout: 5 });
      const t0 = performance.now();
      await assert.rejects(app.call("@MUTE/svc", "x"), (e: RpcError) => e.code === -32120);
      const waited = performance.now() - t0;
      assert.ok(waited >= 400 && waited < 4000, `answered after ${waited.toFixed(0)} ms`);
      await assert.rejects(pub.send("@MUTE/svc", "x", QoS.Processed), (e: BusError) => e.code === 0x78);
      mute.unsubscribe();
      await app.close();
    } finally {
      await raw.close();
      await Promise.all([bridgeA.close(), bridgeB.close()]);
      await Promise.all([a.close(), b.close()]);
      await nats.stop();
    }
  },
});
