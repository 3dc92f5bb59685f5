/**
 * The HTTP monitoring endpoint (`Broker.serveHttp`) against real unix and
 * TCP clients: its numbers match `client.list` and `stats`, the token is
 * enforced, `/healthz` flips at the start of shutdown, `/metrics` passes
 * the real `promtool check metrics`, and bad requests never hurt the broker.
 */
import assert from "node:assert/strict";
import { QoS } from "../protocol/mod.ts";
import type { HttpMonitor, MonitorClient, MonitorStats, MonitorSubscription } from "../broker/mod.ts";
import { delay, startBus, type TestBus, waitFor } from "./_helpers.ts";
import { findPromtool, promtoolCheck } from "./_promtool.ts";

async function get(monitor: HttpMonitor, path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(`${monitor.url}${path}`, init);
}

async function getJson<T>(monitor: HttpMonitor, path: string): Promise<T> {
  const res = await get(monitor, path);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json() as T;
}

async function status(monitor: HttpMonitor, path: string, init: RequestInit = {}): Promise<number> {
  const res = await get(monitor, path, init);
  await res.body?.cancel();
  return res.status;
}

/** A bus with clients on both transports, a secondary, subscriptions and some traffic. */
async function busyBus(): Promise<{ bus: TestBus; monitor: HttpMonitor }> {
  const bus = await startBus({ core: true });
  const monitor = await bus.broker.serveHttp({ hostname: "127.0.0.1", port: 0 });
  const opts = { timeout: 30 };
  const a = await bus.client("sensor.a", "unix", opts);
  const b = await bus.client("sensor.b", "tcp", opts);
  const c = await bus.client("app", "tcp", opts);
  await bus.client("app%%1", "unix", opts);
  await a.subscribe("data/#", QoS.Processed);
  await b.subscribe(["data/#", "cmd/+"], QoS.Processed);
  for (let i = 0; i < 20; i++) await c.publish(`data/${i}`, "x".repeat(i), QoS.Processed);
  await c.send("sensor.a", "hello", QoS.Processed);
  await waitFor(() => bus.broker.clientList().every((r) => r.queue === 0), 5000, "queues drained");
  return { bus, monitor };
}

Deno.test("HTTP monitor: stats, clients and subscriptions match the broker's own numbers", async () => {
  const { bus, monitor } = await busyBus();
  try {
    const stats = await getJson<MonitorStats>(monitor, "/api/stats");
    const own = bus.broker.stats();
    for (const key of ["r_frames", "r_bytes", "w_frames", "w_bytes"] as const) {
      assert.equal(stats[key], own[key], key);
    }
    assert.ok(stats.r_frames > 20);
    assert.equal(stats.closing, false);
    assert.equal(typeof stats.version, "string");
    assert.deepEqual(stats.clients.primaries, 4); // .broker, app, sensor.a, sensor.b
    assert.deepEqual(stats.clients.secondaries, 1);
    assert.deepEqual(stats.clients.by_kind, { internal: 1, local_ipc: 2, tcp: 2, websocket: 0, worker: 0 });
    assert.equal(stats.queued_frames, 0);
    assert.deepEqual(
      stats.listeners.map((l) => [l.bind, l.connections, l.clients, l.secondaries]),
      [[bus.unix, 2, 1, 1], [bus.tcp, 2, 2, 0]],
    );
    // every client is subscribed to .broker/warn, plus data/# twice and cmd/+
    assert.equal(stats.subscriptions, 5 + 3);
    assert.equal(stats.topics, 3);

    const { clients } = await getJson<{ clients: MonitorClient[] }>(monitor, "/api/clients");
    const list = bus.broker.clientList();
    assert.deepEqual(
      clients.map(({ name, kind, source, port, r_frames, r_bytes, w_frames, w_bytes, queue, instances }) => ({
        name,
        kind,
        source,
        port,
        r_frames,
        r_bytes,
        w_frames,
        w_bytes,
        queue,
        instances,
      })),
      list,
    );
    const app = clients.find((c) => c.name === "app")!;
    assert.equal(app.instances, 2);
    assert.equal(app.queue_bytes, 0);
    assert.ok(Math.abs(Date.parse(app.connected_since) - Date.now()) < 60_000);
    assert.equal(clients.find((c) => c.name === "sensor.b")!.subscriptions, 3);

    const filtered = await getJson<{ clients: MonitorClient[] }>(
      monitor,
      `/api/clients?filter=${encodeURIComponent("^sensor\\.")}`,
    );
    assert.deepEqual(filtered.clients.map((c) => c.name), ["sensor.a", "sensor.b"]);

    const { subscriptions } = await getJson<{ subscriptions: MonitorSubscription[] }>(
      monitor,
      "/api/subscriptions",
    );
    assert.deepEqual(subscriptions, [
      { topic: ".broker/warn", subscribers: 5 },
      { topic: "data/#", subscribers: 2 },
      { topic: "cmd/+", subscribers: 1 },
    ]);
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: recent rates follow the traffic", async () => {
  const { bus, monitor } = await busyBus();
  try {
    const pub = bus.broker.registerClient("pub");
    const stop = Date.now() + 1300;
    while (Date.now() < stop) {
      for (let i = 0; i < 50; i++) pub.publish("data/x", "payload");
      await delay(10);
    }
    const stats = await getJson<MonitorStats>(monitor, "/api/stats");
    assert.ok(stats.rates.r_frames > 100, `r_frames/s ${stats.rates.r_frames}`);
    assert.ok(stats.rates.w_frames > 100, `w_frames/s ${stats.rates.w_frames}`);
    const { clients } = await getJson<{ clients: MonitorClient[] }>(monitor, "/api/clients?filter=^pub$");
    assert.ok(clients[0].rates.r_frames > 100, `pub r_frames/s ${clients[0].rates.r_frames}`);
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: the bearer token is required, a wrong one refused", async () => {
  const bus = await startBus();
  const monitor = await bus.broker.serveHttp({ port: 0, token: "s3cret-t0ken" });
  try {
    assert.equal(monitor.hostname, "127.0.0.1");
    for (
      const path of ["/healthz", "/api/stats", "/api/clients", "/api/subscriptions", "/metrics", "/nope"]
    ) {
      const res = await get(monitor, path);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="busrt"');
      await res.body?.cancel();
      assert.equal(await status(monitor, path, { headers: { authorization: "Bearer wrong" } }), 401);
      assert.equal(await status(monitor, path, { headers: { authorization: "Bearer s3cret-t0ke" } }), 401);
    }
    const auth = { headers: { authorization: "Bearer s3cret-t0ken" } };
    assert.equal(await status(monitor, "/api/stats", auth), 200);
    assert.equal(await status(monitor, "/metrics?token=s3cret-t0ken"), 200);
    assert.equal(await status(monitor, "/nope", auth), 404);
    await assert.rejects(bus.broker.serveHttp({ token: "" }), TypeError);
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: /healthz answers 503 as soon as shutdown begins, the endpoint stops last", async () => {
  const bus = await startBus({ config: { timeout: 2 } });
  const monitor = await bus.broker.serveHttp({ port: 0 });
  const res = await get(monitor, "/healthz");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok\n");
  // a client that never reads keeps the shutdown going (its queue is flushed until the write timeout)
  await bus.wire("stuck", "tcp");
  const sender = bus.broker.registerClient("sender");
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 16; i++) sender.send("stuck", chunk);
  await waitFor(
    () => bus.broker.clientList().some((c) => c.name === "stuck" && c.queue > 0),
    5000,
    "backlog",
  );
  const closing = bus.broker.close();
  let closed = false;
  closing.then(() => closed = true);
  const during = await get(monitor, "/healthz");
  assert.equal(during.status, 503);
  assert.equal(await during.text(), "shutting down\n");
  const metrics = await (await get(monitor, "/metrics")).text();
  assert.match(metrics, /^busrt_up 0$/m);
  assert.equal(closed, false, "the endpoint answered while the broker was closing");
  await closing;
  await assert.rejects(fetch(`${monitor.url}/healthz`));
  await bus.close();
});

Deno.test("HTTP monitor: bad requests get 4xx and the broker keeps serving", async () => {
  const { bus, monitor } = await busyBus();
  try {
    assert.equal(await status(monitor, "/api/stats", { method: "POST", body: "x" }), 405);
    assert.equal(await status(monitor, "/api/clients", { method: "DELETE" }), 405);
    assert.equal(await status(monitor, "/../etc/passwd"), 404);
    assert.equal(await status(monitor, "/api/clients?filter=(unclosed"), 400);
    assert.equal(await status(monitor, `/api/clients?filter=${"(a|".repeat(2000)}`), 400);
    assert.equal(await status(monitor, `/api/clients?filter=${encodeURIComponent("^(a+)+$")}`), 200);
    assert.equal(await status(monitor, "/api/stats?x=%ZZ"), 200);
    // a raw request that is not HTTP at all
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: monitor.port });
    await conn.write(new TextEncoder().encode("\x00\x01garbage\r\n\r\n"));
    const buf = new Uint8Array(1024);
    await conn.read(buf).catch(() => null);
    conn.close();
    assert.equal(await status(monitor, "/healthz"), 200);
    assert.equal(bus.broker.clientList().length, 4);
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: /metrics passes promtool check metrics, per-client series only when asked", async (t) => {
  const promtool = await findPromtool();
  const { bus, monitor } = await busyBus();
  const perClient = await bus.broker.serveHttp({ port: 0, clientMetrics: true });
  try {
    const res = await get(monitor, "/metrics");
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const own = bus.broker.stats();
    assert.match(text, new RegExp(`^busrt_received_frames_total ${own.r_frames}$`, "m"));
    assert.match(text, new RegExp(`^busrt_sent_bytes_total ${own.w_bytes}$`, "m"));
    assert.match(text, /^busrt_clients\{kind="tcp"\} 2$/m);
    assert.match(text, /^busrt_up 1$/m);
    assert.match(text, new RegExp(`^busrt_listener_clients\\{listener="${bus.tcp}"\\} 2$`, "m"));
    assert.doesNotMatch(text, /client="/);
    const detailed = await (await get(perClient, "/metrics")).text();
    assert.match(
      detailed,
      /^busrt_client_received_frames_total\{client="app",kind="tcp",listener="[^"]+"\} \d+$/m,
    );
    if (promtool === null) {
      console.log("promtool not found (Debian package prometheus): promtool check skipped");
      return;
    }
    for (const [name, body] of [["default", text], ["per client", detailed]] as const) {
      await t.step(`promtool check metrics (${name})`, async () => {
        const { code, report } = await promtoolCheck(promtool, body);
        assert.equal(code, 0, report);
        assert.equal(report.trim(), "", report);
      });
    }
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: pages of /api/clients at 1,000 clients, the dashboard page and its event stream", async () => {
  const bus = await startBus();
  const monitor = await bus.broker.serveHttp({ port: 0 });
  try {
    for (let i = 0; i < 1000; i++) bus.broker.registerClient(`c.${String(i).padStart(4, "0")}`);
    const page = await getJson<{ clients: MonitorClient[]; total: number }>(
      monitor,
      "/api/clients?offset=990&limit=50",
    );
    assert.equal(page.total, 1000);
    assert.deepEqual(page.clients.map((c) => c.name), Array.from({ length: 10 }, (_, i) => `c.0${990 + i}`));
    const filtered = await getJson<{ clients: MonitorClient[]; total: number }>(
      monitor,
      "/api/clients?limit=5&filter=%5Ec%5C.00",
    );
    assert.equal(filtered.total, 100);
    assert.equal(filtered.clients.length, 5);
    assert.equal(await status(monitor, "/api/clients?offset=-1"), 400);
    assert.equal(await status(monitor, "/api/clients?limit=1e3"), 400);
    const subs = await getJson<{ subscriptions: MonitorSubscription[] }>(
      monitor,
      "/api/subscriptions?limit=1",
    );
    assert.deepEqual(subs.subscriptions, [{ topic: ".broker/warn", subscribers: 1000 }]);

    const html = await get(monitor, "/");
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(html.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const body = await html.text();
    assert.match(body, /EventSource/);
    assert.doesNotMatch(body, /https?:\/\//, "nothing from another origin");

    const events = await get(monitor, "/api/events");
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: stats\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /^event: history\ndata: \[/);
    const stats = JSON.parse(/event: stats\ndata: (.*)\n/.exec(text)![1]);
    assert.equal(stats.stats.clients.primaries, 1000);
    assert.equal(typeof stats.point.t, "number");
    await reader.cancel();
  } finally {
    await bus.close();
  }
});

Deno.test("HTTP monitor: open event streams end when the broker closes", async () => {
  const bus = await startBus();
  const monitor = await bus.broker.serveHttp({ port: 0 });
  const events = await get(monitor, "/api/events");
  const reader = events.body!.getReader();
  await reader.read();
  await bus.close();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
});
