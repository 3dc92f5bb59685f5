/**
 * Reliability under hostile input: over 100,000 random and damaged frames
 * from connections that come and go over unix and TCP, while a control pair
 * of clients checks every one of its messages (sequence and checksum). Then:
 * nothing lost or corrupted, the broker alive, no registration left behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { ControlPair, FrameFuzzer, fuzzConnection } from "./_fuzz.ts";
import { prng, waitFor, withBus } from "./_helpers.ts";

const TARGET_FRAMES = 100_000;
const FRAMES_PER_CONNECTION = 500;
const WORKERS = 4;

Deno.test("fuzz: 100,000 random and damaged frames over unix and TCP lose and corrupt nothing of a control pair", async () => {
  await withBus(async (bus) => {
    const pair = await ControlPair.open(bus.unix, bus.tcp);
    let fuzzing = true;
    const control = (async () => {
      while (fuzzing) await pair.send(64);
    })();
    let frames = 0;
    let connections = 0;
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      const rnd = prng(1000 + w);
      const fuzzer = new FrameFuzzer(rnd);
      while (frames < TARGET_FRAMES) {
        const transport = connections % 2 === 0 ? bus.unix : bus.tcp;
        const name = [`fz.w${w}`, "fz.x", `fz.x%%${w}`][Math.floor(rnd() * 3)];
        connections++;
        frames += await fuzzConnection(transport, name, fuzzer, FRAMES_PER_CONNECTION, rnd() < 0.5);
      }
    }));
    fuzzing = false;
    await control;
    const report = await pair.finish(20_000);
    if (Deno.env.get("BUSRT_FIGURES") === "1") {
      console.log({ ...report, frames, connections, brokerFrames: bus.broker.stats().r_frames });
    }
    assert.deepEqual(
      { lost: report.lost, corrupted: report.corrupted, reordered: report.reordered },
      { lost: 0, corrupted: 0, reordered: 0 },
      JSON.stringify(report),
    );
    assert.ok(report.sent >= 64, `only ${report.sent} control frames`);
    assert.ok(pair.connected(), "the control pair was disconnected");
    assert.ok(frames >= TARGET_FRAMES);
    assert.ok(bus.broker.stats().r_frames > 10_000, "the broker processed few fuzz frames");

    // every fuzz connection has left the registry and the listeners
    await waitFor(
      () => bus.broker.clientNames().every((n) => n.startsWith("ctl.")),
      10_000,
      `fuzz clients to leave: ${bus.broker.clientNames().join(", ")}`,
    );
    await waitFor(
      () => bus.broker.listeners.reduce((n, l) => n + l.connections, 0) === 2,
      10_000,
      "fuzz connections to end",
    );
    // and the broker still serves
    const probe = await connect(bus.tcp, { name: "after.fuzz", timeout: 5 });
    await probe.send("after.fuzz", new Uint8Array([1]), QoS.Processed);
    await probe.close();
    await pair.close();
    const warnLines = bus.log.lines.filter((l) => l.startsWith("WARN")).length;
    assert.ok(warnLines < 200, `${warnLines} WARN lines for ${connections} connections`);
  }, { config: { timeout: 2 } });
});
