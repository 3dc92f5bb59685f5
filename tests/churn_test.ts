/**
 * Churn: 1,000 cycles of clients connecting and vanishing abruptly (no
 * goodbye), with secondaries that must go when their primary goes. The
 * names are reused every cycle, so a registration left behind would refuse
 * the next one (0x76); at the end nothing is registered or connected.
 *
 * @module
 */
import assert from "node:assert/strict";
import { prng, waitFor, withBus } from "./_helpers.ts";

const CYCLES = 1000;
const WORKERS = 4;

/** Registers `name` by hand over a fresh connection; returns it, or the refusal code. */
async function register(address: string, name: string): Promise<Deno.Conn | number> {
  const conn = address.startsWith("/")
    ? await Deno.connect({ transport: "unix", path: address })
    : await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(address.slice(address.lastIndexOf(":") + 1)),
    });
  const read = async (n: number) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n;) {
      const got = await conn.read(out.subarray(off));
      if (got === null) throw new Error(`connection of "${name}" closed during the handshake`);
      off += got;
    }
    return out;
  };
  await conn.write(await read(3));
  await read(1);
  const bytes = new TextEncoder().encode(name);
  await conn.write(new Uint8Array([bytes.length & 0xff, bytes.length >> 8, ...bytes]));
  const code = (await read(1))[0];
  if (code === 0x01) return conn;
  conn.close();
  return code;
}

Deno.test("churn: 1,000 connect / abrupt close / secondary cascade cycles leave no registration behind", async () => {
  await withBus(async (bus) => {
    let cycles = 0;
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      const rnd = prng(77 + w);
      const primary = `churn.${w}`;
      const secondary = `${primary}%%1`;
      for (let i = 0; i < CYCLES / WORKERS; i++) {
        const address = rnd() < 0.5 ? bus.unix : bus.tcp;
        const p = await register(address, primary);
        assert.ok(typeof p !== "number", `cycle ${i}: "${primary}" refused with 0x${p.toString(16)}`);
        const variant = Math.floor(rnd() * 3);
        if (variant === 0) {
          p.close(); // abrupt: no flush, no goodbye
        } else {
          const s = await register(rnd() < 0.5 ? bus.unix : bus.tcp, secondary);
          assert.ok(typeof s !== "number", `cycle ${i}: "${secondary}" refused with 0x${s.toString(16)}`);
          if (variant === 1) {
            p.close(); // the cascade must take the secondary and close its socket
            const closed = await s.read(new Uint8Array(64)).then((n) => n, () => null);
            assert.ok(closed === null || closed === 0, "the secondary's socket stayed open");
            s.close();
          } else {
            s.close();
            await waitFor(() => !bus.broker.isRegistered(secondary), 5000, `"${secondary}" to leave`);
            p.close();
          }
        }
        await waitFor(
          () => !bus.broker.isRegistered(primary) && !bus.broker.isRegistered(secondary),
          5000,
          `"${primary}" and its secondary to leave (cycle ${i})`,
        );
        cycles++;
      }
    }));
    assert.equal(cycles, CYCLES);
    assert.deepEqual(bus.broker.clientNames(), []);
    await waitFor(
      () => bus.broker.listeners.reduce((n, l) => n + l.connections, 0) === 0,
      5000,
      "every connection to end",
    );
    assert.equal(bus.broker.stats().r_frames, 0);
  });
});
