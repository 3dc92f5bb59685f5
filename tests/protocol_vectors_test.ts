/**
 * The test vectors of PROTOCOL.md §23, checked byte for byte on real sockets
 * with raw wire clients (no library code between the test and the bytes).
 */
import assert from "node:assert/strict";
import { encodeAnnouncement } from "../broker/announcement.ts";
import { connect } from "../client/ipc_client.ts";
import { Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import {
  assertBytes,
  clientFrame,
  concat,
  delay,
  deliveredFrame,
  fieldsBody,
  hex,
  nextFrame,
  scriptedBroker,
  toHex,
  type WireClient,
  withBus,
  withoutNops,
  withTimeout,
} from "./_helpers.ts";

const TEST_CLIENT = "test.client";
const TARGET_X = "target.x";

/** Asserts nothing but `marker` arrives next at `receiver`: a QoS 0 message from `sender`. */
async function expectOnlyMarker(
  receiver: WireClient,
  receiverName: string,
  sender: WireClient,
  senderName: string,
): Promise<void> {
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  await sender.write(clientFrame(0x7fffffff, Op.Message, QoS.No, fieldsBody([receiverName], marker)));
  await receiver.expectFrame(
    deliveredFrame(Op.Message, senderName, null, marker),
    "next frame is the marker",
  );
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

Deno.test("23.1 handshake for test.client is byte-exact", async () => {
  await withBus(async (bus) => {
    const w = await bus.raw();
    assertBytes(await w.read(3), hex("EB 01 00"), "greeting");
    await w.write(hex("EB 01 00"));
    assertBytes(await w.read(1), hex("01"), "greeting accepted");
    await w.write(hex("0B 00 74 65 73 74 2E 63 6C 69 65 6E 74"));
    assertBytes(await w.read(1), hex("01"), "registered");
    assert.ok(bus.broker.isRegistered(TEST_CLIENT));

    // the secondary name block of the vector registers test.client%%0
    const s = await bus.raw();
    assertBytes(await s.read(3), hex("EB 01 00"));
    await s.write(hex("EB 01 00"));
    assertBytes(await s.read(1), hex("01"));
    await s.write(hex("0E 00 74 65 73 74 2E 63 6C 69 65 6E 74 25 25 30"));
    assertBytes(await s.read(1), hex("01"), "secondary registered");
    assert.ok(bus.broker.isRegistered("test.client%%0"));
  });
});

Deno.test("23.1 failure variants: 72, 76, 71 and 75 for a bad echo", async () => {
  await withBus(async (bus) => {
    await bus.wire(TEST_CLIENT);
    const cases: [string, number][] = [[".x", 0x72], ["", 0x72], [TEST_CLIENT, 0x76], ["nobody%%0", 0x71]];
    for (const [name, code] of cases) {
      const w = await bus.raw();
      assert.equal(await w.handshake(name), code, `registering "${name}"`);
      assertBytes(withoutNops(await w.expectClosed()), new Uint8Array(0), `nothing after code for "${name}"`);
    }
    const bad = await bus.raw();
    assertBytes(await bad.read(3), hex("EB 01 00"));
    await bad.write(hex("EC 01 00"));
    assertBytes(await bad.read(1), hex("75"), "bad echo refused");
    await bad.expectClosed();
  });
});

Deno.test("23.2 keepalive: 9-byte ping accepted, broker NOP is 6 zero bytes", async () => {
  await withBus(async (bus) => {
    const w = await bus.wire(TEST_CLIENT);
    await w.write(hex("00 00 00 00 00 00 00 00 00"));
    w.startPinging(40); // stay well inside the 0.5 s silence limit
    assertBytes(await w.readFrame({ nops: true }), hex("00 00 00 00 00 00"), "NOP");
    await w.write(hex("00 00 00 00 00 00 00 00 00"));
    // still registered and served after pings: a message to itself arrives
    await w.write(hex("01 00 00 00 12 0F 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 69 21"));
    assertBytes(await w.readFrame(), deliveredFrame(Op.Message, TEST_CLIENT, null, "hi!"));
  }, { config: { timeout: 0.4 } });
});

Deno.test("23.3 QoS 1 message test.client -> target.x, its ACK, and 71 for an absent target", async () => {
  await withBus(async (bus) => {
    const sent = hex("01 00 00 00 52 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F");
    assert.equal(sent.length, 23);
    const client = await bus.wire(TEST_CLIENT);
    await client.write(sent);
    await client.expectFrame(hex("FE 01 00 00 00 71"), "ACK for an absent target");

    const target = await bus.wire(TARGET_X);
    await client.write(sent);
    const received = await target.readFrame();
    assert.equal(received.length, 23);
    assertBytes(received, hex("12 11 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F"));
    await client.expectFrame(hex("FE 01 00 00 00 01"), "ACK");

    // QoS 0 (flags 12): delivered, no ACK (the next frame at the sender is the ACK of frame 2)
    const qos0 = sent.slice();
    qos0[4] = 0x12;
    await client.write(qos0);
    assertBytes(await target.readFrame(), received, "QoS 0 delivery");
    const qos1Frame2 = sent.slice();
    qos1Frame2[0] = 2;
    await client.write(qos1Frame2);
    await client.expectFrame(hex("FE 02 00 00 00 01"), "no ACK for QoS 0");
    await target.readFrame();

    // QoS 3: realtime byte 1 on delivery
    await client.write(hex("08 00 00 00 D2 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F"));
    await target.expectFrame(
      hex("12 11 00 00 00 01 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F"),
      "realtime",
    );
    await client.expectFrame(hex("FE 08 00 00 00 01"));
  });
});

Deno.test("23.4 subscribe two topics, unsubscribe and exclude frames", async () => {
  await withBus(async (bus) => {
    const sub = await bus.wire("sub");
    const pub = await bus.wire(TEST_CLIENT);
    await sub.write(hex("02 00 00 00 42 07 00 00 00 61 2F 62 00 63 2F 23"));
    await sub.expectFrame(hex("FE 02 00 00 00 01"), "subscribe ACK");
    await pub.write(hex("03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F"));
    await sub.expectFrame(deliveredFrame(Op.Publish, TEST_CLIENT, "a/b", "hello"), "a/b");
    await pub.write(concat(hex("04 00 00 00 01 09 00 00 00"), "c/x", [0], "hello"));
    await sub.expectFrame(deliveredFrame(Op.Publish, TEST_CLIENT, "c/x", "hello"), "c/# matches c/x");

    await sub.write(hex("0A 00 00 00 03 03 00 00 00 61 2F 62"));
    await pub.write(hex("03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F"));
    await expectOnlyMarker(sub, "sub", pub, TEST_CLIENT);

    await sub.write(hex("0B 00 00 00 44 03 00 00 00 78 2F 23"));
    await sub.expectFrame(hex("FE 0B 00 00 00 01"), "exclude ACK");
  });
});

Deno.test("23.5 publish a/b: 27 bytes at every matching subscriber; publish-for reaches target.x only", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    const patterns = ["a/b", "a/+", "a/#", "#"];
    const subs: WireClient[] = [];
    for (const [i, p] of patterns.entries()) {
      const w = await bus.wire(`s${i}`);
      await w.write(concat(hex("01 00 00 00 42"), u32(p.length), p));
      await w.expectFrame(hex("FE 01 00 00 00 01"));
      subs.push(w);
    }
    const other = await bus.wire("other");
    await other.write(hex("01 00 00 00 42 03 00 00 00 61 2F 63"));
    await other.expectFrame(hex("FE 01 00 00 00 01"));

    const sent = hex("03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F");
    assert.equal(sent.length, 18);
    await client.write(sent);
    const expected = hex(`01 15 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 61 2F 62 00 68 65 6C 6C 6F`);
    assert.equal(expected.length, 27);
    for (const [i, w] of subs.entries()) await w.expectFrame(expected, `subscriber of ${patterns[i]}`);
    await expectOnlyMarker(other, "other", client, TEST_CLIENT);

    const target = await bus.wire(TARGET_X);
    await target.write(hex("01 00 00 00 42 03 00 00 00 61 2F 62"));
    await target.expectFrame(hex("FE 01 00 00 00 01"));
    await client.write(
      hex("06 00 00 00 06 12 00 00 00 61 2F 62 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F"),
    );
    await target.expectFrame(expected, "publish-for arrives as a plain publish");
    await expectOnlyMarker(subs[0], "s0", client, TEST_CLIENT);
  });
});

Deno.test("23.6 broadcast test.*: delivered to each match incl. the sender, ACK after, also with no match", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    const sibling = await bus.wire("test.other");
    const target = await bus.wire(TARGET_X);
    await client.write(hex("05 00 00 00 53 09 00 00 00 74 65 73 74 2E 2A 00 68 69"));
    const expected = hex("13 0E 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 69");
    await client.expectFrame(expected, "own broadcast");
    await client.expectFrame(hex("FE 05 00 00 00 01"), "ACK after the deliveries");
    await sibling.expectFrame(expected, "test.other");
    await expectOnlyMarker(target, TARGET_X, client, TEST_CLIENT);

    await client.write(concat(hex("05 00 00 00 53 0A 00 00 00"), "nobody.*", [0], "hi"));
    await client.expectFrame(hex("FE 05 00 00 00 01"), "ACK 01 with no recipient");
  });
});

Deno.test("23.7 RPC request, call0 and notification travel as plain MESSAGE frames", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    const target = await bus.wire(TARGET_X);
    const request = hex(
      "04 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 07 00 00 00 70 69 6E 67 00",
    );
    assert.equal(request.length, 28);
    await client.write(request);
    const received = await target.readFrame();
    assert.equal(received.length, 28);
    assertBytes(
      received,
      hex("12 16 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 01 07 00 00 00 70 69 6E 67 00"),
    );
    await client.expectFrame(hex("FE 04 00 00 00 01"));

    await client.write(
      hex("0D 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 00 00 00 00 70 69 6E 67 00"),
    );
    await target.expectFrame(
      deliveredFrame(Op.Message, TEST_CLIENT, null, hex("01 00 00 00 00 70 69 6E 67 00")),
    );
    await client.expectFrame(hex("FE 0D 00 00 00 01"));

    await client.write(hex("0C 00 00 00 12 0F 00 00 00 74 61 72 67 65 74 2E 78 00 00 68 65 6C 6C 6F"));
    await target.expectFrame(deliveredFrame(Op.Message, TEST_CLIENT, null, hex("00 68 65 6C 6C 6F")));
    await expectOnlyMarker(client, TEST_CLIENT, target, TARGET_X); // no ACK for the QoS 0 notification
  });
});

Deno.test("23.8 RPC replies and error replies arrive byte-exact", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    const target = await bus.wire(TARGET_X);
    await target.write(hex("01 00 00 00 52 11 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 11 07 00 00 00"));
    const reply = await client.readFrame();
    assert.equal(reply.length, 20);
    assertBytes(reply, hex("12 0E 00 00 00 00 74 61 72 67 65 74 2E 78 00 11 07 00 00 00"));
    await target.expectFrame(hex("FE 01 00 00 00 01"));

    await target.write(
      concat(hex("03 00 00 00 52 16 00 00 00"), TEST_CLIENT, [0], hex("11 07 00 00 00 81 A2 6F 6B C3")),
    );
    await client.expectFrame(
      hex("12 13 00 00 00 00 74 61 72 67 65 74 2E 78 00 11 07 00 00 00 81 A2 6F 6B C3"),
    );
    await target.expectFrame(hex("FE 03 00 00 00 01"));

    await target.write(hex(`02 00 00 00 52 21 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00
      12 07 00 00 00 A7 80 6E 6F 20 73 75 63 68 20 6D 65 74 68 6F 64`));
    const err = await client.readFrame();
    assert.equal(err.length, 36);
    assertBytes(
      err,
      hex(
        `12 1E 00 00 00 00 74 61 72 67 65 74 2E 78 00 12 07 00 00 00 A7 80 6E 6F 20 73 75 63 68 20 6D 65 74 68 6F 64`,
      ),
    );
    await target.expectFrame(hex("FE 02 00 00 00 01"));
  });
});

Deno.test("23.9 .broker test call reaches an in-process .broker; its reply arrives byte-exact", async () => {
  await withBus(async (bus) => {
    // an in-process client named .broker: names of in-process clients are not validated (§22)
    const core = bus.broker.registerClient(".broker");
    const client = await bus.wire(TEST_CLIENT);
    await client.write(
      hex("09 00 00 00 52 12 00 00 00 2E 62 72 6F 6B 65 72 00 01 01 00 00 00 74 65 73 74 00"),
    );
    await client.expectFrame(hex("FE 09 00 00 00 01"));
    const frame = await nextFrame(core);
    assert.equal(frame.kind, Op.Message);
    assert.equal(frame.sender, TEST_CLIENT);
    assert.equal(frame.realtime, false);
    assertBytes(frame.payload, hex("01 01 00 00 00 74 65 73 74 00"), "request payload");
    await core.send(TEST_CLIENT, hex("11 01 00 00 00 81 A2 6F 6B C3"), QoS.Processed);
    await client.expectFrame(hex("12 12 00 00 00 00 2E 62 72 6F 6B 65 72 00 11 01 00 00 00 81 A2 6F 6B C3"));
  });
});

Deno.test("23.9 reg, unreg and shutdown announcement payloads with a fixed t", () => {
  const t = 1700000000123456789n;
  assertBytes(
    encodeAnnouncement("reg", TEST_CLIENT, t),
    hex("83 A1 73 A3 72 65 67 A1 64 AB 74 65 73 74 2E 63 6C 69 65 6E 74 A1 74 CF 17 97 9C FE 3D 85 CD 15"),
    "reg",
  );
  assertBytes(
    encodeAnnouncement("unreg", TEST_CLIENT, t),
    hex(
      "83 A1 73 A5 75 6E 72 65 67 A1 64 AB 74 65 73 74 2E 63 6C 69 65 6E 74 A1 74 CF 17 97 9C FE 3D 85 CD 15",
    ),
    "unreg",
  );
  assertBytes(
    encodeAnnouncement("shutdown", null, t),
    hex("82 A1 73 A8 73 68 75 74 64 6F 77 6E A1 74 CF 17 97 9C FE 3D 85 CD 15"),
    "shutdown",
  );
  // longer names switch to str8 like MessagePack requires
  const long = "n".repeat(40);
  const bytes = encodeAnnouncement("reg", long, 0n);
  assertBytes(bytes.subarray(9, 11), hex("D9 28"), "str8 header for a 40-byte name");
});

function nanosNow(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

Deno.test("23.9 the reg announcement frame as delivered to a .broker/info subscriber", async () => {
  await withBus(async (bus) => {
    const watcher = await bus.wire("watcher");
    await watcher.write(concat(hex("01 00 00 00 42 0C 00 00 00"), ".broker/info"));
    await watcher.expectFrame(hex("FE 01 00 00 00 01"));
    const before = nanosNow() - 1_000_000n;
    const client = await bus.wire(TEST_CLIENT);
    const frame = await watcher.readFrame();
    const after = nanosNow() + 1_000_000n;
    assert.equal(frame.length, 6 + 53);
    const prefix = hex(`01 35 00 00 00 00
      2E 62 72 6F 6B 65 72 00
      2E 62 72 6F 6B 65 72 2F 69 6E 66 6F 00
      83 A1 73 A3 72 65 67 A1 64 AB 74 65 73 74 2E 63 6C 69 65 6E 74 A1 74 CF`);
    assertBytes(frame.subarray(0, prefix.length), prefix, "frame up to t");
    const t = new DataView(frame.buffer, frame.byteOffset + prefix.length, 8).getBigUint64(0, false);
    assert.ok(t >= before && t <= after, `t = ${t} within [${before}, ${after}]`);

    client.close();
    const unreg = await watcher.readFrame();
    const unregPrefix = concat(
      hex("01 37 00 00 00 00"),
      ".broker",
      [0],
      ".broker/info",
      [0],
      hex("83 A1 73 A5 75 6E 72 65 67 A1 64 AB"),
      TEST_CLIENT,
      hex("A1 74 CF"),
    );
    assert.equal(unreg.length, unregPrefix.length + 8);
    assertBytes(unreg.subarray(0, unregPrefix.length), unregPrefix, "unreg frame");
  }, { core: true });
});

Deno.test("vectors split into single bytes, and many frames in one write, are decoded by the broker", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    const target = await bus.wire(TARGET_X);
    const sent = hex("01 00 00 00 52 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F");
    for (const b of sent) {
      await client.write(new Uint8Array([b]));
      await delay(1);
    }
    await target.expectFrame(hex("12 11 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F"));
    await client.expectFrame(hex("FE 01 00 00 00 01"));

    // 50 frames with ids 10..59 in one write, with a ping in the middle
    const frames: Uint8Array[] = [];
    for (let id = 10; id < 60; id++) {
      const f = sent.slice();
      new DataView(f.buffer).setUint32(0, id, true);
      f[22] = id; // last payload byte carries the id
      frames.push(f);
      if (id === 30) frames.push(new Uint8Array(9));
    }
    await client.write(concat(...frames));
    for (let id = 10; id < 60; id++) {
      const got = await target.readFrame();
      assert.equal(got[got.length - 1], id, `frame ${id} in order`);
    }
    for (let id = 10; id < 60; id++) {
      assert.equal(toHex(await client.readFrame()), toHex(concat([0xfe], u32(id), [1])));
    }
  });
});

Deno.test("QoS 2 and 3 set the realtime byte for broadcast and publish deliveries", async () => {
  await withBus(async (bus) => {
    const client = await bus.wire(TEST_CLIENT);
    await client.write(concat(hex("01 00 00 00 02 01 00 00 00"), "t"));
    for (const qos of [0, 1, 2, 3]) {
      const rt = qos >= 2;
      await client.write(clientFrame(2, Op.Broadcast, qos, fieldsBody(["test.*"], "")));
      await client.expectFrame(
        deliveredFrame(Op.Broadcast, TEST_CLIENT, null, new Uint8Array(0), rt),
        `broadcast qos ${qos}`,
      );
      if (qos & 1) await client.expectFrame(hex("FE 02 00 00 00 01"));
      await client.write(clientFrame(3, Op.Publish, qos, fieldsBody(["t"], "p!")));
      await client.expectFrame(deliveredFrame(Op.Publish, TEST_CLIENT, "t", "p!", rt), `publish qos ${qos}`);
      if (qos & 1) await client.expectFrame(hex("FE 03 00 00 00 01"));
    }
  });
});

async function readClientFrame(server: WireClient): Promise<Uint8Array> {
  const header = await server.read(9);
  if (header[4] === 0) return header; // ping: no body whatever the length says
  const len = new DataView(header.buffer, header.byteOffset).getUint32(5, true);
  return concat(header, await server.read(len));
}

Deno.test("IpcClient writes the §23 client frames byte for byte, with ids counting from 1", async () => {
  const fake = await scriptedBroker();
  const accepting = fake.accept(TEST_CLIENT);
  const client = await connect(fake.path, { name: TEST_CLIENT, pingInterval: 0, timeout: 5 });
  const server = await accepting;
  try {
    const ack = (id: number, code = 1) => server.write(concat([0xfe], u32(id), [code]));
    const steps: [() => Promise<void> | undefined, string, number | null][] = [
      [
        () => client.send(TARGET_X, "hello", QoS.Processed),
        "01 00 00 00 52 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F",
        1,
      ],
      [
        () => client.subscribe(["a/b", "c/#"], QoS.Processed),
        "02 00 00 00 42 07 00 00 00 61 2F 62 00 63 2F 23",
        2,
      ],
      [() => client.publish("a/b", "hello"), "03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F", null],
      [
        () => client.send(TARGET_X, hex("01 07 00 00 00 70 69 6E 67 00"), QoS.Processed),
        "04 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 07 00 00 00 70 69 6E 67 00",
        4,
      ],
      [
        () => client.broadcast("test.*", "hi", QoS.Processed),
        "05 00 00 00 53 09 00 00 00 74 65 73 74 2E 2A 00 68 69",
        5,
      ],
      [
        () => client.publishFor("a/b", TARGET_X, "hello"),
        "06 00 00 00 06 12 00 00 00 61 2F 62 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F",
        null,
      ],
      [
        () => client.send(TARGET_X, "", QoS.Realtime),
        "07 00 00 00 92 09 00 00 00 74 61 72 67 65 74 2E 78 00",
        null,
      ],
      [
        () => client.send(TARGET_X, "hello", QoS.RealtimeProcessed),
        "08 00 00 00 D2 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F",
        8,
      ],
      [
        () => client.send(".broker", hex("01 01 00 00 00 74 65 73 74 00"), QoS.Processed),
        "09 00 00 00 52 12 00 00 00 2E 62 72 6F 6B 65 72 00 01 01 00 00 00 74 65 73 74 00",
        9,
      ],
      [() => client.unsubscribe("a/b"), "0A 00 00 00 03 03 00 00 00 61 2F 62", null],
      [() => client.exclude("x/#", QoS.Processed), "0B 00 00 00 44 03 00 00 00 78 2F 23", 11],
      [
        () => client.send(TARGET_X, hex("00 68 65 6C 6C 6F")),
        "0C 00 00 00 12 0F 00 00 00 74 61 72 67 65 74 2E 78 00 00 68 65 6C 6C 6F",
        null,
      ],
      [
        () => client.send(TARGET_X, hex("01 00 00 00 00 70 69 6E 67 00"), QoS.Processed),
        "0D 00 00 00 52 13 00 00 00 74 61 72 67 65 74 2E 78 00 01 00 00 00 00 70 69 6E 67 00",
        13,
      ],
      [() => client.ping(), "00 00 00 00 00 00 00 00 00", null],
      [() => client.subscribe([]), "0E 00 00 00 02 00 00 00 00", null],
      [() => client.unexclude(["x/#", "y"], QoS.Processed), "0F 00 00 00 45 05 00 00 00 78 2F 23 00 79", 15],
    ];
    for (const [op, expected, ackId] of steps) {
      const pending = op();
      assertBytes(await readClientFrame(server), hex(expected), `client frame ${expected.slice(0, 11)}`);
      if (ackId !== null) {
        await ack(ackId);
        await withTimeout(pending!, 2000, `ACK ${ackId} settles the operation`);
      } else {
        await pending;
      }
    }
    // a non-OK ACK rejects with the code
    const failing = client.send("nobody", "x", QoS.Processed);
    await readClientFrame(server);
    await ack(16, 0x71);
    await assert.rejects(failing, (e) => e instanceof BusError && e.isNotRegistered());
  } finally {
    await client.close();
    await fake.close();
  }
});
