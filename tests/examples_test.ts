/**
 * Every file in examples/ is run the way its header tells users to run it
 * (sockets in temp dirs and port 0 instead of fixed addresses), and checked
 * for the output it promises — no stack trace anywhere.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseBrokerConfig } from "../broker/config_file.ts";
import { CLI, runCli, StreamText } from "./_cli_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const example = (name: string) => `${ROOT}examples/${name}`;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs a script to its end. */
async function run(args: string[], cwd = ROOT): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: decode(o.stdout), err: decode(o.stderr) };
}

function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /^\s+at .*:\d+:\d+\)?$/m, `a stack trace:\n${text}`);
}

/** A long-running `deno run` process (an example or the broker), both outputs collected. */
class Running {
  readonly child: Deno.ChildProcess;
  readonly stdout: StreamText;
  readonly stderr: StreamText;

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new StreamText(this.child.stdout);
    this.stderr = new StreamText(this.child.stderr);
  }

  /** Everything printed so far, both streams. */
  get output(): string {
    return this.stdout.text + this.stderr.text;
  }

  /** Waits until either stream matches. */
  async waitOutput(pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    return await Promise.any([this.stdout.waitFor(pattern, ms), this.stderr.waitFor(pattern, ms)]).catch(
      () => {
        throw new Error(`Timed out waiting for ${pattern}; got:\n${this.output}`);
      },
    );
  }

  /** SIGTERM, then waits for the exit. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // exited already
    }
    await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}

/** A long-running example, once it printed `ready`. */
async function startExample(args: string[], ready: RegExp): Promise<Running> {
  const p = new Running(args);
  await p.waitOutput(ready);
  return p;
}

Deno.test("examples/rpc_cursor.ts runs self-contained and reads the cursor both ways", async () => {
  const r = await run(["-A", example("rpc_cursor.ts")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /one by one:/);
  assert.match(r.out, /in bulks of 100: \d+ records/);
  assertNoStackTrace(r.err);
});

Deno.test("examples/rpc_stream.ts runs self-contained: a stream stopped by break, an upload, a duplex stream", async () => {
  const r = await run(["-A", example("rpc_stream.ts")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /reading: \{ seq: 1, celsius: 20\.1 \}/);
  assert.match(r.out, /read 1000 readings, then stopped/);
  assert.match(r.out, /\(the reader stopped the stream of dashboard\)/);
  assert.match(r.out, /average: \{ n: 3, mean: 21\.3+\d* \}/);
  assert.match(r.out, /empty upload refused: -32602 no samples/);
  assert.match(r.out, /in Fahrenheit: \[ 32, 98\.6, 212 \]/);
  assert.match(r.out, /open streams: \{ calling: 0, serving: 0 \} \{ calling: 0, serving: 0 \}/);
  assertNoStackTrace(r.err);
});

Deno.test("examples/rpc_pool.ts spreads calls over its worker processes and loses none to a kill -9", async () => {
  const r = await run(["-A", example("rpc_pool.ts")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /spread: \{ "svc\.resize\.1": 3, "svc\.resize\.2": 3, "svc\.resize\.3": 3 \}/);
  assert.match(r.out, /callAll svc\.resize\.3: \{ by: "svc\.resize\.3", size: "50x50" \}/);
  assert.match(r.out, /\(leave svc\.resize\.1\)/);
  assert.match(r.out, /after kill -9 of svc\.resize\.1: \d+ calls done, 0 failed/);
  assertNoStackTrace(r.err);
});

Deno.test("examples/rpc_handler.ts and rpc_client.ts work together; the client explains a missing handler", async () => {
  const dir = await Deno.makeTempDir();
  const sock = `${dir}/busrt.sock`;
  const broker = new Running(["-A", CLI, "serve", "-B", sock]);
  let handler: Running | null = null;
  try {
    await broker.waitOutput(/broker ready/, 15_000);
    // without the handler: one line saying what to do, no stack trace
    const alone = await run(["-A", example("rpc_client.ts"), sock]);
    assert.equal(alone.code, 1);
    assert.match(alone.err, /example\.handler is not running: start examples\/rpc_handler\.ts first/);
    assertNoStackTrace(alone.err);

    handler = await startExample(["-A", example("rpc_handler.ts"), sock], /is serving on/);
    const r = await run(["-A", example("rpc_client.ts"), sock]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /add: 42/);
    assert.match(r.out, /refused as expected:/);
    assertNoStackTrace(r.err);
    await handler.waitOutput(/notification from example\.client: hello/, 10_000);
  } finally {
    await handler?.stop();
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/rpc_client.ts without a broker says so in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(["-A", example("rpc_client.ts"), `${dir}/none.sock`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /start a broker/);
    assertNoStackTrace(r.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/broker_custom_rpc.ts answers the commands its header suggests", async () => {
  const dir = await Deno.makeTempDir();
  const sock = `${dir}/busrt.sock`;
  const p = await startExample(["-A", example("broker_custom_rpc.ts"), sock], /Waiting for frames/);
  try {
    const ping = await runCli(["-s", sock, "rpc", "call", ".broker", "ping", "message=hello"]);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /hello/);
    const list = await runCli(["-s", sock, "rpc", "call", ".broker", "client.list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /"clients"/);
  } finally {
    await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/aaa_broker.ts admits sensor.boiler's own readings and refuses the rest", async () => {
  const p = await startExample(
    ["--allow-net=127.0.0.1", example("aaa_broker.ts"), "127.0.0.1:0"],
    /broker with AAA on 127\.0\.0\.1:\d+/,
  );
  try {
    const addr = p.output.match(/broker with AAA on (127\.0\.0\.1:\d+)/)![1];
    const ok = await runCli(["-s", addr, "--name", "sensor.boiler", "publish", "sensors/boiler/t", "21"]);
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await runCli(["-s", addr, "--name", "sensor.boiler", "publish", "sensors/other/t", "21"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /access denied/i);
    const stranger = await runCli(["-s", addr, "--name", "stranger", "publish", "sensors/boiler/t", "21"]);
    assert.equal(stranger.code, 1);
    assertNoStackTrace(ok.stderr + refused.stderr + stranger.stderr);
  } finally {
    await p.stop();
  }
});

function opensslRuns(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "examples/aaa_mtls.ts runs on certificates made with the docs/SECURITY.md recipe, verbatim",
  ignore: !opensslRuns() && (console.log("examples_test: skipping aaa_mtls: openssl is not installed"), true),
  async fn() {
    const security = await Deno.readTextFile(`${ROOT}docs/SECURITY.md`);
    const at = security.indexOf("Making certificates with openssl");
    const start = security.indexOf("```sh\n", at) + 6;
    const recipe = security.slice(start, security.indexOf("\n```", start));
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/pki`);
      const made = await new Deno.Command("sh", {
        args: ["-e", "-c", recipe],
        cwd: `${dir}/pki`,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(made.success, decode(made.stderr));
      const r = await run(
        ["--allow-net=127.0.0.1", "--allow-read=./pki", example("aaa_mtls.ts"), "./pki", "tls://127.0.0.1:0"],
        dir,
      );
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /svc\.reports connected over .* with its certificate and published reports\/status/,
      );
      assert.match(r.out, /denied as expected:/);
      assertNoStackTrace(r.err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("examples/busrt.config.json is a valid configuration", async () => {
  const text = await Deno.readTextFile(example("busrt.config.json"));
  const config = parseBrokerConfig(text, "examples/busrt.config.json");
  assert.ok(config.listeners.length >= 2);
});
