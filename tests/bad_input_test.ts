/**
 * Malformed input on real sockets (PROTOCOL.md §19.2): each case gets the
 * protocol's answer (a code, or a close without one), is logged, and two other
 * clients keep exchanging messages while it happens.
 */
import assert from "node:assert/strict";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import type { ListenerOptions } from "../broker/listener_options.ts";
import {
  ackBytes,
  clientFrame,
  concat,
  deliveredFrame,
  fieldsBody,
  hex,
  nextFrame,
  type TestBus,
  text,
  topicsBody,
  type Transport,
  waitFor,
  type WireClient,
  withBus,
  withoutNops,
} from "./_helpers.ts";

/** Two clients doing QoS 1 round trips until stopped. */
async function startTraffic(bus: TestBus, transport: Transport) {
  const a = await bus.client("traffic.a", transport);
  const b = await bus.client("traffic.b", transport);
  let running = true;
  let rounds = 0;
  const loop = (async () => {
    while (running) {
      const payload = `round ${rounds}`;
      const [, f] = await Promise.all([a.send("traffic.b", payload, QoS.Processed), nextFrame(b)]);
      assert.equal(text(f.payload), payload);
      rounds++;
    }
  })();
  return {
    /** Waits for 20 more round trips, then stops and rethrows any failure. */
    async expectProgress(): Promise<void> {
      const target = rounds + 20;
      await Promise.race([loop, waitFor(() => rounds >= target, 5000, "traffic to continue")]);
      running = false;
      await loop;
      assert.ok(a.isConnected() && b.isConnected(), "traffic clients still connected");
    },
  };
}

interface BadCase {
  name: string;
  config?: ListenerOptions;
  /** Registers with this name first (null: act on a raw connection). */
  register: string | null;
  /** Sends the bad input; returns what the peer received before the close. */
  act(w: WireClient): Promise<Uint8Array>;
  /** Expected bytes before the close (NOPs removed). */
  answer: Uint8Array;
  /** Fragment of the expected log line. */
  log: string;
}

const NONE = new Uint8Array(0);

/** Writes bytes and waits for the close. */
function sendThenClosed(bytes: Uint8Array) {
  return async (w: WireClient) => {
    await w.write(bytes);
    return withoutNops(await w.expectClosed(5000));
  };
}

const cases: BadCase[] = [
  {
    name: "garbage instead of the greeting echo",
    register: null,
    async act(w) {
      await w.read(3);
      await w.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      return await w.expectClosed(5000);
    },
    answer: hex("75"),
    log: "unsupported greeting",
  },
  {
    name: "a wrong protocol version",
    register: null,
    async act(w) {
      await w.read(3);
      await w.write(hex("EB 02 00"));
      return await w.expectClosed(5000);
    },
    answer: hex("75"),
    log: "unsupported greeting",
  },
  {
    name: "an invalid UTF-8 client name",
    register: null,
    async act(w) {
      await w.read(3);
      await w.write(hex("EB 01 00"));
      assert.deepEqual(await w.read(1), hex("01"));
      await w.write(hex("02 00 FF FE"));
      return await w.expectClosed(5000);
    },
    answer: NONE,
    log: "not valid UTF-8",
  },
  {
    name: "an unknown op 0x07",
    register: "bad",
    act: sendThenClosed(clientFrame(1, 0x07, QoS.Processed, fieldsBody(["x"], "y"))),
    answer: NONE,
    log: "unknown operation 0x07",
  },
  {
    name: "an ACK op (0xFE) sent by a client",
    register: "bad",
    act: sendThenClosed(concat(hex("01 00 00 00 FE 00 00 00 00"))),
    answer: NONE,
    log: "unknown operation 0x3e",
  },
  {
    name: "a length of 0xFFFFFFFF (default payload limit)",
    register: "bad",
    act: sendThenClosed(hex("01 00 00 00 52 FF FF FF FF 74 00")),
    answer: NONE,
    log: "4294967295",
  },
  {
    name: "a body one byte over payloadLimit",
    config: { payloadLimit: 1000 },
    register: "bad",
    async act(w) {
      const ok = clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["bad"], "x".repeat(996)));
      assert.equal(ok.length - 9, 1000);
      await w.write(ok);
      await w.readFrame();
      await w.expectFrame(ackBytes(1, ErrorCode.Ok), "a body of exactly the limit is fine");
      return await sendThenClosed(
        clientFrame(2, Op.Message, QoS.Processed, fieldsBody(["bad"], "x".repeat(997))),
      )(w);
    },
    answer: NONE,
    log: "1001",
  },
  {
    name: "a truncated frame followed by a close",
    register: "bad",
    async act(w) {
      await w.write(
        clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["bad"], "0123456789")).subarray(0, 14),
      );
      w.conn.closeWrite();
      return withoutNops(await w.expectClosed(5000));
    },
    answer: NONE,
    log: "connection closed inside a frame",
  },
  {
    name: "an invalid UTF-8 target",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.Message, QoS.Processed, concat(hex("C3 28 00"), "payload"))),
    answer: NONE,
    log: "target is not valid UTF-8",
  },
  {
    name: "an invalid UTF-8 broadcast mask",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.Broadcast, QoS.Processed, concat(hex("2A ED A0 80 00"), "p"))),
    answer: NONE,
    log: "mask is not valid UTF-8",
  },
  {
    name: "an invalid UTF-8 publish topic",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.Publish, QoS.No, concat(hex("61 2F C0 AF 00"), "p"))),
    answer: NONE,
    log: "topic is not valid UTF-8",
  },
  {
    name: "an invalid UTF-8 publish-for receiver",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.PublishFor, QoS.Processed, concat("t", [0], hex("FF"), [0], "p"))),
    answer: NONE,
    log: "receiver is not valid UTF-8",
  },
  {
    name: "an invalid UTF-8 topic in a SUBSCRIBE list",
    register: "bad",
    act: sendThenClosed(
      clientFrame(1, Op.Subscribe, QoS.Processed, concat(topicsBody(["ok"]), [0], hex("FF"))),
    ),
    answer: NONE,
    log: "topic is not valid UTF-8",
  },
  {
    name: "an invalid UTF-8 topic in an EXCLUDE list",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.Exclude, QoS.No, hex("FF"))),
    answer: NONE,
    log: "topic is not valid UTF-8",
  },
  ...[
    ["MESSAGE", Op.Message, QoS.Processed],
    ["BROADCAST", Op.Broadcast, QoS.Processed],
    ["PUBLISH", Op.Publish, QoS.No],
    ["NOP with QoS", Op.Nop, QoS.Processed],
  ].map(([what, op, qos]): BadCase => ({
    name: `a ${what} body without NUL`,
    register: "bad",
    act: sendThenClosed(
      clientFrame(1, op as number, qos as number, new TextEncoder().encode("no separator")),
    ),
    answer: NONE,
    log: "missing NUL",
  })),
  {
    name: "a PUBLISH_FOR body with one NUL only",
    register: "bad",
    act: sendThenClosed(clientFrame(1, Op.PublishFor, QoS.Processed, fieldsBody(["t"], "receiver"))),
    answer: NONE,
    log: "missing NUL",
  },
];

for (const c of cases) {
  for (const transport of ["unix", "tcp"] as Transport[]) {
    Deno.test(`${c.name}: answered, logged, others unaffected (${transport})`, async () => {
      await withBus(async (bus) => {
        const traffic = await startTraffic(bus, transport);
        const w = c.register === null ? await bus.raw(transport) : await bus.wire(c.register, transport);
        const got = await c.act(w);
        assert.deepEqual([...got], [...c.answer], "bytes before the close");
        await waitFor(() => bus.log.lines.some((l) => l.includes(c.log)), 5000, `a log line with "${c.log}"`);
        await traffic.expectProgress();
        if (c.register !== null) {
          assert.ok(!bus.broker.isRegistered(c.register), "the bad client is unregistered");
        }
      }, { config: c.config });
    });
  }
}

Deno.test("payload bytes are never validated: invalid UTF-8 and NULs are delivered intact", async () => {
  await withBus(async (bus) => {
    const w = await bus.wire("w");
    const payload = hex("FF 00 C3 28 00 00 ED A0 80");
    await w.write(clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["w"], payload)));
    await w.expectFrame(deliveredFrame(Op.Message, "w", null, payload));
    await w.expectFrame(ackBytes(1, ErrorCode.Ok));
    await w.write(clientFrame(2, Op.Subscribe, QoS.No, topicsBody(["t"])));
    await w.write(clientFrame(3, Op.Publish, QoS.No, fieldsBody(["t"], payload)));
    await w.expectFrame(deliveredFrame(Op.Publish, "w", "t", payload));
  });
});
