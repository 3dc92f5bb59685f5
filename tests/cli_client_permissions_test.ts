/**
 * Client commands name every missing Deno permission in one run (Deno itself
 * stops at the first: read, then write, then net, one run each), and run
 * under exactly the flags they name.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { CliProcess } from "./_cli_helpers.ts";

async function runWith(denoFlags: string[], args: string[]) {
  return await new CliProcess(args, ["--no-prompt", ...denoFlags]).finish();
}

Deno.test("a client command names all the missing permissions at once, and works with them", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  try {
    const sock = `${dir}/b.sock`;
    await broker.serveUnix(sock);
    const { bind } = await broker.serveTcp("127.0.0.1:0");
    const [none, partly, tls, granted] = await Promise.all([
      runWith([], ["-s", sock, "-n", "p1", "broker", "test"]),
      runWith([`--allow-read=${sock}`], ["-s", sock, "-n", "p2", "send", "x", "y"]),
      runWith([], [
        "-s",
        `tls://${bind}`,
        "--tls-ca",
        `${dir}/ca.pem`,
        "--tls-cert",
        `${dir}/c.pem`,
        "--tls-key",
        `${dir}/k.pem`,
        "listen",
      ]),
      runWith([`--allow-net=unix:${sock}`, `--allow-read=${sock}`, `--allow-write=${sock}`], [
        "-s",
        sock,
        "-n",
        "p3",
        "broker",
        "test",
      ]),
    ]);
    const all = `--allow-net=unix:${sock} --allow-read=${sock} --allow-write=${sock}`;
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `busrt: Missing Deno permissions to connect to "${sock}": run again with ${all}\n`,
    );
    assert.equal(partly.code, 1);
    assert.equal(
      partly.stderr,
      `busrt: Missing Deno permissions to connect to "${sock}": run again with --allow-net=unix:${sock} --allow-write=${sock}\n`,
    );
    assert.equal(tls.code, 1);
    assert.equal(
      tls.stderr,
      `busrt: Missing Deno permissions to connect to "tls://${bind}": run again with --allow-net=${bind} ` +
        `--allow-read=${dir}/ca.pem,${dir}/c.pem,${dir}/k.pem\n`,
    );
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, /"ok": true/);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
