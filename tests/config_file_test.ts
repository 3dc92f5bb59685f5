/**
 * The broker configuration file: a good file starts every listener with its
 * options and AAA; bad files are refused with the JSON path of the field and
 * nothing starts.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import {
  applyBrokerConfig,
  brokerOptionsFromConfig,
  loadBrokerConfig,
  parseBrokerConfig,
} from "../broker/config_file.ts";
import { connect } from "../client/ipc_client.ts";
import { tlsDial } from "../transport/tls_dial.ts";
import { ErrorCode, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { silentLogger } from "../log/logger.ts";
import { hasOpenssl, makeTestPki } from "./_certs.ts";
import { settle } from "./_helpers.ts";

const OPENSSL = await hasOpenssl();
if (!OPENSSL) console.warn("config_file_test.ts: `openssl` not found, the TLS config test is skipped");

/** Asserts that parsing `config` fails with an error whose message names `path` and matches `reason`. */
function assertRefused(
  config: unknown,
  path: string,
  reason: RegExp,
  kind: ErrorConstructor = TypeError,
): void {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  assert.throws(() => parseBrokerConfig(text, "test.json"), (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
    const message = (err as Error).message;
    assert.ok(message.startsWith(`Invalid config "test.json": `), message);
    assert.ok(message.includes(`${path}: `), `"${message}" names ${path}`);
    assert.match(message, reason);
    return true;
  });
}

const tcp = (extra: Record<string, unknown> = {}) => ({ bind: "127.0.0.1:0", ...extra });

Deno.test("parseBrokerConfig() reads listeners, options, socket modes and AAA permissions", () => {
  const config = parseBrokerConfig(
    JSON.stringify({
      queueSize: 1000,
      forceRegister: true,
      logLevel: "warn",
      _comment: "notes are allowed in _ fields",
      listeners: [
        {
          bind: "/run/busrt.sock",
          socketMode: "0660",
          timeout: 2.5,
          bufSize: 4096,
          bufTtl: 0,
          payloadLimit: null,
        },
        { bind: "/run/b.sock", socketMode: 416 },
        {
          bind: "127.0.0.1:7777",
          queueSize: 50,
          payloadLimit: 1024,
          aaa: {
            clientA: {
              hosts: ["127.0.0.1/32", "::1"],
              p2p: ["svc.*"],
              publish: false,
              subscribe: "any",
              broadcast: "deny",
            },
            "svc.db": {},
          },
        },
      ],
    }),
    "/etc/busrt/busrt.config.json",
  );
  assert.deepEqual(config.broker, { queueSize: 1000, forceRegister: true });
  assert.equal(config.logLevel, "warn");
  assert.equal(config.listeners.length, 3);
  const [unix, unix2, tcpL] = config.listeners;
  assert.equal(unix.transport, "unix");
  assert.deepEqual(unix.server, {
    socketMode: 0o660,
    timeout: 2.5,
    bufSize: 4096,
    bufTtl: 0,
    payloadLimit: null,
  });
  assert.equal(unix.aaa, null);
  assert.equal(unix2.server.socketMode, 0o640);
  assert.equal(tcpL.transport, "tcp");
  assert.deepEqual(tcpL.server, { queueSize: 50, payloadLimit: 1024 });
  const a = tcpL.aaa!.get("clientA")!;
  assert.deepEqual(a.toSpec(), {
    hosts: ["127.0.0.1/32", "::1/128"],
    p2p: ["svc.*"],
    publish: false,
    subscribe: true,
    broadcast: false,
  });
  assert.ok(tcpL.aaa!.has("svc.db"));
  assert.equal(brokerOptionsFromConfig(config, silentLogger).queueSize, 1000);
});

Deno.test("parseBrokerConfig() resolves TLS files against the config file's directory", () => {
  const config = parseBrokerConfig(
    JSON.stringify({
      listeners: [{
        bind: "tls://0.0.0.0:7777",
        tls: {
          cert: "server.crt",
          key: "/abs/server.key",
          ca: ["ca1.crt", "ca2.crt"],
          requireClientCert: true,
        },
      }],
    }),
    "/etc/busrt/busrt.config.json",
  );
  const l = config.listeners[0];
  assert.equal(l.transport, "tls");
  assert.equal(l.address, "0.0.0.0:7777");
  assert.deepEqual(l.tls, {
    cert: "/etc/busrt/server.crt",
    key: "/abs/server.key",
    ca: ["/etc/busrt/ca1.crt", "/etc/busrt/ca2.crt"],
    requireClientCert: true,
  });
});

Deno.test("parseBrokerConfig() refuses text that is not JSON", () => {
  assertRefused("{ listeners: [] }", "", /not valid JSON/, SyntaxError);
});

Deno.test("parseBrokerConfig() refuses a missing or empty listener list", () => {
  assertRefused({}, "listeners", /must be a list of listeners/);
  assertRefused({ listeners: [] }, "listeners", /at least one listener/);
  assertRefused([], "(root)", /must be an object/);
});

Deno.test("parseBrokerConfig() refuses unknown fields, naming them", () => {
  assertRefused({ listeners: [tcp()], queuesize: 1 }, "queuesize", /unknown field/);
  assertRefused({ listeners: [tcp({ timout: 1 })] }, "listeners[0].timout", /unknown field/);
  assertRefused(
    { listeners: [tcp({ aaa: { app: { publsh: [] } } })] },
    "listeners[0].aaa.app.publsh",
    /unknown field/,
  );
});

Deno.test("parseBrokerConfig() refuses bad binds", () => {
  assertRefused({ listeners: [{}] }, "listeners[0].bind", /non-empty string/);
  assertRefused({ listeners: [{ bind: "localhost" }] }, "listeners[0].bind", /neither a unix socket path/);
  assertRefused({ listeners: [{ bind: "127.0.0.1:99999" }] }, "listeners[0].bind", /neither/);
  // a FIFO is no listener: it goes in the top-level "fifo" list
  assertRefused({ listeners: [{ bind: "fifo:/run/busrt.fifo" }] }, "listeners[0].bind", /not supported/);
  assertRefused({ listeners: [{ bind: "/tmp/a.sock" }], fifo: "/run/busrt.fifo" }, "fifo", /must be a list/);
  assertRefused(
    { listeners: [{ bind: "tls:///run/x.sock", tls: {} }] },
    "listeners[0].bind",
    /not tls:\/\/host:port/,
  );
  assertRefused(
    { listeners: [tcp({ bind: "127.0.0.1:1" }), tcp({ bind: "127.0.0.1:1" })] },
    "listeners[1].bind",
    /already bound by listeners\[0\]/,
  );
});

Deno.test("parseBrokerConfig() refuses out-of-range and mistyped listener options", () => {
  assertRefused({ listeners: [tcp({ timeout: 0 })] }, "listeners[0].timeout", /greater than 0/, RangeError);
  assertRefused({ listeners: [tcp({ timeout: "5" })] }, "listeners[0].timeout", /must be a number/);
  assertRefused({ listeners: [tcp({ bufSize: 1.5 })] }, "listeners[0].bufSize", /whole number/);
  assertRefused({ listeners: [tcp({ bufTtl: -1 })] }, "listeners[0].bufTtl", /at least 0/, RangeError);
  assertRefused({ listeners: [tcp({ queueSize: 0 })] }, "listeners[0].queueSize", /1 to/, RangeError);
  assertRefused({ listeners: [tcp()], queueSize: -5 }, "queueSize", /1 to/, RangeError);
  assertRefused({ listeners: [tcp()], forceRegister: "yes" }, "forceRegister", /true or false/);
  assertRefused({ listeners: [tcp()], logLevel: "loud" }, "logLevel", /one of debug/);
});

Deno.test("parseBrokerConfig() refuses bad socket modes and modes on non-unix binds", () => {
  assertRefused(
    { listeners: [{ bind: "/tmp/x.sock", socketMode: "0999" }] },
    "listeners[0].socketMode",
    /octal/,
    RangeError,
  );
  assertRefused(
    { listeners: [{ bind: "/tmp/x.sock", socketMode: 660 }] },
    "listeners[0].socketMode",
    /octal/,
    RangeError,
  );
  assertRefused(
    { listeners: [tcp({ socketMode: "0660" })] },
    "listeners[0].socketMode",
    /unix socket binds only/,
  );
});

Deno.test("parseBrokerConfig() refuses inconsistent TLS settings", () => {
  assertRefused({ listeners: [{ bind: "tls://127.0.0.1:1" }] }, "listeners[0].tls", /is required/);
  assertRefused(
    { listeners: [tcp({ tls: { cert: "a", key: "b" } })] },
    "listeners[0].tls",
    /tls:\/\/host:port binds only/,
  );
  assertRefused(
    { listeners: [{ bind: "tls://127.0.0.1:1", tls: { key: "b" } }] },
    "listeners[0].tls.cert",
    /non-empty/,
  );
  assertRefused(
    { listeners: [{ bind: "tls://127.0.0.1:1", tls: { cert: "a", key: "b", requireClientCert: true } }] },
    "listeners[0].tls.ca",
    /required when requireClientCert/,
  );
  assertRefused(
    { listeners: [{ bind: "tls://127.0.0.1:1", tls: { cert: "a", key: "b", ca: "c" } }] },
    "listeners[0].tls.ca",
    /only with requireClientCert/,
  );
});

Deno.test("parseBrokerConfig() refuses bad AAA entries, naming the field", () => {
  const withAaa = (aaa: unknown) => ({ listeners: [tcp(), tcp({ bind: "127.0.0.1:2", aaa })] });
  assertRefused(
    withAaa({ clientA: { hosts: ["10.0.0/8"] } }),
    "listeners[1].aaa.clientA.hosts[0]",
    /not an IPv4 or IPv6 network/,
  );
  assertRefused(
    withAaa({ clientA: { hosts: "10.0.0.0/8" } }),
    "listeners[1].aaa.clientA.hosts",
    /must be a list/,
  );
  assertRefused(withAaa({ clientA: { hosts: [7] } }), "listeners[1].aaa.clientA.hosts[0]", /network string/);
  assertRefused(
    withAaa({ clientA: { publish: "nobody" } }),
    "listeners[1].aaa.clientA.publish",
    /list of patterns/,
  );
  assertRefused(withAaa({ clientA: { p2p: ["a", 1] } }), "listeners[1].aaa.clientA.p2p[1]", /pattern string/);
  assertRefused(withAaa({ "app%%1": {} }), 'listeners[1].aaa["app%%1"]', /not a client primary name/);
  assertRefused(withAaa({ ".broker": {} }), 'listeners[1].aaa[".broker"]', /not a client primary name/);
  assertRefused(withAaa({ clientA: [] }), "listeners[1].aaa.clientA", /must be an object/);
  assertRefused(withAaa(["clientA"]), "listeners[1].aaa", /must be an object/);
});

Deno.test("parseBrokerConfig() lists every problem of a file", () => {
  assert.throws(
    () =>
      parseBrokerConfig(
        JSON.stringify({ logLevel: 1, listeners: [{ bind: "x" }, tcp({ timeout: -1 })] }),
        "t.json",
      ),
    (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /3 problems/);
      for (const path of ["logLevel", "listeners[0].bind", "listeners[1].timeout"]) {
        assert.ok(err.message.includes(`\n  ${path}: `), `${err.message} names ${path}`);
      }
      return true;
    },
  );
});

Deno.test("loadBrokerConfig() names the file it cannot read", async () => {
  await assert.rejects(
    loadBrokerConfig("/nonexistent/busrt.json"),
    /Cannot read config "\/nonexistent\/busrt.json"/,
  );
});

Deno.test("applyBrokerConfig() starts unix and TCP listeners with their options, defaults and AAA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-config-" });
  const path = `${dir}/busrt.config.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      forceRegister: true,
      listeners: [
        { bind: `${dir}/open.sock`, socketMode: "0600", timeout: 5 },
        { bind: "127.0.0.1:0", timeout: 5, aaa: { app: { hosts: ["127.0.0.1"], publish: "deny" } } },
      ],
    }),
  );
  const config = await loadBrokerConfig(path);
  const broker = new Broker({ logger: silentLogger });
  try {
    const [unix, tcpListener] = await applyBrokerConfig(broker, config, {
      defaults: { timeout: 9, bufSize: 1234 },
    });
    assert.equal(broker.forceRegister, true);
    assert.equal(unix.config.timeout, 5, "the file's value wins");
    assert.equal(unix.config.bufSize, 1234, "the default fills in");
    assert.equal((await Deno.stat(`${dir}/open.sock`)).mode! & 0o777, 0o600);
    const anyone = await connect(`${dir}/open.sock`, { name: "anyone" });
    await assert.rejects(
      connect(tcpListener.bind, { name: "anyone" }),
      (e) => e instanceof BusError && e.isAccessDenied(),
    );
    const app = await connect(tcpListener.bind, { name: "app" });
    await assert.rejects(
      app.publish("x", "y", QoS.Processed),
      (e) => e instanceof BusError && e.code === ErrorCode.Access,
    );
    await Promise.all([anyone.close(), app.close()]);
  } finally {
    await broker.close();
    await settle();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyBrokerConfig() starts nothing when a listener cannot bind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-config-" });
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = `127.0.0.1:${(blocker.addr as Deno.NetAddr).port}`;
  const broker = new Broker({ logger: silentLogger });
  try {
    const config = parseBrokerConfig(
      JSON.stringify({ listeners: [{ bind: `${dir}/first.sock` }, { bind: taken }] }),
      "inline",
    );
    await assert.rejects(applyBrokerConfig(broker, config), (err: Error) => {
      assert.match(err.message, /listeners\[1\]\.bind: cannot listen on "127\.0\.0\.1:\d+"/);
      return true;
    });
    assert.equal(broker.listeners.length, 0, "the first listener was closed again");
    await assert.rejects(Deno.stat(`${dir}/first.sock`), Deno.errors.NotFound);
  } finally {
    blocker.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyBrokerConfig() refuses unreadable or non-PEM TLS files before starting anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-config-" });
  await Deno.writeTextFile(`${dir}/not.pem`, "hello");
  const broker = new Broker({ logger: silentLogger });
  try {
    const missing = parseBrokerConfig(
      JSON.stringify({
        listeners: [
          { bind: `${dir}/first.sock` },
          { bind: "tls://127.0.0.1:0", tls: { cert: "missing.crt", key: "not.pem" } },
        ],
      }),
      `${dir}/busrt.json`,
    );
    await assert.rejects(
      applyBrokerConfig(broker, missing),
      /listeners\[1\]\.tls\.cert: cannot read ".*missing\.crt"/,
    );
    assert.equal(broker.listeners.length, 0);
    await Deno.writeTextFile(`${dir}/ok.crt`, "-----BEGIN CERTIFICATE-----\n");
    const notPem = parseBrokerConfig(
      JSON.stringify({ listeners: [{ bind: "tls://127.0.0.1:0", tls: { cert: "ok.crt", key: "not.pem" } }] }),
      `${dir}/busrt.json`,
    );
    await assert.rejects(
      applyBrokerConfig(broker, notPem),
      /listeners\[0\]\.tls\.key: ".*not\.pem" is not a PEM file/,
    );
    assert.equal(broker.listeners.length, 0);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "applyBrokerConfig() starts a TLS listener requiring client certificates",
  ignore: !OPENSSL,
  async fn() {
    const pki = await makeTestPki();
    const path = `${pki.dir}/busrt.config.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        listeners: [{
          bind: "tls://127.0.0.1:0",
          tls: { cert: "server.crt", key: "server.key", ca: "ca.crt", requireClientCert: true },
          aaa: { app: { publish: false } },
        }],
      }),
    );
    const broker = new Broker({ logger: silentLogger });
    try {
      const [listener] = await applyBrokerConfig(broker, await loadBrokerConfig(path));
      const dial = tlsDial({ caCerts: [pki.ca.cert], cert: pki.clients.app.cert, key: pki.clients.app.key });
      const app = await connect(`tls://${listener.bind}`, { name: "app", dial });
      await assert.rejects(
        app.publish("a", "b", QoS.Processed),
        (e) => e instanceof BusError && e.isAccessDenied(),
      );
      await app.close();
      const otherDial = tlsDial({
        caCerts: [pki.ca.cert],
        cert: pki.clients.other.cert,
        key: pki.clients.other.key,
      });
      await assert.rejects(
        connect(`tls://${listener.bind}`, { name: "other", dial: otherDial }),
        (e) => e instanceof BusError && e.isAccessDenied(),
        "certified, but not in the AAA map",
      );
    } finally {
      await broker.close();
      await settle();
      await pki.remove();
    }
  },
});

Deno.test("the example config file is valid", async () => {
  const config = await loadBrokerConfig(new URL("../examples/busrt.config.json", import.meta.url).pathname);
  assert.ok(config.listeners.length >= 2);
});

Deno.test("parseBrokerConfig() reads the fifo list, resolving relative paths against the file's directory", () => {
  const config = parseBrokerConfig(
    JSON.stringify({
      listeners: [{ bind: "/run/busrt/busrt.sock" }],
      fifo: ["cmd.fifo", "/run/busrt/b.fifo"],
    }),
    "/etc/busrt/busrt.config.json",
  );
  assert.deepEqual(config.fifos, ["/etc/busrt/cmd.fifo", "/run/busrt/b.fifo"]);
  assertRefused({ listeners: [{ bind: "/tmp/a.sock" }], fifo: [""] }, "fifo[0]", /must be a file path/);
});
