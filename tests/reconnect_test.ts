/**
 * Client resilience: `connect(addr, { reconnect })` against a broker process
 * that is killed (SIGKILL) and restarted under traffic — our broker and the
 * reference Rust `busrtd` — counting what arrives; plus the outage rules
 * (buffer bound, QoS 1/3 refused, subscriptions restored) on an embedded
 * broker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import type { ConnectionStatus, ReconnectingClient } from "../client/reconnecting_client.ts";
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { delay, nextFrame, text, waitFor, withTimeout } from "./_helpers.ts";
import { BUSRTD, REFERENCE_UNAVAILABLE } from "./_reference.ts";

const BROKER_SERVER = new URL("../bench/broker_server.ts", import.meta.url).pathname;
const HAVE_BUSRTD = REFERENCE_UNAVAILABLE === null;

/** A broker process on a unix socket, started and killed by the test. */
interface BrokerProcess {
  child: Deno.ChildProcess;
}

async function waitForSocket(path: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const c = await Deno.connect({ transport: "unix", path });
      c.close();
      return;
    } catch {
      assert.ok(Date.now() < deadline, `no broker answered on ${path}`);
      await delay(20);
    }
  }
}

async function startBroker(kind: "ours" | "busrtd", path: string): Promise<BrokerProcess> {
  const child = kind === "ours"
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BROKER_SERVER, path],
      stdout: "null",
      stderr: "null",
    }).spawn()
    : new Deno.Command(BUSRTD, { args: ["-B", path], stdout: "null", stderr: "null" }).spawn();
  await waitForSocket(path);
  return { child };
}

async function kill(p: BrokerProcess): Promise<void> {
  try {
    p.child.kill("SIGKILL");
  } catch {
    // gone already
  }
  await p.child.status;
}

/** Collects status events of a client in the background. */
function recordStatus(client: ReconnectingClient): ConnectionStatus[] {
  const events: ConnectionStatus[] = [];
  (async () => {
    for await (const e of client.status()) events.push(e);
  })();
  return events;
}

for (const kind of ["ours", "busrtd"] as const) {
  Deno.test({
    name:
      `reconnect: ${kind} broker killed and restarted under traffic; subscriptions restored, no duplicate`,
    ignore: kind === "busrtd" && !HAVE_BUSRTD,
    async fn() {
      const dir = await Deno.makeTempDir();
      const path = `${dir}/bus.sock`;
      let broker = await startBroker(kind, path);
      const opts = { timeout: 2, reconnect: { initialDelay: 20, maxDelay: 200 } };
      const rx = await connect(path, { name: "rx", ...opts });
      const tx = await connect(path, { name: "tx", ...opts });
      const rxStatus = recordStatus(rx);
      const txStatus = recordStatus(tx);
      try {
        await rx.subscribe("load/#", QoS.Processed);
        const received: number[] = [];
        const reading = (async () => {
          for await (const f of rx) {
            const n = Number(text(f.payload));
            received.push(n);
            if (n === -1) break;
          }
        })();

        let seq = 0;
        let refused = 0;
        let inFlightRejected = 0;
        const sendSome = async (count: number) => {
          for (let i = 0; i < count; i++) {
            try {
              tx.publish("load/x", String(seq), QoS.No);
            } catch (err) {
              assert.ok(err instanceof BusError && err.isIo(), String(err));
              refused++;
            }
            seq++;
            if (i % 50 === 49) await delay(1);
          }
        };
        await sendSome(2000);
        await tx.publish("load/x", String(seq++), QoS.Processed);

        // an ACK pending when the broker dies rejects; nothing is replayed
        const pending = tx.publish("load/x", String(seq++), QoS.Processed).catch((err) => {
          inFlightRejected++;
          return err;
        });
        await kill(broker);
        await waitFor(() => !tx.isConnected() && !rx.isConnected(), 5000, "both clients see the loss");
        await pending;
        // during the outage: QoS 1 refused at once, QoS 0 buffered up to the bound
        await assert.rejects(tx.publish("load/x", "x", QoS.Processed), /disconnected \(reconnecting\)/);
        await sendSome(200);

        broker = await startBroker(kind, path);
        await waitFor(() => tx.isConnected() && rx.isConnected(), 10_000, "both clients reconnected");
        // once both are back (rx re-subscribed), everything sent arrives
        const firstAfter = seq;
        await sendSome(2000);
        await tx.publish("load/x", "-1", QoS.Processed);
        await withTimeout(reading, 10_000, "all frames after the reconnect");

        const after = received.filter((n) => n >= firstAfter);
        assert.equal(after.length, 2000, "every frame sent after both reconnected arrived");
        for (let i = 1; i < received.length - 1; i++) {
          assert.ok(
            received[i] > received[i - 1],
            `in order, no duplicate: ${received[i - 1]} then ${received[i]}`,
          );
        }
        assert.equal(inFlightRejected, 1);
        assert.equal(refused, 0, "200 frames fit the default outage buffer");
        for (const events of [rxStatus, txStatus]) {
          const types = events.map((e) => e.type);
          assert.equal(types[0], "disconnected");
          assert.equal(types.at(-1), "reconnected");
          assert.ok(types.includes("reconnecting"));
        }
        const before = received.filter((n) => n < firstAfter && n >= 0).length;
        console.log(
          `${kind}: ${before} of ${firstAfter} frames sent before the restart arrived ` +
            `(frames sent while a side was down are lost by design), ${after.length} of 2000 after`,
        );
      } finally {
        await tx.close();
        await rx.close();
        await kill(broker);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("reconnect: the outage buffer is bounded, kept in order, and sent after the subscriptions are restored", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  let broker = new Broker();
  await broker.serveUnix(path);
  const client = await connect(path, {
    name: "app",
    timeout: 2,
    reconnect: { initialDelay: 10, bufferFrames: 5, bufferBytes: 1000 },
  });
  try {
    await client.subscribe("cmd/#", QoS.Processed);
    await client.exclude("cmd/secret", QoS.Processed);
    await broker.close();
    await waitFor(() => !client.isConnected(), 5000, "the client sees the loss");

    for (let i = 0; i < 5; i++) client.send("peer", `m${i}`);
    assert.throws(() => client.send("peer", "m5"), /outage buffer is full/);
    assert.equal(client.droppedFrames, 1);
    // a subscription made while down is applied on reconnect, acknowledged then
    const subscribed = client.subscribe("extra", QoS.Processed);

    broker = new Broker();
    const peer = broker.registerClient("peer");
    const pub = broker.registerClient("pub");
    await broker.serveUnix(path);
    await withTimeout(subscribed, 5000, "the subscription made while down");
    for (let i = 0; i < 5; i++) assert.equal(text((await nextFrame(peer)).payload), `m${i}`);

    await pub.publish("cmd/secret", "no", QoS.Processed);
    await pub.publish("cmd/go", "yes", QoS.Processed);
    await pub.publish("extra", "too", QoS.Processed);
    assert.equal(text((await nextFrame(client)).payload), "yes");
    assert.equal(text((await nextFrame(client)).payload), "too");
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reconnect: maxAttempts gives up, closes the client and reports closed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  const broker = new Broker();
  await broker.serveUnix(path);
  const client = await connect(path, {
    name: "app",
    timeout: 1,
    reconnect: { initialDelay: 5, maxAttempts: 3 },
  });
  const events = recordStatus(client);
  try {
    await broker.close();
    await withTimeout(client.closed, 10_000, "the client gives up");
    assert.deepEqual(events.map((e) => e.type), [
      "disconnected",
      "reconnecting",
      "reconnecting",
      "reconnecting",
      "closed",
    ]);
    const last = events.at(-1);
    assert.ok(last?.type === "closed" && last.error !== null);
    assert.throws(() => client.send("x", "y"), /is closed/);
    const it = client[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, true);
  } finally {
    await client.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reconnect: the RPC layer keeps its handlers across a reconnect, and pending calls fail at once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  let broker = new Broker();
  await broker.serveUnix(path);
  const opts = { timeout: 2, reconnect: { initialDelay: 10 } };
  const { RpcClient } = await import("../rpc/rpc_client.ts");
  const server = new RpcClient(await connect(path, { name: "srv", ...opts }), {
    handlers: {
      onCall: (c) => c.method === "echo" ? c.params : new Promise(() => {}), // "hang" never answers
    },
  });
  const caller = new RpcClient(await connect(path, { name: "caller", ...opts }), { timeout: 30 });
  try {
    const hanging = caller.call("srv", "hang", new Uint8Array(0));
    const failed = hanging.then(() => null, (err) => err);
    await delay(50);
    const t0 = performance.now();
    await broker.close();
    const err = await withTimeout(failed, 5000, "the pending call fails");
    assert.ok(err instanceof Error && /connection was lost/.test(err.message), String(err));
    assert.ok(performance.now() - t0 < 5000, "well before the 30 s call timeout");

    broker = new Broker();
    await broker.serveUnix(path);
    await waitFor(
      () => server.client.isConnected() && caller.client.isConnected(),
      10_000,
      "both reconnected",
    );
    const reply = await caller.call("srv", "echo", new TextEncoder().encode("again"));
    assert.equal(text(reply.payload), "again");
  } finally {
    await caller.close();
    await server.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
