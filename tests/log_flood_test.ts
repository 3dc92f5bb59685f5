/**
 * Regression (issue #12, item 10): malformed input cannot flood the
 * broker's log (repeated warnings are rate-limited, with a count of what
 * was suppressed), and a failed bind names its address once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { applyBrokerConfig, parseBrokerConfig } from "../broker/config_file.ts";
import { Broker } from "../broker/broker.ts";
import { clientFrame, withBus } from "./_helpers.ts";

const CONNECTIONS = 120;

Deno.test("log flooding: 120 clients sending a malformed frame give a bounded number of WARN lines and a count", async () => {
  await withBus(async (bus) => {
    for (let i = 0; i < CONNECTIONS; i += 12) {
      await Promise.all(Array.from({ length: 12 }, async (_, j) => {
        const w = await bus.wire(`fuzz.${i + j}`);
        await w.write(clientFrame(1, 0x3f, 0, new Uint8Array(0))); // unknown operation
        await w.expectClosed();
        w.close();
      }));
    }
    await bus.broker.close(); // reports what was suppressed
    const warnings = bus.log.lines.filter((l) => l.startsWith("WARN"));
    const violations = warnings.filter((l) => l.includes("unknown operation"));
    assert.ok(violations.length >= 1 && violations.length <= 20, `${violations.length} lines`);
    const summary = warnings.find((l) => /more "protocol violation" warnings suppressed/.test(l));
    assert.ok(summary !== undefined, warnings.slice(-3).join(" | "));
    assert.equal(Number(/(\d+) more/.exec(summary)![1]) + violations.length, CONNECTIONS);
  });
});

Deno.test("log flooding: a bind that fails names its address once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-bind-" });
  const path = `${dir}/taken.sock`;
  const first = new Broker();
  await first.serveUnix(path);
  const second = new Broker();
  try {
    const config = parseBrokerConfig(JSON.stringify({ listeners: [{ bind: path }] }), "test.json");
    const err = await applyBrokerConfig(second, config).then(() => null, (e: Error) => e);
    assert.ok(err !== null);
    assert.equal(err.message.split(/cannot listen on/i).length - 1, 1, err.message);
    assert.match(err.message, /another server answers on it/);
  } finally {
    await second.close();
    await first.close();
    await Deno.remove(dir, { recursive: true });
  }
});
