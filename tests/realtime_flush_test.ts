/**
 * Realtime frames (QoS 2/3) and flushing: they never wait for the `buf_ttl`
 * timer, and what the same run of microtasks adds after them (the reply or
 * delivery that follows an ACK) shares their write — one socket write per
 * operation on the broker's side, not one per frame. Small batch buffers are
 * reused across writers instead of allocated per write.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { writeAck, writeClientFrame, writeNop } from "../protocol/encode.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import type { Acceptor } from "../transport/acceptor.ts";
import type { Link } from "../transport/link.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import { nextFrame, utf8, withTimeout } from "./_helpers.ts";

/** A link that records its writes (a copy, and the buffer written from). */
class CountingLink implements Link {
  chunks: Uint8Array[] = [];
  buffers: ArrayBufferLike[] = [];
  read(): Promise<number | null> {
    return Promise.resolve(null);
  }
  write(data: Uint8Array): Promise<number> {
    this.chunks.push(data.slice());
    this.buffers.push(data.buffer);
    return Promise.resolve(data.length);
  }
  close(): void {}
}

async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** A buf_ttl of 10 s: a frame that waited for the timer would time the test out. */
const LONG_TTL_MICROS = 10_000_000;

Deno.test("WriteBuffer: a realtime frame is written within the current microtasks, never after the buf_ttl timer", async () => {
  const link = new CountingLink();
  const w = new WriteBuffer(link, { bufTtlMicros: LONG_TTL_MICROS });
  writeClientFrame(w, 1, 0x92, utf8("target"), null, utf8("now"), true);
  await microtasks(10);
  assert.equal(link.chunks.length, 1, "the realtime frame is written without a timer");
  // a scheduled frame waits for the timer, then a realtime one takes it along
  writeNop(w);
  await microtasks(10);
  assert.equal(link.chunks.length, 1, "a non-realtime frame waits for buf_ttl");
  writeClientFrame(w, 2, 0x92, utf8("target"), null, utf8("now"), true);
  await microtasks(10);
  assert.equal(link.chunks.length, 2);
  assert.equal(link.chunks[1].length, 6 + 9 + 7 + 3, "the waiting NOP rides along with the realtime frame");
  w.close(); // nothing left for the armed timer to write
});

Deno.test("WriteBuffer: an ACK and a frame added a few microtasks later share one write", async () => {
  const link = new CountingLink();
  const w = new WriteBuffer(link);
  writeAck(w, new Uint8Array([1, 0, 0, 0]), 0, 0x01, true);
  // the reply comes two microtasks later, as .broker's does
  await Promise.resolve();
  await Promise.resolve();
  writeClientFrame(w, 2, 0xd2, utf8("caller"), null, utf8("reply"), true);
  await microtasks(10);
  assert.equal(link.chunks.length, 1, "one write for the ACK and the reply");
  assert.equal(link.chunks[0].length, 6 + 9 + 7 + 5);
});

Deno.test("WriteBuffer: a small batch's buffer is reused by the next small batch, of any writer, once written", async () => {
  const a = new CountingLink();
  const b = new CountingLink();
  const wa = new WriteBuffer(a);
  const wb = new WriteBuffer(b);
  writeClientFrame(wa, 1, 0x12, utf8("target"), null, utf8("first"), false);
  await wa.flush();
  assert.equal(wa.buf.length, 0, "a writer holds no buffer once its batch is written");
  writeClientFrame(wb, 2, 0x12, utf8("target"), null, utf8("other"), false);
  await wb.flush();
  assert.equal(b.buffers[0], a.buffers[0], "the second batch is written from the first one's buffer");
  writeClientFrame(wa, 3, 0x12, utf8("target"), null, utf8("third"), false);
  await wa.flush();
  assert.equal(a.buffers[1], a.buffers[0]);
  // what each write carried, at the time it was written
  assert.deepEqual(a.chunks.map((c) => new TextDecoder().decode(c.subarray(9 + 7))), ["first", "third"]);
  assert.equal(new TextDecoder().decode(b.chunks[0].subarray(9 + 7)), "other");
});

/** A unix acceptor whose connections count the broker's socket writes. */
function countingAcceptor(path: string): { acceptor: Acceptor; writes: () => number } {
  const server = Deno.listen({ transport: "unix", path });
  let writes = 0;
  const acceptor: Acceptor = {
    bind: path,
    async *[Symbol.asyncIterator]() {
      for await (const conn of server) {
        const link: Link = {
          read: (buf) => conn.read(buf),
          write: (data) => {
            writes++;
            return conn.write(data);
          },
          close: () => conn.close(),
        };
        yield { link, origin: { kind: "local_ipc", source: null, port: path, peer: { ip: null } } };
      }
    },
    close: () => server.close(),
  };
  return { acceptor, writes: () => writes };
}

Deno.test("broker: a realtime call to .broker (the reference tool's rpc.call) gets its ACK and reply in one write, with no timer", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  const { acceptor, writes } = countingAcceptor(`${dir}/b.sock`);
  await broker.serveAcceptor(acceptor, { timeout: 5, bufTtl: LONG_TTL_MICROS });
  const rpc = new RpcClient(
    await connect(`${dir}/b.sock`, { name: "rt.caller", timeout: 5, pingInterval: 0 }),
    {
      qos: QoS.RealtimeProcessed,
    },
  );
  try {
    const params = new Uint8Array(100).fill(0xee);
    await withTimeout(rpc.call(".broker", "benchmark.test", params), 5000, "warm-up call");
    const calls = 50;
    const before = writes();
    for (let i = 0; i < calls; i++) {
      const reply = await withTimeout(rpc.call(".broker", "benchmark.test", params), 5000, `call ${i}`);
      assert.deepEqual(reply.payload, params);
    }
    assert.equal(writes() - before, calls, "one broker write per call: ACK and reply together");
  } finally {
    await rpc.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("broker: a realtime message to oneself is delivered with its ACK in one write", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  const { acceptor, writes } = countingAcceptor(`${dir}/b.sock`);
  await broker.serveAcceptor(acceptor, { timeout: 5, bufTtl: LONG_TTL_MICROS });
  const client = await connect(`${dir}/b.sock`, { name: "rt.self", timeout: 5, pingInterval: 0 });
  try {
    const calls = 50;
    await withTimeout(client.send("rt.self", "warm", QoS.RealtimeProcessed), 5000, "warm-up ACK");
    await nextFrame(client);
    const before = writes();
    for (let i = 0; i < calls; i++) {
      await withTimeout(client.send("rt.self", `m${i}`, QoS.RealtimeProcessed), 5000, `ACK ${i}`);
      const f = await nextFrame(client);
      assert.equal(new TextDecoder().decode(f.payload), `m${i}`);
      assert.equal(f.realtime, true);
    }
    assert.equal(writes() - before, calls, "one broker write per message: the delivery and its ACK");
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
