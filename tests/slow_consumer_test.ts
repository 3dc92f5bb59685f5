/**
 * Regression (issue #12, item 2): a subscriber that stops reading cannot
 * make the broker hold more than its queue's byte bound. The broker runs in
 * a process of its own and is measured from outside (peak RSS); the
 * non-reader is dropped, the publisher's frames are all acknowledged OK, and
 * another client's `.broker` calls stay prompt. With payloads larger than the
 * adaptive read buffer (issue #17: a buffer of their own, shared, reused from
 * a pool once written) the bound also counts what the pool keeps idle.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { startBrokerProcess } from "./_broker_process.ts";
import {
  clientFrame,
  ConnectionClosed,
  delay,
  topicsBody,
  waitFor,
  WireClient,
  withBus,
} from "./_helpers.ts";
import { parseBrokerConfig } from "../broker/config_file.ts";
import { Op } from "../protocol/constants.ts";

const MiB = 1024 * 1024;
const QUEUE_BYTES = 16 * MiB;
/** What the broker's pool of large frames' buffers keeps at most (`LargeBufferPool`). */
const POOL_BYTES = 48 * MiB;
const PUBLISHED = 120 * MiB; // far beyond the bound

for (const PAYLOAD of [256 * 1024, 4 * MiB]) {
  const FRAMES = PUBLISHED / PAYLOAD;
  const bound = QUEUE_BYTES + 64 * MiB + (PAYLOAD > 256 * 1024 ? POOL_BYTES : 0);
  Deno.test(
    `slow consumer: a subscriber that never reads costs at most its queue's bytes and is dropped (${
      PAYLOAD / 1024
    } KiB payloads)`,
    async () => {
      const broker = await startBrokerProcess({ timeout: 30, queueBytes: QUEUE_BYTES });
      const silent = await WireClient.open(broker.unix);
      const publisher = await connect(broker.unix, { name: "publisher", timeout: 30 });
      const prober = new RpcClient(await connect(broker.tcp, { name: "prober", timeout: 30 }), {
        timeout: 30,
      });
      try {
        assert.equal(await silent.handshake("silent"), 0x01);
        silent.startPinging(1000);
        await silent.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["load/#"])));
        assert.equal((await silent.readFrame())[5], 0x01); // the last read the subscriber does until the end
        for (let i = 0; i < 20; i++) await prober.call(".broker", "test");
        const baseline = broker.rss();

        let publishing = true;
        const latencies: number[] = [];
        const probing = (async () => {
          // at least 5 calls: with large payloads publishing can end before the fifth
          while (publishing || latencies.length < 5) {
            const t0 = performance.now();
            await prober.call(".broker", "test");
            latencies.push(performance.now() - t0);
            await delay(5);
          }
        })();
        const payload = new Uint8Array(PAYLOAD).fill(0x33);
        for (let i = 1; i <= FRAMES; i++) {
          // every publication is accepted: the receiver is the one that pays
          if (i % 16 === 0) await publisher.publish("load/x", payload, QoS.Processed);
          else publisher.publish("load/x", payload);
        }
        publishing = false;
        await probing;
        const peak = broker.peakRss() - baseline;
        assert.ok(peak < bound, `broker RSS grew by ${(peak / MiB).toFixed(1)} MiB`);

        // what was queued is flushed, then the connection ends
        let received = 0;
        try {
          for (;;) received += (await silent.readFrame({ timeoutMs: 20_000 })).length;
        } catch (err) {
          if (!(err instanceof ConnectionClosed)) throw err;
        }
        latencies.sort((a, b) => a - b);
        const p99 = latencies[Math.floor(latencies.length * 0.99)];
        if (Deno.env.get("BUSRT_FIGURES") === "1") {
          console.log({ peakMiB: peak / MiB, flushedMiB: received / MiB, p99, calls: latencies.length });
        }
        assert.ok(
          received <= QUEUE_BYTES + PAYLOAD + 4096,
          `${received} bytes flushed to the dropped client`,
        );
        assert.ok(
          latencies.length >= 5 && p99 < 500,
          `.broker call p99 ${p99?.toFixed(1)} ms (${latencies.length} calls)`,
        );
      } finally {
        silent.close();
        await prober.client.close();
        await publisher.close();
        await broker.stop();
      }
    },
  );
}

Deno.test("slow consumer: the drop is logged with its reason and the publisher still gets OK", async () => {
  await withBus(async (bus) => {
    const silent = await bus.wire("silent.small");
    await silent.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"])));
    assert.equal((await silent.readFrame())[5], 0x01);
    const publisher = await bus.client("publisher.small");
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 63; i++) publisher.publish("t", payload);
    await publisher.publish("t", payload, QoS.Processed); // OK although the receiver was dropped
    await waitFor(() => !bus.broker.isRegistered("silent.small"), 5000, "the drop");
    assert.ok(
      bus.log.lines.some((l) =>
        l.includes('"silent.small" dropped: outgoing queue overflow (over 1048576 bytes)')
      ),
      bus.log.lines.join(" | "),
    );
  }, { config: { queueBytes: 1024 * 1024 } });
});

Deno.test("slow consumer: queueBytes in the config file, checked", () => {
  const config = parseBrokerConfig(
    JSON.stringify({ listeners: [{ bind: "/tmp/x.sock", queueBytes: 4096 }] }),
    "t",
  );
  assert.equal(config.listeners[0].server.queueBytes, 4096);
  assert.throws(
    () => parseBrokerConfig(JSON.stringify({ listeners: [{ bind: "/tmp/x.sock", queueBytes: 0 }] }), "t"),
    /queueBytes/,
  );
});
