/**
 * Regression (issue #12, item 2): a large publication or broadcast is held
 * once for all its recipients, not copied into each recipient's queue.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Op, QoS } from "../protocol/constants.ts";
import { clientFrame, patternBytes, topicsBody, type WireClient, withBus } from "./_helpers.ts";

const MiB = 1024 * 1024;
const RECIPIENTS = 16;
const PUBLICATIONS = 8;

Deno.test("shared payload: 8 MiB published to 16 subscribers that do not read is held about once", async () => {
  await withBus(async (bus) => {
    const subscribers: WireClient[] = [];
    for (let i = 0; i < RECIPIENTS; i++) {
      const w = await bus.wire(`fan.${i}`);
      await w.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["fan/#"])));
      assert.equal((await w.readFrame())[5], 0x01);
      subscribers.push(w);
    }
    const publisher = await bus.client("fan.publisher", "unix", { timeout: 30 });
    const payloads = Array.from({ length: PUBLICATIONS }, (_, i) => patternBytes(MiB, i + 1));
    const before = Deno.memoryUsage().external;
    for (const [i, p] of payloads.entries()) {
      if (i % 2 === 0) publisher.publish(`fan/${i}`, p);
      else publisher.broadcast("fan.*", p);
    }
    await publisher.publish("fan/end", new Uint8Array(1), QoS.Processed);
    const grown = Deno.memoryUsage().external - before;
    if (Deno.env.get("BUSRT_FIGURES") === "1") console.log({ grownMiB: grown / MiB });
    // copied into each queue it would be 16 × 8 MiB
    assert.ok(grown < 96 * MiB, `external memory grew by ${(grown / MiB).toFixed(1)} MiB`);

    // and every recipient gets every byte, in order
    for (const w of [subscribers[0], subscribers[RECIPIENTS - 1]]) {
      for (const [i, p] of payloads.entries()) {
        const f = await w.readFrame({ timeoutMs: 20_000 });
        assert.equal(f[0], i % 2 === 0 ? Op.Publish : Op.Broadcast);
        assert.deepEqual(f.subarray(f.length - MiB), p, `payload ${i}`);
      }
    }
  });
});
