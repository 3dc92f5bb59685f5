/**
 * Secondary clients (PROTOCOL.md §10): registration rules, cascade
 * disconnects, no announcements, `instances`, and the APIs that create them.
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import {
  announcementsBeforeMarker,
  describeFrames,
  expectEnded,
  framesBeforeMarker,
  type TestBus,
  TRANSPORTS,
  withBus,
  withoutNops,
  withTimeout,
} from "./_helpers.ts";

function instances(bus: TestBus, name: string): number | undefined {
  return bus.broker.clientList().find((c) => c.name === name)?.instances;
}

for (const transport of TRANSPORTS) {
  Deno.test(`a secondary needs its primary (71) and a free name (76, even with force_register) (${transport})`, async () => {
    await withBus(async (bus) => {
      const w = await bus.raw(transport);
      assert.equal(await w.handshake("p%%0"), 0x71);
      assert.equal(withoutNops(await w.expectClosed()).length, 0);
      const p = await bus.client("p", transport);
      const s = await bus.client("p%%0", transport);
      const again = await bus.raw(transport);
      assert.equal(
        await again.handshake("p%%0"),
        0x76,
        "taken secondary name refused despite force_register",
      );
      assert.ok(s.isConnected() && p.isConnected());
      const deep = await bus.client("p%%worker%%x", transport);
      assert.equal(deep.name, "p%%worker%%x");
      assert.equal(instances(bus, "p"), 3);
    }, { broker: { forceRegister: true } });
  });

  Deno.test(`IPC secondaries are disconnected when their primary leaves (${transport})`, async () => {
    await withBus(async (bus) => {
      const p = await bus.client("p", transport);
      const s0 = await p.registerSecondary();
      const s1 = await p.registerSecondary();
      assert.deepEqual([s0.name, s1.name], ["p%%0", "p%%1"]);
      const other = await bus.client("q", transport);
      const q0 = await other.registerSecondary();
      await p.close();
      await withTimeout(Promise.all([s0.closed, s1.closed]), 2000, "secondaries of p closed");
      assert.ok(q0.isConnected(), "secondaries of another primary stay");
      assert.deepEqual(bus.broker.clientNames().sort(), ["q", "q%%0"]);
      // the primary may come back and start a new family
      const p2 = await bus.client("p", transport);
      const again = await connect(bus.address(transport), { name: "p%%0", timeout: 5 });
      assert.equal(instances(bus, "p"), 2);
      await again.close();
      assert.ok(p2.isConnected());
    });
  });
}

Deno.test("no reg/unreg announcements for secondaries; only primaries are listed, with instances", async () => {
  await withBus(async (bus) => {
    const watcher = await bus.client("watcher");
    await watcher.subscribe(".broker/info", QoS.Processed);
    const p = await bus.client("p");
    const s0 = await p.registerSecondary();
    const s1 = await p.registerSecondary();
    assert.equal(instances(bus, "p"), 3);
    assert.deepEqual(bus.broker.clientList().map((c) => c.name), [".broker", "p", "watcher"]);
    await s0.close();
    await withTimeout(
      (async () => {
        while (instances(bus, "p") !== 2) await new Promise((r) => setTimeout(r, 5));
      })(),
      2000,
      "instances drops to 2",
    );
    await p.close();
    await withTimeout(s1.closed, 2000, "s1 cascaded");
    const events = await announcementsBeforeMarker(watcher, watcher);
    assert.deepEqual(events, ["reg p", "unreg p"]);
  }, { core: true });
});

Deno.test("secondaries are independent clients for messages, subscriptions and senders", async () => {
  await withBus(async (bus) => {
    const p = await bus.client("p");
    const s = await p.registerSecondary();
    await p.subscribe("t", QoS.Processed);
    await s.subscribe("u", QoS.Processed);
    await s.publish("t", "from s", QoS.Processed);
    await p.publish("u", "from p", QoS.Processed);
    await p.send("p%%0", "direct", QoS.Processed);
    await s.broadcast("p", "exact primary only", QoS.Processed);
    const atP = await framesBeforeMarker(p, p);
    const atS = await framesBeforeMarker(s, p);
    assert.deepEqual(describeFrames(atP), ["pub:p%%0:t:from s", "bc:p%%0:exact primary only"]);
    assert.equal(atP[0].primarySender, "p");
    assert.deepEqual(describeFrames(atS), ["pub:p:u:from p", "msg:p:direct"]);
  });
});

Deno.test("IpcClient.registerSecondary refuses to be called on a secondary", async () => {
  await withBus(async (bus) => {
    const p = await bus.client("p");
    const s = await p.registerSecondary();
    await assert.rejects(s.registerSecondary(), TypeError);
    await s.close();
  });
});

Deno.test("in-process secondaries: registerSecondaryFor / registerSecondary, cascade on close", async () => {
  await withBus(async (bus) => {
    const broker = bus.broker;
    const ip = broker.registerClient("ip");
    const ipcSecondary = await bus.client("ip%%0"); // an IPC secondary of an in-process primary
    const s1 = broker.registerSecondaryFor(ip);
    const s2 = await ip.registerSecondary();
    assert.deepEqual([s1.name, s2.name], ["ip%%1", "ip%%2"], "taken suffixes are skipped");
    assert.equal(instances(bus, "ip"), 4);
    assert.equal(bus.broker.clientList().find((c) => c.name === "ip")?.kind, "internal");
    s1.send("ip%%0", "hello from in-process secondary");
    assert.deepEqual(describeFrames(await framesBeforeMarker(ipcSecondary, ipcSecondary)), [
      "msg:ip%%1:hello from in-process secondary",
    ]);
    await ip.close();
    await expectEnded(s1);
    await expectEnded(s2);
    await withTimeout(ipcSecondary.closed, 2000, "IPC secondary of the in-process primary disconnected");
    assert.deepEqual(broker.clientNames(), []);
    assert.throws(() => broker.registerSecondaryFor(ip), (e) => e instanceof BusError && e.isNotRegistered());
    assert.throws(
      () => broker.registerClient("gone%%0"),
      (e) => e instanceof BusError && e.isNotRegistered(),
    );
    const back = broker.registerClient("ip");
    broker.registerClient("ip%%5");
    assert.throws(() => broker.registerClient("ip%%5"), (e) => e instanceof BusError && e.isBusy());
    assert.equal(instances(bus, "ip"), 2);
    await back.close();
  });
});
