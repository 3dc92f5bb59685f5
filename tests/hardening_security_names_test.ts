// Issue #12 item 5: a client name must not contain NUL, the separator of the frame layouts
// (sender\0payload, sender\0topic\0payload): such a name could pose as another client and inject topics.
import assert from "node:assert/strict";
import { AaaMap, ClientAaa } from "../mod.ts";
import { startBus, withBus } from "./_helpers.ts";

Deno.test("a name with NUL is refused with 0x72 and cannot pose as a connected client", async () => {
  await withBus(async (bus) => {
    const admin = await bus.wire("admin");
    const impostor = await bus.raw();
    assert.equal(await impostor.handshake("admin\0"), 0x72);
    assert.equal(await (await bus.raw("tcp")).handshake("\0"), 0x72);
    assert.deepEqual(bus.broker.clientNames(), ["admin"]);
    admin.close();
  });
});

Deno.test("under AAA, a NUL in a secondary's name cannot inject a topic into its publications", async () => {
  const aaa = new AaaMap({ alice: new ClientAaa().allowPublishTo(["alice/#"]) });
  const bus = await startBus({ config: { timeout: 30, policy: aaa } });
  try {
    const alice = await bus.wire("alice");
    const injector = await bus.raw();
    assert.equal(await injector.handshake("alice%%1\0secret/launch"), 0x72);
    assert.equal(await (await bus.raw()).handshake("alice%%2\0"), 0x72);
    assert.equal(bus.broker.clientNames().length, 1);
    // a well-formed secondary still registers
    assert.equal(await (await bus.raw()).handshake("alice%%3"), 0x01);
    alice.close();
  } finally {
    await bus.close();
  }
});
