/**
 * `busrt serve --topic-limit N` bounds the subscriptions of one client: the
 * topics beyond it are refused with 0x74.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { CliProcess } from "./_cli_helpers.ts";

Deno.test("serve --topic-limit 2: a third subscription of one client is refused with 0x74", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/busrt.sock`;
  const serve = new CliProcess(["serve", "-B", sock, "--topic-limit", "2"]);
  try {
    await serve.stderr.waitFor(/broker ready/);
    const client = await connect(sock, { name: "many.topics", timeout: 5 });
    await client.subscribe(["a/1", "a/2"], QoS.Processed);
    await assert.rejects(client.subscribe("a/3", QoS.Processed), (err: unknown) => {
      assert.ok(err instanceof BusError, String(err));
      assert.equal(err.code, 0x74);
      return true;
    });
    await client.close();
  } finally {
    await serve.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});
