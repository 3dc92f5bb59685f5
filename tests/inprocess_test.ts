/**
 * In-process clients (PROTOCOL.md §22): the shared client API without a
 * socket, synchronous failures, queues, and traffic mixed with IPC clients.
 */
import assert from "node:assert/strict";
import type { BusClient } from "../client/bus_client.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import type { Frame } from "../protocol/frame.ts";
import {
  announcementsBeforeMarker,
  delay,
  describeFrames,
  framesBeforeMarker,
  nextFrame,
  patternBytes,
  text,
  withBus,
  withTimeout,
} from "./_helpers.ts";

/** Exercises the whole BusClient API the same way for any client kind. */
async function exerciseApi(a: BusClient, b: BusClient): Promise<string[]> {
  await b.subscribe(["t/#", "u"], QoS.Processed);
  await b.exclude("t/x", QoS.Processed);
  await a.send(b.name, "msg", QoS.Processed);
  await a.broadcast(b.name, "bc", QoS.RealtimeProcessed);
  await a.publish("t/x", "excluded", QoS.Processed);
  await a.publish("t/y", "pub", QoS.Processed);
  await a.publishFor("u", b.name, "for b", QoS.Processed);
  await a.publishFor("u", "someone.else", "not for b", QoS.Processed);
  await b.unexclude("t/x", QoS.Processed);
  await a.publish("t/x", "included", QoS.Processed);
  await b.unsubscribe(["t/#", "u"], QoS.Processed);
  await a.publish("t/y", "unsubscribed", QoS.Processed);
  a.send(b.name, "qos0");
  a.send(b.name, "qos2", QoS.Realtime);
  await a.flush();
  const frames = await framesBeforeMarker(b, a);
  return frames.map((f) => `${describeFrames([f])[0]}${f.realtime ? " rt" : ""}`);
}

const EXPECTED_API_FRAMES = (a: string) => [
  `msg:${a}:msg`,
  `bc:${a}:bc rt`,
  `pub:${a}:t/y:pub`,
  `pub:${a}:u:for b`,
  `pub:${a}:t/x:included`,
  `msg:${a}:qos0`,
  `msg:${a}:qos2 rt`,
];

Deno.test("in-process and IPC clients offer the same API with the same results, in all four pairings", async () => {
  await withBus(async (bus) => {
    const pairs: [BusClient, BusClient][] = [
      [bus.broker.registerClient("ip.a"), bus.broker.registerClient("ip.b")],
      [bus.broker.registerClient("ip.c"), await bus.client("ipc.d")],
      [await bus.client("ipc.e"), bus.broker.registerClient("ip.f")],
      [await bus.client("ipc.g"), await bus.client("ipc.h", "tcp")],
    ];
    for (const [a, b] of pairs) {
      assert.deepEqual(await exerciseApi(a, b), EXPECTED_API_FRAMES(a.name), `${a.name} -> ${b.name}`);
    }
  });
});

Deno.test("sending to an unknown target: QoS 0/2 throw, QoS 1/3 reject with NotRegistered", async () => {
  await withBus(async (bus) => {
    const a = bus.broker.registerClient("a");
    for (const qos of [QoS.No, QoS.Realtime]) {
      assert.throws(() => a.send("nobody", "x", qos), (e) => e instanceof BusError && e.isNotRegistered());
    }
    for (const qos of [QoS.Processed, QoS.RealtimeProcessed]) {
      const r = a.send("nobody", "x", qos); // must not throw
      await assert.rejects(r, (e) => e instanceof BusError && e.code === ErrorCode.NotRegistered);
    }
    // broadcasts and publications with no recipient are fine
    assert.equal(a.broadcast("nobody.*", "x"), undefined);
    assert.equal(a.publish("nobody", "x"), undefined);
    await a.broadcast("nobody", "x", QoS.Processed);
    await a.publishFor("t", "nobody", "x", QoS.Processed);
  });
});

Deno.test("in-process names may start with a dot; frames come as an async iterator that ends on close", async () => {
  await withBus(async (bus) => {
    const hidden = bus.broker.registerClient(".hidden");
    const a = bus.broker.registerClient("a");
    for (let i = 0; i < 5; i++) a.send(".hidden", `${i}`);
    await hidden.close();
    a.send("a", "after");
    const seen: string[] = [];
    for await (const f of hidden) seen.push(text(f.payload));
    assert.deepEqual(
      seen,
      ["0", "1", "2", "3", "4"],
      "queued frames still readable after close, then the end",
    );
    assert.equal(hidden.isConnected(), false);
    assert.throws(() => hidden.send("a", "x"), (e) => e instanceof BusError && e.isClosed());
    assert.throws(() => hidden.subscribe("x"), BusError);
    assert.throws(() => a.send(".hidden", "x"), (e) => e instanceof BusError && e.isNotRegistered());
    assert.equal(text((await nextFrame(a)).payload), "after");
  });
});

Deno.test("close() of an in-process primary announces unreg", async () => {
  await withBus(async (bus) => {
    const watcher = await bus.client("watcher");
    await watcher.subscribe(".broker/info", QoS.Processed);
    const ip = bus.broker.registerClient("ip");
    await ip.close();
    await ip.close(); // idempotent: no second unreg
    const events = await announcementsBeforeMarker(watcher, watcher);
    assert.deepEqual(events, ["reg ip", "unreg ip"]);
  }, { core: true });
});

Deno.test("mixed in-process <-> IPC traffic keeps per-sender order both ways", async () => {
  await withBus(async (bus) => {
    const ip = bus.broker.registerClient("ip");
    const ipc = await bus.client("ipc");
    const n = 2000;
    const toIpc = (async () => {
      for (let i = 0; i < n; i++) {
        const r = ip.send("ipc", `${i}`, (i % 4) as QoS);
        if (r !== undefined) await r;
      }
    })();
    const toIp = (async () => {
      const acks: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        if (i % 100 === 0) acks.push(ipc.send("ip", `${i}`, QoS.Processed));
        else ipc.send("ip", `${i}`);
      }
      await Promise.all(acks);
    })();
    const read = async (c: BusClient & AsyncIterable<Frame>) => {
      const got: number[] = [];
      for (let i = 0; i < n; i++) got.push(Number(text((await nextFrame(c)).payload)));
      return got;
    };
    const [atIpc, atIp] = await Promise.all([read(ipc), read(ip), toIpc, toIp]);
    const expected = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(atIpc, expected);
    assert.deepEqual(atIp, expected);
  });
});

Deno.test("an in-process sender waits for room in a full in-process target queue (no timeout)", async () => {
  await withBus(async (bus) => {
    const target = bus.broker.registerClient("target", { queueSize: 2 });
    const sender = bus.broker.registerClient("sender");
    await sender.send("target", "1", QoS.Processed);
    await sender.send("target", "2", QoS.Processed);
    let done = false;
    const third = sender.send("target", "3", QoS.Processed).then(() => done = true);
    await delay(50);
    assert.equal(done, false, "still waiting for room");
    assert.equal(target.pendingFrames, 2);
    assert.equal(text((await nextFrame(target)).payload), "1");
    await withTimeout(third, 2000, "the third frame is queued once there is room");
    assert.deepEqual([text((await nextFrame(target)).payload), text((await nextFrame(target)).payload)], [
      "2",
      "3",
    ]);
  });
});

Deno.test("an IPC sender waits for a full in-process target, and is disconnected after the timeout", async () => {
  await withBus(async (bus) => {
    const target = bus.broker.registerClient("target", { queueSize: 1 });
    const sender = await bus.client("sender", "unix", { timeout: 5, pingInterval: 0.05 });
    await sender.send("target", "1", QoS.Processed);
    const second = sender.send("target", "2", QoS.Processed);
    await delay(50);
    assert.equal(text((await nextFrame(target)).payload), "1");
    await withTimeout(second, 2000, "ACK once the in-process target made room");
    assert.equal(text((await nextFrame(target)).payload), "2");

    // now nobody reads: the sender's reader waits up to the listener timeout, then the sender is dropped
    await sender.send("target", "3", QoS.Processed);
    const stuck = sender.send("target", "4", QoS.Processed);
    const outcome = stuck.then(() => "acked", (e) => e instanceof BusError ? "rejected" : `${e}`);
    await withTimeout(sender.closed, 5000, "sender disconnected after the timeout");
    assert.equal(await outcome, "rejected", "the waiting operation fails, no ACK");
    assert.ok(!bus.broker.isRegistered("sender"));
    assert.ok(
      bus.log.lines.some((l) => l.includes("sender") && l.includes("in-process target")),
      `the reason is logged: ${bus.log.lines.join("; ")}`,
    );
  }, { config: { timeout: 0.5 } });
});

Deno.test("an in-process sender gets NotDelivered when an IPC target's queue overflows", async () => {
  await withBus(async (bus) => {
    const slow = await bus.wire("slow"); // never reads until the end
    const ip = bus.broker.registerClient("ip");
    const big = patternBytes(1024 * 1024);
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      try {
        ip.send("slow", big);
        codes.push("ok");
      } catch (e) {
        codes.push(e instanceof BusError ? `0x${e.code.toString(16)}` : `${e}`);
      }
    }
    assert.deepEqual(codes, ["ok", "ok", "ok", "ok", "0x77", "0x71", "0x71", "0x71"]);
    assert.ok(!bus.broker.isRegistered("slow"));
    // the frames queued before the overflow are still written, then the connection closes
    const rest = await slow.expectClosed(10_000);
    let at = 0;
    let messages = 0;
    while (at < rest.length) {
      const len = new DataView(rest.buffer, rest.byteOffset + at).getUint32(1, true);
      if (rest[at] === Op.Message) messages++;
      at += rest[at] === 0 || rest[at] === 0xfe ? 6 : 6 + len;
    }
    assert.equal(messages, 4);
  }, { config: { queueSize: 4 } });
});
