// Issue #12 item 4: a wildcard in a checked subscription pattern or broadcast mask is covered only by a
// permission wildcard of at least the same reach, at the same level or above.
import assert from "node:assert/strict";
import { AaaMap, type BusError, ClientAaa, QoS } from "../mod.ts";
import { describeFrames, framesBeforeMarker, startBus } from "./_helpers.ts";

const isAccessDenied = (err: BusError) => err.isAccessDenied();

Deno.test("AAA: a one-level subscribe permission does not admit the multi-level wildcard", async () => {
  const aaa = new AaaMap({
    any1: new ClientAaa().allowSubscribeTo(["+"]),
    dev: new ClientAaa().allowSubscribeTo(["dev/+/status"]),
    secret: new ClientAaa(),
  });
  const bus = await startBus({ config: { timeout: 30, policy: aaa } });
  try {
    const any1 = await bus.client("any1");
    await assert.rejects(any1.subscribe("#", QoS.Processed), isAccessDenied);
    await any1.subscribe(["+", "top"], QoS.Processed);

    const dev = await bus.client("dev");
    for (const denied of ["dev/#/status", "dev/#", "#", "dev/+/#", "+/+/status"]) {
      await assert.rejects(dev.subscribe(denied, QoS.Processed), isAccessDenied, denied);
    }
    await dev.subscribe(["dev/+/status", "dev/a/status"], QoS.Processed);
    const publisher = await bus.client("secret");
    const marker = bus.broker.registerClient("marker");
    await publisher.publish("dev/secret/keys", "k", QoS.Processed);
    await publisher.publish("dev/a/status", "up", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(dev, marker)), ["pub:secret:dev/a/status:up"]);
  } finally {
    await bus.close();
  }
});

Deno.test("AAA: a one-segment broadcast permission does not admit the rest-wildcard mask", async () => {
  const aaa = new AaaMap({
    caster: new ClientAaa().allowBroadcastTo(["?.status", "grp.*"]),
    "x.other": new ClientAaa(),
  });
  const bus = await startBus({ config: { timeout: 30, policy: aaa } });
  try {
    const caster = await bus.client("caster");
    const other = await bus.client("x.other");
    for (const denied of ["*.status", "*", "?.*", "grp", "?.?"]) {
      await assert.rejects(caster.broadcast(denied, "x", QoS.Processed), isAccessDenied, denied);
    }
    for (const allowed of ["?.status", "a.status", "grp.*", "grp.a.*", "grp.?", "grp.?.*"]) {
      await caster.broadcast(allowed, "ok", QoS.Processed);
    }
    const marker = bus.broker.registerClient("marker");
    assert.deepEqual(describeFrames(await framesBeforeMarker(other, marker)), []);
  } finally {
    await bus.close();
  }
});
