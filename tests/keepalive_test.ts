/**
 * Keepalive and timeouts (PROTOCOL.md §3.3, §9): broker NOPs every
 * timeout/2, silent clients and stalled bodies dropped, pinging clients kept.
 * Listener timeout 0.4 s; assertions use generous bounds, never exact timing.
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import {
  ackBytes,
  clientFrame,
  delay,
  deliveredFrame,
  fieldsBody,
  hex,
  type TestBus,
  waitFor,
  withBus,
  withTimeout,
} from "./_helpers.ts";

const TIMEOUT = 0.4;

/** Runs `fn` on a test bus whose listeners time out after {@linkcode TIMEOUT} seconds. */
function withShortTimeoutBus(fn: (bus: TestBus) => Promise<void>): Promise<void> {
  return withBus(fn, { config: { timeout: TIMEOUT } });
}

function logged(bus: TestBus, fragment: string): Promise<void> {
  return waitFor(
    () => bus.log.lines.some((l) => l.includes(fragment)),
    5000,
    `a log line with "${fragment}"`,
  );
}

Deno.test("the broker sends a 6-byte NOP every timeout/2 to a pinging client", async () => {
  await withShortTimeoutBus(async (bus) => {
    const w = await bus.wire("w");
    w.startPinging(40);
    const started = performance.now();
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        await w.readFrame({ nops: true, timeoutMs: 5000 }),
        hex("00 00 00 00 00 00"),
        `NOP ${i}`,
      );
    }
    const elapsed = performance.now() - started;
    // 4 NOPs span at least 3 periods of timeout/2 (timers never fire early by more than a little)
    assert.ok(elapsed >= 3 * TIMEOUT * 500 * 0.8, `4 NOPs took ${elapsed.toFixed(0)} ms: not sent too often`);
    assert.ok(bus.broker.isRegistered("w"));
  });
});

Deno.test("a silent client (handshake done, then nothing) is dropped and unregistered", async () => {
  await withShortTimeoutBus(async (bus) => {
    const w = await bus.wire("silent");
    const started = performance.now();
    await w.expectClosed(5000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= TIMEOUT * 1000, `dropped after ${elapsed.toFixed(0)} ms, not before the timeout`);
    assert.ok(!bus.broker.isRegistered("silent"));
    await logged(bus, "no frames or pings in time");
  });
});

Deno.test("a client is not dropped while it pings, nor while it sends frames", async () => {
  await withShortTimeoutBus(async (bus) => {
    const pinger = await bus.wire("pinger");
    pinger.startPinging(40);
    const talker = await bus.wire("talker");
    const talk = setInterval(() => {
      talker.write(clientFrame(1, Op.Message, QoS.No, fieldsBody(["nobody"], "x"))).catch(() => {});
    }, 40);
    try {
      await delay(TIMEOUT * 1000 * 4); // over 3 × the 1.25 × timeout silence limit
    } finally {
      clearInterval(talk);
    }
    assert.ok(bus.broker.isRegistered("pinger") && bus.broker.isRegistered("talker"));
    await pinger.write(clientFrame(7, Op.Message, QoS.Processed, fieldsBody(["pinger"], "alive")));
    await pinger.expectFrame(deliveredFrame(Op.Message, "pinger", null, "alive"));
    await pinger.expectFrame(ackBytes(7, ErrorCode.Ok));
  });
});

Deno.test("IpcClient pings keep it registered; with pings disabled it is dropped", async () => {
  await withShortTimeoutBus(async (bus) => {
    const alive = await connect(bus.unix, { name: "alive", timeout: 2, pingInterval: TIMEOUT / 4 });
    const mute = await connect(bus.unix, { name: "mute", timeout: 5, pingInterval: 0 });
    try {
      await withTimeout(mute.closed, 5000, "the mute client is dropped");
      await delay(TIMEOUT * 1000 * 3);
      assert.ok(alive.isConnected() && bus.broker.isRegistered("alive"), "the pinging client stays");
      await alive.send("alive", "still here", QoS.Processed);
    } finally {
      await alive.close();
      await mute.close();
    }
  });
});

Deno.test("a frame body that stalls is dropped, and so is a stalled header", async () => {
  await withShortTimeoutBus(async (bus) => {
    const body = await bus.wire("body");
    const frame = clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["body"], "x".repeat(100)));
    await body.write(frame.subarray(0, 20));
    const header = await bus.wire("header");
    await header.write(frame.subarray(0, 5));
    await body.expectClosed(5000);
    await header.expectClosed(5000);
    assert.ok(!bus.broker.isRegistered("body") && !bus.broker.isRegistered("header"));
    await logged(bus, "frame body not received in time");
  });
});

Deno.test("a stalled handshake is closed without a code", async () => {
  await withShortTimeoutBus(async (bus) => {
    const noEcho = await bus.raw();
    assert.deepEqual(await noEcho.read(3), hex("EB 01 00"));
    const noName = await bus.raw();
    assert.deepEqual(await noName.read(3), hex("EB 01 00"));
    await noName.write(hex("EB 01 00"));
    assert.deepEqual(await noName.read(1), hex("01"));
    await noName.write(hex("05 00 61 62")); // 2 of 5 name bytes
    assert.equal((await noEcho.expectClosed(5000)).length, 0);
    assert.equal((await noName.expectClosed(5000)).length, 0);
    assert.deepEqual(bus.broker.clientNames(), []);
  });
});

Deno.test("one timer wheel for many clients: each pinging client gets NOPs every timeout/2, silent ones are dropped", async () => {
  await withShortTimeoutBus(async (bus) => {
    const pinging = await Promise.all(Array.from({ length: 40 }, (_, i) => bus.wire(`p${i}`)));
    for (const w of pinging) w.startPinging(40);
    const silent = await Promise.all(Array.from({ length: 20 }, (_, i) => bus.wire(`s${i}`)));
    const spans = await withTimeout(
      Promise.all(pinging.map(async (w) => {
        await w.readFrame({ nops: true, timeoutMs: 5000 });
        const started = performance.now();
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(await w.readFrame({ nops: true, timeoutMs: 5000 }), hex("00 00 00 00 00 00"));
        }
        return performance.now() - started;
      })),
      15_000,
      "4 NOPs to each of 40 pinging clients",
    );
    for (const span of spans) {
      // 3 periods of timeout/2 (the wheel never fires early; 0.8 for the reader's own lateness)
      assert.ok(span >= 3 * TIMEOUT * 500 * 0.8, `3 NOP periods took ${span.toFixed(0)} ms: too often`);
    }
    await Promise.all(silent.map((w) => w.expectClosed(5000)));
    for (let i = 0; i < 20; i++) assert.ok(!bus.broker.isRegistered(`s${i}`), `s${i} dropped`);
    for (let i = 0; i < 40; i++) assert.ok(bus.broker.isRegistered(`p${i}`), `p${i} kept`);
    await logged(bus, "no frames or pings in time");
  });
});

Deno.test("NOPs written without a writer and frames written by one interleave whole and in order", async () => {
  await withShortTimeoutBus(async (bus) => {
    const sink = await bus.wire("sink");
    sink.startPinging(40);
    const sender = await bus.client("sender", "unix", { timeout: 2, pingInterval: TIMEOUT / 4 });
    try {
      // bursts a little apart, over several NOP periods: the session lets its writer go at a NOP
      // when idle and makes a new one for the next burst, perhaps while that NOP is in flight
      const BURSTS = 12;
      const PER_BURST = 50;
      const sending = (async () => {
        for (let b = 0; b < BURSTS; b++) {
          for (let i = 0; i < PER_BURST; i++) await sender.send("sink", `m${b * PER_BURST + i}`, QoS.No);
          await delay(TIMEOUT * 500 * (b % 3 === 0 ? 1.1 : 0.3));
        }
      })();
      let nops = 0;
      for (let n = 0; n < BURSTS * PER_BURST;) {
        const frame = await sink.readFrame({ nops: true, timeoutMs: 5000 });
        if (frame.length === 6 && frame[0] === Op.Nop) {
          assert.deepEqual(frame, hex("00 00 00 00 00 00"));
          nops++;
          continue;
        }
        assert.deepEqual(frame, deliveredFrame(Op.Message, "sender", null, `m${n}`), `message ${n}`);
        n++;
      }
      await sending;
      assert.ok(nops >= 1, "NOPs came between the bursts");
      assert.ok(bus.broker.isRegistered("sink"));
    } finally {
      await sender.close();
    }
  });
});
