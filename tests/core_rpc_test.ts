import assert from "node:assert/strict";
import { AUTHOR, Op, QoS, VERSION } from "../protocol/constants.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { pack, unpack } from "../rpc/msgpack.ts";
import { RpcErrorCode } from "../rpc/rpc_error.ts";
import {
  benchmarkTest,
  brokerInfo,
  brokerStats,
  brokerTest,
  type ClientInfo,
  listClients,
} from "../rpc/broker_api.ts";
import {
  ackBytes,
  assertBytes,
  clientFrame,
  concat,
  deliveredFrame,
  fieldsBody,
  hex,
  patternBytes,
  type TestBus,
  toHex,
  utf8,
  type WireClient,
  withBus,
} from "./_helpers.ts";
import { ipcRpc, rejectsWith } from "./_rpc_helpers.ts";

/** Runs `fn` on a test bus whose `.broker` serves the core RPC. */
function withCoreRpcBus(fn: (bus: TestBus) => Promise<void>): Promise<void> {
  return withBus(async (bus) => {
    enableCoreRpc(bus.broker);
    await fn(bus);
  });
}

/** Sends a raw `.broker` request from a wire client and returns the reply frame as received. */
async function rawCall(wire: WireClient, frameId: number, payload: Uint8Array, qos: QoS = QoS.Processed) {
  await wire.write(clientFrame(frameId, Op.Message, qos, fieldsBody([".broker"], payload)));
  await wire.expectFrame(ackBytes(frameId, 1), "ACK of the request");
  return await wire.readFrame();
}

/** Keys of the top-level MessagePack map in wire order, read from the raw bytes. */
function mapKeys(bytes: Uint8Array): string[] {
  const value = unpack<Record<string, unknown>>(bytes);
  return Object.keys(value);
}

Deno.test(".broker test is byte-exact with §23.9", async () => {
  await withCoreRpcBus(async (bus) => {
    const wire = await bus.wire("test.client");
    await wire.write(hex("09 00 00 00 52 12 00 00 00 2E 62 72 6F 6B 65 72 00 01 01 00 00 00 74 65 73 74 00"));
    await wire.expectFrame(hex("FE 09 00 00 00 01"));
    await wire.expectFrame(hex("12 12 00 00 00 00 2E 62 72 6F 6B 65 72 00 11 01 00 00 00 81 A2 6F 6B C3"));
  });
});

Deno.test(".broker replies to a realtime request with a realtime frame (QoS 3)", async () => {
  await withCoreRpcBus(async (bus) => {
    const wire = await bus.wire("test.client");
    const reply = await rawCall(wire, 1, hex("01 05 00 00 00 74 65 73 74 00"), QoS.RealtimeProcessed);
    assertBytes(
      reply,
      deliveredFrame(Op.Message, ".broker", null, hex("11 05 00 00 00 81 A2 6F 6B C3"), true),
    );
    const normal = await rawCall(wire, 2, hex("01 06 00 00 00 74 65 73 74 00"), QoS.Processed);
    assert.equal(normal[5], 0, "realtime byte of a reply to a QoS 1 request");
  });
});

Deno.test(".broker info and test replies decode field by field", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    const info = await rpc.call(".broker", "info");
    assert.deepEqual(mapKeys(info.payload), ["author", "version"]);
    assert.deepEqual(info.unpack(), { author: AUTHOR, version: VERSION });
    assert.deepEqual(await brokerInfo(rpc), { author: "@busrt/busrt", version: VERSION });
    assert.equal(await brokerTest(rpc), true);
    assertBytes((await rpc.call(".broker", "test")).payload, hex("81 A2 6F 6B C3"));
  });
});

Deno.test(".broker stats reply has the §12.2 fields in order, as compact integers", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    await rpc.call(".broker", "test");
    const reply = await rpc.call(".broker", "stats");
    assert.deepEqual(mapKeys(reply.payload), ["uptime", "r_frames", "r_bytes", "w_frames", "w_bytes"]);
    const stats = await brokerStats(rpc);
    for (const key of ["uptime", "r_frames", "r_bytes", "w_frames", "w_bytes"] as const) {
      assert.equal(typeof stats[key], "number", key);
      assert.ok(Number.isInteger(stats[key]) && stats[key] >= 0, key);
    }
    assert.ok(stats.r_frames >= 2 && stats.w_frames >= 2);
    // the broker's own view matches (counters only grow)
    const direct = bus.broker.stats();
    assert.ok(direct.r_frames >= stats.r_frames && direct.w_bytes >= stats.w_bytes);
    assertBytes(reply.payload, pack(unpack(reply.payload)), "integers in the most compact form");
  });
});

Deno.test(".broker client.list shows every column of §12.4 for each kind of client", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app.unix");
    const secondary = await rpc.client.registerSecondary(); // app.unix%%0 counts as an instance
    const tcp = await bus.client("app.tcp", "tcp");
    bus.broker.registerClient("app.inproc");
    const reply = await rpc.call(".broker", "client.list");
    assert.deepEqual(mapKeys(reply.payload), ["clients"]);
    const { clients } = reply.unpack<{ clients: ClientInfo[] }>();
    assert.deepEqual(clients.map((c) => c.name), [".broker", "app.inproc", "app.tcp", "app.unix"]);
    for (const c of clients) {
      assert.deepEqual(Object.keys(c), [
        "name",
        "kind",
        "source",
        "port",
        "r_frames",
        "r_bytes",
        "w_frames",
        "w_bytes",
        "queue",
        "instances",
      ]);
      for (const key of ["r_frames", "r_bytes", "w_frames", "w_bytes", "queue", "instances"] as const) {
        assert.ok(Number.isInteger(c[key]) && c[key] >= 0, `${c.name}.${key}`);
      }
    }
    const [core, inproc, viaTcp, viaUnix] = clients;
    assert.deepEqual([core.kind, core.source, core.port, core.instances], ["internal", null, null, 1]);
    assert.deepEqual([inproc.kind, inproc.source, inproc.port], ["internal", null, null]);
    assert.equal(viaTcp.kind, "tcp");
    assert.match(viaTcp.source ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(viaTcp.port, bus.tcp);
    assert.deepEqual([viaUnix.kind, viaUnix.source, viaUnix.port, viaUnix.instances], [
      "local_ipc",
      null,
      bus.unix,
      2,
    ]);
    assert.ok(viaUnix.r_frames >= 1 && viaUnix.w_frames >= 1, "the caller's own request and ACK are counted");
    // compare with the broker's table
    const expected = bus.broker.clientList().find((c) => c.name === "app.tcp");
    assert.equal(expected?.source, viaTcp.source);
    assertBytes(reply.payload, pack(unpack(reply.payload)), "integers in the most compact form");
    await tcp.close();
    await secondary.close();
  });
});

Deno.test(".broker client.list filter is an unanchored regex search", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app.one");
    bus.broker.registerClient("app.two");
    bus.broker.registerClient("other.app");
    bus.broker.registerClient("ÄPP.unicode");
    const names = async (filter?: string) => (await listClients(rpc, filter)).map((c) => c.name);
    assert.deepEqual(await names("^app"), ["app.one", "app.two"]);
    assert.deepEqual(await names("app"), ["app.one", "app.two", "other.app"]);
    assert.deepEqual(await names("two$"), ["app.two"]);
    assert.deepEqual(await names("(?i)^äpp"), ["ÄPP.unicode"], "Rust-style inline flags");
    assert.deepEqual(await names("^(?P<kind>app)\\.one$"), ["app.one"], "Rust-style named groups");
    assert.deepEqual(await names("^app\\-"), [], "escaped punctuation is accepted");
    assert.equal((await names()).length, 5);
    // explicit nil filter, unknown keys, and an empty map all mean no filter
    for (const params of [{ filter: null }, { other: 1 }, {}]) {
      assert.equal(
        (await rpc.call(".broker", "client.list", params)).unpack<{ clients: unknown[] }>().clients.length,
        5,
      );
    }
    assertBytes(pack({ filter: "^test" }), hex("81 A6 66 69 6C 74 65 72 A5 5E 74 65 73 74"));
  });
});

Deno.test(".broker client.list refuses undecodable params and invalid regexes with -32700 and a message", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    for (
      const params of [hex("C1"), hex("81 A6 66 69 6C 74 65 72"), hex("92 01"), pack(42), pack({ filter: 5 })]
    ) {
      const err = await rejectsWith(rpc.call(".broker", "client.list", params), -32700);
      assert.ok(err.isRemote() && err.data.length > 0, `message for ${toHex(params)}`);
    }
    const bad = await rejectsWith(listClients(rpc, "(unclosed"), -32700);
    assert.ok(bad.message.length > 0);
  });
});

Deno.test(".broker refuses params for test, info and stats with -32602 and no data", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    for (const method of ["test", "info", "stats"]) {
      const err = await rejectsWith(rpc.call(".broker", method, { x: 1 }), -32602);
      assert.equal(err.data.length, 0, method);
      await rejectsWith(rpc.call(".broker", method, new Uint8Array([0])), -32602);
    }
  });
});

Deno.test(".broker answers unknown methods with -32601 and non-UTF-8 methods with -32114, no data", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    const unknown = await rejectsWith(rpc.call(".broker", "no.such.method"), -32601);
    assert.equal(unknown.data.length, 0);
    const wire = await bus.wire("test.client");
    assertBytes(
      await rawCall(wire, 1, hex("01 07 00 00 00 C3 28 00")),
      deliveredFrame(Op.Message, ".broker", null, hex("12 07 00 00 00 8E 82")),
    );
    assertBytes(
      await rawCall(wire, 2, hex("01 08 00 00 00 6E 6F 70 65 00")),
      deliveredFrame(Op.Message, ".broker", null, hex("12 08 00 00 00 A7 80")),
    );
  });
});

Deno.test(".broker benchmark.test echoes the params verbatim", async () => {
  await withCoreRpcBus(async (bus) => {
    const rpc = await ipcRpc(bus, "app");
    for (const size of [0, 1, 100, 70_000]) {
      const params = patternBytes(size, size + 1);
      assertBytes(await benchmarkTest(rpc, params), params, `${size} bytes`);
    }
    const wire = await bus.wire("test.client");
    const body = concat(hex("01 03 00 00 00"), utf8("benchmark.test"), hex("00 C1 FF 00"));
    assertBytes(
      await rawCall(wire, 1, body),
      deliveredFrame(Op.Message, ".broker", null, hex("11 03 00 00 00 C1 FF 00")),
    );
  });
});

Deno.test(".broker ignores call0, notifications and plain frames", async () => {
  await withCoreRpcBus(async (bus) => {
    const wire = await bus.wire("test.client");
    await wire.write(
      clientFrame(1, Op.Message, QoS.No, fieldsBody([".broker"], hex("01 00 00 00 00 74 65 73 74 00"))),
    );
    await wire.write(clientFrame(2, Op.Message, QoS.No, fieldsBody([".broker"], hex("00 68 69"))));
    await wire.write(
      clientFrame(3, Op.Broadcast, QoS.No, fieldsBody([".broker"], hex("01 09 00 00 00 74 65 73 74 00"))),
    );
    // the first reply to arrive is the one to this request
    assertBytes(
      await rawCall(wire, 4, hex("01 04 00 00 00 74 65 73 74 00")),
      deliveredFrame(Op.Message, ".broker", null, hex("11 04 00 00 00 81 A2 6F 6B C3")),
    );
  });
});

Deno.test("custom .broker methods: added, overriding, removed, asynchronous", async () => {
  await withBus(async (bus) => {
    const core = enableCoreRpc(bus.broker, {
      methods: {
        "hello": (call) => `hello, ${call.unpack<{ name: string }>().name}`,
        "test": () => "overridden",
      },
    });
    assert.equal(
      enableCoreRpc(bus.broker, { methods: { "later": () => 1 } }),
      core,
      "one core RPC per broker",
    );
    core.addMethod("clients.count", async (_call, broker) => {
      await Promise.resolve();
      return broker.clientList().length;
    });
    const rpc = await ipcRpc(bus, "app");
    assert.equal((await rpc.call(".broker", "hello", { name: "Deno" })).unpack(), "hello, Deno");
    assert.equal((await rpc.call(".broker", "test")).unpack(), "overridden");
    assert.equal((await rpc.call(".broker", "later")).unpack(), 1);
    assert.equal((await rpc.call(".broker", "clients.count")).unpack(), 2);
    assert.ok(core.removeMethod("info"));
    await rejectsWith(rpc.call(".broker", "info"), RpcErrorCode.MethodNotFound);
    assert.ok(core.methodNames().includes("stats"));
    await core.close();
    assert.equal(bus.broker.isRegistered(".broker"), false);
    await rejectsWith(rpc.call(".broker", "test"), RpcErrorCode.NotRegistered);
    const again = enableCoreRpc(bus.broker, { builtins: false });
    assert.notEqual(again, core);
    await rejectsWith(rpc.call(".broker", "test"), RpcErrorCode.MethodNotFound);
  });
});
