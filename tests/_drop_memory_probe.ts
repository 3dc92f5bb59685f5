/**
 * Subprocess of `memory_release_test.ts` (run with `--v8-flags=--expose-gc`):
 * a broker in this process, a subscriber that never reads, ~48 MiB queued for
 * it, then the subscriber and the publisher leave. Prints one JSON line with
 * the external memory (ArrayBuffers) at the baseline, at the peak and after a
 * full GC with every client gone.
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";

const PAYLOAD = 64 * 1024;
const FRAMES = 768; // 48 MiB queued for the subscriber

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

async function collect(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc!();
  }
  return Deno.memoryUsage().external;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const until = performance.now() + 20_000;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Registers `name` by hand and subscribes to `topic`; never reads afterwards. */
async function silentSubscriber(path: string, name: string, topic: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ transport: "unix", path });
  const read = async (n: number) => {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const got = await conn.read(out.subarray(off));
      if (got === null) throw new Error("closed during the handshake");
      off += got;
    }
    return out;
  };
  const greeting = await read(3);
  await conn.write(greeting);
  await read(1);
  const nameBytes = new TextEncoder().encode(name);
  await conn.write(new Uint8Array([nameBytes.length & 0xff, nameBytes.length >> 8, ...nameBytes]));
  if ((await read(1))[0] !== 0x01) throw new Error("registration refused");
  const t = new TextEncoder().encode(topic);
  const frame = new Uint8Array(9 + t.length);
  frame[4] = 0x02; // SUBSCRIBE, QoS 0
  new DataView(frame.buffer).setUint32(5, t.length, true);
  frame.set(t, 9);
  await conn.write(frame);
  return conn;
}

const dir = await Deno.makeTempDir({ prefix: "busrt-drop-" });
const path = `${dir}/busrt.sock`;
const broker = new Broker();
await broker.serveUnix(path, { timeout: 30 });
const baseline = await collect();

const publisher = await connect(path, { name: "publisher", timeout: 30 });
// accepted last: before the fix the accept loop kept this session alive
const subscriber = await silentSubscriber(path, "silent", "load/x");
await waitFor(() => broker.clientList().some((c) => c.name === "silent" && c.r_frames === 1), "subscription");
const payload = new Uint8Array(PAYLOAD).fill(0x5a);
for (let i = 0; i < FRAMES - 1; i++) publisher.publish("load/x", payload);
await publisher.publish("load/x", payload, QoS.Processed);
const peak = Deno.memoryUsage().external;

subscriber.close();
await waitFor(() => !broker.isRegistered("silent"), "the subscriber to leave");
await publisher.close();
await waitFor(() => broker.listeners[0].connections === 0, "every connection to end");
const after = await collect();
await broker.close();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({ baseline, peak, after }));
