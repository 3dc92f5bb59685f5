/**
 * `cli.ts` accepts the reference CLI's invocation form: `busrt [OPTIONS]
 * ADDRESS COMMAND …` with --silent, -v/--verbose, --buf-size, --queue-size
 * and --token (sent to ws:// brokers); -s keeps meaning --socket except
 * after a positional address or before another option.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { VERSION } from "../protocol/constants.ts";
import { runCli } from "./_cli_helpers.ts";
import { REFERENCE_UNAVAILABLE, runReferenceCli, withBroker } from "./_reference.ts";

Deno.test("the reference's form: address before the command, -s after it is --silent, -v, --buf-size, --queue-size", async () => {
  await withBroker("ours", async (broker) => {
    const test = await runCli([broker.unix, "-s", "broker", "test"]);
    assert.equal(test.code, 0, test.stderr);
    assert.equal(test.stdout, '{"ok":true}\n');

    const pretty = await runCli([broker.tcp, "broker", "test"]);
    assert.equal(pretty.stdout, '{\n  "ok": true\n}\n');

    const info = await runCli([
      "-s",
      "-n",
      "form.info",
      "-v",
      "--buf-size",
      "4096",
      "--queue-size",
      "16",
      broker.unix,
      "rpc",
      "call",
      ".broker",
      "info",
    ]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.stdout, `{"author":"@busrt/busrt","version":"${VERSION}"}\n`);
    assert.match(
      info.stderr,
      new RegExp(
        `^Connecting to ${broker.unix}, using service name form\\.info\\nRegistered as form\\.info\\n$`,
      ),
    );

    const list = await runCli(["--silent", broker.unix, "-n", "form.list", "broker", "client.list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^name +type .*\n-+ .*\n\.broker +internal/);

    // ours: -s followed by a value is --socket, and the output keeps its pretty form
    const ours = await runCli(["-s", broker.unix, "broker", "test"]);
    assert.equal(ours.stdout, '{\n  "ok": true\n}\n');
  });
});

Deno.test("--token reaches a ws:// broker that requires it, is noted as unused elsewhere; bad sizes and a lone address are refused", async () => {
  const broker = new Broker();
  enableCoreRpc(broker);
  const ws = await broker.serveWebSocket("ws://127.0.0.1:0/bus", { token: "s3cret" });
  const dir = await Deno.makeTempDir();
  const unix = `${dir}/bus.sock`;
  await broker.serveUnix(unix);
  try {
    const withToken = await runCli(["--token", "s3cret", ws.bind, "broker", "test"]);
    assert.equal(withToken.code, 0, withToken.stderr);
    assert.equal(withToken.stderr, "");
    assert.equal(withToken.stdout, '{\n  "ok": true\n}\n');
    const without = await runCli([ws.bind, "broker", "test"]);
    assert.equal(without.code, 1);
    assert.equal(without.stderr.split("\n").length, 2, without.stderr);

    const elsewhere = await runCli(["--token", "s3cret", unix, "broker", "test"]);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.equal(
      elsewhere.stderr,
      `busrt: note: --token is only sent to ws:// and wss:// brokers; not used for "${unix}"\n`,
    );
    const bad = await runCli([unix, "--buf-size", "0", "broker", "test"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^busrt: Invalid value "0" for --buf-size: must be at least 1/);
    const lone = await runCli([unix]);
    assert.equal(lone.code, 2);
    assert.equal(lone.stderr.split("\n").length, 2, lone.stderr);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "in the reference's form with --silent, rpc call and broker test print what the reference CLI prints",
  ignore: REFERENCE_UNAVAILABLE !== null,
  async fn() {
    await withBroker("busrtd", async (broker) => {
      for (
        const args of [["broker", "test"], ["rpc", "call", ".broker", "info"], [
          "rpc",
          "call",
          ".broker",
          "benchmark.test",
          "a=1",
          "b=x",
        ]]
      ) {
        const [ours, reference] = await Promise.all([
          runCli(["-s", "-n", "form.ours", broker.unix, ...args]),
          runReferenceCli(broker.unix, args, ["-s", "-n", "form.ref"]),
        ]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout, reference.stdout, args.join(" "));
      }
    });
  },
});
