/**
 * `busrt serve -B fifo:PATH` and the config file's `fifo` list: the FIFO is
 * served next to socket listeners with least-privilege flags, a line
 * reaches a client, and shutdown removes the pipe; without
 * `--allow-run=mkfifo` serve names that flag.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { CliProcess } from "./_cli_helpers.ts";
import { nextFrame, text } from "./_helpers.ts";

const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

async function exists(path: string): Promise<boolean> {
  return (await Deno.lstat(path).catch(() => null)) !== null;
}

/** Least privilege for a unix socket and a FIFO in `dir`. */
function flags(dir: string, extra: string[] = []): string[] {
  return [
    `--config=${DENO_JSON}`,
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-net=unix:${dir}/busrt.sock`,
    ...extra,
  ];
}

async function publishThrough(fifo: string, sock: string, line: string, topic: string): Promise<string> {
  const app = await connect(sock, { name: "app", timeout: 5 });
  try {
    await app.subscribe(topic, QoS.Processed);
    await Deno.writeTextFile(fifo, `${line}\n`);
    const f = await nextFrame(app);
    assert.equal(f.sender, ".broker");
    return text(f.payload);
  } finally {
    await app.close();
  }
}

Deno.test("serve -B fifo:PATH next to a unix socket: a line is published, shutdown removes the pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-fifo-" });
  const sock = `${dir}/busrt.sock`;
  const fifo = `${dir}/busrt.fifo`;
  const serve = new CliProcess(
    ["serve", "-B", sock, "-B", `fifo:${fifo}`],
    flags(dir, ["--allow-run=mkfifo"]),
  );
  try {
    await serve.stderr.waitFor(/broker ready/);
    assert.match(serve.stderr.text, new RegExp(`listening on fifo:${fifo.replaceAll(".", "\\.")}`));
    assert.equal((await Deno.stat(fifo)).mode! & 0o777, 0o622);
    assert.equal(await publishThrough(fifo, sock, "=alarm/1 hot", "alarm/#"), "hot");
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await exists(fifo), false, "the FIFO is removed at shutdown");
  } finally {
    serve.kill("SIGKILL");
    await serve.finish();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --config with a fifo list serves it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-fifo-" });
  const sock = `${dir}/busrt.sock`;
  await Deno.writeTextFile(
    `${dir}/busrt.json`,
    JSON.stringify({ listeners: [{ bind: sock }], fifo: ["cmd.fifo"] }),
  );
  const serve = new CliProcess(
    ["serve", "--config", `${dir}/busrt.json`],
    flags(dir, ["--allow-run=mkfifo"]),
  );
  try {
    await serve.stderr.waitFor(/broker ready/);
    assert.equal(await publishThrough(`${dir}/cmd.fifo`, sock, "=cfg/x from-config", "cfg/#"), "from-config");
  } finally {
    await serve.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve -B fifo: without --allow-run=mkfifo names the missing flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-fifo-" });
  const serve = new CliProcess(
    ["serve", "-B", `${dir}/busrt.sock`, "-B", `fifo:${dir}/busrt.fifo`],
    [...flags(dir), "--no-prompt"],
  );
  try {
    const result = await serve.finish();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--allow-run=mkfifo/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
