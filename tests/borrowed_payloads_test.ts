/**
 * `largePayloads: "borrowed"`: large incoming payloads in buffers the client
 * reuses once the application asks for the next frame; against our broker
 * and busrtd, over unix sockets and TCP.
 */
import assert from "node:assert/strict";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { BROKER_KINDS, withBroker } from "./_reference.ts";
import { delay, TRANSPORTS, withBus } from "./_helpers.ts";

const MiB = 1024 * 1024;
const COUNT = 24;
const WINDOW = 3;

/** Payload `i`: its index in the first 4 bytes, then a byte pattern that depends on `i`. */
function payload(i: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let k = 4; k < size; k++) p[k] = (k * 31 + i * 7) & 0xff;
  new DataView(p.buffer).setUint32(0, i, true);
  return p;
}

/** Whether `p` is exactly payload `i`; sampled every 4093 bytes plus the last one, which any reuse changes. */
function isPayload(p: Uint8Array, i: number, size: number): boolean {
  if (p.length !== size || new DataView(p.buffer, p.byteOffset).getUint32(0, true) !== i) return false;
  for (let k = 4; k < size; k += 4093) if (p[k] !== ((k * 31 + i * 7) & 0xff)) return false;
  return p[size - 1] === (((size - 1) * 31 + i * 7) & 0xff);
}

/**
 * Sends COUNT payloads of `size` to `rx`, at most WINDOW ahead of its reader, which holds
 * some of them for a while before asking for the next (the client reads the following frames
 * meanwhile); checks each payload when taken and again just before moving on. Returns how
 * many distinct buffers carried them.
 */
async function exchange(tx: IpcClient, rx: IpcClient, size: number): Promise<number> {
  const sent = Array.from({ length: 4 }, (_, i) => payload(i, size));
  let taken = 0;
  const waker: { wake: (() => void) | null } = { wake: null };
  const sending = (async () => {
    for (let i = 0; i < COUNT; i++) {
      // at most WINDOW frames ahead of the reader, so the number of buffers in use is bounded
      while (i - taken >= WINDOW) await new Promise<void>((resolve) => waker.wake = resolve);
      // fresh bytes per payload index: the sender's buffers are written from, not copied
      if (i >= 4) sent[i % 4] = payload(i, size);
      await tx.send(rx.name, sent[i % 4], QoS.Processed);
    }
  })();
  const buffers = new Set<ArrayBufferLike>();
  const frames = rx[Symbol.asyncIterator]();
  for (let i = 0; i < COUNT; i++) {
    const { value } = await frames.next();
    const frame = value as Frame;
    assert.ok(isPayload(frame.payload, i, size), `payload ${i} as taken`);
    buffers.add(frame.payload.buffer);
    taken = i + 1;
    waker.wake?.();
    // held while the client reads the next frames: never overwritten while the application has it
    if (i % 3 === 0) await delay(15);
    assert.ok(isPayload(frame.payload, i, size), `payload ${i} before asking for the next`);
  }
  await sending;
  return buffers.size;
}

for (const kind of BROKER_KINDS) {
  for (const transport of TRANSPORTS) {
    Deno.test(`borrowed large payloads (${kind}, ${transport}): buffers reused, a held payload intact`, async () => {
      await withBroker(kind, async (broker) => {
        const address = broker.address(transport);
        const tx = await connect(address, { name: "tx", timeout: 5 });
        const owned = await connect(address, { name: "rx.owned", timeout: 5 });
        const borrowed = await connect(address, {
          name: "rx.borrowed",
          timeout: 5,
          largePayloads: "borrowed",
        });
        try {
          assert.equal(owned.largePayloads, "owned");
          assert.equal(borrowed.largePayloads, "borrowed");
          // 1 MiB: over the 256 KiB of the ordinary read buffer
          assert.equal(await exchange(tx, owned, MiB), COUNT, "owned: a buffer per payload");
          const reused = await exchange(tx, borrowed, MiB);
          assert.ok(reused <= 6, `borrowed: ${reused} buffers for ${COUNT} payloads`);
          // small payloads are views of the ordinary read buffer either way, and stay valid
          await tx.send("rx.borrowed", new Uint8Array(1000).fill(5), QoS.Processed);
          const { value } = await borrowed[Symbol.asyncIterator]().next();
          assert.deepEqual((value as Frame).payload, new Uint8Array(1000).fill(5));
        } finally {
          await Promise.all([tx.close(), owned.close(), borrowed.close()]);
        }
      });
    });
  }
}

Deno.test("borrowed large payloads: refused where frames are read ahead of the application", async () => {
  await withBus(async (bus) => {
    await assert.rejects(
      connect(bus.unix, { name: "a", largePayloads: "borrowed", reconnect: true }),
      TypeError,
    );
    await assert.rejects(
      // @ts-expect-error: not one of the values
      connect(bus.unix, { name: "a", largePayloads: "lent" }),
      RangeError,
    );
    const client = await connect(bus.unix, { name: "b", largePayloads: "borrowed" });
    try {
      assert.throws(() => new RpcClient(client), TypeError);
    } finally {
      await client.close();
    }
  });
});
