/**
 * WebSocket binds from the command line and the configuration file:
 * `busrt serve -B ws://… --ws-token-file`, client commands with
 * `-s ws://… --token`, config listeners with `token` and `tls` for `wss://`,
 * and the refusals (a token without a WebSocket bind, client certificates
 * on `wss://`).
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { applyBrokerConfig, parseBrokerConfig } from "../broker/config_file.ts";
import { connect } from "../client/ipc_client.ts";
import { CliProcess, runCli } from "./_cli_helpers.ts";

Deno.test("busrt serve -B ws://… --ws-token-file: client commands reach it with -s ws://… --token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-ws-cli-" });
  await Deno.writeTextFile(`${dir}/token`, "cli-s3cret\n");
  const serve = new CliProcess([
    "serve",
    "-B",
    "ws://127.0.0.1:0/bus",
    "-B",
    `${dir}/busrt.sock`,
    "--ws-token-file",
    `${dir}/token`,
  ]);
  try {
    const [, url] = await serve.stderr.waitFor(/listening on (ws:\/\/127\.0\.0\.1:\d+\/bus)/);
    await serve.stderr.waitFor(/broker ready/);
    const ok = await runCli(["-s", url, "--token", "cli-s3cret", "broker", "test"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /"ok": true/);
    const client = await connect(url, { name: "lib.ws", token: "cli-s3cret" });
    const list = await runCli(["-s", url, "--token", "cli-s3cret", "--json", "client", "list"]);
    await client.close();
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /"name":"lib\.ws","kind":"websocket","source":"127\.0\.0\.1:\d+","port":"ws:/);
    const refused = await runCli(["-s", url, "--token", "guess", "broker", "test"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cannot connect to "ws:\/\/127\.0\.0\.1:\d+\/bus"/);
  } finally {
    const result = await serve.stop();
    await Deno.remove(dir, { recursive: true });
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test("busrt serve refuses a token without a WebSocket bind, both token options, and client certificates on wss", async () => {
  const lone = await runCli(["serve", "-B", "127.0.0.1:0", "--ws-token", "x"]);
  assert.equal(lone.code, 2, lone.stderr);
  assert.match(lone.stderr, /--ws-token and --ws-token-file need a ws:\/\/ or wss:\/\/ bind/);
  const both = await runCli(["serve", "-B", "ws://127.0.0.1:0", "--ws-token", "x", "--ws-token-file", "/x"]);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /exclude each other/);
  const wss = await runCli(["serve", "-B", "wss://127.0.0.1:0"]);
  assert.equal(wss.code, 2, wss.stderr);
  assert.match(wss.stderr, /needs --tls-cert and --tls-key/);
  const mtls = await runCli([
    "serve",
    "-B",
    "wss://127.0.0.1:0",
    "--tls-cert",
    "a.crt",
    "--tls-key",
    "a.key",
    "--tls-require-client-cert",
    "--tls-ca",
    "ca.crt",
  ]);
  assert.equal(mtls.code, 2, mtls.stderr);
  assert.match(mtls.stderr, /wss:\/\/ cannot ask for client certificates/);
});

Deno.test("config file: a ws listener with a path and a token; refusals for token, tls and client certificates", async () => {
  const config = parseBrokerConfig(
    JSON.stringify({ listeners: [{ bind: "ws://127.0.0.1:0/bus", token: "conf-s3cret", timeout: 3 }] }),
    "inline",
  );
  assert.equal(config.listeners[0].transport, "ws");
  assert.equal(config.listeners[0].token, "conf-s3cret");
  const broker = new Broker();
  try {
    const [listener] = await applyBrokerConfig(broker, config);
    assert.match(listener.bind, /^ws:\/\/127\.0\.0\.1:\d+\/bus$/);
    assert.equal(listener.config.timeout, 3);
    const client = await connect(listener.bind, { name: "app", token: "conf-s3cret" });
    await assert.rejects(connect(listener.bind, { name: "other" }));
    await client.close();
  } finally {
    await broker.close();
  }
  const refused = (listener: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => parseBrokerConfig(JSON.stringify({ listeners: [listener] }), "inline"), pattern);
  refused(
    { bind: "127.0.0.1:7777", token: "x" },
    /listeners\[0\]\.token: applies to ws:\/\/ and wss:\/\/ binds only/,
  );
  refused({ bind: "ws://127.0.0.1:7780", token: "" }, /listeners\[0\]\.token: must be a non-empty string/);
  refused({ bind: "wss://127.0.0.1:7780" }, /listeners\[0\]\.tls: is required for a wss:\/\/ bind/);
  refused(
    { bind: "ws://127.0.0.1:7780", tls: { cert: "a.crt", key: "a.key" } },
    /listeners\[0\]\.tls: applies to wss:\/\/ and tls:\/\/host:port binds only/,
  );
  refused(
    {
      bind: "wss://127.0.0.1:7780",
      tls: { cert: "a.crt", key: "a.key", ca: "ca.crt", requireClientCert: true },
    },
    /client certificates are not available on wss:\/\/ binds/,
  );
  assert.throws(
    () =>
      parseBrokerConfig(
        JSON.stringify({ listeners: [{ bind: "127.0.0.1:7777" }, { bind: "ws://127.0.0.1:7777/bus" }] }),
        "inline",
      ),
    /listeners\[1\]\.bind: "ws:\/\/127\.0\.0\.1:7777\/bus" is already bound by listeners\[0\]/,
  );
});
