/**
 * Regression (issue #12, item 7): exclusions are indexed (a client with
 * 100,000 of them does not slow every publication down), and one client's
 * subscriptions and exclusions are bounded per listener (`topicLimit`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { matchSegments, TopicPatternSet } from "../broker/topics.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { ackBytes, clientFrame, deliveredFrame, fieldsBody, prng, topicsBody, withBus } from "./_helpers.ts";

Deno.test("exclusions: the pattern index answers as a scan of every pattern would", () => {
  const rnd = prng(12);
  const words = ["a", "b", "", "+", "#"];
  const pick = () => words[Math.floor(rnd() * words.length)];
  const make = () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, pick).join("/");
  const set = new TopicPatternSet();
  const plain = new Set<string>();
  for (let round = 0; round < 3000; round++) {
    const p = make();
    if (rnd() < 0.35) assert.equal(set.delete(p), plain.delete(p));
    else {
      assert.equal(set.add(p), !plain.has(p));
      plain.add(p);
    }
    const topic = Array.from(
      { length: 1 + Math.floor(rnd() * 4) },
      () => ["a", "b", ""][Math.floor(rnd() * 3)],
    );
    const expected = [...plain].some((x) => matchSegments(x.split("/"), topic, "#", "+"));
    assert.equal(set.matches(topic), expected, `${topic.join("/")} against ${[...plain].join(" ")}`);
    assert.equal(set.size, plain.size);
  }
});

Deno.test("exclusions: 100,000 exclusions of one subscriber do not slow publications down", async () => {
  await withBus(async (bus) => {
    const heavy = await bus.client("heavy", "unix", { timeout: 30 });
    await heavy.subscribe("#", QoS.Processed);
    const patterns = Array.from({ length: 100_000 }, (_, i) => `ex/${i}/+/x`);
    await heavy.exclude(patterns, QoS.Processed);
    const publisher = bus.broker.registerClient("publisher");
    const payload = new Uint8Array(100);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) publisher.publish("ex/data/y/z", payload);
    const ms = performance.now() - t0;
    if (Deno.env.get("BUSRT_FIGURES") === "1") console.log({ msFor1000: ms });
    // unindexed, each publication scanned the 100,000 patterns: about a second for these 1000
    assert.ok(ms < 300, `1000 publications took ${ms.toFixed(0)} ms`);
    publisher.publish("ex/7/y/x", payload); // excluded
    publisher.publish("ex/7/y/z", payload); // not excluded
    let seen = 0;
    for await (const f of heavy) {
      if (f.topic === "ex/7/y/x") assert.fail("an excluded topic was delivered");
      if (f.topic === "ex/7/y/z") break;
      seen++;
    }
    assert.equal(seen, 1000);
  }, { config: { topicLimit: 200_000 } });
});

Deno.test("exclusions: subscriptions and exclusions beyond topicLimit are refused with 0x74", async () => {
  await withBus(async (bus) => {
    const w = await bus.wire("limited");
    // the broker's own `.broker/warn` subscription does not count: t/1..t/4 fit, t/5 does not
    await w.write(
      clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t/1", "t/2", "t/3", "t/4", "t/5"])),
    );
    await w.expectFrame(ackBytes(1, ErrorCode.Other), "subscriptions over the limit");
    await w.write(clientFrame(2, Op.Exclude, QoS.Processed, topicsBody(["x/1", "x/2", "x/3", "x/4"])));
    await w.expectFrame(ackBytes(2, ErrorCode.Ok), "4 exclusions fit");
    await w.write(clientFrame(3, Op.Exclude, QoS.Processed, topicsBody(["x/5"])));
    await w.expectFrame(ackBytes(3, ErrorCode.Other), "the fifth exclusion does not");
    const sender = await bus.wire("sender.l");
    await sender.write(clientFrame(4, Op.Publish, QoS.No, fieldsBody(["t/5"], "dropped")));
    await sender.write(clientFrame(5, Op.Publish, QoS.No, fieldsBody(["t/4"], "kept")));
    await w.expectFrame(deliveredFrame(Op.Publish, "sender.l", "t/4", "kept"));
    assert.ok(bus.log.lines.some((l) => l.includes("topicLimit")), bus.log.lines.join(" | "));
  }, { config: { topicLimit: 4 } });
});
