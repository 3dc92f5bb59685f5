/**
 * The live dashboard (`GET /` of the HTTP monitoring endpoint) in a real
 * headless Chromium (tests/_chromium.ts: loopback only, killed by PID):
 * against a broker with unix and TCP clients and traffic, the clients table
 * shows them and the rate chart moves between two samples. The screenshot
 * goes to a temporary file (printed); with `BUSRT_DASHBOARD_PNG=PATH` it is
 * also written there (how docs/dashboard.png is made).
 */
import assert from "node:assert/strict";
import { Broker, connect, type IpcClient, QoS } from "../mod.ts";
import { findChromium, HeadlessChromium } from "./_chromium.ts";
import { delay } from "./_helpers.ts";

const CHROMIUM = await findChromium();

async function evaluate<T>(browser: HeadlessChromium, expression: string): Promise<T> {
  const reply = await browser.send("Runtime.evaluate", { expression, returnByValue: true }, true);
  const result = reply.result as { value?: T } | undefined;
  if (reply.exceptionDetails !== undefined) {
    throw new Error(`page: ${JSON.stringify(reply.exceptionDetails)}`);
  }
  return result?.value as T;
}

async function until<T>(browser: HeadlessChromium, expression: string, ok: (v: T) => boolean, what: string) {
  const deadline = Date.now() + 15_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await evaluate<T>(browser, expression);
    if (ok(last)) return last;
    await delay(100);
  }
  throw new Error(
    `${what}: last value ${JSON.stringify(last)}; page console:\n${browser.console.join("\n")}`,
  );
}

Deno.test({
  name: "dashboard: a real Chromium shows the clients and a moving rate chart, live over SSE",
  ignore: CHROMIUM === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-dashboard-" });
    const broker = new Broker();
    const unix = await broker.serveUnix(`${dir}/busrt.sock`);
    const tcp = await broker.serveTcp("127.0.0.1:0");
    const http = await broker.serveHttp({ hostname: "127.0.0.1", port: 0, token: "dash-t0ken" });
    const clients: IpcClient[] = [];
    let browser: HeadlessChromium | null = null;
    let running = true;
    try {
      for (let i = 0; i < 12; i++) {
        const bind = i % 2 === 0 ? unix.bind : tcp.bind;
        const c = await connect(bind, { name: `sensor.${String(i).padStart(2, "0")}` });
        await c.subscribe(i % 3 === 0 ? "data/#" : `data/${i}`, QoS.Processed);
        clients.push(c);
        (async () => {
          for await (const _ of c) { /* read, so that its queue never fills */ }
        })();
      }
      const publisher = broker.registerClient("publisher");
      const traffic = (async () => {
        let n = 0;
        while (running) {
          // a rate that changes over time, so that the chart moves
          const burst = 50 + 40 * Math.round(Math.sin(n++ / 3) * 2 + 2);
          for (let i = 0; i < burst; i++) publisher.publish(`data/${i % 12}`, "reading", QoS.No);
          await delay(20);
        }
      })();

      browser = await HeadlessChromium.launch(CHROMIUM!);
      await browser.open(`${http.url}/?token=dash-t0ken`);
      const names = await until<string[]>(
        browser,
        `[...document.querySelectorAll("#clients tr td:first-child")].map((td) => td.textContent)`,
        (v) => Array.isArray(v) && v.filter((n) => n.startsWith("sensor.")).length === 12,
        "the clients table lists the 12 clients",
      );
      assert.deepEqual(names, [
        "publisher",
        ...clients.map((_, i) => `sensor.${String(i).padStart(2, "0")}`),
      ]);
      const kinds = await evaluate<string[]>(
        browser,
        `[...document.querySelectorAll("#clients tr td:nth-child(2)")].map((td) => td.textContent)`,
      );
      assert.equal(kinds.filter((k) => k === "local_ipc").length, 6);
      assert.equal(kinds.filter((k) => k === "tcp").length, 6);
      assert.equal(await evaluate<string>(browser, `document.getElementById("total").textContent`), "13");

      const sample = `({ n: window.dashboard.samples, points: window.dashboard.points.length,
        chart: document.getElementById("chart").toDataURL(),
        last: window.dashboard.points.at(-1)?.rates.r_frames ?? 0 })`;
      type Sample = { n: number; points: number; chart: string; last: number };
      const first = await until<Sample>(
        browser,
        sample,
        (s) => s.n >= 2 && s.last > 0,
        "two samples with traffic",
      );
      const second = await until<Sample>(browser, sample, (s) => s.n >= first.n + 2, "two more samples");
      assert.ok(second.points > first.points, `points ${first.points} -> ${second.points}`);
      assert.notEqual(second.chart, first.chart, "the chart was redrawn with new points");
      const status = await evaluate<string>(browser, `document.getElementById("status").textContent`);
      assert.match(status, /^live/);

      // hidden tab: the event stream stops
      await browser.send("Emulation.setFocusEmulationEnabled", { enabled: false }, true);
      await evaluate(
        browser,
        `Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
         document.dispatchEvent(new Event("visibilitychange")); true`,
      );
      const paused = await evaluate<number>(browser, `window.dashboard.samples`);
      assert.equal(await evaluate<boolean>(browser, `window.dashboard.source === null`), true);
      await delay(1500);
      assert.equal(await evaluate<number>(browser, `window.dashboard.samples`), paused);

      const shot = `${dir}/dashboard.png`;
      await evaluate(
        browser,
        `Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
         document.dispatchEvent(new Event("visibilitychange")); true`,
      );
      await browser.send(
        "Emulation.setDeviceMetricsOverride",
        { width: 1200, height: 1100, deviceScaleFactor: 1, mobile: false },
        true,
      );
      await until<number>(browser, `window.dashboard.samples`, (n) => n >= paused + 3, "live again");
      const stats = broker.stats();
      assert.ok(stats.r_frames > 0);
      assert.equal(
        await evaluate<string>(browser, `document.getElementById("total").textContent`),
        String(broker.clientList().length),
      );
      await browser.screenshot(shot);
      assert.ok((await Deno.stat(shot)).size > 5000);
      console.log(`dashboard_browser_test.ts: screenshot of the dashboard: ${shot}`);
      const keep = Deno.env.get("BUSRT_DASHBOARD_PNG");
      if (keep !== undefined) await Deno.copyFile(shot, keep);
      running = false;
      await traffic;
    } finally {
      running = false;
      await browser?.close();
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

if (CHROMIUM === null) {
  console.log(
    "dashboard_browser_test.ts: skipped: Chromium not found (apt-get install chromium, or set CHROMIUM_BIN)",
  );
}
