// Issue #12 item 11: `busrt serve` keeps its signal handlers until shutdown completes, takes a repeat of
// the same signal within a short window as one (the terminal and `deno task` both deliver Ctrl-C), and
// shuts down cleanly on SIGHUP. Real `cli.ts serve` subprocesses, temp-dir unix sockets.
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { StopSignals } from "../cli/stop_signals.ts";
import { CliProcess } from "./_cli_helpers.ts";
import { delay } from "./_helpers.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs `serve` on a temp-dir socket with a pid file and a connected client, sends `signals`, returns the outcome. */
async function serveAndSignal(signals: Deno.Signal[], gapMs: number) {
  const dir = await Deno.makeTempDir({ prefix: "busrt-signals-" });
  const sock = `${dir}/busrt.sock`;
  const pid = `${dir}/busrt.pid`;
  const serve = new CliProcess(["serve", "-B", sock, "--pid-file", pid]);
  try {
    await serve.stderr.waitFor(/broker ready \(pid \d+\)/);
    const client = await connect(sock, { name: "watcher", timeout: 5 });
    for (const [i, signal] of signals.entries()) {
      if (i > 0) await delay(gapMs);
      Deno.kill(serve.child.pid, signal);
    }
    const result = await serve.finish();
    await client.closed;
    return { result, socketLeft: await exists(sock), pidLeft: await exists(pid) };
  } finally {
    serve.kill("SIGKILL");
    await serve.finish();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve: two SIGINTs 1 ms apart (Ctrl-C under deno task) shut down once, cleanly, exit 0", async () => {
  const { result, socketLeft, pidLeft } = await serveAndSignal(["SIGINT", "SIGINT"], 1);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.match(/shutting down/g)?.length, 1, result.stderr);
  assert.match(result.stderr, /broker stopped/);
  assert.equal(socketLeft, false, "socket file removed");
  assert.equal(pidLeft, false, "pid file removed");
});

Deno.test("serve: SIGHUP shuts down cleanly with a log line, removing the socket and pid files", async () => {
  const { result, socketLeft, pidLeft } = await serveAndSignal(["SIGHUP"], 0);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /SIGHUP: shutting down/);
  assert.match(result.stderr, /broker stopped/);
  assert.equal(socketLeft, false, "socket file removed");
  assert.equal(pidLeft, false, "pid file removed");
});

Deno.test("StopSignals: a stop signal after the repeat window insists; within it, it is the same request", () => {
  const seen: string[] = [];
  const record = (what: string) => (signal: Deno.Signal) => seen.push(`${what} ${signal}`);
  const quick = new StopSignals({ signals: [], onStop: record("stop"), onInsist: record("insist") });
  quick.receive("SIGINT");
  quick.receive("SIGHUP");
  const slow = new StopSignals({
    signals: [],
    repeatWindowMs: 0,
    onStop: record("stop"),
    onInsist: record("insist"),
  });
  slow.receive("SIGTERM");
  slow.receive("SIGTERM");
  assert.deepEqual(seen, ["stop SIGINT", "stop SIGTERM", "insist SIGTERM"]);
});
