/**
 * Three of our brokers, each bridged to a different node of a real 3-node
 * NATS cluster on 127.0.0.1: publications in every direction with
 * wildcards, exactly once; escaped topics byte for byte; RPC and messages
 * across brokers with their reply codes; 10,000 publications in order per
 * publisher; a NATS node killed under traffic (the gap is printed); a
 * broker stopped while the others go on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker, type InProcessClient } from "../broker/mod.ts";
import { Bridge } from "../bridge/mod.ts";
import { connect } from "../client/mod.ts";
import { type BusError, ErrorCode, type Frame, QoS } from "../protocol/mod.ts";
import { enableCoreRpc, RpcClient, RpcError } from "../rpc/mod.ts";
import { NATS_AVAILABLE, type NatsCluster, startNatsCluster } from "./_nats_cluster.ts";

const NODES = ["A", "B", "C"];

/** Frames an in-process client received, read in the background. */
class Collector {
  readonly frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  constructor(readonly client: InProcessClient) {
    (async () => {
      for await (const f of client) {
        this.frames.push(f);
        for (const w of this.#waiters.splice(0)) w();
      }
    })();
  }
  /** Waits until `pred` holds on the frames, up to `ms`. */
  async until(pred: (frames: Frame[]) => boolean, ms = 10_000, what = "frames"): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.frames)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: have ${this.frames.length}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  clear(): void {
    this.frames.length = 0;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (f: Frame) => new TextDecoder().decode(f.payload);

Deno.test({
  name: "three brokers bridged through a 3-node NATS cluster",
  ignore: !NATS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const cluster: NatsCluster = await startNatsCluster(3);
    const urls = cluster.nodes.map((n) => n.url);
    const brokers = NODES.map(() => new Broker());
    // each broker's own NATS node first, then the others for reconnects
    const bridges = brokers.map((b, i) =>
      Bridge.start(b, {
        servers: [urls[i], ...urls.filter((_, j) => j !== i)],
        node: NODES[i],
        broadcast: true,
      })
    );
    try {
      await Promise.all(bridges.map((b) => b.connected));
      brokers.forEach((b) => enableCoreRpc(b));
      const subs = brokers.map((b) => new Collector(b.registerClient("sub")));
      await Promise.all(subs.map((s) => s.client.subscribe(["cluster/+/temp", "warm/#"])));
      const pubs = brokers.map((b) => b.registerClient("pub"));

      // interest crosses the routes: publish until every broker hears every other
      const warmEnd = Date.now() + 10_000;
      for (;;) {
        pubs.forEach((p, i) => p.publish(`warm/${NODES[i]}`, "w"));
        await delay(50);
        if (subs.every((s) => new Set(s.frames.map((f) => f.topic)).size === 3)) break;
        assert.ok(Date.now() < warmEnd, "the bridges never heard each other");
      }
      await delay(100);

      await t.step("publications in every direction, with wildcards, exactly once", async () => {
        subs.forEach((s) => s.clear());
        const N = 200;
        for (let k = 0; k < N; k++) {
          pubs.forEach((p, i) => p.publish(`cluster/${NODES[i]}/temp`, `${NODES[i]}${k}`));
        }
        pubs.forEach((p, i) => p.publish(`cluster/${NODES[i]}/other`, "not matched"));
        for (const s of subs) await s.until((f) => f.length >= 3 * N, 10_000, "3 × N publications");
        await delay(300); // duplicates would arrive by now
        subs.forEach((s, i) => {
          assert.equal(s.frames.length, 3 * N, `broker ${NODES[i]}: each publication exactly once`);
          const keys = new Set(s.frames.map((f) => `${f.sender} ${text(f)}`));
          assert.equal(keys.size, 3 * N);
          for (let j = 0; j < 3; j++) {
            const expected = i === j ? "pub" : `@${NODES[j]}/pub`;
            const from = s.frames.filter((f) => f.topic === `cluster/${NODES[j]}/temp`);
            assert.equal(from.length, N);
            assert.ok(from.every((f) => f.sender === expected), `sender shown as ${expected}`);
          }
        });
        const stats = brokers[0].stats().bridge!;
        assert.equal(stats.state, "connected");
        assert.ok(Number(stats.exported) >= N && Number(stats.imported) >= 2 * N);
      });

      await t.step("topics needing escapes round-trip byte for byte", async () => {
        const odd = ["esc/a.b c/*/>/~/+/#", "esc//", "esc/\t\x7f/ünï.cödé/~2E", "esc/ "];
        const got = new Collector(brokers[2].registerClient("escapes"));
        await got.client.subscribe("esc/#");
        await delay(300);
        const payload = new Uint8Array([0, 1, 2, 255, 46, 126]);
        for (const topic of odd) await pubs[0].publish(topic, payload);
        await got.until((f) => f.length === odd.length, 10_000, "escaped topics");
        assert.deepEqual(got.frames.map((f) => f.topic), odd);
        for (const f of got.frames) assert.deepEqual([...f.payload], [...payload]);
        await got.client.close();
      });

      await t.step("RPC and messages across brokers, with reply codes", async () => {
        const svc = new RpcClient(brokers[1].registerClient("svc.db"), {
          handlers: {
            onCall: (call) => {
              if (call.method === "echo") return call.params;
              if (call.method === "who") return call.sender;
              throw new RpcError(-32001, "no such row");
            },
          },
        });
        const app = new RpcClient(brokers[0].registerClient("app"));
        const reply = await app.call("@B/svc.db", "echo", new Uint8Array([1, 2, 3]));
        assert.deepEqual([...reply.payload], [1, 2, 3]);
        assert.equal((await app.call("@B/svc.db", "who")).unpack(), "@A/app");
        await assert.rejects(app.call("@B/svc.db", "fail"), (e: RpcError) => e.code === -32001);
        const t0 = performance.now();
        await assert.rejects(app.call("@B/nobody", "echo"), (e: RpcError) => e.code === -32113);
        await assert.rejects(app.call("@Q/svc.db", "echo"), (e: RpcError) => e.code === -32113);
        assert.ok(performance.now() - t0 < 2000, "missing client and node answer at once");
        // the remote broker's own core RPC, over the bridge
        const stats = (await app.call("@C/.broker", "stats")).unpack<{ bridge: { node: string } }>();
        assert.equal(stats.bridge.node, "C");

        // a socket client on C calls svc.db on B and messages a client on A
        const sock = `${dir}/c.sock`;
        await brokers[2].serveUnix(sock);
        const ipc = await connect(sock, { name: "ipc.app" });
        const ipcRpc = new RpcClient(ipc);
        assert.deepEqual([...(await ipcRpc.call("@B/svc.db", "echo", new Uint8Array([9]))).payload], [9]);
        const inbox = new Collector(brokers[0].registerClient("inbox"));
        await ipc.send("@A/inbox", "hello", QoS.Processed);
        await inbox.until((f) => f.length === 1);
        assert.equal(inbox.frames[0].sender, "@C/ipc.app");
        assert.equal(text(inbox.frames[0]), "hello");
        await assert.rejects(ipc.send("@A/nobody", "hello", QoS.Processed), (e: BusError) => e.code === 0x71);
        // many at once from a socket client: its connection reads on while the ACKs travel
        const replies = await Promise.all(
          Array.from({ length: 64 }, (_, i) => ipcRpc.call("@B/svc.db", "echo", new Uint8Array([i]))),
        );
        assert.deepEqual(replies.map((r) => r.payload[0]), Array.from({ length: 64 }, (_, i) => i));
        const acks = Array.from({ length: 100 }, (_, i) => ipc.send("@A/inbox", `n${i}`, QoS.Processed));
        await Promise.all(acks);
        await inbox.until((f) => f.length === 101);
        assert.deepEqual(inbox.frames.slice(1).map(text), Array.from({ length: 100 }, (_, i) => `n${i}`));
        inbox.frames.splice(1);
        // an in-process client too
        await assert.rejects(pubs[1].send("@A/nobody", "x", QoS.Processed), (e: BusError) => e.code === 0x71);
        await pubs[1].send("@A/inbox", "from B", QoS.Processed);
        await inbox.until((f) => f.length === 2);
        assert.equal(inbox.frames[1].sender, "@B/pub");

        // broadcasts across nodes: @*/mask everywhere, @NODE/mask one node
        const listeners = brokers.map((b) => new Collector(b.registerClient("bc.listener")));
        await pubs[0].broadcast("@*/bc.*", "all");
        await pubs[0].broadcast("@C/bc.*", "C only");
        await listeners[2].until((f) => f.length === 2);
        await listeners[1].until((f) => f.length === 1);
        await listeners[0].until((f) => f.length === 1);
        await delay(200);
        assert.deepEqual(listeners.map((l) => l.frames.map(text)), [["all"], ["all"], ["all", "C only"]]);
        assert.equal(listeners[2].frames[0].sender, "@A/pub");
        assert.equal(listeners[0].frames[0].sender, "pub");
        await ipcRpc.close();
        await ipc.close();
        await svc.close();
        await app.close();
      });

      await t.step("10,000 publications in order per publisher across brokers", async () => {
        const N = 10_000;
        // a small queue: imports wait for room behind it, in order, instead of being dropped
        const order = new Collector(brokers[1].registerClient("order", { queueSize: 256 }));
        await order.client.subscribe("order/#");
        await delay(300);
        const seqBytes = (k: number) => new Uint8Array([k >> 24, (k >> 16) & 255, (k >> 8) & 255, k & 255]);
        for (let k = 0; k < N; k++) {
          pubs[0].publish("order/A", seqBytes(k));
          pubs[2].publish("order/C", seqBytes(k));
          if ((k & 1023) === 0) await delay(0);
        }
        await order.until((f) => f.length >= 2 * N, 30_000, "20,000 ordered publications").catch((err) => {
          throw new Error(`${err.message}; B: ${JSON.stringify(bridges[1].stats())}`);
        });
        for (const sender of ["@A/pub", "@C/pub"]) {
          const seqs = order.frames.filter((f) => f.sender === sender).map((f) =>
            new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0)
          );
          assert.equal(seqs.length, N);
          for (let k = 0; k < N; k++) if (seqs[k] !== k) assert.fail(`${sender}: #${k} is ${seqs[k]}`);
        }
        await order.client.close();
      });

      await t.step("a NATS node killed under traffic: the bridges reconnect, traffic resumes", async () => {
        const seen = new Collector(brokers[1].registerClient("kill.watch"));
        await seen.client.subscribe("kill/#");
        await delay(300);
        let k = 0;
        let running = true;
        const sender = (async () => {
          while (running) {
            pubs[0].publish("kill/A", String(k++)); // A is on node 1, the one killed
            await delay(2);
          }
        })();
        await seen.until((f) => f.length >= 100, 10_000, "traffic before the kill");
        const killedAt = performance.now();
        const sentBefore = k;
        await cluster.kill(0);
        const times: number[] = [];
        const start = seen.frames.length;
        await seen.until(
          (f) => {
            while (times.length < f.length - start) times.push(performance.now());
            return f.some((x) => Number(text(x)) > sentBefore + 200);
          },
          20_000,
          "traffic after the kill",
        );
        running = false;
        await sender;
        const resumedAt = times.find((_, i) => Number(text(seen.frames[start + i])) > sentBefore) ?? killedAt;
        let gap = 0;
        let last = killedAt;
        for (const at of times) {
          gap = Math.max(gap, at - last);
          last = at;
        }
        const stats = bridges[0].stats();
        console.log(
          `NATS node killed: largest gap between publications at B ${gap.toFixed(0)} ms, ` +
            `first after the kill ${
              (resumedAt - killedAt).toFixed(0)
            } ms; A reconnects ${stats.reconnects}, ` +
            `server ${stats.server}, buffered then dropped ${stats.dropped}`,
        );
        assert.equal(bridges[0].state, "connected");
        assert.ok(Number(stats.reconnects) >= 1);
        assert.notEqual(stats.server, urls[0].slice("nats://".length));
        // messages still cross from A
        const back = new Collector(brokers[1].registerClient("after.kill"));
        await pubs[0].send("@B/after.kill", "still here", QoS.Processed);
        await back.until((f) => f.length === 1);
        await seen.client.close();
      });

      await t.step("a broker stopped: the others keep working", async () => {
        await bridges[2].close();
        await brokers[2].close();
        subs[0].clear();
        subs[1].clear();
        await pubs[0].publish("cluster/A/temp", "after C");
        await pubs[1].publish("cluster/B/temp", "after C");
        await subs[0].until((f) => f.length === 2);
        await subs[1].until((f) => f.length === 2);
        await assert.rejects(pubs[0].send("@C/sub", "x", QoS.Processed), (e: BusError) => e.code === 0x71);
        assert.equal(ErrorCode.NotRegistered, 0x71);
      });
    } finally {
      await Promise.all(bridges.map((b) => b.close()));
      await Promise.all(brokers.map((b) => b.close()));
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
