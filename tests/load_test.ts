/**
 * Load and queues: 1,000 clients at once, 10 MiB payloads, 100,000 ordered
 * messages, and the per-client queue bound (PROTOCOL.md §8.1).
 */
import assert from "node:assert/strict";
import type { IpcClient } from "../client/ipc_client.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import {
  ackBytes,
  clientFrame,
  nextFrame,
  patternBytes,
  text,
  topicsBody,
  TRANSPORTS,
  waitFor,
  type WireClient,
  withBus,
  withTimeout,
} from "./_helpers.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test("1,000 unix clients connected at once all register and each receives a broadcast", async () => {
  await withBus(async (bus) => {
    const clients: IpcClient[] = [];
    const n = 1000;
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, n - i) },
        (_, j) => bus.client(`load.c${i + j}`, "unix", { timeout: 20 }),
      );
      clients.push(...await Promise.all(batch));
    }
    assert.equal(bus.broker.clientNames().length, n);
    assert.equal(bus.broker.listeners.find((l) => l.bind === bus.unix)?.connections, n);
    const sender = bus.broker.registerClient("sender");
    await sender.broadcast("load.*", "to everyone", QoS.Processed);
    const frames = await Promise.all(clients.map((c) => nextFrame(c, 20_000)));
    for (const [i, f] of frames.entries()) {
      assert.equal(f.kind, Op.Broadcast, clients[i].name);
      assert.equal(text(f.payload), "to everyone");
    }
  });
});

for (const transport of TRANSPORTS) {
  Deno.test(`a 10 MiB payload survives a message round trip and a publication (${transport})`, async () => {
    await withBus(async (bus) => {
      const a = await bus.client("a", transport);
      const b = await bus.client("b", transport);
      const big = patternBytes(10 * 1024 * 1024, 11);
      const [, there] = await Promise.all([a.send("b", big, QoS.Processed), nextFrame(b, 20_000)]);
      assert.ok(sameBytes(there.payload, big), "message payload intact at b");
      const [, back] = await Promise.all([b.send("a", there.payload, QoS.Processed), nextFrame(a, 20_000)]);
      assert.ok(sameBytes(back.payload, big), "payload intact after the round trip");
      await b.subscribe("big", QoS.Processed);
      const [, pub] = await Promise.all([a.publish("big", big, QoS.RealtimeProcessed), nextFrame(b, 20_000)]);
      assert.equal(pub.topic, "big");
      assert.equal(pub.realtime, true);
      assert.ok(sameBytes(pub.payload, big), "publication payload intact");
    });
  });
}

Deno.test("100,000 messages from one sender arrive at one receiver in order", async () => {
  await withBus(async (bus) => {
    const a = await bus.client("a");
    const b = await bus.client("b");
    const n = 100_000;
    let received = 0;
    const reader = (async () => {
      for (let i = 0; i < n; i++) {
        const f = await nextFrame(b, 20_000);
        const got = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0, true);
        if (got !== i) throw new Error(`message ${i} arrived as ${got}`);
        received++;
      }
    })();
    const payload = new Uint8Array(4);
    const view = new DataView(payload.buffer);
    for (let i = 0; i < n; i++) {
      view.setUint32(0, i, true);
      if (i % 1000 === 999) {
        await a.send("b", payload, QoS.Processed);
        // keep the receiver's broker-side queue far below its bound
        if (i - received > 4000) {
          await Promise.race([
            reader,
            waitFor(() => i - received <= 2000, 20_000, "reader"),
          ]);
        }
      } else {
        a.send("b", payload);
      }
    }
    await reader;
    assert.equal(received, n);
  });
});

// ---------------------------------------------------------------- queues (§8.1)

const ONE_MIB = patternBytes(1024 * 1024, 5);

/** Reads everything until the close; counts the data frames of `kind`. */
async function drainCount(w: WireClient, kind: number): Promise<number> {
  const rest = await w.expectClosed(10_000);
  let at = 0;
  let count = 0;
  while (at < rest.length) {
    const k = rest[at];
    if (k === kind) count++;
    at += k === 0 || k === Op.Ack
      ? 6
      : 6 + new DataView(rest.buffer, rest.byteOffset + at).getUint32(1, true);
  }
  return count;
}

Deno.test("a receiver that does not read is dropped at queue overflow; a MESSAGE sender gets 77", async () => {
  await withBus(async (bus) => {
    const slow = await bus.wire("slow");
    const sender = await bus.client("sender");
    const results: string[] = [];
    for (let i = 0; i < 7; i++) {
      results.push(
        await sender.send("slow", ONE_MIB, QoS.Processed).then(
          () => "ok",
          (e) => e instanceof BusError ? `0x${e.code.toString(16)}` : `${e}`,
        ),
      );
    }
    assert.deepEqual(results, ["ok", "ok", "ok", "ok", "0x77", "0x71", "0x71"]);
    assert.ok(!bus.broker.isRegistered("slow"));
    assert.ok(bus.log.lines.some((l) => l.includes(`"slow" dropped: outgoing queue overflow`)));
    assert.equal(
      await drainCount(slow, Op.Message),
      4,
      "frames queued before the overflow are still written",
    );
    assert.ok(sender.isConnected());
  }, { config: { queueSize: 4 } });
});

Deno.test("broadcast and publish senders get 01 while an overflowing receiver is dropped", async () => {
  await withBus(async (bus) => {
    const slowB = await bus.wire("slow.b");
    const slowP = await bus.wire("slow.p");
    await slowP.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["big"])));
    await slowP.expectFrame(ackBytes(1, ErrorCode.Ok));
    const sender = await bus.client("sender");
    for (let i = 0; i < 7; i++) {
      await sender.broadcast("slow.b", ONE_MIB, QoS.Processed);
      await sender.publish("big", ONE_MIB, QoS.Processed);
    }
    assert.ok(!bus.broker.isRegistered("slow.b") && !bus.broker.isRegistered("slow.p"));
    assert.equal(await drainCount(slowB, Op.Broadcast), 4);
    assert.equal(await drainCount(slowP, Op.Publish), 4);
  }, { config: { queueSize: 4 } });
});

Deno.test("dropping an overflowing receiver (with its unreg announcement) does not cut the delivery to others", async () => {
  await withBus(async (bus) => {
    const slow = await bus.wire("t.slow"); // registered first: first in iteration order
    await slow.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["big"])));
    await slow.expectFrame(ackBytes(1, ErrorCode.Ok));
    const fast = [await bus.client("t.fast1"), await bus.client("t.fast2")];
    for (const f of fast) await f.subscribe("big", QoS.Processed);
    const sender = await bus.client("sender");
    const watcher = await bus.client("watcher");
    await watcher.subscribe(".broker/info", QoS.Processed);
    const rounds = 6;
    const readers = fast.map(async (c) => {
      const got: string[] = [];
      for (let i = 0; i < rounds * 2; i++) {
        const f = await nextFrame(c, 10_000);
        got.push(`${f.kind === Op.Broadcast ? "bc" : "pub"}${f.payload.length}`);
      }
      return got;
    });
    for (let i = 0; i < rounds; i++) {
      await sender.broadcast("t.*", ONE_MIB, QoS.Processed);
      await sender.publish("big", ONE_MIB, QoS.Processed);
    }
    const expected = Array.from({ length: rounds }, () => [`bc${ONE_MIB.length}`, `pub${ONE_MIB.length}`])
      .flat();
    for (const got of await withTimeout(Promise.all(readers), 15_000, "fast receivers")) {
      assert.deepEqual(got, expected, "every broadcast and publication reached the fast receivers");
    }
    assert.ok(!bus.broker.isRegistered("t.slow"));
    await drainCount(slow, Op.Broadcast);
  }, { core: true, config: { queueSize: 4 } });
});
