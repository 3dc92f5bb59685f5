/**
 * What the client commands say when they cannot reach a broker: what is
 * wrong with a `--socket` path (missing, a directory, another file), a
 * malformed `--socket` is a usage error (exit 2), and no failure names its
 * address twice ("Cannot connect to X: Cannot connect to X: …", "Cannot
 * listen on X: Cannot listen on X: …").
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { connect } from "../client/ipc_client.ts";
import { describeFailure } from "../cli/errors.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { type CliResult, runCli } from "./_cli_helpers.ts";

function occurrences(text: string, phrase: string): number {
  return text.toLowerCase().split(phrase.toLowerCase()).length - 1;
}

/** One line on stderr, the exit status, and `phrase` in it exactly once. */
function assertOnce(result: CliResult, code: number, line: RegExp, phrase: string): void {
  const where = JSON.stringify(result);
  assert.equal(result.code, code, where);
  assert.equal(result.stdout, "", where);
  assert.match(result.stderr, line, where);
  assert.equal(result.stderr.split("\n").filter((l) => l !== "").length, 1, where);
  assert.equal(occurrences(result.stderr, phrase), 1, where);
}

Deno.test("-s naming a directory, a regular file or a missing path says which, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file.sock`, "");
    const [directory, file, missing, missingDir] = await Promise.all([
      runCli(["-s", dir, "broker", "test"]),
      runCli(["-s", `${dir}/file.sock`, "send", "x", "y"]),
      runCli(["-s", `${dir}/missing.sock`, "listen"]),
      runCli(["-s", `${dir}/no/such/dir.sock`, "rpc", "call", "x", "m"]),
    ]);
    const phrase = "Cannot connect to";
    assertOnce(directory, 1, /^busrt: Cannot connect to "[^"]+": it is a directory, not a socket\n$/, phrase);
    assertOnce(
      file,
      1,
      /^busrt: Cannot connect to "[^"]+": it is not a socket but a regular file\n$/,
      phrase,
    );
    const gone = /^busrt: Cannot connect to "[^"]+": it does not exist \(is the broker running\?\)\n$/;
    assertOnce(missing, 1, gone, phrase);
    assertOnce(missingDir, 1, gone, phrase);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed or fifo: --socket is a usage error (exit 2) for every client command", async () => {
  const commands = [["broker", "test"], ["send", "x", "y"], ["listen"], ["rpc", "call", "x", "m"], [
    "benchmark",
  ]];
  const results = await Promise.all([
    ...commands.map((c) => runCli(["-s", "host::7777", ...c])),
    runCli(["-s", "fifo:/tmp/busrt.fifo", "client", "list"]),
  ]);
  for (const result of results.slice(0, commands.length)) {
    assertOnce(
      result,
      2,
      /^busrt: Invalid value "host::7777" for --socket: neither a unix socket path/,
      "--socket",
    );
  }
  assertOnce(
    results[commands.length],
    2,
    /^busrt: Invalid value "fifo:\/tmp\/busrt\.fifo" for --socket: the client commands do not dial fifo:/,
    "--socket",
  );
});

Deno.test("connect and listen failures name their address once: client, library, serve and config file", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  try {
    const { bind } = await broker.serveTcp("127.0.0.1:0");
    const closed = new Broker();
    const { bind: gone } = await closed.serveTcp("127.0.0.1:0");
    await closed.close();
    await Deno.writeTextFile(`${dir}/plain.sock`, "");
    await Deno.writeTextFile(`${dir}/busy.json`, JSON.stringify({ listeners: [{ bind }] }));
    const [refused, tlsRefused, busyTcp, plainFile, busyConfig] = await Promise.all([
      runCli(["-s", gone, "broker", "test"]),
      runCli(["-s", `tls://${gone}`, "broker", "test"]),
      runCli(["serve", "-B", bind]),
      runCli(["serve", "-B", `${dir}/plain.sock`]),
      runCli(["serve", "--config", `${dir}/busy.json`]),
    ]);
    const refusedLine =
      /^busrt: Cannot connect to "[^"]+": connection refused \(is the broker running\?\)\n$/;
    assertOnce(refused, 1, refusedLine, "Cannot connect to");
    assertOnce(tlsRefused, 1, refusedLine, "Cannot connect to");
    const lastLine = (r: CliResult) => ({ ...r, stderr: r.stderr.trimEnd().split("\n").at(-1) + "\n" });
    assertOnce(lastLine(busyTcp), 1, /^busrt: Cannot listen on "127\.0\.0\.1:\d+": /, "Cannot listen on");
    assertOnce(
      lastLine(plainFile),
      1,
      /^busrt: Cannot listen on "[^"]+": .*not a socket\n$/,
      "Cannot listen on",
    );
    assertOnce(
      lastLine(busyConfig),
      1,
      /^busrt: Cannot start config .*listen on "127\.0\.0\.1:\d+": /,
      "listen on",
    );
    // the library's own errors, and the CLI's line for them
    const err = await connect(`${dir}/missing.sock`, { name: "x" }).then(() => null, (e: Error) => e);
    assert.ok(err !== null);
    assert.equal(occurrences(err.message, "Cannot connect to"), 1, err.message);
    assert.equal(occurrences(describeFailure(err).line, "Cannot connect to"), 1, describeFailure(err).line);
    const listen = await broker.serveUnix(`${dir}/plain.sock`).then(() => null, (e: Error) => e);
    assert.ok(listen !== null);
    assert.equal(occurrences(listen.message, "Cannot listen on"), 1, listen.message);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
