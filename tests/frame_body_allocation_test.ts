/**
 * Regression (issue #12, item 9): a frame header does not make the reader
 * allocate the body it announces (the buffer grows as the body arrives), and
 * the client refuses oversized frames by default.
 *
 * Since issue #17 (zero-copy large payloads) a frame larger than the adaptive
 * read buffer is read into a buffer of its own that is exactly the frame's
 * size once complete. The bound is kept: that buffer is a resizable
 * `ArrayBuffer` grown in place as the body arrives, never to more than twice
 * the bytes received (address space is reserved for the frame, memory is
 * not). A reader with a pool may reuse a buffer another large frame left:
 * memory the process holds already, so nothing is allocated ahead either.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { BrokerFrameDecoder, ClientFrameDecoder, LargeBufferPool } from "../protocol/decode.ts";
import { Op, QoS } from "../protocol/constants.ts";
import { clientFrame, fieldsBody, patternBytes, withBus, withTimeout } from "./_helpers.ts";

const MiB = 1024 * 1024;

function clientHeader(length: number): Uint8Array {
  const h = new Uint8Array(9);
  h[4] = Op.Message;
  new DataView(h.buffer).setUint32(5, length, true);
  return h;
}

Deno.test("frame body: a client frame header alone does not allocate the announced 60 MiB", () => {
  const d = new ClientFrameDecoder(64 * MiB);
  d.feed(clientHeader(60 * MiB));
  assert.equal(d.next(), false); // the reader now knows the length
  d.feed(new Uint8Array(1000));
  assert.equal(d.next(), false);
  d.readRegion(); // where the next read would go
  assert.ok(d.buf.length < MiB, `buffer of ${d.buf.length} bytes for 1009 bytes received`);
});

Deno.test("frame body: a broker frame header alone does not allocate the announced body", () => {
  const d = new BrokerFrameDecoder();
  const h = new Uint8Array(6);
  h[0] = Op.Message;
  new DataView(h.buffer).setUint32(1, 0xfffffff0, true);
  d.feed(h);
  assert.equal(d.next(), false);
  d.readRegion(); // where the next read would go
  assert.ok(d.buf.length < MiB, `buffer of ${d.buf.length} bytes for a 6-byte header`);
});

Deno.test("frame body: the buffer grows as the body arrives and the frame parses intact", () => {
  const body = patternBytes(5 * MiB + 123, 11);
  const frame = clientFrame(9, Op.Message, 0, body);
  const d = new ClientFrameDecoder(64 * MiB);
  let fed = 0;
  let largest = 0;
  for (const step of [9, 1, 4096, 65536, 3 * 65536 + 7]) {
    d.feed(frame.subarray(fed, fed + step));
    fed += step;
    largest = Math.max(largest, d.buf.length);
    assert.equal(d.next(), false);
  }
  assert.ok(largest < 2 * MiB, `buffer of ${largest} bytes after ${fed} bytes`);
  while (fed < frame.length) {
    const step = Math.min(frame.length - fed, 1 + (fed % 300_000));
    d.feed(frame.subarray(fed, fed + step));
    fed += step;
    // the buffer never runs ahead of the bytes received by more than twice
    assert.ok(d.buf.length <= Math.max(2 * (d.end - d.start) + 4096, 262144 + 4096));
  }
  assert.ok(d.next());
  assert.equal(d.frameId, 9);
  assert.deepEqual(d.buf.subarray(d.bodyStart, d.bodyEnd), body);
});

/**
 * Reads `bytes` into `d` like a socket loop, `step()` bytes at most per read;
 * checks the bound after each read unless the buffer may come from a pool.
 */
function readLikeSocket(
  d: ClientFrameDecoder,
  bytes: Uint8Array,
  step: () => number,
  pooled = false,
): number {
  let fed = 0;
  let largest = 0;
  while (fed < bytes.length) {
    const region = d.readRegion();
    assert.ok(region.length > 0, `no room to read at ${fed} of ${bytes.length}`);
    const n = Math.min(region.length, bytes.length - fed, step());
    region.set(bytes.subarray(fed, fed + n));
    d.commit(n);
    fed += n;
    largest = Math.max(largest, d.buf.length);
    // the buffer never runs ahead of the bytes received by more than twice
    assert.ok(
      pooled || d.buf.length <= Math.max(2 * (d.end - d.start) + 4096, 262144 + 4096),
      `buffer of ${d.buf.length} bytes after ${d.end - d.start} received`,
    );
    if (d.end - d.start === bytes.length) break;
    assert.equal(d.next(), false);
  }
  return largest;
}

Deno.test("frame body: a large frame read like a socket loop lands in a buffer of exactly its size", () => {
  const body = patternBytes(3 * MiB + 5, 21);
  const frame = clientFrame(4, Op.Message, 0, body);
  const small = clientFrame(5, Op.Message, 0, patternBytes(100, 22));
  const d = new ClientFrameDecoder(64 * MiB);
  let i = 0;
  readLikeSocket(d, frame, () => [9, 1000, 70_000, 4096, 200_000][i++ % 5]);
  assert.ok(d.next());
  assert.ok(d.frameAlone, "a frame over the adaptive size has a buffer of its own");
  assert.equal(d.buf.length, frame.length, "exactly the frame's size");
  const view = d.buf.subarray(d.bodyStart, d.bodyEnd);
  assert.deepEqual(view, body);
  // the next frame goes to the ordinary buffer: the large frame's bytes stay as they are
  assert.equal(d.next(), false);
  const region = d.readRegion();
  assert.notEqual(region.buffer, view.buffer);
  region.set(small);
  d.commit(small.length);
  assert.ok(d.next());
  assert.equal(d.frameAlone, false);
  assert.equal(d.frameId, 5);
  assert.deepEqual(view, body, "the large frame's bytes are untouched");
});

Deno.test("frame body: a reader without a pool uses plain buffers, a pooled one resizable buffers", () => {
  // fresh pages for every new resizable buffer cost ~10× a plain allocation, which the
  // allocator recycles: a client (no pool) must not pay them for each large payload
  for (const pooled of [false, true]) {
    const body = patternBytes(2 * MiB + 3, 23);
    const frame = clientFrame(6, Op.Message, 0, body);
    const d = new ClientFrameDecoder(64 * MiB);
    if (pooled) d.pool = new LargeBufferPool(8 * MiB);
    let i = 0;
    const largest = readLikeSocket(d, frame, () => [65536, 300_000, 12_345][i++ % 3], pooled);
    assert.ok(largest <= 2 * frame.length, `largest buffer ${largest}`);
    assert.ok(d.next());
    assert.ok(d.frameAlone);
    assert.equal(d.buf.length, frame.length, "exactly the frame's size");
    assert.equal((d.buf.buffer as ArrayBuffer).resizable, pooled, pooled ? "pooled" : "unpooled");
    assert.deepEqual(d.buf.subarray(d.bodyStart, d.bodyEnd), body);
  }
});

Deno.test("frame body: unpooled frames of 4 MiB and more stage their first half in reused memory", () => {
  // the doubling chain would allocate twice each frame in fresh buffers; staging reuses one
  const sizes = [5 * MiB + 11, 14 * MiB - 3, 6 * MiB + 1];
  const frames = sizes.map((n, i) => clientFrame(20 + i, Op.Message, 0, patternBytes(n, 40 + i)));
  const d = new ClientFrameDecoder(64 * MiB);
  const views: Uint8Array[] = [];
  const stagingSeen: Set<ArrayBufferLike>[] = [];
  let r = 0;
  for (const frame of frames) {
    const seen = new Set<ArrayBufferLike>();
    stagingSeen.push(seen);
    const half = Math.ceil(frame.length / 2);
    readLikeSocket(d, frame, () => {
      if (d.frameAlone && d.end - d.start < half - 4096) seen.add(d.buf.buffer);
      return [212_992, 65_536, 1_000_003, 4096][r++ % 4];
    });
    assert.ok(d.next());
    assert.ok(d.frameAlone);
    assert.equal(d.buf.length, frame.length, "exactly the frame's size");
    assert.ok(!seen.has(d.buf.buffer), "the frame ends in a buffer of its own, not in staging");
    views.push(d.buf.subarray(d.bodyStart, d.bodyEnd));
    assert.equal(d.next(), false);
  }
  // the third frame's first half went to memory the second frame's staging already had
  const last = [...stagingSeen[1]].at(-1);
  assert.ok(last !== undefined && stagingSeen[2].has(last), "staging reused across frames");
  assert.equal(stagingSeen[2].size, 1, "no new staging memory for a frame no larger than the last");
  // every frame handed out is intact after the later ones reused the staging buffer
  views.forEach((view, i) => assert.deepEqual(view, patternBytes(sizes[i], 40 + i), `frame ${i}`));
  // kept while large frames keep coming (one call after a staged frame), let go after an idle period
  const stagingOf = (frame: Uint8Array) => {
    const seen = new Set<ArrayBufferLike>();
    readLikeSocket(d, frame, () => {
      if (d.frameAlone && d.end - d.start < frame.length / 2 - 4096) seen.add(d.buf.buffer);
      return 212_992;
    });
    assert.ok(d.next());
    assert.equal(d.next(), false);
    return seen;
  };
  d.releaseIdleStaging();
  assert.ok(stagingOf(frames[2]).has(last), "kept: a frame used it since the last call");
  d.releaseIdleStaging();
  d.releaseIdleStaging();
  assert.ok(!stagingOf(frames[2]).has(last), "let go: no frame used it between two calls");
});

Deno.test("frame body: a pooled buffer is reused only after every reference is released", () => {
  const pool = new LargeBufferPool(16 * MiB);
  const d = new ClientFrameDecoder(64 * MiB);
  d.pool = pool;
  const first = clientFrame(1, Op.Message, 0, patternBytes(MiB, 1));
  readLikeSocket(d, first, () => 100_000);
  assert.ok(d.next());
  const storage = d.frameStorage!;
  const firstBuffer = d.buf.buffer;
  storage.retain(); // a queue still writing the payload
  assert.equal(d.next(), false);
  // a second large frame while the first is referenced: another buffer
  const second = clientFrame(2, Op.Message, 0, patternBytes(MiB, 2));
  readLikeSocket(d, second, () => 100_000);
  assert.ok(d.next());
  assert.notEqual(d.buf.buffer, firstBuffer);
  assert.equal(d.next(), false);
  d.readRegion(); // the second frame's buffer went back to the pool
  storage.release(); // and now the first one's
  assert.ok(pool.bytes >= 2 * MiB);
  const third = clientFrame(3, Op.Message, 0, patternBytes(MiB + 100, 3));
  readLikeSocket(d, third, () => 100_000, true); // memory held already: reused at once, whatever the progress
  assert.equal(d.buf.buffer, firstBuffer, "the buffer released last is reused first");
  assert.ok(d.next());
  assert.equal(d.buf.length, third.length);
  assert.deepEqual(d.buf.subarray(d.bodyStart, d.bodyEnd), patternBytes(MiB + 100, 3));
});

Deno.test("frame body: a 6 MiB message sent in small pieces over a socket arrives intact", async () => {
  await withBus(async (bus) => {
    const target = await bus.client("big.target");
    const sender = await bus.wire("big.sender");
    const payload = patternBytes(6 * MiB, 5);
    const frame = clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["big.target"], payload));
    for (let at = 0; at < frame.length; at += 256 * 1024) {
      await sender.write(frame.subarray(at, Math.min(frame.length, at + 256 * 1024)));
    }
    const ack = await sender.readFrame();
    assert.equal(ack[5], 0x01);
    for await (const f of target) {
      assert.equal(f.sender, "big.sender");
      assert.deepEqual(f.payload, payload);
      break;
    }
  });
});

Deno.test("frame body: the client refuses a frame above its default limit instead of waiting for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-frame-" });
  const path = `${dir}/fake.sock`;
  const server = Deno.listen({ transport: "unix", path });
  const fake = (async () => {
    const conn = await server.accept();
    const read = async (n: number) => {
      const out = new Uint8Array(n);
      for (let off = 0; off < n;) {
        const got = await conn.read(out.subarray(off));
        if (got === null) throw new Error("client closed");
        off += got;
      }
      return out;
    };
    await conn.write(new Uint8Array([0xeb, 0x01, 0x00]));
    await read(3);
    await conn.write(new Uint8Array([0x01]));
    const len = await read(2);
    await read(len[0] | (len[1] << 8));
    await conn.write(new Uint8Array([0x01]));
    const header = new Uint8Array(6);
    header[0] = Op.Message;
    new DataView(header.buffer).setUint32(1, 1024 * MiB, true); // 1 GiB announced
    await conn.write(header);
    return conn;
  })();
  const client = await connect(path, { name: "victim", timeout: 30 });
  const conn = await fake;
  try {
    await withTimeout(client.closed, 5000, "the client to refuse the 1 GiB frame");
    assert.match(String(client.closeReason?.message), /1073741824 bytes/);
  } finally {
    await client.close();
    conn.close();
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
