/**
 * Regression (issue #12, item 8): the broker's write timeout measures
 * progress, not whole batches. A subscriber that keeps reading, only slower
 * than one batch per timeout, stays connected and gets everything.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BrokerFrameDecoder } from "../protocol/decode.ts";
import { Op, QoS } from "../protocol/constants.ts";
import { clientFrame, delay, topicsBody, withBus } from "./_helpers.ts";

const FRAMES = 80;
const PAYLOAD = 64 * 1024; // 5 MiB in all: several seconds at the reader's pace

Deno.test("write timeout: a slow reader that makes progress is not dropped in the middle of a large batch", async () => {
  await withBus(async (bus) => {
    const slow = await bus.wire("slow", "unix");
    slow.startPinging(250);
    await slow.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["slow/x"])));
    assert.equal((await slow.readFrame())[5], 0x01);
    const publisher = await bus.client("fast", "unix", { timeout: 30, pingInterval: 0.25 });
    const payload = new Uint8Array(PAYLOAD).fill(7);
    for (let i = 0; i < FRAMES - 1; i++) publisher.publish("slow/x", payload);
    await publisher.publish("slow/x", payload, QoS.Processed);
    // about 1.25 MiB/s: each batch takes seconds, each write makes progress within milliseconds
    const decoder = new BrokerFrameDecoder();
    const chunk = new Uint8Array(32 * 1024);
    let frames = 0;
    const until = performance.now() + 30_000;
    while (frames < FRAMES && performance.now() < until) {
      const n = await slow.conn.read(chunk);
      if (n === null) break;
      decoder.feed(chunk.subarray(0, n));
      while (decoder.next()) {
        if (decoder.kind === Op.Publish) {
          assert.equal(decoder.bodyEnd - decoder.bodyStart, 5 + 7 + PAYLOAD);
          frames++;
        }
      }
      await delay(25);
    }
    assert.equal(frames, FRAMES, `received ${frames} of ${FRAMES}; log: ${bus.log.lines.join(" | ")}`);
    assert.ok(bus.broker.isRegistered("slow"));
    assert.ok(!bus.log.lines.some((l) => l.includes("write timed out")));
  }, { config: { timeout: 1 } });
});

Deno.test("write timeout: a reader that takes no bytes for the timeout is still dropped", async () => {
  await withBus(async (bus) => {
    const stuck = await bus.wire("stuck", "unix");
    stuck.startPinging(250);
    await stuck.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["stuck/x"])));
    assert.equal((await stuck.readFrame())[5], 0x01);
    const publisher = await bus.client("fast", "unix", { timeout: 30, pingInterval: 0.25 });
    const payload = new Uint8Array(PAYLOAD);
    for (let i = 0; i < FRAMES - 1; i++) publisher.publish("stuck/x", payload);
    await publisher.publish("stuck/x", payload, QoS.Processed);
    const until = performance.now() + 15_000;
    while (bus.broker.isRegistered("stuck") && performance.now() < until) await delay(50);
    assert.ok(!bus.broker.isRegistered("stuck"), "the stuck reader is still registered");
    assert.ok(bus.log.lines.some((l) => l.includes('"stuck": write timed out')), bus.log.lines.join(" | "));
  }, { config: { timeout: 1 } });
});
