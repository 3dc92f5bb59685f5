/**
 * The zero-copy path for large payloads (issue #17 item 2): large frames are
 * read into buffers of their own, their payloads are written from those
 * buffers by every recipient's queue (and from the caller's bytes by the
 * client), and the broker reuses a large frame's buffer only once every
 * queue has written it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect, type IpcClient } from "../client/mod.ts";
import { Op, QoS } from "../protocol/constants.ts";
import { FrameStorage, LargeBufferPool } from "../protocol/decode.ts";
import type { Link } from "../transport/link.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import { BROKER_KINDS, withBroker } from "./_reference.ts";
import {
  clientFrame,
  delay,
  fieldsBody,
  patternBytes,
  prng,
  topicsBody,
  withBus,
  withTimeout,
} from "./_helpers.ts";

const MiB = 1024 * 1024;

/** Takes every payload of `count` frames from a client, in order. */
async function receive(client: IpcClient, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const f of client) {
    out.push(f.payload);
    if (out.length === count) break;
  }
  return out;
}

Deno.test("large payloads published and broadcast to 8 subscribers arrive intact at each", async () => {
  await withBus(async (bus) => {
    const subscribers: IpcClient[] = [];
    for (let i = 0; i < 8; i++) {
      const c = await bus.client(`fan.${i}`, i % 2 === 0 ? "unix" : "tcp", { timeout: 30 });
      await c.subscribe("big/#", QoS.Processed);
      subscribers.push(c);
    }
    const publisher = await bus.client("fan.publisher", "unix", { timeout: 30 });
    // distinct contents and sizes around the adaptive read buffer's 256 KiB: a reused buffer shows
    const payloads = [3 * MiB, 300_000, 262_144, 1 * MiB + 17, 5 * MiB, 70_000].map((n, i) =>
      patternBytes(n, i + 3)
    );
    const received = subscribers.map((c) => receive(c, payloads.length));
    for (const [i, p] of payloads.entries()) {
      if (i % 3 === 2) publisher.broadcast("fan.?", p);
      else publisher.publish(`big/${i}`, p);
    }
    await publisher.flush();
    for (const got of await withTimeout(Promise.all(received), 60_000, "every payload at every subscriber")) {
      assert.equal(got.length, payloads.length);
      for (const [i, p] of payloads.entries()) assert.deepEqual(got[i], p, `payload ${i}`);
    }
  });
});

Deno.test("a broker reuses a large frame's buffer only after a slow reader's queue has written it", async () => {
  await withBus(async (bus) => {
    const slow = await bus.wire("slow.reader");
    const sender = await bus.client("slow.sender", "unix", { timeout: 30 });
    const fast = await bus.client("fast.reader", "unix", { timeout: 30 });
    await fast.subscribe("t", QoS.Processed);
    await slow.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"])));
    assert.equal((await slow.readFrame())[5], 0x01);
    const payloads = Array.from({ length: 12 }, (_, i) => patternBytes(MiB + 1000 * i, 50 + i));
    const fastGot = receive(fast, payloads.length);
    for (const p of payloads) sender.publish("t", p);
    await sender.flush();
    // the fast reader has all of them while the slow one has read none: buffers came back to the pool
    for (const [i, p] of (await withTimeout(fastGot, 30_000, "the fast reader")).entries()) {
      assert.deepEqual(p, payloads[i], `fast reader, payload ${i}`);
    }
    for (const [i, p] of payloads.entries()) {
      await delay(20);
      const f = await slow.readFrame({ timeoutMs: 10_000 });
      assert.equal(f[0], Op.Publish);
      assert.deepEqual(f.subarray(f.length - p.length), p, `slow reader, payload ${i}`);
    }
  });
});

Deno.test("a large message sent byte-wise slowly arrives intact after large frames that reused its pool", async () => {
  await withBus(async (bus) => {
    const target = await bus.client("t.target", "unix", { timeout: 30 });
    const raw = await bus.wire("t.sender");
    const a = patternBytes(2 * MiB, 1);
    const b = patternBytes(2 * MiB, 2);
    const got = receive(target, 2);
    const frameA = clientFrame(1, Op.Message, QoS.No, fieldsBody(["t.target"], a));
    const frameB = clientFrame(2, Op.Message, QoS.No, fieldsBody(["t.target"], b));
    await raw.write(frameA);
    // frame B in uneven pieces, so its buffer grows while A's may still be queued
    const rand = prng(5);
    for (let at = 0; at < frameB.length;) {
      const n = Math.min(frameB.length - at, 1 + Math.floor(rand() * 300_000));
      await raw.write(frameB.subarray(at, at + n));
      at += n;
    }
    const [pa, pb] = await withTimeout(got, 30_000, "both messages");
    assert.deepEqual(pa, a);
    assert.deepEqual(pb, b);
  });
});

/** A link that takes at most `max` bytes per write, after a random short pause, and records them. */
class TrickleLink implements Link {
  readonly written: number[] = [];
  #rand = prng(11);
  #max: number;
  failAfter = Infinity;
  constructor(max: number) {
    this.#max = max;
  }
  read(): Promise<number | null> {
    return Promise.resolve(null);
  }
  async write(data: Uint8Array): Promise<number> {
    if (this.#rand() < 0.3) await delay(1);
    else await Promise.resolve();
    if (this.written.length >= this.failAfter) throw new Deno.errors.BrokenPipe("gone");
    const n = Math.min(data.length, 1 + Math.floor(this.#rand() * this.#max));
    for (let i = 0; i < n; i++) this.written.push(data[i]);
    return n;
  }
  close(): void {}
}

/** Counts references like `FrameStorage`, recording the most held at once. */
class CountingOwner {
  refs = 0;
  retain(): void {
    this.refs++;
  }
  release(): void {
    this.refs--;
    assert.ok(this.refs >= 0, "released more often than retained");
  }
}

Deno.test("WriteBuffer writes shared payloads between copied frames in order, across partial writes", async () => {
  const link = new TrickleLink(5000);
  const w = new WriteBuffer(link, { flushThreshold: 4096 });
  const owner = new CountingOwner();
  const expected: number[] = [];
  const rand = prng(3);
  for (let i = 0; i < 60; i++) {
    const small = patternBytes(1 + Math.floor(rand() * 300), i);
    const p = w.reserve(small.length);
    w.buf.set(small, p);
    w.commit(small.length, rand() < 0.1);
    expected.push(...small);
    if (i % 4 === 1) {
      const shared = patternBytes(10_000 + i * 97, 100 + i);
      w.share(shared, rand() < 0.2, i % 8 === 1 ? owner : null);
      expected.push(...shared);
    }
    if (i % 10 === 0) await delay(0);
  }
  await withTimeout(w.flush(), 20_000, "everything written");
  assert.equal(link.written.length, expected.length);
  assert.deepEqual(new Uint8Array(link.written), new Uint8Array(expected));
  assert.equal(owner.refs, 0, "every shared payload released once written");
  assert.equal(w.pendingBytes, 0);
});

Deno.test("WriteBuffer releases the owners of shared payloads when a write fails or it is closed", async () => {
  const link = new TrickleLink(1000);
  link.failAfter = 3000;
  const w = new WriteBuffer(link, { flushThreshold: 1 << 20 });
  const owner = new CountingOwner();
  for (let i = 0; i < 5; i++) w.share(patternBytes(5000, i), false, owner);
  assert.equal(owner.refs, 5);
  await assert.rejects(w.flush());
  assert.equal(owner.refs, 0, "released after the failed write");

  const idle = new WriteBuffer(new TrickleLink(10), { flushThreshold: 1 << 20, bufTtlMicros: 10_000_000 });
  idle.share(patternBytes(100, 1), false, owner);
  idle.share(patternBytes(100, 2), false, owner);
  assert.equal(owner.refs, 2);
  idle.close();
  assert.equal(owner.refs, 0, "released on close");
  idle.share(patternBytes(100, 3), false, owner);
  assert.equal(owner.refs, 0, "a closed writer keeps nothing");
});

Deno.test("FrameStorage goes back to its pool once, when the last reference is released", () => {
  const pool = new LargeBufferPool(1 << 20);
  const ab = new ArrayBuffer(4096, { maxByteLength: 1 << 20 });
  const s = new FrameStorage(ab, pool);
  s.retain();
  s.retain();
  s.release();
  s.release();
  assert.equal(pool.bytes, 0);
  s.release();
  assert.equal(pool.bytes, 4096);
  assert.equal(pool.take(100), ab);
  assert.equal(pool.take(100), null);
  const big = new ArrayBuffer(2 << 20, { maxByteLength: 4 << 20 });
  pool.put(big);
  assert.equal(pool.bytes, 0, "over keepBytes: left to the garbage collector");
});

for (const kind of BROKER_KINDS) {
  Deno.test(`our client sends and receives 1 MiB and 16 MiB payloads through ${kind}`, async () => {
    await withBroker(kind, async (broker) => {
      const a = await connect(broker.address("unix"), { name: "lp.a", timeout: 30 });
      const b = await connect(broker.address("unix"), { name: "lp.b", timeout: 30 });
      try {
        const payloads = [patternBytes(MiB, 1), patternBytes(16 * MiB, 2), patternBytes(MiB + 5, 3)];
        const got = receive(b, payloads.length);
        for (const p of payloads) await a.send("lp.b", p, QoS.Processed);
        const frames = await withTimeout(got, 60_000, `payloads through ${kind}`);
        for (const [i, p] of payloads.entries()) assert.deepEqual(frames[i], p, `payload ${i}`);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
