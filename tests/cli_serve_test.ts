/**
 * `busrt serve` as a subprocess: clients through it, signals, pid and socket
 * files, least-privilege permission flags, config file and bad flags.
 */
import assert from "node:assert/strict";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { unpack } from "../rpc/msgpack.ts";
import { hasOpenssl, makeTestPki } from "./_certs.ts";
import { CliProcess, runCli } from "./_cli_helpers.ts";
import { nextFrame } from "./_helpers.ts";

const DENO_JSON = new URL("../deno.json", import.meta.url).pathname;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts `serve` and waits until it is ready; returns the process and its TCP bind if any. */
async function startServe(
  denoFlags: string[],
  args: string[],
): Promise<{ serve: CliProcess; tcp: string | null }> {
  const serve = new CliProcess(["serve", ...args], denoFlags);
  try {
    await serve.stderr.waitFor(/broker ready \(pid \d+\)/);
  } catch (err) {
    const result = await serve.stop("SIGKILL");
    throw new Error(`serve did not start (exit ${result.code}): ${result.stderr}`, { cause: err });
  }
  const tcp = serve.stderr.text.match(/listening on (127\.0\.0\.1:\d+)/)?.[1] ?? null;
  return { serve, tcp };
}

Deno.test("serve + listen + send: a message goes through the served broker, on unix and TCP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/busrt.sock`;
  const { serve, tcp } = await startServe(["-A"], ["-B", sock, "-B", "127.0.0.1:0"]);
  const listen = new CliProcess(["-s", sock, "-n", "cli.listen", "listen"]);
  try {
    assert.match(serve.stderr.text, new RegExp(`listening on ${sock.replaceAll(".", "\\.")}`));
    assert.ok(tcp !== null, serve.stderr.text);
    await listen.stdout.waitFor(/Listening to messages for cli\.listen/);
    const [viaUnix, viaTcp] = await Promise.all([
      runCli(["-s", sock, "-n", "cli.unix", "send", "cli.listen", "over unix"]),
      runCli(["-s", tcp!, "-n", "cli.tcp", "send", "cli.listen", "over tcp"]),
    ]);
    assert.equal(viaUnix.code, 0, viaUnix.stderr);
    assert.equal(viaTcp.code, 0, viaTcp.stderr);
    await listen.stdout.waitFor(/Message from cli\.unix \(cli\.unix\)\nSTR: {2}over unix\n/);
    await listen.stdout.waitFor(/Message from cli\.tcp \(cli\.tcp\)\nSTR: {2}over tcp\n/);
    const test = await runCli(["-s", sock, "--json", "broker", "test"]);
    assert.deepEqual(JSON.parse(test.stdout), { ok: true }, "the core RPC is on");
  } finally {
    listen.kill("SIGINT");
    serve.kill("SIGTERM");
    const [l, s] = await Promise.all([listen.finish(), serve.finish()]);
    await Deno.remove(dir, { recursive: true });
    assert.equal(l.code, 0, l.stderr);
    assert.equal(s.code, 0, s.stderr);
  }
});

Deno.test("SIGTERM warns clients, closes listeners, removes socket and pid files and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/busrt.sock`;
  const pid = `${dir}/busrt.pid`;
  const { serve } = await startServe(["-A"], ["-B", sock, "--pid-file", pid, "--socket-mode", "660"]);
  let client: IpcClient | null = null;
  try {
    assert.equal(await Deno.readTextFile(pid), String(serve.child.pid), "pid file holds the pid, no newline");
    assert.equal((await Deno.stat(sock)).mode! & 0o777, 0o660, "--socket-mode");
    client = await connect(sock, { name: "watcher", timeout: 5 });
    serve.kill("SIGTERM");
    const warning = await nextFrame(client, 15_000);
    assert.equal(warning.topic, ".broker/warn");
    assert.equal((unpack(warning.payload) as { s: string }).s, "shutdown");
    await client.closed;
    const result = await serve.finish();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /SIGTERM: shutting down/);
    assert.equal(await exists(sock), false, "socket file removed");
    assert.equal(await exists(pid), false, "pid file removed");
  } finally {
    await client?.close();
    serve.kill("SIGKILL");
    await serve.finish();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the serve task's least-privilege flags suffice, and SIGINT stops it with exit 0", async () => {
  const task: string = JSON.parse(await Deno.readTextFile(DENO_JSON)).tasks.serve;
  const flags = task.split(/\s+/).filter((w) => w.startsWith("--allow-"));
  assert.ok(flags.length > 0 && !flags.includes("-A") && !flags.includes("--allow-all"), task);
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/busrt.sock`;
  // The same kinds of flags for a private socket and a free port (the task's own paths may be in use).
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const scoped = flags.map((f) =>
    f.replaceAll("/tmp/busrt.sock", sock).replaceAll("=/tmp", `=${dir}`).replaceAll("7777", String(port))
  );
  const { serve } = await startServe(scoped, [
    "-B",
    sock,
    "-B",
    `127.0.0.1:${port}`,
    "--pid-file",
    `${dir}/pid`,
  ]);
  try {
    const test = await runCli(["-s", `127.0.0.1:${port}`, "broker", "test", "--json"]);
    assert.deepEqual(JSON.parse(test.stdout), { ok: true });
  } finally {
    const result = await serve.stop("SIGINT");
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /needs --allow/, "no permission warnings");
    assert.equal(await exists(sock), false);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve names the missing permission flag instead of failing with a stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/busrt.sock`;
  try {
    const serve = new CliProcess(["serve", "-B", sock], [`--allow-read=${dir}`, `--allow-write=${dir}`]);
    const result = await serve.finish();
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`needs --allow-net=unix:${sock.replaceAll(".", "\\.")}`));
    assert.match(result.stderr, /busrt: Missing Deno permission: run again with --allow-net=unix:/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --config starts the listeners of a configuration file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  const sock = `${dir}/conf.sock`;
  const config = `${dir}/busrt.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ logLevel: "info", listeners: [{ bind: sock, timeout: 2 }] }),
  );
  const { serve } = await startServe(["-A"], ["--config", config]);
  try {
    assert.match(serve.stderr.text, /listening on .*conf\.sock/);
    assert.doesNotMatch(serve.stderr.text, /busrt\.sock|7777/, "no default binds with --config");
    const list = await runCli(["-s", sock, "-n", "cli.conf", "client", "list", "--json"]);
    assert.deepEqual(JSON.parse(list.stdout).map((c: { name: string }) => c.name), [".broker"]);
  } finally {
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve rejects bad flags and binds with one line and exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-serve-" });
  try {
    const cases: [string[], RegExp][] = [
      [["--bogus"], /^busrt: Unknown option "--bogus" \(see "busrt serve --help"\)$/],
      [
        ["-B", `${dir}/a.sock`, "--timeout", "0"],
        /^busrt: Invalid value "0" for --timeout: must be more than 0/,
      ],
      [["-B", "http://127.0.0.1:1"], /^busrt: Unsupported bind "http:\/\/127\.0\.0\.1:1"/],
      [["-B", "tls://127.0.0.1:0"], /^busrt: Bind "tls:\/\/127\.0\.0\.1:0" needs --tls-cert and --tls-key/],
      [["-B", `${dir}/a.sock`, "--socket-mode", "999"], /^busrt: Invalid value "999" for --socket-mode/],
      [["-B", `${dir}/a.sock`, "--log-level", "loud"], /^busrt: Invalid value "loud" for --log-level/],
      [["-B", `${dir}/a.sock`, "extra"], /^busrt: Unexpected argument "extra"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(["serve", ...args])));
    results.forEach((r, i) => {
      assert.equal(r.code, 2, `${cases[i][0].join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), cases[i][1]);
    });
    // a bind that fails at run time: exit 1, one line, nothing left behind
    await Deno.writeTextFile(`${dir}/plain.sock`, "not a socket");
    const busy = await runCli(["serve", "-B", `${dir}/plain.sock`, "--log-level", "error"]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /^busrt: Cannot listen on ".*plain\.sock": .*not a socket$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "serve -B tls:// with client certificates, and client commands over tls://",
  ignore: !(await hasOpenssl()),
  async fn() {
    const pki = await makeTestPki();
    const { serve } = await startServe(["-A"], [
      "-B",
      "tls://127.0.0.1:0",
      "--tls-cert",
      pki.server.certFile,
      "--tls-key",
      pki.server.keyFile,
      "--tls-ca",
      pki.ca.certFile,
      "--tls-require-client-cert",
    ]);
    try {
      const port = serve.stderr.text.match(/listening on 127\.0\.0\.1:(\d+)/)?.[1];
      assert.ok(port !== undefined, serve.stderr.text);
      const address = `tls://127.0.0.1:${port}`;
      const [ok, noCert] = await Promise.all([
        runCli([
          "-s",
          address,
          "-n",
          "app",
          "--tls-ca",
          pki.ca.certFile,
          "--tls-cert",
          pki.clients.app.certFile,
          "--tls-key",
          pki.clients.app.keyFile,
          "--json",
          "broker",
          "test",
        ]),
        runCli(["-s", address, "-n", "app", "--tls-ca", pki.ca.certFile, "broker", "test"]),
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(JSON.parse(ok.stdout), { ok: true });
      assert.equal(noCert.code, 1, noCert.stderr);
      assert.equal(noCert.stderr.trimEnd().split("\n").length, 1, noCert.stderr);
      assert.match(noCert.stderr, /^busrt: Cannot connect to "tls:\/\/127\.0\.0\.1:\d+"/);
    } finally {
      const result = await serve.stop("SIGTERM");
      await pki.remove();
      assert.equal(result.code, 0, result.stderr);
    }
  },
});
