/**
 * Broker announcements (PROTOCOL.md §11): reg/unreg on `.broker/info` for
 * subscribers only, the `.broker/warn` auto-subscription, shutdown.
 */
import assert from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import { Op, QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import {
  framesBeforeMarker,
  type FrameSource,
  type MarkerSender,
  nextFrame,
  waitFor,
  withBus,
  withTimeout,
} from "./_helpers.ts";

interface Event {
  s: string;
  d?: string;
  t: bigint | number;
}

function event(f: Frame): Event {
  return decode(f.payload, { useBigInt64: true }) as Event;
}

/** `s d` of every announcement received before a marker. */
async function events(client: FrameSource, via: MarkerSender): Promise<string[]> {
  return (await framesBeforeMarker(client, via)).map((f) => {
    assert.equal(f.kind, Op.Publish);
    assert.equal(f.sender, ".broker");
    assert.equal(f.realtime, false, "announcements are QoS 0, not realtime");
    const e = event(f);
    return `${f.topic} ${e.s}${e.d === undefined ? "" : ` ${e.d}`}`;
  });
}

Deno.test("reg and unreg go to .broker/info subscribers only, with every matching pattern", async () => {
  await withBus(async (bus) => {
    const matching = [".broker/info", ".broker/+", ".broker/#", "+/info", "#"];
    const notMatching = [".broker", "x/#", ".broker/info/x"];
    const subs: [string, FrameSource][] = [];
    for (const [i, p] of [...matching, ...notMatching].entries()) {
      const c = await bus.client(`w${i}`);
      await c.subscribe(p, QoS.Processed);
      subs.push([p, c]);
    }
    const inproc = bus.broker.registerClient("inproc.watcher");
    inproc.subscribe(".broker/info");
    const plain = await bus.client("plain");
    const via = plain;

    const before = BigInt(Date.now()) * 1_000_000n;
    const x = await bus.client("x", "tcp");
    const ip = bus.broker.registerClient("ip");
    await x.close();
    await waitFor(() => !bus.broker.isRegistered("x"), 2000, "the broker noticing x left");
    await ip.close();
    const after = BigInt(Date.now() + 1) * 1_000_000n;

    const expected = [
      ".broker/info reg x",
      ".broker/info reg ip",
      ".broker/info unreg x",
      ".broker/info unreg ip",
    ];
    for (const [p, c] of subs) {
      const got = await events(c, via);
      if (matching.includes(p)) {
        // `#` and `.broker/#`-style subscribers registered later also saw the reg of those after them
        assert.deepEqual(got.filter((e) => / (x|ip)$/.test(e)), expected, `pattern "${p}"`);
      } else {
        assert.deepEqual(got, [], `pattern "${p}" gets nothing`);
      }
    }
    const inprocFrames = await framesBeforeMarker(inproc, via);
    assert.deepEqual(inprocFrames.map((f) => `${event(f).s} ${event(f).d}`), [
      "reg plain",
      "reg x",
      "reg ip",
      "unreg x",
      "unreg ip",
    ]);
    const t = BigInt(event(inprocFrames[1]).t);
    assert.ok(t >= before && t <= after, `t = ${t} is wall-clock nanoseconds`);
    assert.deepEqual(await events(plain, via), [], "a client that did not subscribe gets nothing");
  }, { core: true });
});

Deno.test("unreg is announced for a force-disconnect, not when the broker closes; nothing without .broker", async () => {
  await withBus(async (bus) => {
    const watcher = await bus.client("watcher");
    await watcher.subscribe(".broker/info", QoS.Processed);
    await bus.client("victim");
    bus.broker.forceDisconnect("victim");
    assert.deepEqual(await events(watcher, watcher), [
      ".broker/info reg victim",
      ".broker/info unreg victim",
    ]);
  }, { core: true });
  await withBus(async (bus) => {
    const watcher = await bus.client("watcher");
    await watcher.subscribe("#", QoS.Processed);
    const other = await bus.client("other");
    await other.close();
    bus.broker.announceShutdown();
    bus.broker.announce(".broker/info", "custom", "x");
    assert.deepEqual(await framesBeforeMarker(watcher, watcher), [], "no core client: no announcements");
  });
});

Deno.test("every client is subscribed to .broker/warn and receives the shutdown warning", async () => {
  await withBus(async (bus) => {
    const unix = await bus.client("unix.client");
    const tcp = await bus.client("tcp.client", "tcp");
    const sec = await unix.registerSecondary();
    const inproc = bus.broker.registerClient("inproc");
    const deaf = await bus.client("deaf");
    await deaf.unsubscribe(".broker/warn", QoS.Processed);
    const before = BigInt(Date.now()) * 1_000_000n;
    bus.broker.announceShutdown();
    for (const c of [unix, tcp, sec, inproc] as FrameSource[]) {
      const f = await nextFrame(c);
      assert.equal(f.topic, ".broker/warn", c.name);
      assert.equal(f.sender, ".broker");
      const e = event(f);
      assert.deepEqual(Object.keys(e), ["s", "t"], "shutdown has no d");
      assert.equal(e.s, "shutdown");
      assert.ok(BigInt(e.t) >= before);
    }
    assert.deepEqual(await framesBeforeMarker(deaf, unix), [], "unsubscribed from .broker/warn");
  }, { core: true });
});

Deno.test("a custom announcement has the same {s, d, t} shape on the chosen topic", async () => {
  await withBus(async (bus) => {
    const c = await bus.client("c");
    await c.subscribe("app/events", QoS.Processed);
    bus.broker.announce("app/events", "custom", "data");
    const f = await withTimeout(nextFrame(c), 2000, "announcement");
    assert.equal(f.topic, "app/events");
    const e = event(f);
    assert.deepEqual([e.s, e.d, typeof e.t], ["custom", "data", "bigint"]);
  }, { core: true });
});
