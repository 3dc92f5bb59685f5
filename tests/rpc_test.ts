import assert from "node:assert/strict";
import { Op, QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { pack, unpack } from "../rpc/msgpack.ts";
import { PendingCalls } from "../rpc/pending_calls.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import type { RpcCall, RpcNotification, RpcReply } from "../rpc/rpc_event.ts";
import {
  ackBytes,
  assertBytes,
  clientFrame,
  concat,
  deliveredFrame,
  fieldsBody,
  hex,
  utf8,
  waitFor,
  type WireClient,
  withBus,
} from "./_helpers.ts";
import { ipcRpc } from "./_rpc_helpers.ts";

/** Reads data frames from a wire client, skipping ACKs. */
async function nextData(wire: WireClient): Promise<Uint8Array> {
  for (;;) {
    const f = await wire.readFrame();
    if (f[0] !== Op.Ack) return f;
  }
}

function microtasks(n: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => {});
  return p;
}

Deno.test("call() round trip between two IPC clients over a unix socket", async () => {
  await withBus(async (bus) => {
    const server = await ipcRpc(bus, "server", {
      handlers: {
        onCall(call) {
          if (call.method === "sum") return call.unpack<number[]>().reduce((a, b) => a + b, 0);
          if (call.method === "echo") return call.params;
          if (call.method === "nothing") return undefined;
          if (call.method === "who") return { sender: call.sender, primary: call.primarySender };
          throw new RpcError(RpcErrorCode.MethodNotFound);
        },
      },
    });
    const caller = await ipcRpc(bus, "caller");
    assert.equal((await caller.call("server", "sum", [1, 2, 3, 2 ** 40])).unpack(), 6 + 2 ** 40);
    const raw = new Uint8Array([0xc1, 0, 0xff, 1]); // not MessagePack: passed as it is both ways
    assertBytes((await caller.call("server", "echo", raw)).payload, raw);
    const empty = await caller.call("server", "nothing");
    assert.ok(empty.isEmpty);
    assert.equal(empty.sender, "server");
    assert.deepEqual((await caller.call("server", "who")).unpack(), { sender: "caller", primary: "caller" });
    assert.equal(caller.pendingCalls, 0);
    await caller.close();
    await server.close();
  });
});

Deno.test("call() over in-process clients and a mix of IPC and in-process", async () => {
  await withBus(async (bus) => {
    const inproc = new RpcClient(bus.broker.registerClient("inproc"), {
      handlers: { onCall: (call) => `in-process got ${call.unpack<string>()}` },
    });
    const ipc = await ipcRpc(bus, "ipc", {
      handlers: { onCall: (call) => `ipc got ${call.unpack<string>()}` },
    });
    assert.equal((await ipc.call("inproc", "x", "a")).unpack(), "in-process got a");
    assert.equal((await inproc.call("ipc", "x", "b")).unpack(), "ipc got b");
    assert.equal((await inproc.call("inproc", "x", "self")).unpack(), "in-process got self");
    await ipc.close();
    await inproc.close();
  });
});

Deno.test("a request is written as §23.7 and a §23.8 reply or error reply settles it", async () => {
  await withBus(async (bus) => {
    const target = await bus.wire("target.x");
    const rpc = await ipcRpc(bus, "test.client");
    // ids 1..6 go to an absent target (ACK 71), so the next call has id 7 as in §23.7
    for (let i = 1; i <= 6; i++) {
      await assert.rejects(rpc.call("nobody", "ping"), (e: RpcError) => e.isNotRegistered());
    }
    const call = rpc.call("target.x", "ping");
    await target.expectFrame(
      hex("12 16 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 01 07 00 00 00 70 69 6E 67 00"),
      "request as received (§23.7)",
    );
    // §23.8 "as sent by target.x", result {"ok": true}
    await target.write(
      clientFrame(
        1,
        Op.Message,
        QoS.Processed,
        concat(fieldsBody(["test.client"], hex("11 07 00 00 00")), hex("81 A2 6F 6B C3")),
      ),
    );
    assert.deepEqual((await call).unpack(), { ok: true });

    const failing = rpc.call("target.x", "ping");
    await target.expectFrame(ackBytes(1, 0x01), "ACK of the reply");
    const request = await target.readFrame();
    assert.equal(request[18 + 1], 8, "call id 8");
    await target.write(
      hex(
        "02 00 00 00 52 21 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 12 08 00 00 00 A7 80 6E 6F 20 73 75 63 68 20 6D 65 74 68 6F 64",
      ),
    );
    await assert.rejects(failing, (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, -32601);
      assert.equal(err.message, "no such method");
      assertBytes(err.data, utf8("no such method"));
      assert.ok(err.isRemote() && err.isMethodNotFound() && !err.isTransport());
      return true;
    });
    assert.equal(rpc.pendingCalls, 0);
    await rpc.close();
  });
});

Deno.test("replies of a handler are byte-exact with §23.8, QoS 3 requests get realtime replies", async () => {
  await withBus(async (bus) => {
    await ipcRpc(bus, "target.x", {
      handlers: {
        onCall(call) {
          if (call.method === "ping") return undefined;
          if (call.method === "ok") return { ok: true };
          throw new RpcError(-32601, "no such method");
        },
      },
    });
    const wire = await bus.wire("test.client");
    // §23.7 as sent, QoS 1, frame id 4
    await wire.write(
      hex("04 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 07 00 00 00 70 69 6E 67 00"),
    );
    await wire.expectFrame(hex("FE 04 00 00 00 01"), "ACK of the request");
    await wire.expectFrame(
      hex("12 0E 00 00 00 00 74 61 72 67 65 74 2E 78 00 11 07 00 00 00"),
      "empty reply (§23.8)",
    );

    await wire.write(
      clientFrame(5, Op.Message, QoS.Processed, fieldsBody(["target.x"], hex("01 07 00 00 00 6F 6B 00"))),
    );
    await wire.expectFrame(ackBytes(5, 1));
    await wire.expectFrame(
      hex("12 13 00 00 00 00 74 61 72 67 65 74 2E 78 00 11 07 00 00 00 81 A2 6F 6B C3"),
      "reply {ok: true} (§23.8)",
    );

    await wire.write(
      clientFrame(6, Op.Message, QoS.Processed, fieldsBody(["target.x"], hex("01 07 00 00 00 78 00"))),
    );
    await wire.expectFrame(ackBytes(6, 1));
    await wire.expectFrame(
      hex(
        "12 1E 00 00 00 00 74 61 72 67 65 74 2E 78 00 12 07 00 00 00 A7 80 6E 6F 20 73 75 63 68 20 6D 65 74 68 6F 64",
      ),
      "error reply (§23.8)",
    );

    // realtime request (QoS 3) → the reply is sent with QoS 3 and arrives with realtime byte 1
    await wire.write(
      clientFrame(
        7,
        Op.Message,
        QoS.RealtimeProcessed,
        fieldsBody(["target.x"], hex("01 07 00 00 00 70 69 6E 67 00")),
      ),
    );
    await wire.expectFrame(ackBytes(7, 1));
    await wire.expectFrame(
      deliveredFrame(Op.Message, "target.x", null, hex("11 07 00 00 00"), true),
      "realtime reply",
    );
  });
});

Deno.test("call0 runs the handler without a reply; notifications reach onNotification", async () => {
  await withBus(async (bus) => {
    const seen: string[] = [];
    await ipcRpc(bus, "target.x", {
      handlers: {
        onCall(call) {
          seen.push(`call ${call.id} ${call.method} needsReply=${call.needsReply}`);
          return "result";
        },
        onNotification(n: RpcNotification) {
          seen.push(`notification ${n.text()} from ${n.sender}`);
        },
      },
    });
    const wire = await bus.wire("test.client");
    // call0 of §23.7 (frame id 13), then the notification of §23.7 (frame id 12, QoS 0)
    await wire.write(
      hex("0D 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 00 00 00 00 70 69 6E 67 00"),
    );
    await wire.write(hex("0C 00 00 00 12 0F 00 00 00 74 61 72 67 65 74 2E 78 00 00 68 65 6C 6C 6F"));
    await wire.write(
      clientFrame(14, Op.Message, QoS.No, fieldsBody(["target.x"], hex("01 09 00 00 00 70 00"))),
    );
    await wire.expectFrame(ackBytes(13, 1));
    // the first data frame is the reply to call 9: nothing was sent for call0
    assertBytes(
      await nextData(wire),
      deliveredFrame(Op.Message, "target.x", null, concat(hex("11 09 00 00 00"), pack("result"))),
    );
    assert.deepEqual(seen, [
      "call 0 ping needsReply=false",
      "notification hello from test.client",
      "call 9 p needsReply=true",
    ]);

    const caller = await ipcRpc(bus, "caller");
    await caller.call0("target.x", "zero", { a: 1 });
    await caller.notify("target.x", utf8("raw text"));
    await waitFor(() => seen.length === 5, 5000, "call0 and notification");
    assert.equal(seen[3], "call 0 zero needsReply=false");
    assert.equal(seen[4], "notification raw text from caller");
    assert.equal(caller.pendingCalls, 0);
  });
});

Deno.test("malformed RPC messages are dropped without a reply", async () => {
  await withBus(async (bus) => {
    let calls = 0;
    await ipcRpc(bus, "target.x", {
      handlers: {
        onCall: () => {
          calls++;
          return undefined;
        },
      },
    });
    const wire = await bus.wire("test.client");
    const bad = [
      hex(""), // empty RPC frame
      hex("01 07 00 00"), // request shorter than 6 bytes
      hex("01 07 00 00 00 70 69"), // no method terminator
      hex("05 01 02"), // unknown kind
      hex("11 01 00"), // reply shorter than 5 bytes
      hex("12 01 00 00 00 01"), // error reply shorter than 7 bytes
      hex("11 63 00 00 00"), // orphaned reply
    ];
    let id = 1;
    for (const payload of bad) {
      await wire.write(clientFrame(id++, Op.Message, QoS.No, fieldsBody(["target.x"], payload)));
    }
    await wire.write(
      clientFrame(id, Op.Message, QoS.No, fieldsBody(["target.x"], hex("01 2A 00 00 00 6D 00"))),
    );
    assertBytes(await nextData(wire), deliveredFrame(Op.Message, "target.x", null, hex("11 2A 00 00 00")));
    assert.equal(calls, 1);
  });
});

Deno.test("broadcasts and publications go to onFrame unchanged", async () => {
  await withBus(async (bus) => {
    const frames: Frame[] = [];
    const rx = await ipcRpc(bus, "rx.one", { handlers: { onFrame: (f) => void frames.push(f) } });
    await rx.client.subscribe("news/#", QoS.Processed);
    const tx = await bus.client("tx");
    tx.publish("news/a", "\x01 looks like a request", QoS.Realtime);
    tx.broadcast("rx.*", "\x00 looks like a notification");
    await waitFor(() => frames.length === 2, 5000, "two frames");
    assert.equal(frames[0].kind, Op.Publish);
    assert.equal(frames[0].topic, "news/a");
    assert.equal(frames[0].realtime, true);
    assert.equal(new TextDecoder().decode(frames[0].payload), "\x01 looks like a request");
    assert.equal(frames[1].kind, Op.Broadcast);
    assert.equal(frames[1].sender, "tx");
    assert.equal(new TextDecoder().decode(frames[1].payload), "\x00 looks like a notification");
  });
});

Deno.test("call ids start at 1 and increase; the counter wraps from 0xFFFFFFFF to 1", async () => {
  await withBus(async (bus) => {
    const wire = await bus.wire("target.x");
    const rpc = await ipcRpc(bus, "test.client", { timeout: 0 });
    const calls = [rpc.call("target.x", "a"), rpc.call("target.x", "b"), rpc.call("target.x", "c")];
    for (const expected of [1, 2, 3]) {
      const f = await nextData(wire);
      const payload = f.subarray(6 + 12);
      assert.equal(payload[0], 0x01);
      assert.equal(new DataView(payload.buffer, payload.byteOffset).getUint32(1, true), expected);
    }
    await rpc.close();
    await Promise.allSettled(calls);
  });
  const pending = new PendingCalls<string>(() => new Error("timeout"), 0xfffffffd);
  const ids = [pending.add(0), pending.add(0), pending.add(0)];
  assert.deepEqual(ids.map((c) => c.id), [0xfffffffe, 0xffffffff, 1]);
  pending.close(new Error("closed"));
  await Promise.allSettled(ids.map((c) => c.promise));
});

Deno.test("PendingCalls skips ids still pending after a wrap", async () => {
  const pending = new PendingCalls<string>(() => new Error("timeout"));
  const one = pending.add(0);
  const two = pending.add(0);
  assert.deepEqual([one.id, two.id], [1, 2]);
  pending.resolve(two.id, "done");
  pending.lastId = 0xffffffff;
  const next = pending.add(0);
  assert.equal(next.id, 2, "id 1 is still waiting: skipped");
  assert.equal(pending.size, 2);
  pending.close(new Error("closed"));
  await Promise.allSettled([one.promise, two.promise, next.promise]);
});

Deno.test("100,000 calls timing out against a silent in-process target leave no pending entry", async () => {
  await withBus(async (bus) => {
    // a target that never replies and never reads (its queue just grows)
    bus.broker.registerClient("sink", { queueSize: 200_000 });
    const rpc = new RpcClient(bus.broker.registerClient("caller"), { qos: QoS.No });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) calls.push(rpc.call("sink", "m", undefined, { timeout: 0.001 }));
    const results = await Promise.allSettled(calls);
    let timeouts = 0;
    for (const r of results) if (r.status === "rejected" && (r.reason as RpcError).isTimeout()) timeouts++;
    assert.equal(timeouts, 100_000);
    assert.equal(rpc.pendingCalls, 0);
    await rpc.close();
  });
});

Deno.test("PendingCalls forgets expired calls from its expiry groups and stops its timer", async () => {
  const pending = new PendingCalls<string>((id, ms) => new Error(`call ${id} timed out after ${ms} ms`));
  const calls = [];
  for (let i = 0; i < 100_000; i++) calls.push(pending.add(i % 2 === 0 ? 1 : 2).promise);
  const answered = pending.add(60_000);
  pending.resolve(answered.id, "fast");
  const results = await Promise.allSettled(calls);
  assert.ok(results.every((r) => r.status === "rejected"));
  assert.equal(pending.size, 0);
  assert.equal(pending.expiring, 0);
  await waitFor(() => !pending.timerArmed, 5000, "the expiry timer to stop");
  assert.equal(await answered.promise, "fast");
  pending.close(new Error("closed"));
});

Deno.test("100,000 pending calls fail with -32255 when the caller disconnects", async () => {
  await withBus(async (bus) => {
    const caller = await bus.client("caller");
    bus.broker.registerClient("sink", { queueSize: 200_000 });
    const rpc = new RpcClient(caller, { qos: QoS.No, timeout: 0 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) calls.push(rpc.call("sink", "m"));
    bus.broker.forceDisconnect("caller");
    const results = await Promise.allSettled(calls);
    assert.ok(results.every((r) => r.status === "rejected" && (r.reason as RpcError).isClosed()));
    assert.equal(rpc.pendingCalls, 0);
    await rpc.closed;
  });
});

Deno.test("mode blocking hands 1,000 interleaved frames and notifications to handlers in order, one at a time, while calls run beside them", async () => {
  await withBus(async (bus) => {
    const started: number[] = [];
    const finished: number[] = [];
    let active = 0;
    let maxActive = 0;
    const handle = async (n: number) => {
      started.push(n);
      maxActive = Math.max(maxActive, ++active);
      await microtasks((n * 7) % 5); // uneven work: overlapping handlers would finish out of order
      active--;
      finished.push(n);
    };
    const callsGate = Promise.withResolvers<void>();
    let callsStarted = 0;
    const rx = await ipcRpc(bus, "ordered", {
      mode: "blocking",
      concurrency: 1000,
      handlers: {
        onCall: async (call: RpcCall) => {
          callsStarted++;
          await callsGate.promise; // held until every ordered frame was handled
          return call.unpack<number>();
        },
        onNotification: (n: RpcNotification) => handle(n.unpack<number>()),
        onFrame: (f: Frame) => handle(unpack<number>(f.payload)),
      },
    });
    await rx.client.subscribe("order/t", QoS.Processed);
    const tx = await ipcRpc(bus, "sender");
    const calls: Promise<unknown>[] = [];
    const ordered: number[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) calls.push(tx.call("ordered", "m", i));
      else if (i % 3 === 1) {
        ordered.push(i);
        await tx.notify("ordered", i, { qos: i % 2 === 0 ? QoS.No : QoS.Processed });
      } else {
        ordered.push(i);
        tx.client.publish("order/t", pack(i), i % 4 === 0 ? QoS.Realtime : QoS.No);
      }
    }
    await waitFor(() => finished.length === ordered.length, 10_000, "every frame and notification handled");
    assert.equal(callsStarted, calls.length, "every call handler started while the others were still held");
    callsGate.resolve();
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => (r as RpcReply).unpack()),
      calls.map((_, k) => k * 3),
    );
    assert.deepEqual(started, ordered);
    assert.deepEqual(finished, ordered);
    assert.equal(maxActive, 1);
  });
});

Deno.test("concurrent mode overlaps handlers up to the bound", async () => {
  await withBus(async (bus) => {
    for (const concurrency of [4, 64]) {
      let running = 0;
      let maxRunning = 0;
      let started = 0;
      const gate = Promise.withResolvers<void>();
      const server = await ipcRpc(bus, `server${concurrency}`, {
        concurrency,
        handlers: {
          async onCall(call) {
            started++;
            maxRunning = Math.max(maxRunning, ++running);
            await gate.promise;
            running--;
            return call.unpack<number>() * 2;
          },
        },
      });
      const caller = await ipcRpc(bus, `caller${concurrency}`);
      const calls = Array.from({ length: 10 }, (_, i) => caller.call(server.name, "double", i));
      const expectStarted = Math.min(10, concurrency);
      await waitFor(() => started === expectStarted, 5000, `${expectStarted} handlers running`);
      // a reply to the server's own call is processed while every slot is busy
      const probe = await server.call(caller.name, "nothing").catch((e: RpcError) => e.code);
      assert.equal(probe, RpcErrorCode.MethodNotFound);
      assert.equal(started, expectStarted, "no handler starts beyond the bound");
      gate.resolve();
      assert.deepEqual((await Promise.all(calls)).map((r) => r.unpack()), [
        0,
        2,
        4,
        6,
        8,
        10,
        12,
        14,
        16,
        18,
      ]);
      assert.equal(maxRunning, expectStarted);
      assert.equal(server.runningHandlers, 0);
      await caller.close();
      await server.close();
    }
  });
});

Deno.test("an in-handler call completes through the secondary, and through the primary itself (calls are concurrent)", async () => {
  await withBus(async (bus) => {
    await ipcRpc(bus, "inner", { handlers: { onCall: (call) => `inner saw ${call.sender}` } });
    let secondaryName = "";
    const primary: RpcClient = await ipcRpc(bus, "outer", {
      handlers: {
        async onCall(call) {
          if (call.method === "via-secondary") {
            const helper = await primary.secondary();
            secondaryName = helper.name;
            return (await helper.call("inner", "x")).unpack();
          }
          // calls are handled concurrently, as in the reference: the reply is read while this handler waits
          return (await primary.call("inner", "x", undefined, { timeout: 2 })).unpack();
        },
      },
    });
    const caller = await ipcRpc(bus, "caller");
    assert.equal((await caller.call("outer", "via-secondary")).unpack(), "inner saw outer%%0");
    assert.equal(secondaryName, "outer%%0");
    assert.equal(
      (await caller.call("outer", "via-secondary")).unpack(),
      "inner saw outer%%0",
      "secondary reused",
    );
    assert.equal((await caller.call("outer", "via-primary")).unpack(), "inner saw outer");
    const secondary = await primary.secondary();
    assert.ok(bus.broker.isRegistered("outer%%0"));
    await primary.close();
    await secondary.closed;
    assert.equal(secondary.isConnected(), false);
    await waitFor(() => !bus.broker.isRegistered("outer%%0"), 5000, "the secondary to leave");
    await assert.rejects(primary.secondary(), (e: RpcError) => e.isClosed());
  });
});

Deno.test("secondary() works for in-process clients and shares one registration between concurrent callers", async () => {
  await withBus(async (bus) => {
    const rpc = new RpcClient(bus.broker.registerClient("app"));
    const [a, b] = await Promise.all([rpc.secondary(), rpc.secondary()]);
    assert.equal(a, b);
    assert.equal(a.name, "app%%0");
    await rpc.close();
    await a.closed;
    assert.equal(bus.broker.isRegistered("app%%0"), false);
  });
});

Deno.test("errors thrown by notification and frame handlers are logged and do not stop the client", async () => {
  await withBus(async (bus) => {
    const lines: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (m: string) => void lines.push(m),
      error: (m: string) => void lines.push(m),
    };
    const rx = await ipcRpc(bus, "rx", {
      logger,
      handlers: {
        onNotification: () => {
          throw new Error("sync failure");
        },
        onFrame: () => Promise.reject(new Error("async failure")),
        onCall: () => "still alive",
      },
    });
    const tx = await ipcRpc(bus, "tx");
    await tx.notify("rx", "x");
    tx.client.broadcast("rx", "y");
    assert.equal((await tx.call("rx", "m")).unpack(), "still alive");
    assert.ok(lines.some((l) => l.includes("sync failure")));
    assert.ok(lines.some((l) => l.includes("async failure")));
    assert.ok(rx.isConnected());
  });
});
