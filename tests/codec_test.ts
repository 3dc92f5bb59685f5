/**
 * Frame encoders and decoders without a broker: byte layouts, any chunking of
 * the input stream, limits, the batched writer, UTF-8 and name helpers, and the
 * IPC client's decoding of broker frames against a scripted broker.
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { DEFAULT_PAYLOAD_LIMIT, ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BrokerFrameDecoder, ClientFrameDecoder, FrameTooLargeError } from "../protocol/decode.ts";
import {
  writeAck,
  writeClientFrame,
  writeDelivery,
  writeNop,
  writePing,
  writeTopicsFrame,
} from "../protocol/encode.ts";
import { BusError } from "../protocol/errors.ts";
import type { Link } from "../transport/link.ts";
import { isSecondaryName, primaryName } from "../protocol/names.ts";
import { parseAddress } from "../transport/address.ts";
import { decodeUtf8, encodeUtf8 } from "../protocol/text.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import {
  ackBytes,
  assertBytes,
  clientFrame,
  concat,
  deliveredFrame,
  fieldsBody,
  hex,
  nextFrame,
  patternBytes,
  prng,
  scriptedBroker,
  text,
  toHex,
  utf8,
  withTimeout,
} from "./_helpers.ts";

/** A link that records writes, accepting at most `maxWrite()` bytes per call. */
class CaptureLink implements Link {
  chunks: Uint8Array[] = [];
  fail: Error | null = null;
  constructor(private maxWrite: () => number = () => Infinity) {}
  read(): Promise<number | null> {
    return Promise.resolve(null);
  }
  async write(data: Uint8Array): Promise<number> {
    await Promise.resolve();
    if (this.fail !== null) throw this.fail;
    const n = Math.max(1, Math.min(data.length, this.maxWrite()));
    this.chunks.push(data.slice(0, n));
    return n;
  }
  close(): void {}
  get bytes(): Uint8Array {
    return concat(...this.chunks);
  }
}

function nameZ(name: string): Uint8Array {
  return concat(name, [0]);
}

// ---------------------------------------------------------------- encoders

Deno.test("encoders produce the §23 client frames", async () => {
  const link = new CaptureLink();
  const w = new WriteBuffer(link);
  writeClientFrame(w, 1, 0x52, utf8("target.x"), null, utf8("hello"), false);
  writeTopicsFrame(w, 2, 0x42, [utf8("a/b"), utf8("c/#")], false);
  writeClientFrame(w, 3, 0x01, utf8("a/b"), null, utf8("hello"), false);
  writeClientFrame(w, 5, 0x53, utf8("test.*"), null, utf8("hi"), false);
  writeClientFrame(w, 6, 0x06, utf8("a/b"), utf8("target.x"), utf8("hello"), false);
  writeClientFrame(w, 8, 0xd2, utf8("target.x"), null, utf8("hello"), true);
  writeTopicsFrame(w, 10, 0x03, [utf8("a/b")], false);
  writeTopicsFrame(w, 11, 0x44, [utf8("x/#")], false);
  writeTopicsFrame(w, 12, 0x02, [], false);
  writeTopicsFrame(w, 13, 0x02, [utf8("")], false);
  writeClientFrame(w, 0xffffffff, 0x12, utf8("t"), null, new Uint8Array(0), false);
  writePing(w);
  await w.flush();
  assertBytes(
    link.bytes,
    hex(`
      01 00 00 00 52 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F
      02 00 00 00 42 07 00 00 00 61 2F 62 00 63 2F 23
      03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F
      05 00 00 00 53 09 00 00 00 74 65 73 74 2E 2A 00 68 69
      06 00 00 00 06 12 00 00 00 61 2F 62 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F
      08 00 00 00 D2 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F
      0A 00 00 00 03 03 00 00 00 61 2F 62
      0B 00 00 00 44 03 00 00 00 78 2F 23
      0C 00 00 00 02 00 00 00 00
      0D 00 00 00 02 00 00 00 00
      FF FF FF FF 12 02 00 00 00 74 00
      00 00 00 00 00 00 00 00 00`),
  );
});

Deno.test("encoders produce the §23 broker frames: deliveries, ACK and NOP", async () => {
  const link = new CaptureLink();
  const w = new WriteBuffer(link);
  const hello = concat("xx", "hello", "yy");
  writeDelivery(w, Op.Message, false, nameZ("test.client"), null, hello, 2, 7);
  writeDelivery(w, Op.Message, true, nameZ("test.client"), null, hello, 2, 7);
  writeDelivery(w, Op.Publish, false, nameZ("test.client"), nameZ("a/b"), hello, 2, 7);
  writeDelivery(w, Op.Broadcast, false, nameZ("test.client"), null, utf8("hi"), 0, 2);
  writeDelivery(w, Op.Message, false, nameZ("a"), null, hello, 3, 3); // empty payload
  writeAck(w, hex("AA 01 00 00 00"), 1, 0x01, false);
  writeAck(w, hex("04 03 02 01"), 0, 0x77, true);
  writeNop(w);
  await w.flush();
  assertBytes(
    link.bytes,
    hex(`
      12 11 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F
      12 11 00 00 00 01 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F
      01 15 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 61 2F 62 00 68 65 6C 6C 6F
      13 0E 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 69
      12 02 00 00 00 00 61 00
      FE 01 00 00 00 01
      FE 04 03 02 01 77
      00 00 00 00 00 00`),
  );
});

Deno.test("writeDelivery copies payloads of every size exactly (short loop and bulk copy)", async () => {
  for (const size of [1, 63, 64, 65, 1000, 300_000]) {
    const link = new CaptureLink();
    const w = new WriteBuffer(link);
    const src = concat([9, 9, 9], patternBytes(size, size), [8, 8]);
    writeDelivery(w, Op.Publish, false, nameZ("s"), nameZ("t"), src, 3, 3 + size);
    await w.flush();
    assertBytes(
      link.bytes,
      deliveredFrame(Op.Publish, "s", "t", patternBytes(size, size)),
      `payload of ${size} bytes`,
    );
  }
});

Deno.test("WriteBuffer keeps frame order across partial writes, realtime flushes and buffer swaps", async () => {
  const rand = prng(42);
  const link = new CaptureLink(() => 1 + Math.floor(rand() * 700));
  const w = new WriteBuffer(link, { flushThreshold: 4096 });
  const expected: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const payload = patternBytes(Math.floor(rand() * 300), i);
    const realtime = i % 7 === 0;
    writeClientFrame(w, i + 1, 0x12, utf8("target"), null, payload, realtime);
    expected.push(clientFrame(i + 1, Op.Message, 0, fieldsBody(["target"], payload)));
    if (i % 97 === 0) await Promise.resolve();
  }
  await w.flush();
  assert.equal(w.pendingFrames, 0);
  const got = link.bytes;
  const want = concat(...expected);
  assert.equal(got.length, want.length);
  assert.ok(got.every((b, i) => b === want[i]), "byte stream equals the frames in order");
});

Deno.test("WriteBuffer reports a failed write once and rejects flush()", async () => {
  const link = new CaptureLink();
  const errors: unknown[] = [];
  const w = new WriteBuffer(link, { onError: (e) => errors.push(e) });
  link.fail = new Error("boom");
  writePing(w);
  await assert.rejects(w.flush(), /boom/);
  assert.equal(errors.length, 1);
  assert.ok(w.broken);
  w.close();
  await assert.rejects(w.flush());
});

Deno.test("WriteBuffer batches frames appended across microtasks into one write, and flushes when idle", async () => {
  const link = new CaptureLink();
  const w = new WriteBuffer(link);
  // a producer replying once per microtask (like a `for await` handler) shares one write
  for (let i = 0; i < 20; i++) {
    writeNop(w);
    await Promise.resolve();
  }
  await w.flush();
  assert.equal(link.chunks.length, 1, "one socket write for 20 frames");
  assert.equal(link.chunks[0].length, 20 * 6);
  // a lone frame is written within a few microtasks, without any timer
  writeNop(w);
  for (let i = 0; i < 10 && link.chunks.length < 2; i++) await Promise.resolve();
  assert.equal(link.chunks.length, 2, "an idle writer flushes without waiting for a timer");
});

// ---------------------------------------------------------------- client frame decoder

interface Parsed {
  id: number;
  flags: number;
  body: string;
}

const CLIENT_STREAM: Uint8Array[] = [
  hex("01 00 00 00 52 0E 00 00 00 74 61 72 67 65 74 2E 78 00 68 65 6C 6C 6F"),
  hex("02 00 00 00 42 07 00 00 00 61 2F 62 00 63 2F 23"),
  hex("00 00 00 00 00 78 56 34 12"), // ping with garbage in its length field: no body
  hex("03 00 00 00 01 09 00 00 00 61 2F 62 00 68 65 6C 6C 6F"),
  hex("0C 00 00 00 02 00 00 00 00"), // empty SUBSCRIBE body
  clientFrame(7, Op.Message, QoS.Processed, fieldsBody(["big"], patternBytes(300_000))),
  hex("05 00 00 00 53 09 00 00 00 74 65 73 74 2E 2A 00 68 69"),
  clientFrame(8, Op.Publish, QoS.No, fieldsBody(["t"], patternBytes(70_000, 3))),
  hex("00 00 00 00 00 00 00 00 00"),
];

function expectedClientFrames(): Parsed[] {
  return CLIENT_STREAM.map((f) => {
    const v = new DataView(f.buffer, f.byteOffset);
    const flags = f[4];
    return { id: v.getUint32(0, true), flags, body: flags === 0 ? "" : digest(f.subarray(9)) };
  });
}

function decodeClientStream(chunks: Uint8Array[], dec = new ClientFrameDecoder()): Parsed[] {
  const out: Parsed[] = [];
  for (const chunk of chunks) {
    dec.feed(chunk);
    while (dec.next()) {
      out.push({
        id: dec.frameId,
        flags: dec.flags,
        body: digest(dec.buf.subarray(dec.bodyStart, dec.bodyEnd)),
      });
    }
  }
  assert.equal(dec.pending, 0, "no bytes left over");
  return out;
}

function chunked(stream: Uint8Array, sizes: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const n = Math.max(1, Math.min(sizes(), stream.length - at));
    out.push(stream.subarray(at, at + n));
    at += n;
  }
  return out;
}

Deno.test("ClientFrameDecoder parses a stream in one chunk", () => {
  assert.deepEqual(decodeClientStream([concat(...CLIENT_STREAM)]), expectedClientFrames());
});

Deno.test("ClientFrameDecoder parses a stream fed one byte at a time", () => {
  assert.deepEqual(decodeClientStream(chunked(concat(...CLIENT_STREAM), () => 1)), expectedClientFrames());
});

Deno.test("ClientFrameDecoder parses a stream in random chunk sizes (10 seeds)", () => {
  const stream = concat(...CLIENT_STREAM);
  for (let seed = 1; seed <= 10; seed++) {
    const rand = prng(seed);
    const sizes = () => Math.floor(rand() ** 3 * 100_000) + 1;
    assert.deepEqual(decodeClientStream(chunked(stream, sizes)), expectedClientFrames(), `seed ${seed}`);
  }
});

Deno.test("ClientFrameDecoder reads into its own regions like a socket read loop", () => {
  const stream = concat(...CLIENT_STREAM, ...CLIENT_STREAM);
  const rand = prng(99);
  const dec = new ClientFrameDecoder(DEFAULT_PAYLOAD_LIMIT, 512);
  const out: Parsed[] = [];
  let at = 0;
  while (at < stream.length) {
    const region = dec.readRegion();
    const n = Math.min(region.length, stream.length - at, 1 + Math.floor(rand() * 5000));
    region.set(stream.subarray(at, at + n));
    dec.commit(n);
    at += n;
    while (dec.next()) {
      out.push({
        id: dec.frameId,
        flags: dec.flags,
        body: digest(dec.buf.subarray(dec.bodyStart, dec.bodyEnd)),
      });
    }
  }
  assert.deepEqual(out, [...expectedClientFrames(), ...expectedClientFrames()]);
});

Deno.test("ClientFrameDecoder rejects a length over the limit as soon as the header is complete", () => {
  const dec = new ClientFrameDecoder(DEFAULT_PAYLOAD_LIMIT);
  dec.feed(hex("01 00 00 00 12 FF FF FF"));
  assert.equal(dec.next(), false);
  dec.feed(hex("FF"));
  assert.throws(() => dec.next(), (e) => e instanceof FrameTooLargeError && e.length === 0xffffffff);
  assert.ok(dec.buf.length < 1024 * 1024, "nothing large was allocated");

  const exact = new ClientFrameDecoder(4);
  exact.feed(clientFrame(1, Op.Message, 0, fieldsBody(["a"], "bc")));
  assert.ok(exact.next(), "a body of exactly the limit is accepted");
  exact.feed(clientFrame(2, Op.Message, 0, fieldsBody(["a"], "bcd")));
  assert.throws(() => exact.next(), FrameTooLargeError);
});

Deno.test("ClientFrameDecoder.inBody is true only between a header and the end of its body", () => {
  const dec = new ClientFrameDecoder();
  const f = clientFrame(1, Op.Message, 0, fieldsBody(["a"], "bcdef"));
  dec.feed(f.subarray(0, 5));
  assert.equal(dec.next(), false);
  assert.equal(dec.inBody, false);
  dec.feed(f.subarray(5, 12));
  assert.equal(dec.next(), false);
  assert.equal(dec.inBody, true);
  dec.feed(f.subarray(12));
  assert.equal(dec.next(), true);
  assert.equal(dec.inBody, false);
});

// ---------------------------------------------------------------- broker frame decoder

interface BrokerParsed {
  kind: number;
  realtime?: boolean;
  body?: string;
  ackId?: number;
  ackCode?: number;
}

const BROKER_STREAM: Uint8Array[] = [
  hex("12 11 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 65 6C 6C 6F"),
  hex("00 00 00 00 00 00"),
  hex("FE 01 00 00 00 01"),
  hex("01 15 00 00 00 01 74 65 73 74 2E 63 6C 69 65 6E 74 00 61 2F 62 00 68 65 6C 6C 6F"),
  hex("FE FF FF FF FF 71"),
  deliveredFrame(Op.Broadcast, "x", null, patternBytes(200_000)),
  hex("13 0E 00 00 00 00 74 65 73 74 2E 63 6C 69 65 6E 74 00 68 69"),
];

function expectedBrokerFrames(): BrokerParsed[] {
  return BROKER_STREAM.map((f) => {
    if (f[0] === Op.Nop) return { kind: 0 };
    if (f[0] === Op.Ack) {
      return { kind: Op.Ack, ackId: new DataView(f.buffer, f.byteOffset).getUint32(1, true), ackCode: f[5] };
    }
    return { kind: f[0], realtime: f[5] === 1, body: digest(f.subarray(6)) };
  });
}

function decodeBrokerStream(chunks: Uint8Array[]): BrokerParsed[] {
  const dec = new BrokerFrameDecoder();
  const out: BrokerParsed[] = [];
  for (const chunk of chunks) {
    dec.feed(chunk);
    while (dec.next()) {
      if (dec.kind === Op.Nop) out.push({ kind: 0 });
      else if (dec.kind === Op.Ack) out.push({ kind: Op.Ack, ackId: dec.ackId, ackCode: dec.ackCode });
      else {out.push({
          kind: dec.kind,
          realtime: dec.realtime,
          body: digest(dec.buf.subarray(dec.bodyStart, dec.bodyEnd)),
        });}
    }
  }
  assert.equal(dec.pending, 0);
  return out;
}

Deno.test("BrokerFrameDecoder parses NOP, ACK and data frames in any chunking", () => {
  const stream = concat(...BROKER_STREAM);
  assert.deepEqual(decodeBrokerStream([stream]), expectedBrokerFrames(), "one chunk");
  assert.deepEqual(decodeBrokerStream(chunked(stream, () => 1)), expectedBrokerFrames(), "single bytes");
  for (let seed = 1; seed <= 5; seed++) {
    const rand = prng(seed * 31);
    assert.deepEqual(
      decodeBrokerStream(chunked(stream, () => 1 + Math.floor(rand() ** 2 * 50_000))),
      expectedBrokerFrames(),
      `seed ${seed}`,
    );
  }
});

Deno.test("BrokerFrameDecoder applies its body limit", () => {
  const dec = new BrokerFrameDecoder(10);
  dec.feed(hex("12 0B 00 00 00 00"));
  assert.throws(() => dec.next(), FrameTooLargeError);
});

// ---------------------------------------------------------------- IPC client decoding

/** Short hex for small payloads, length and checksum for large ones. */
function digest(bytes: Uint8Array): string {
  if (bytes.length <= 64) return toHex(bytes);
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619);
  return `${bytes.length} bytes, fnv ${(h >>> 0).toString(16)}`;
}

Deno.test("IpcClient decodes broker frames split at every byte, in random chunks and batched", async () => {
  const fake = await scriptedBroker();
  const accepting = fake.accept("reader");
  const client = await connect(fake.path, { name: "reader", pingInterval: 0, timeout: 5 });
  const server = await accepting;
  try {
    const frames = [
      deliveredFrame(Op.Message, "test.client", null, "hello"),
      hex("00 00 00 00 00 00"),
      deliveredFrame(Op.Publish, "a%%1", "a/b", hex("00 01 02 00 FF"), true),
      deliveredFrame(Op.Broadcast, "ünï.cöde", null, ""),
      deliveredFrame(Op.Message, "big", null, patternBytes(150_000)),
      deliveredFrame(Op.Publish, "p", "", "empty topic"),
    ];
    const expected = [
      "18|test.client|null|68 65 6C 6C 6F|false",
      "1|a%%1|a/b|00 01 02 00 FF|true",
      "19|ünï.cöde|null||false",
      `18|big|null|${digest(patternBytes(150_000))}|false`,
      "1|p||65 6D 70 74 79 20 74 6F 70 69 63|false",
    ];
    const stream = concat(...frames);
    const rand = prng(5);
    const plans: [string, Uint8Array[]][] = [
      ["single bytes", chunked(stream.subarray(0, 200), () => 1).concat([stream.subarray(200)])],
      ["random chunks", chunked(stream, () => 1 + Math.floor(rand() * 9000))],
      ["one write", [stream]],
    ];
    for (const [plan, chunks] of plans) {
      const writing = (async () => {
        for (const c of chunks) await server.write(c);
      })();
      const got: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        const f = await nextFrame(client);
        got.push(`${f.kind}|${f.sender}|${f.topic}|${digest(f.payload)}|${f.realtime}`);
      }
      await writing;
      assert.deepEqual(got, expected, plan);
    }
    // ACKs split across writes settle the right operations
    const a = client.send("x", "1", QoS.Processed);
    const b = client.send("x", "2", QoS.Processed);
    const bError = b.then(() => null, (e: unknown) => e);
    a.catch(() => {});
    await server.read(2 * (9 + 3)); // both frames: header + "x\0" + one payload byte
    const acks = concat(ackBytes(2, ErrorCode.Busy), ackBytes(1, ErrorCode.Ok));
    for (const byte of acks) await server.write(new Uint8Array([byte]));
    await withTimeout(a, 2000, "ACK 1");
    const err = await bError;
    assert.ok(err instanceof BusError && err.isBusy(), `ACK 2 rejects with 0x76: ${err}`);
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("IpcClient drops the connection on an unknown frame kind from the broker", async () => {
  const fake = await scriptedBroker();
  const accepting = fake.accept("reader");
  const client = await connect(fake.path, { name: "reader", pingInterval: 0, timeout: 5 });
  const server = await accepting;
  try {
    await server.write(hex("42 00 00 00 00 00"));
    await withTimeout(client.closed, 2000, "client closes");
    assert.equal(client.isConnected(), false);
    assert.ok(client.closeReason instanceof BusError);
  } finally {
    await client.close();
    await fake.close();
  }
});

// ---------------------------------------------------------------- text and names

Deno.test("decodeUtf8 is strict on short and long inputs", () => {
  const invalid = ["C3 28", "C0 AF", "ED A0 80", "F8 88 80 80 80", "FF", "E2 82", "F4 90 80 80"];
  for (const h of invalid) {
    const bytes = hex(h);
    assert.equal(decodeUtf8(bytes, 0, bytes.length), null, `short ${h}`);
    const long = concat("a".repeat(70), bytes);
    assert.equal(decodeUtf8(long, 0, long.length), null, `long ${h}`);
  }
  const valid = "añ€😀/topic";
  const bytes = encodeUtf8(valid);
  assert.equal(decodeUtf8(bytes, 0, bytes.length), valid);
  const padded = concat("x", "a".repeat(100), "y");
  assert.equal(decodeUtf8(padded, 1, 101), "a".repeat(100));
  assert.equal(decodeUtf8(padded, 3, 3), "");
  assert.equal(text(encodeUtf8("ok")), "ok");
});

Deno.test("primaryName cuts at the first %% and parseAddress classifies like the reference", () => {
  assert.equal(primaryName("app%%worker%%x"), "app");
  assert.equal(primaryName("app"), "app");
  assert.equal(primaryName("%%x"), "");
  assert.equal(isSecondaryName("a%%0"), true);
  assert.equal(isSecondaryName("a%0"), false);
  assert.deepEqual(parseAddress("/tmp/x"), { transport: "unix", path: "/tmp/x" });
  assert.deepEqual(parseAddress("rel/bus.sock"), { transport: "unix", path: "rel/bus.sock" });
  assert.deepEqual(parseAddress("bus.socket"), { transport: "unix", path: "bus.socket" });
  assert.deepEqual(parseAddress("bus.ipc"), { transport: "unix", path: "bus.ipc" });
  assert.deepEqual(parseAddress("127.0.0.1:7777"), { transport: "tcp", hostname: "127.0.0.1", port: 7777 });
  assert.deepEqual(parseAddress("[::1]:9924"), { transport: "tcp", hostname: "::1", port: 9924 });
  assert.throws(() => parseAddress("localhost"), TypeError);
  assert.throws(() => parseAddress("host:99999"), TypeError);
  assert.throws(() => parseAddress("host:x1"), TypeError);
});
