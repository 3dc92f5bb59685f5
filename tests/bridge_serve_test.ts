/**
 * `busrt serve --bridge … --node …` and the config file's `bridge` section:
 * a served broker process joined, through a real nats-server on 127.0.0.1,
 * to an in-process broker; the section's validation.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker, parseBrokerConfig } from "../broker/mod.ts";
import { Bridge } from "../bridge/mod.ts";
import { connect } from "../client/mod.ts";
import { QoS } from "../protocol/mod.ts";
import { RpcClient } from "../rpc/mod.ts";
import { CliProcess, runCli } from "./_cli_helpers.ts";
import { NATS_AVAILABLE, startNatsCluster } from "./_nats_cluster.ts";

Deno.test("the config file's bridge section parses to plain data, with paths named in errors", () => {
  const bridge = {
    servers: ["nats://127.0.0.1:4222", "127.0.0.1:4223"],
    node: "host-1",
    exports: ["sensors/#"],
    imports: ["#"],
    broadcast: true,
    requestTimeout: 0.25,
    bufferBytes: 1024,
    dropPolicy: "newest",
  };
  const config = parseBrokerConfig(
    JSON.stringify({ listeners: [{ bind: "127.0.0.1:7777" }], bridge }),
    "inline",
  );
  assert.deepEqual(config.bridge, bridge);
  const bad = (bridge: unknown) =>
    assert.throws(
      () => parseBrokerConfig(JSON.stringify({ listeners: [{ bind: "127.0.0.1:7777" }], bridge }), "inline"),
    );
  bad({ node: "a" });
  bad({ servers: ["nats://127.0.0.1:4222"], node: "a.b" });
  bad({ servers: ["http://x/y"], node: "a" });
  bad({ servers: ["nats://127.0.0.1:4222"], node: "a", dropPolicy: "random" });
  bad({ servers: ["nats://127.0.0.1:4222"], node: "a", nope: 1 });
  assert.throws(
    () =>
      parseBrokerConfig(
        JSON.stringify({ listeners: [{ bind: "127.0.0.1:7777" }], bridge: { servers: [], node: "a" } }),
        "inline",
      ),
    /bridge\.servers/,
  );
});

Deno.test("serve refuses --bridge without --node and a bad --bridge list", async () => {
  const a = await runCli(["serve", "-B", "127.0.0.1:0", "--bridge", "nats://127.0.0.1:4222"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--bridge needs --node/);
  const b = await runCli(["serve", "-B", "127.0.0.1:0", "--bridge", "http://127.0.0.1:1", "--node", "x"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /Invalid value "http:\/\/127\.0\.0\.1:1" for --bridge/);
});

Deno.test({
  name: "serve --bridge --node joins a broker process to another broker through nats-server",
  ignore: !NATS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "busrt-bridge-" });
    const nats = await startNatsCluster(1);
    const sock = `${dir}/s.sock`;
    const config = `${dir}/busrt.json`;
    // the node name from the flag, the rest from the config file
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        listeners: [{ bind: sock }],
        bridge: { servers: ["nats://127.0.0.1:1"], node: "cfg" },
      }),
    );
    const serve = new CliProcess(["serve", "--config", config, "--bridge", nats.nodes[0].url, "--node", "S"]);
    const local = new Broker();
    const bridge = Bridge.start(local, { servers: [nats.nodes[0].url], node: "L" });
    try {
      await serve.stderr.waitFor(/bridge: node "S" connected to NATS/);
      await bridge.connected;
      const svc = await connect(sock, { name: "svc" });
      const rpcSvc = new RpcClient(svc, {
        handlers: { onCall: (call) => `${call.method} from ${call.sender}` },
      });
      const app = new RpcClient(local.registerClient("app"));
      let reply: string | null = null;
      for (let i = 0; i < 50 && reply === null; i++) {
        try {
          reply = (await app.call("@S/svc", "ping")).unpack<string>();
        } catch {
          await new Promise((r) => setTimeout(r, 100)); // until the served bridge's subscription is known
        }
      }
      assert.equal(reply, "ping from @L/app");
      // the served broker's .broker stats show its bridge
      const stats = (await app.call("@S/.broker", "stats")).unpack<{ bridge: Record<string, unknown> }>();
      assert.equal(stats.bridge.node, "S");
      assert.equal(stats.bridge.state, "connected");
      // a publication from the served broker reaches the local one
      const sub = local.registerClient("sub");
      await sub.subscribe("from/#");
      await new Promise((r) => setTimeout(r, 200));
      await svc.publish("from/s", "hi", QoS.Processed);
      const { value } = await sub[Symbol.asyncIterator]().next();
      assert.equal(value?.sender, "@S/svc");
      assert.equal(value?.topic, "from/s");
      // and `busrt broker stats` prints them
      const table = await runCli(["-s", sock, "broker", "stats"]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /bridge\.state\s+connected/);
      assert.match(table.stdout, /bridge\.node\s+S/);
      await rpcSvc.close();
      await app.close();
      const result = await serve.stop("SIGTERM");
      assert.equal(result.code, 0, result.stderr);
    } finally {
      serve.kill("SIGKILL");
      await serve.finish();
      await bridge.close();
      await local.close();
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve --bridge names the net permission its NATS servers need", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-bridge-" });
  const sock = `${dir}/s.sock`;
  try {
    const serve = new CliProcess(
      ["serve", "-B", sock, "--bridge", "nats://127.0.0.1:4999,127.0.0.2", "--node", "S"],
      [`--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${sock}`],
    );
    const result = await serve.finish();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /needs --allow-net=127\.0\.0\.1:4999 \(to connect to "127\.0\.0\.1:4999"\)/);
    assert.match(result.stderr, /needs --allow-net=127\.0\.0\.2:4222 \(to connect to "127\.0\.0\.2:4222"\)/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
