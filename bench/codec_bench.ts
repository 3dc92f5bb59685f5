/**
 * Micro-benchmarks of the frame codec: encoding into the batched writer and
 * decoding many frames per read, in both directions.
 *
 * Run: deno bench -A bench/codec_bench.ts
 *
 * @module
 */
import { BrokerFrameDecoder, ClientFrameDecoder } from "../protocol/decode.ts";
import { writeClientFrame, writeDelivery } from "../protocol/encode.ts";
import type { Link } from "../transport/link.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";

const FRAMES = 1000;
const payload = new Uint8Array(100).fill(0xee);
const target = new TextEncoder().encode("target.x");
const senderZ = new TextEncoder().encode("test.client\0");

/** A link that swallows writes. */
const sink: Link = {
  read: () => Promise.resolve(null),
  write: (d) => Promise.resolve(d.length),
  close: () => {},
};

function clientStream(): Uint8Array {
  const w = new WriteBuffer(sink, { flushThreshold: Infinity });
  for (let i = 0; i < FRAMES; i++) writeClientFrame(w, i + 1, 0x12, target, null, payload, false);
  return w.buf.slice(0, w.len);
}

function brokerStream(): Uint8Array {
  const w = new WriteBuffer(sink, { flushThreshold: Infinity });
  for (let i = 0; i < FRAMES; i++) writeDelivery(w, 0x12, false, senderZ, null, payload, 0, payload.length);
  return w.buf.slice(0, w.len);
}

const clientBytes = clientStream();
const brokerBytes = brokerStream();

Deno.bench(`encode ${FRAMES} client MESSAGE frames (100 B)`, { group: "encode", baseline: true }, () => {
  clientStream();
});

Deno.bench(`encode ${FRAMES} broker deliveries (100 B)`, { group: "encode" }, () => {
  brokerStream();
});

Deno.bench(`decode ${FRAMES} client frames from one chunk`, { group: "decode", baseline: true }, () => {
  const d = new ClientFrameDecoder(0xffffffff, 262144);
  d.feed(clientBytes);
  let n = 0;
  while (d.next()) n++;
  if (n !== FRAMES) throw new Error("lost frames");
});

Deno.bench(`decode ${FRAMES} broker frames from one chunk`, { group: "decode" }, () => {
  const d = new BrokerFrameDecoder(0xffffffff, 262144);
  d.feed(brokerBytes);
  let n = 0;
  while (d.next()) n++;
  if (n !== FRAMES) throw new Error("lost frames");
});

Deno.bench(`decode ${FRAMES} client frames in 1000-byte chunks`, { group: "decode" }, () => {
  const d = new ClientFrameDecoder();
  let n = 0;
  for (let off = 0; off < clientBytes.length; off += 1000) {
    d.feed(clientBytes.subarray(off, off + 1000));
    while (d.next()) n++;
  }
  if (n !== FRAMES) throw new Error("lost frames");
});
