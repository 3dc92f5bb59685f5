import assert from "node:assert/strict";
import { Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import type { AccessPolicy, ClientAcl } from "../broker/access_policy.ts";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { describeRpcCode, rpcCodeOfBusCode, RpcError, RpcErrorCode, toRpcError } from "../rpc/rpc_error.ts";
import {
  ackBytes,
  assertBytes,
  clientFrame,
  concat,
  deliveredFrame,
  fieldsBody,
  hex,
  utf8,
  withBus,
} from "./_helpers.ts";
import { ipcRpc, rejectsWith } from "./_rpc_helpers.ts";

// ---------------------------------------------------------------- codes and the error class

Deno.test("RpcErrorCode holds the codes of §1.4 and §13.7", () => {
  assert.deepEqual(
    [
      RpcErrorCode.NotFound,
      RpcErrorCode.Parse,
      RpcErrorCode.InvalidRequest,
      RpcErrorCode.MethodNotFound,
      RpcErrorCode.InvalidParams,
      RpcErrorCode.Internal,
    ],
    [-32001, -32700, -32600, -32601, -32602, -32603],
  );
  assert.deepEqual(
    [
      RpcErrorCode.NotRegistered,
      RpcErrorCode.Data,
      RpcErrorCode.Io,
      RpcErrorCode.Other,
      RpcErrorCode.NotSupported,
      RpcErrorCode.Busy,
      RpcErrorCode.NotDelivered,
      RpcErrorCode.Timeout,
      RpcErrorCode.Access,
      RpcErrorCode.Eof,
    ],
    [-32113, -32114, -32115, -32116, -32117, -32118, -32119, -32120, -32121, -32255],
  );
});

Deno.test("transport codes map to -32000 - code; unknown codes map to -32116", () => {
  for (const code of [0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0xff]) {
    assert.equal(rpcCodeOfBusCode(code), -32000 - code);
    assert.equal(toRpcError(new BusError(code)).code, -32000 - code);
  }
  assert.equal(rpcCodeOfBusCode(0x7a), -32116);
  assert.equal(rpcCodeOfBusCode(0x02), -32116);
  const io = toRpcError(new Error("socket gone"));
  assert.equal(io.code, RpcErrorCode.Io);
  assert.equal(io.message, "socket gone");
  const same = new RpcError(-1);
  assert.equal(toRpcError(same), same);
});

Deno.test("RpcError predicates match exactly their code", () => {
  const predicates: [keyof RpcError, number][] = [
    ["isTimeout", -32120],
    ["isNotRegistered", -32113],
    ["isNotDelivered", -32119],
    ["isAccessDenied", -32121],
    ["isClosed", -32255],
    ["isData", -32114],
    ["isIo", -32115],
    ["isMethodNotFound", -32601],
    ["isInvalidParams", -32602],
    ["isInvalidRequest", -32600],
    ["isParse", -32700],
    ["isInternal", -32603],
    ["isNotFound", -32001],
  ];
  for (const [name, code] of predicates) {
    for (const [, other] of predicates) {
      const err = new RpcError(other);
      assert.equal((err[name] as () => boolean).call(err), other === code, `${name}() for ${other}`);
    }
  }
  assert.ok(new RpcError(-32113).isTransport() && new RpcError(-32255).isTransport());
  assert.ok(!new RpcError(-32601).isTransport() && !new RpcError(-777).isTransport());
  assert.ok(new RpcError(-777, null, { remote: true }).isRemote());
  assert.ok(!new RpcError(-777).isRemote());
});

Deno.test("RpcError takes its message from the data, or the code's description", () => {
  assert.equal(new RpcError(-32601).message, "method not found");
  assert.equal(new RpcError(-777).message, "RPC error -777");
  assert.equal(new RpcError(-777, "custom").message, "custom");
  assertBytes(new RpcError(-777, "custom").data, utf8("custom"));
  assert.equal(
    new RpcError(-1, new Uint8Array([0x68, 0xff])).message,
    "h\ufffd",
    "invalid UTF-8 is replaced",
  );
  assert.equal(new RpcError(-1).name, "RpcError");
  assert.equal(describeRpcCode(-32120), "timeout");
  assert.throws(() => new RpcError(40000), RangeError);
  assert.throws(() => new RpcError(1.5), RangeError);
});

// ---------------------------------------------------------------- errors from handlers

Deno.test("handler failures become error replies with their codes", async () => {
  await withBus(async (bus) => {
    await ipcRpc(bus, "server", {
      handlers: {
        async onCall(call) {
          switch (call.method) {
            case "custom":
              throw new RpcError(-777, "custom failure");
            case "no-data":
              throw new RpcError(RpcErrorCode.InvalidParams);
            case "boom":
              throw new Error("boom");
            case "reject":
              return await Promise.reject(new TypeError("rejected"));
            case "string":
              throw "a string"; // not an Error: no data
            case "unencodable":
              return { when: new Date(0) };
            case "parse":
              return call.unpack();
            default:
              throw new RpcError(RpcErrorCode.MethodNotFound);
          }
        },
      },
    });
    await ipcRpc(bus, "no-handler");
    const rpc = await ipcRpc(bus, "caller");
    const custom = await rejectsWith(rpc.call("server", "custom"), -777);
    assert.equal(custom.message, "custom failure");
    assert.ok(custom.isRemote());
    const noData = await rejectsWith(rpc.call("server", "no-data"), -32602);
    assert.equal(noData.data.length, 0);
    assert.ok(noData.isInvalidParams());
    assert.equal((await rejectsWith(rpc.call("server", "boom"), -32603)).message, "boom");
    assert.equal((await rejectsWith(rpc.call("server", "reject"), -32603)).message, "rejected");
    assert.equal((await rejectsWith(rpc.call("server", "string"), -32603)).data.length, 0);
    assert.match((await rejectsWith(rpc.call("server", "unencodable"), -32603)).message, /Date/);
    const parse = await rejectsWith(rpc.call("server", "parse", hex("C1")), -32700);
    assert.ok(parse.isParse() && parse.message.length > 0);
    await rejectsWith(rpc.call("server", "unknown"), -32601);
    const missing = await rejectsWith(rpc.call("no-handler", "anything"), -32601);
    assert.equal(missing.message, "RPC handler is not implemented");
    assert.equal(rpc.pendingCalls, 0);
  });
});

Deno.test("a method name that is not UTF-8 gets -32114 with no data", async () => {
  await withBus(async (bus) => {
    await ipcRpc(bus, "target.x", { handlers: { onCall: (call) => call.method } });
    const wire = await bus.wire("test.client");
    await wire.write(
      clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["target.x"], hex("01 07 00 00 00 FF FE 00"))),
    );
    await wire.expectFrame(ackBytes(1, 1));
    // -32114 = 0x828E → i16 LE 8E 82
    await wire.expectFrame(deliveredFrame(Op.Message, "target.x", null, hex("12 07 00 00 00 8E 82")));
  });
});

// ---------------------------------------------------------------- transport failures

Deno.test("a call to an absent target fails with -32113 (IPC ACK 71 and in-process alike)", async () => {
  await withBus(async (bus) => {
    const ipc = await ipcRpc(bus, "ipc");
    const err = await rejectsWith(ipc.call("nobody", "m"), -32113);
    assert.ok(err.isNotRegistered() && err.isTransport() && !err.isRemote());
    assert.ok(err.cause instanceof BusError);
    const inproc = new RpcClient(bus.broker.registerClient("inproc"));
    await rejectsWith(inproc.call("nobody", "m"), -32113);
    await rejectsWith(inproc.call("nobody", "m", undefined, { qos: QoS.No }), -32113);
    await rejectsWith(ipc.call0("nobody", "m"), -32113);
    await rejectsWith(ipc.notify("nobody", "x"), -32113);
    await ipc.call0("nobody", "m", undefined, { qos: QoS.No }); // nothing to wait for at QoS 0
    assert.equal(ipc.pendingCalls + inproc.pendingCalls, 0);
    await inproc.close();
  });
});

Deno.test("a call refused by access control fails with -32121", async () => {
  const allowAllBut = (forbidden: string): ClientAcl => ({
    allowP2p: (target) => target !== forbidden,
    allowPublish: () => true,
    allowSubscribe: () => true,
    allowBroadcast: () => true,
  });
  const policy: AccessPolicy = { authorize: () => allowAllBut("secret") };
  await withBus(async (bus) => {
    await ipcRpc(bus, "secret", { handlers: { onCall: () => "never" } });
    const rpc = await ipcRpc(bus, "caller");
    const err = await rejectsWith(rpc.call("secret", "m"), -32121);
    assert.ok(err.isAccessDenied());
    await rejectsWith(rpc.notify("secret", "x"), -32121);
  }, { config: { policy } });
});

Deno.test("a call whose target's queue is full fails with -32119", async () => {
  await withBus(async (bus) => {
    const tight = `${bus.dir}/tight.sock`;
    await bus.broker.serveUnix(tight, { timeout: 30, queueSize: 1 });
    const target = await connect(tight, { name: "slow", timeout: 5 });
    try {
      const rpc = await ipcRpc(bus, "caller");
      // both requests leave in one write: the second finds the first still queued
      const first = rpc.call("slow", "a", undefined, { timeout: 0.1 });
      const second = rpc.call("slow", "b", undefined, { timeout: 1 });
      const err = await rejectsWith(second, -32119);
      assert.ok(err.isNotDelivered());
      await first.catch(() => {}); // the target was dropped: no reply
      assert.equal(rpc.pendingCalls, 0);
    } finally {
      await target.close();
    }
  });
});

Deno.test("a call without a reply fails with -32120 after its timeout and is forgotten", async () => {
  await withBus(async (bus) => {
    await ipcRpc(bus, "silent", { handlers: { onCall: () => new Promise(() => {}) } });
    const rpc = await ipcRpc(bus, "caller", { timeout: 0.05 });
    const err = await rejectsWith(rpc.call("silent", "m"), -32120);
    assert.ok(err.isTimeout() && err.isTransport());
    await rejectsWith(rpc.call("silent", "m", undefined, { timeout: 0.02 }), -32120);
    assert.equal(rpc.pendingCalls, 0);
  });
});

Deno.test("an aborted call rejects with the signal's reason and is forgotten", async () => {
  await withBus(async (bus) => {
    bus.broker.registerClient("sink");
    const rpc = new RpcClient(bus.broker.registerClient("caller"), { timeout: 0 });
    const controller = new AbortController();
    const call = rpc.call("sink", "m", undefined, { signal: controller.signal });
    controller.abort(new Error("user gave up"));
    await assert.rejects(call, /user gave up/);
    await assert.rejects(rpc.call("sink", "m", undefined, { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
    assert.equal(rpc.pendingCalls, 0);
    await rpc.close();
  });
});

Deno.test("calls fail with -32255 when the client closes, is disconnected, or is used after close", async () => {
  await withBus(async (bus) => {
    bus.broker.registerClient("sink");
    const rpc = await ipcRpc(bus, "caller", { timeout: 0 });
    const waiting = rpc.call("sink", "m");
    await rpc.close();
    assert.ok((await rejectsWith(waiting, -32255)).isClosed());
    await rejectsWith(rpc.call("sink", "m"), -32255);
    await rejectsWith(rpc.call0("sink", "m"), -32255);
    await rejectsWith(rpc.notify("sink", "m"), -32255);
    assert.equal(rpc.isConnected(), false);

    const dropped = await ipcRpc(bus, "dropped", { timeout: 0 });
    const pending = dropped.call("sink", "m");
    bus.broker.forceDisconnect("dropped");
    await rejectsWith(pending, -32255);
    await dropped.closed;
    assert.equal(dropped.pendingCalls, 0);
  });
});

Deno.test("bad arguments are refused before anything is sent", async () => {
  await withBus(async (bus) => {
    const rpc = new RpcClient(bus.broker.registerClient("caller"));
    await assert.rejects(rpc.call("x", "bad\0method"), TypeError);
    await assert.rejects(rpc.call("x", "m", new Date()), TypeError);
    await assert.rejects(rpc.call("x", "m", undefined, { timeout: -1 }), RangeError);
    await assert.rejects(rpc.call0("x", "bad\0method"), TypeError);
    await assert.rejects(rpc.notify("x", () => 1), TypeError);
    assert.equal(rpc.pendingCalls, 0);
    assert.throws(() => new RpcClient(bus.broker.registerClient("c2"), { concurrency: 0 }), RangeError);
    await rpc.close();
  });
});

Deno.test("an error reply arriving over the wire keeps the code's sign and the raw data", async () => {
  await withBus(async (bus) => {
    const wire = await bus.wire("target.x");
    const rpc = await ipcRpc(bus, "test.client");
    const call = rpc.call("target.x", "m");
    await wire.readFrame();
    // code +1234 (D2 04) with binary data
    await wire.write(
      clientFrame(
        1,
        Op.Message,
        QoS.No,
        concat(fieldsBody(["test.client"], hex("12 01 00 00 00 D2 04")), hex("00 FF")),
      ),
    );
    const err = await rejectsWith(call, 1234);
    assertBytes(err.data, hex("00 FF"));
    const call2 = rpc.call("target.x", "m");
    await wire.readFrame();
    await wire.write(
      clientFrame(2, Op.Message, QoS.No, fieldsBody(["test.client"], hex("12 02 00 00 00 00 80"))),
    );
    assert.equal((await rejectsWith(call2, -32768)).data.length, 0);
  });
});
