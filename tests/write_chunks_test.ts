/**
 * Regression (issue #17, peer sweep: 1 KiB and 10 KiB frames over unix
 * sockets at a quarter of TCP's rate): while a write is in flight to a peer
 * that reads slower than the producer appends (a unix socket's kernel buffer
 * holds ~200 KiB), the pending batch used to be regrown by doubling and
 * copied up to the whole backlog (MiBs), in fresh memory each time. It now
 * continues in 256 KiB chunks written as pieces of the next write, and the
 * chunks written are reused.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Link } from "../transport/link.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";

const FRAME = 10 * 1024;
const CHUNK = 262144;

/** Appends frame `i`: its index in the first 4 bytes, then `i & 0xff`. */
function append(w: WriteBuffer, i: number): void {
  const at = w.reserve(FRAME);
  w.buf.fill(i & 0xff, at, at + FRAME);
  new DataView(w.buf.buffer, w.buf.byteOffset).setUint32(at, i);
  w.commit(FRAME, false);
}

/** Checks the bytes of frames `0 … count-1` in order. */
function assertFrames(bytes: Uint8Array, count: number): void {
  assert.equal(bytes.length, count * FRAME);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = 0; i < count; i++) {
    const at = i * FRAME;
    assert.equal(view.getUint32(at), i, `frame ${i} out of place`);
    assert.equal(bytes[at + 4], i & 0xff);
    assert.equal(bytes[at + FRAME - 1], i & 0xff, `frame ${i} damaged`);
  }
}

/** A link taking at most 64 KiB per write, a timer tick later (a slow peer), recording what it was given. */
class SlowLink implements Link {
  readonly received: Uint8Array[] = [];
  readonly sizes: number[] = [];
  readonly buffers: ArrayBufferLike[] = [];

  async write(data: Uint8Array): Promise<number> {
    this.sizes.push(data.length);
    this.buffers.push(data.buffer);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const n = Math.min(data.length, 65536);
    this.received.push(data.slice(0, n));
    return n;
  }

  read(): Promise<number | null> {
    return Promise.resolve(null);
  }

  close(): void {}

  bytes(): Uint8Array {
    const out = new Uint8Array(this.received.reduce((s, b) => s + b.length, 0));
    let off = 0;
    for (const b of this.received) {
      out.set(b, off);
      off += b.length;
    }
    return out;
  }
}

Deno.test("write chunks: a backlog behind a slow write goes out in pieces of at most 256 KiB, intact, in order", async () => {
  const link = new SlowLink();
  const w = new WriteBuffer(link);
  const total = 800; // 8 MiB appended while the first write is in flight
  for (let i = 0; i < total; i++) append(w, i);
  assert.equal(w.pendingBytes, total * FRAME);
  await w.flush();
  assertFrames(link.bytes(), total);
  assert.ok(Math.max(...link.sizes) <= CHUNK, `a write of ${Math.max(...link.sizes)} bytes`);
  w.close();
});

Deno.test("write chunks: while a backlog lasts, the chunks written are reused", async () => {
  const link = new SlowLink();
  const w = new WriteBuffer(link);
  const total = 2000; // 20 MiB in bursts while at most 2 MiB are pending: the backlog lasts throughout
  for (let i = 0; i < total;) {
    while (i < total && w.pendingBytes < 2 * 1024 * 1024) append(w, i++);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await w.flush();
  assertFrames(link.bytes(), total);
  assert.ok(Math.max(...link.sizes) <= CHUNK, `a write of ${Math.max(...link.sizes)} bytes`);
  // without reuse, 20 MiB would need some 80 chunks
  const distinct = new Set(link.buffers.filter((b) => b.byteLength === CHUNK)).size;
  assert.ok(distinct > 0, "no chunk written");
  assert.ok(distinct * CHUNK < (total * FRAME) / 4, `${distinct} distinct chunks for ${total * FRAME} bytes`);
  w.close();
});

Deno.test("write chunks: over a real unix socket with a slow reader, mid-size frames arrive intact and no write exceeds a chunk", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const accepted = listener.accept();
    const conn = await Deno.connect({ transport: "unix", path });
    const server = await accepted;
    const sizes: number[] = [];
    const link: Link = {
      write: (data) => {
        sizes.push(data.length);
        return conn.write(data);
      },
      read: (buf) => conn.read(buf),
      close: () => conn.close(),
    };
    const w = new WriteBuffer(link);
    const total = 1200; // 12 MiB
    const reading = (async () => {
      const out = new Uint8Array(total * FRAME);
      let got = 0;
      while (got < out.length) {
        const n = await server.read(out.subarray(got, Math.min(out.length, got + 65536)));
        if (n === null) break;
        got += n;
        await new Promise((resolve) => setTimeout(resolve, 1)); // slower than the producer
      }
      return out.subarray(0, got);
    })();
    // bursts while at most 4 MiB are pending, as the benchmark's flow control does
    for (let i = 0; i < total;) {
      while (i < total && w.pendingBytes < 4 * 1024 * 1024) append(w, i++);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await w.flush();
    assertFrames(await reading, total);
    assert.ok(Math.max(...sizes) <= CHUNK, `a write of ${Math.max(...sizes)} bytes`);
    w.close();
    conn.close();
    server.close();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
