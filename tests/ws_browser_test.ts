/**
 * A real browser on the bus: headless Chromium loads the example page
 * (examples/browser/) with the browser bundle built by
 * tools/bundle_browser.ts, connects to the broker over WebSocket with a
 * token in the query, subscribes, publishes, calls `.broker test` through
 * the RPC layer, calls a Deno client and answers its calls, and publishes
 * its results, which this test reads and checks. A screenshot of the page
 * is kept in a temporary directory. Skipped, with one line, when Chromium is
 * not installed or cannot run.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { memoryLogger } from "../log/logger.ts";
import { QoS } from "../protocol/constants.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { pack } from "../rpc/msgpack.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { servePage } from "../examples/browser/serve.ts";
import { bundleBrowser } from "../tools/bundle_browser.ts";
import { findChromium, HeadlessChromium } from "./_chromium.ts";
import { text, withTimeout } from "./_helpers.ts";

const CHROMIUM = await findChromium();

interface PageResults {
  ok: boolean;
  name: string;
  userAgent: string;
  steps: Record<string, { ok: boolean; detail: string }>;
  peerReply?: string;
  fromPeer?: { sender: string; text: string };
  echoCalls?: number;
  error?: string;
}

Deno.test({
  name: "browser: Chromium runs the example page over ws (pub/sub, .broker test, RPC both ways with Deno)",
  ignore: CHROMIUM === null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-browser-test-" });
    const { bytes } = await bundleBrowser({ output: `${dir}/busrt.browser.js` });
    assert.ok(bytes > 10_000, `the bundle has ${bytes} bytes`);

    const log = memoryLogger();
    const broker = new Broker({ logger: log });
    enableCoreRpc(broker);
    const listener = await broker.serve("ws://127.0.0.1:0/bus", { token: "browser-s3cret", timeout: 5 });
    const page = servePage({ port: 0, bundle: `${dir}/busrt.browser.js` });

    const results = Promise.withResolvers<PageResults>();
    const echoed = Promise.withResolvers<string>();
    const peer = new RpcClient(await connect(listener.bind, { name: "deno.peer", token: "browser-s3cret" }), {
      handlers: {
        onCall: (call) =>
          call.method === "greet" ? `hello ${call.unpack<{ from: string }>().from}, from Deno` : undefined,
        async onFrame(frame) {
          if (frame.topic === "browser/result") results.resolve(JSON.parse(text(frame.payload)));
          if (frame.topic === "demo/ready") {
            const reply = await peer.call(text(frame.payload), "echo", pack({ n: 42, s: "round trip" }));
            echoed.resolve(JSON.stringify(reply.unpack()));
            await peer.client.publish("demo/from-deno", "hi browser, from Deno", QoS.Processed);
          }
        },
      },
    });
    await peer.client.subscribe(["browser/result", "demo/ready"], QoS.Processed);

    let browser: HeadlessChromium | null = null;
    try {
      try {
        browser = await HeadlessChromium.launch(CHROMIUM!);
      } catch (err) {
        console.log(
          `ws_browser_test.ts: skipped: Chromium cannot run here (${(err as Error).message.split("\n")[0]})`,
        );
        return;
      }
      const query = new URLSearchParams({
        bus: listener.bind,
        token: "browser-s3cret",
        name: "browser.test",
        peer: "deno.peer",
      });
      await browser.open(`${page.url}?${query}`);
      let got: PageResults;
      try {
        got = await withTimeout(results.promise, 20_000, "the page's results on browser/result");
      } catch (err) {
        throw new Error(`${(err as Error).message}; page console:\n${browser.console.join("\n")}`);
      }
      assert.ok(
        got.ok,
        `the page reports a failure: ${JSON.stringify(got, null, 2)}\n${browser.console.join("\n")}`,
      );
      assert.match(got.userAgent, /Chrome/);
      assert.deepEqual(Object.keys(got.steps), [
        "connect",
        "subscribe",
        "publish + receive",
        ".broker test (RPC)",
        "RPC call deno.peer.greet",
        "message from deno.peer",
      ]);
      assert.equal(got.steps[".broker test (RPC)"].detail, "reply: true");
      assert.equal(got.peerReply, "hello browser.test, from Deno");
      assert.deepEqual(got.fromPeer, { sender: "deno.peer", text: "hi browser, from Deno" });
      assert.equal(got.echoCalls, 1);
      assert.equal(await echoed.promise, JSON.stringify({ n: 42, s: "round trip" }));
      const row = broker.clientList().find((c) => c.name === "browser.test");
      assert.equal(row?.kind, "websocket");
      assert.match(row?.source ?? "", /^127\.0\.0\.1:\d+$/);

      const shot = `${dir}/browser-page.png`;
      await browser.screenshot(shot);
      assert.ok((await Deno.stat(shot)).size > 1000);
      console.log(`ws_browser_test.ts: screenshot of the page: ${shot}`);
    } finally {
      await browser?.close();
      await peer.close();
      await broker.close();
      await page.close();
    }
  },
});

if (CHROMIUM === null) {
  console.log(
    "ws_browser_test.ts: skipped: Chromium not found (apt-get install chromium, or set CHROMIUM_BIN)",
  );
}
