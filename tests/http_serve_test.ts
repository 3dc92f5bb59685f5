/**
 * `busrt serve --http HOST:PORT [--http-token T]` and the `http` section of
 * the config file: the endpoint of a real broker process, its token, and
 * `/healthz` after a stop signal.
 */
import assert from "node:assert/strict";
import { CliProcess, runCli } from "./_cli_helpers.ts";
import type { MonitorClient, MonitorStats } from "../broker/mod.ts";
import { connect } from "../client/mod.ts";

async function startServe(args: string[]): Promise<{ serve: CliProcess; url: string }> {
  const serve = new CliProcess(["serve", ...args]);
  try {
    await serve.stderr.waitFor(/broker ready \(pid \d+\)/);
  } catch (err) {
    const result = await serve.stop("SIGKILL");
    throw new Error(`serve did not start (exit ${result.code}): ${result.stderr}`, { cause: err });
  }
  const url = serve.stderr.text.match(/HTTP monitoring on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
  assert.ok(url !== undefined, serve.stderr.text);
  return { serve, url };
}

Deno.test("serve --http --http-token: the endpoint of a broker process, with its token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-" });
  const sock = `${dir}/busrt.sock`;
  const { serve, url } = await startServe(["-B", sock, "--http", "127.0.0.1:0", "--http-token", "t0ken"]);
  try {
    const auth = { headers: { authorization: "Bearer t0ken" } };
    const refused = await fetch(`${url}/api/stats`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const client = await connect(sock, { name: "probe" });
    const stats = await (await fetch(`${url}/api/stats`, auth)).json() as MonitorStats;
    assert.equal(stats.clients.by_kind.local_ipc, 1);
    assert.deepEqual(stats.listeners.map((l) => l.bind), [sock]);
    const { clients } = await (await fetch(`${url}/api/clients?filter=probe`, auth)).json() as {
      clients: MonitorClient[];
    };
    assert.deepEqual(clients.map((c) => [c.name, c.kind]), [["probe", "local_ipc"]]);
    const health = await fetch(`${url}/healthz`, auth);
    assert.equal(await health.text(), "ok\n");
    await client.close();
  } finally {
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(fetch(`${url}/healthz`));
});

Deno.test("serve --http-token-file: the token is the file's first line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-" });
  await Deno.writeTextFile(`${dir}/http.token`, "from-file-t0ken\n");
  const { serve, url } = await startServe([
    "-B",
    `${dir}/busrt.sock`,
    "--http",
    "127.0.0.1:0",
    "--http-token-file",
    `${dir}/http.token`,
  ]);
  try {
    const admitted = await fetch(`${url}/healthz?token=from-file-t0ken`);
    assert.equal(admitted.status, 200);
    await admitted.body?.cancel();
    const refused = await fetch(`${url}/healthz?token=from-file-t0ke`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  } finally {
    await serve.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --config with an http section; --http-token overrides its token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-" });
  const config = `${dir}/busrt.config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      listeners: [{ bind: `${dir}/busrt.sock` }],
      http: { bind: "127.0.0.1:0", token: "from-file", clientMetrics: true },
    }),
  );
  const { serve, url } = await startServe(["--config", config, "--http-token", "from-cli"]);
  try {
    const fromFile = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer from-file" } });
    assert.equal(fromFile.status, 401);
    await fromFile.body?.cancel();
    const metrics = await (await fetch(`${url}/metrics?token=from-cli`)).text();
    assert.match(
      metrics,
      /^busrt_client_received_frames_total\{client="\.broker",kind="internal",listener=""\} \d+$/m,
    );
  } finally {
    const result = await serve.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: bad --http values are usage errors, a bad http section a config error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-" });
  try {
    for (
      const [args, message] of [
        [["--http", "/tmp/x.sock"], /Invalid value "\/tmp\/x\.sock" for --http/],
        [["--http", "127.0.0.1:99999"], /for --http/],
        [["--http-token", "t"], /--http-token needs --http/],
        [["--http", "127.0.0.1:0", "--http-token", ""], /--http-token: must not be empty/],
        [["--http", "127.0.0.1:0", "--http-token", "t", "--http-token-file", "f"], /exclude each other/],
        [["--http-token-file", "f"], /--http-token-file needs --http/],
      ] as const
    ) {
      const r = await runCli(["serve", "-B", `${dir}/busrt.sock`, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const config = `${dir}/bad.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ listeners: [{ bind: `${dir}/b.sock` }], http: { bind: "ws://x:1", tokn: "x" } }),
    );
    const r = await runCli(["serve", "--config", config]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /http\.tokn: /);
    assert.match(r.stderr, /http\.bind: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --http: a missing net permission for the endpoint is named before anything starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-http-" });
  try {
    const sock = `${dir}/busrt.sock`;
    const serve = new CliProcess(
      ["serve", "-B", sock, "--http", "127.0.0.1:9187"],
      [`--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${sock}`],
    );
    const result = await serve.finish();
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /run again with --allow-net=127\.0\.0\.1:9187/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
