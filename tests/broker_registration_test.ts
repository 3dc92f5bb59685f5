/**
 * Registration (PROTOCOL.md §3.2): result codes on the wire, name rules,
 * force_register, force-disconnect, listener socket files.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import {
  ackBytes,
  announcementsBeforeMarker,
  clientFrame,
  concat,
  deliveredFrame,
  describeFrames,
  expectEnded,
  fieldsBody,
  framesBeforeMarker,
  hex,
  settle,
  topicsBody,
  TRANSPORTS,
  utf8,
  waitFor,
  withBus,
  withoutNops,
  withTimeout,
} from "./_helpers.ts";

for (const transport of TRANSPORTS) {
  Deno.test(`registration codes on the wire: 72, 76, 71, 75, and a silent close for bad UTF-8 (${transport})`, async () => {
    await withBus(async (bus) => {
      await bus.wire("taken", transport);
      const cases: [string, string | Uint8Array, number][] = [
        ["empty name", "", 0x72],
        ["dot name", ".hidden", 0x72],
        ["dot only", ".", 0x72],
        ["taken", "taken", 0x76],
        ["secondary without primary", "nobody%%0", 0x71],
        ["secondary of a secondary's missing primary", "ghost%%a%%b", 0x71],
      ];
      for (const [what, name, code] of cases) {
        const w = await bus.raw(transport);
        assert.equal(await w.handshake(name), code, what);
        assert.equal(withoutNops(await w.expectClosed()).length, 0, `closed after the code (${what})`);
      }
      for (const echo of ["EC 01 00", "EB 02 00", "EB 01 01", "00 00 00"]) {
        const w = await bus.raw(transport);
        assert.deepEqual(await w.read(3), hex("EB 01 00"));
        await w.write(hex(echo));
        assert.deepEqual(await w.read(1), hex("75"), `echo ${echo} refused with 75`);
        assert.equal((await w.expectClosed()).length, 0);
      }
      const bad = await bus.raw(transport);
      assert.deepEqual(await bad.read(3), hex("EB 01 00"));
      await bad.write(hex("EB 01 00"));
      assert.deepEqual(await bad.read(1), hex("01"));
      await bad.write(hex("03 00 61 C3 28"));
      assert.equal((await bad.expectClosed()).length, 0, "invalid UTF-8 name: closed without a code");
      await waitFor(() => bus.log.lines.some((l) => l.includes("not valid UTF-8")), 2000, "a log line");
      assert.deepEqual(bus.broker.clientNames(), ["taken"]);
    });
  });
}

Deno.test("connect() rejects with the broker's code as a BusError", async () => {
  await withBus(async (bus) => {
    await bus.client("app");
    const attempts: [string, (e: BusError) => boolean][] = [
      ["app", (e) => e.isBusy()],
      [".app", (e) => e.isData()],
      ["none%%1", (e) => e.isNotRegistered()],
    ];
    for (const [name, check] of attempts) {
      await assert.rejects(
        connect(bus.unix, { name, timeout: 5 }),
        (e) => e instanceof BusError && check(e) && e.message.includes(name),
        name,
      );
    }
    await assert.rejects(connect(bus.unix, { name: "" }), RangeError);
    await assert.rejects(connect(bus.unix, { name: "x".repeat(65536) }), RangeError);
  });
});

Deno.test("any other UTF-8 name is accepted, up to 65535 bytes", async () => {
  await withBus(async (bus) => {
    const names = [
      "with space",
      "a/b",
      "ctrl\u0001\u001f",
      "émoji😀",
      "a.",
      // (a NUL inside is refused with 0x72: hardening_security_names_test.ts)
      "x".repeat(65535),
    ];
    for (const name of names) {
      const w = await bus.raw();
      assert.equal(await w.handshake(name), 0x01, `"${name.slice(0, 20)}"`);
    }
    assert.ok(bus.broker.isRegistered("x".repeat(65535)));
  });
});

Deno.test("frames pipelined right after the name are served after the OK", async () => {
  await withBus(async (bus) => {
    const w = await bus.raw();
    assert.deepEqual(await w.read(3), hex("EB 01 00"));
    await w.write(hex("EB 01 00"));
    assert.deepEqual(await w.read(1), hex("01"));
    await w.write(
      concat([4, 0], "pipe", clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["pipe"], "early"))),
    );
    assert.deepEqual(await w.read(1), hex("01"), "registered");
    await w.expectFrame(deliveredFrame(Op.Message, "pipe", null, "early"));
    await w.expectFrame(ackBytes(1, ErrorCode.Ok));
  });
});

Deno.test("force_register replaces a primary without unreg and drops its secondaries; never for secondaries", async () => {
  await withBus(async (bus) => {
    const watcher = await bus.client("watcher");
    await watcher.subscribe(".broker/info", QoS.Processed);
    const old = await bus.client("x");
    const oldSec = await old.registerSecondary();
    const fresh = await bus.client("x");
    await withTimeout(old.closed, 2000, "replaced primary is disconnected");
    await withTimeout(oldSec.closed, 2000, "its secondary is disconnected too");
    assert.ok(bus.broker.isRegistered("x"));
    assert.ok(!bus.broker.isRegistered("x%%0"));
    const sec = await fresh.registerSecondary();
    assert.equal(sec.name, "x%%0");
    await assert.rejects(
      connect(bus.unix, { name: "x%%0", timeout: 5 }),
      (e) => e instanceof BusError && e.isBusy(),
    );
    await fresh.send("x", "still me", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(fresh, watcher)), ["msg:x:still me"]);
    const events = await announcementsBeforeMarker(watcher, fresh);
    assert.deepEqual(events, ["reg x", "reg x"], "no unreg for the replaced one");
  }, { broker: { forceRegister: true }, core: true });
});

Deno.test("without force_register a taken name is refused and the holder keeps working", async () => {
  await withBus(async (bus) => {
    const holder = await bus.client("x");
    await assert.rejects(
      connect(bus.tcp, { name: "x", timeout: 5 }),
      (e) => e instanceof BusError && e.isBusy(),
    );
    await holder.send("x", "ok", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(holder, holder)), ["msg:x:ok"]);
  });
});

Deno.test("forceDisconnect closes an IPC client and its secondaries; 71 unknown, 75 in-process", async () => {
  await withBus(async (bus) => {
    const a = await bus.client("a");
    const a0 = await a.registerSecondary();
    const a1 = await a.registerSecondary();
    const b = await bus.client("b");
    const b0 = await b.registerSecondary();
    const inproc = bus.broker.registerClient("inproc");
    assert.throws(
      () => bus.broker.forceDisconnect("nobody"),
      (e) => e instanceof BusError && e.isNotRegistered(),
    );
    assert.throws(
      () => bus.broker.forceDisconnect("inproc"),
      (e) => e instanceof BusError && e.isNotSupported(),
    );
    assert.ok(inproc.isConnected());

    bus.broker.forceDisconnect("b%%0"); // a secondary alone
    await withTimeout(b0.closed, 2000, "b%%0 closed");
    assert.ok(b.isConnected());
    assert.equal(bus.broker.clientList().find((c) => c.name === "b")!.instances, 1);

    bus.broker.forceDisconnect("a");
    await withTimeout(Promise.all([a.closed, a0.closed, a1.closed]), 2000, "a and its secondaries closed");
    assert.deepEqual(bus.broker.clientNames().sort(), ["b", "inproc"]);
    await assert.rejects(async () => await a.send("b", "x", QoS.Processed), BusError);
    await b.send("b", "alive", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(b, b)), ["msg:b:alive"]);
  });
});

Deno.test("broker.close() removes unix socket files, ends every client and stops accepting", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  const paths = [`${dir}/one.sock`, `${dir}/two.sock`];
  try {
    for (const p of paths) await broker.serveUnix(p);
    const tcp = await broker.serveTcp("127.0.0.1:0");
    for (const p of paths) assert.ok((await Deno.lstat(p)).isSocket);
    const c = await connect(paths[0], { name: "c" });
    const t = await connect(tcp.bind, { name: "t" });
    const inproc = broker.registerClient("inproc");
    await broker.close();
    for (const p of paths) await assert.rejects(Deno.lstat(p), Deno.errors.NotFound, p);
    await withTimeout(Promise.all([c.closed, t.closed, inproc.closed]), 2000, "clients ended");
    await expectEnded(inproc);
    await assert.rejects(Deno.connect({ transport: "unix", path: paths[0] }));
    await assert.rejects(broker.serveTcp("127.0.0.1:0"), BusError);
    assert.throws(() => broker.registerClient("late"), BusError);
  } finally {
    await broker.close();
    await settle();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveUnix replaces a stale socket file but refuses a live one or a regular file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  // a socket file nobody listens on: bind, move the file away while closing (close unlinks), move it back
  const stale = Deno.listen({ transport: "unix", path });
  await Deno.rename(path, `${path}.keep`);
  stale.close();
  await Deno.rename(`${path}.keep`, path);
  const first = new Broker();
  const second = new Broker();
  try {
    assert.ok((await Deno.lstat(path)).isSocket, "a stale socket file exists");
    await first.serveUnix(path);
    const c = await connect(path, { name: "c" });
    await assert.rejects(second.serveUnix(path), Deno.errors.AddrInUse);
    assert.ok(c.isConnected(), "the live broker is untouched");
    await c.close();
    const file = `${dir}/plain.sock`;
    await Deno.writeTextFile(file, "not a socket");
    await assert.rejects(second.serveUnix(file), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(file), "not a socket");
  } finally {
    await first.close();
    await second.close();
    await settle();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("statistics and client.list rows after registration", async () => {
  await withBus(async (bus) => {
    const w = await bus.wire("w");
    await w.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"])));
    await w.expectFrame(ackBytes(1, ErrorCode.Ok));
    const [row] = bus.broker.clientList();
    assert.deepEqual(row, {
      name: "w",
      kind: "local_ipc",
      source: null,
      port: bus.unix,
      r_frames: 1,
      r_bytes: 1,
      w_frames: 1,
      w_bytes: 6,
      queue: 0,
      instances: 1,
    });
    assert.equal(utf8(row.name).length, 1);
  });
});
