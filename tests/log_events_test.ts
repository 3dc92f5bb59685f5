/**
 * Connection lifecycle log events: connects, registrations and disconnects
 * at info level with name, kind, source and the reason of a disconnect
 * (closed, timeout, overflow, AAA, replaced), and `serve --log-format json`
 * writing one JSON object a line.
 */
import assert from "node:assert/strict";
import { AaaMap, Broker, BusError, ClientAaa, connect, QoS } from "../mod.ts";
import type { LineLevel, LogFields, Logger } from "../log/logger.ts";
import { CliProcess } from "./_cli_helpers.ts";
import { waitFor, WireClient } from "./_helpers.ts";

interface Captured {
  level: LineLevel;
  event: string;
  message: string;
  fields: LogFields;
}

function capturingLogger(): Logger & { events: Captured[] } {
  const events: Captured[] = [];
  const plain = (level: LineLevel) => (message: string) =>
    events.push({ level, event: "log", message, fields: {} });
  return {
    events,
    debug: plain("debug"),
    info: plain("info"),
    warn: plain("warn"),
    error: plain("error"),
    event: (level, event, message, fields) => events.push({ level, event, message, fields }),
  };
}

function disconnects(log: { events: Captured[] }, name: string): Captured[] {
  return log.events.filter((e) => e.event === "client.disconnected" && e.fields.name === name);
}

Deno.test("log events: connects, registrations and disconnects with name, kind, source and reason", async () => {
  const log = capturingLogger();
  const broker = new Broker({ logger: log, forceRegister: true });
  const aaa = new AaaMap();
  aaa.set("guarded", new ClientAaa().allowHosts(["10.0.0.0/8"]));
  const dir = await Deno.makeTempDir({ prefix: "busrt-log-" });
  try {
    const unix = await broker.serveUnix(`${dir}/busrt.sock`, { timeout: 1, queueBytes: 1 << 20 });
    const tcp = await broker.serveTcp("127.0.0.1:0", { timeout: 1, policy: aaa });

    // closed
    const a = await connect(unix.bind, { name: "a", timeout: 30 });
    const registered = log.events.find((e) => e.event === "client.registered" && e.fields.name === "a");
    assert.deepEqual(registered?.fields, { name: "a", kind: "local_ipc", source: null, listener: unix.bind });
    assert.equal(registered?.level, "info");
    assert.ok(log.events.some((e) => e.event === "connection.accepted" && e.fields.listener === unix.bind));
    await a.close();
    await waitFor(() => disconnects(log, "a").length === 1, 5000, "a disconnected");
    assert.equal(disconnects(log, "a")[0].fields.reason, "closed");

    // replaced (force-register)
    const first = await connect(unix.bind, { name: "b", timeout: 30 });
    const second = await connect(unix.bind, { name: "b", timeout: 30 });
    await waitFor(() => disconnects(log, "b").length === 1, 5000, "first b replaced");
    assert.equal(disconnects(log, "b")[0].fields.reason, "replaced");
    await first.close();
    await second.close();

    // timeout: registered, then silent
    const silent = await WireClient.open(unix.bind);
    assert.equal(await silent.handshake("silent"), 1);
    await waitFor(() => disconnects(log, "silent").length === 1, 5000, "silent dropped");
    assert.equal(disconnects(log, "silent")[0].fields.reason, "timeout");
    silent.close();

    // overflow: a client that does not read, over queueBytes
    const stuck = await WireClient.open(unix.bind);
    assert.equal(await stuck.handshake("stuck"), 1);
    stuck.startPinging(200);
    const sender = broker.registerClient("sender");
    const chunk = new Uint8Array(512 * 1024);
    for (let i = 0; i < 40 && disconnects(log, "stuck").length === 0; i++) {
      try {
        sender.send("stuck", chunk, QoS.No);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        break; // dropped already (the frame that overflowed is not delivered)
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => disconnects(log, "stuck").length === 1, 5000, "stuck dropped");
    assert.equal(disconnects(log, "stuck")[0].fields.reason, "overflow");
    stuck.close();

    // AAA: refused by the access policy
    await assert.rejects(connect(tcp.bind, { name: "guarded", timeout: 5 }), BusError);
    const refused = log.events.find((e) => e.event === "client.refused");
    assert.equal(refused?.fields.reason, "AAA");
    assert.equal(refused?.fields.kind, "tcp");
    assert.match(String(refused?.fields.source), /^127\.0\.0\.1:\d+$/);
    await waitFor(
      () => log.events.some((e) => e.event === "connection.closed" && e.fields.reason === "AAA"),
      5000,
      "refused connection closed",
    );
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --log-format json: every line of the log is one JSON object", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-log-" });
  const sock = `${dir}/busrt.sock`;
  const serve = new CliProcess(["serve", "-B", sock, "--log-format", "json"]);
  try {
    await serve.stderr.waitFor(/"broker ready \(pid \d+\)"/);
    const client = await connect(sock, { name: "json.client" });
    await serve.stderr.waitFor(/"client\.registered"/);
    await client.close();
    await serve.stderr.waitFor(/"client\.disconnected"/);
  } finally {
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    await Deno.remove(dir, { recursive: true });
  }
  const lines = serve.stderr.text.split("\n").filter((line) => line !== "");
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const r of records) {
    assert.deepEqual(Object.keys(r), ["time", "level", "event", "message", "fields"]);
    assert.ok(!Number.isNaN(Date.parse(String(r.time))));
  }
  const registered = records.find((r) => r.event === "client.registered")!;
  assert.deepEqual(registered.fields, {
    name: "json.client",
    kind: "local_ipc",
    source: null,
    listener: sock,
  });
  const gone = records.find((r) => r.event === "client.disconnected")!;
  assert.equal((gone.fields as LogFields).reason, "closed");
  assert.equal(records.at(-1)!.message, "broker stopped");
});
