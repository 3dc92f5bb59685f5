/**
 * Several senders stream large payloads at once through one broker, whose
 * sessions share one pool of large-frame buffers: every delivery arrives in
 * sequence per sender with its own content, and every payload view handed to
 * the application still holds its bytes after all later reads (no view of a
 * buffer the broker or the client reused).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { IpcClient } from "../client/mod.ts";
import { QoS } from "../protocol/constants.ts";
import { patternBytes, withBus, withTimeout } from "./_helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Around the client's 64 KiB send-by-reference and the broker's 256 KiB own-buffer thresholds. */
const SIZES = [MiB, 60 * KiB, 64 * KiB - 1, 64 * KiB, 256 * KiB, 256 * KiB + 9, 2 * MiB + 3, 300_000];
const PER_SENDER = 16;
/** Messages a sender may have undelivered: the broker's queues and pool hold several at once. */
const WINDOW = 4;

/** The payload of message `seq` of sender `sender`: its own pattern, stamped with both. */
function payloadOf(sender: number, seq: number): Uint8Array {
  const p = patternBytes(SIZES[(seq + sender * 3) % SIZES.length], sender * 1000 + seq + 1);
  p[0] = sender;
  p[1] = seq;
  return p;
}

Deno.test("three senders stream large payloads to two subscribers: in sequence, intact, views stay valid", async () => {
  await withBus(async (bus) => {
    const transports = ["unix", "tcp", "unix"] as const;
    const receivers: IpcClient[] = [];
    for (const [i, t] of (["tcp", "unix"] as const).entries()) {
      const c = await bus.client(`st.r${i}`, t, { timeout: 30 });
      await c.subscribe("st/#", QoS.Processed);
      receivers.push(c);
    }
    const senders = await Promise.all(transports.map((t, i) => bus.client(`st.s${i}`, t, { timeout: 30 })));
    const delivered = receivers.map(() => senders.map(() => 0));
    let wake: () => void = () => {};
    let progress = new Promise<void>((resolve) => wake = resolve);
    const notify = () => {
      wake();
      progress = new Promise<void>((resolve) => wake = resolve);
    };
    const kept = receivers.map(() => [] as { sender: number; seq: number; payload: Uint8Array }[]);
    const consumers = receivers.map(async (c, r) => {
      for await (const f of c) {
        const sender = f.payload[0];
        const seq = f.payload[1];
        assert.equal(
          seq,
          delivered[r][sender],
          `receiver ${r}: message ${seq} of sender ${sender} out of sequence`,
        );
        assert.deepEqual(f.payload, payloadOf(sender, seq), `receiver ${r}: sender ${sender} message ${seq}`);
        kept[r].push({ sender, seq, payload: f.payload });
        delivered[r][sender]++;
        notify();
        if (delivered[r].every((n) => n === PER_SENDER)) break;
      }
    });
    const producers = senders.map(async (c, s) => {
      const acks: Promise<void>[] = [];
      for (let seq = 0; seq < PER_SENDER; seq++) {
        while (delivered.some((d) => seq - d[s] >= WINDOW)) await progress;
        if (s === 1) acks.push(c.publish(`st/${s}`, payloadOf(s, seq), QoS.Processed));
        else c.publish(`st/${s}`, payloadOf(s, seq));
      }
      await c.flush();
      await Promise.all(acks);
    });
    await withTimeout(Promise.all([...producers, ...consumers]), 60_000, "every payload at both receivers");
    // the views handed out earlier still hold their own bytes after every later read
    for (const [r, list] of kept.entries()) {
      assert.equal(list.length, PER_SENDER * senders.length);
      for (const { sender, seq, payload } of list) {
        assert.deepEqual(payload, payloadOf(sender, seq), `receiver ${r}: kept view of ${sender}/${seq}`);
      }
    }
  });
});
