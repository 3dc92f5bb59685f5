/**
 * examples/busrt.service: `systemd-analyze verify` accepts it (where systemd
 * is installed), and its ExecStart, with the paths moved into a temp dir,
 * runs a broker that answers and shuts down cleanly on the unit's KillSignal
 * with exactly the permissions the unit grants.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";

const CHECKOUT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const UNIT = await Deno.readTextFile(`${CHECKOUT}/examples/busrt.service`);

/** The unit with the install paths replaced (deno binary, checkout, runtime and cache directories). */
function relocated(runtimeDir: string, cacheDir: string): string {
  return UNIT
    .replaceAll("/usr/bin/deno", Deno.execPath())
    .replaceAll("/opt/busrt", CHECKOUT)
    .replaceAll("/run/busrt", runtimeDir)
    .replaceAll("/var/cache/busrt", cacheDir);
}

/** The words of ExecStart (continuation lines joined). */
function execStart(unit: string): string[] {
  const m = unit.match(/^ExecStart=((?:.*\\\n)*.*)$/m);
  assert.ok(m !== null, "the unit has an ExecStart");
  return m[1].replace(/\\\n/g, " ").trim().split(/\s+/);
}

function hasSystemdAnalyze(): boolean {
  try {
    return new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "systemd-analyze verify accepts examples/busrt.service",
  ignore: !hasSystemdAnalyze() && (console.log("skipped: systemd-analyze is not installed"), true),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // verify checks that ExecStart's binary exists: point it at this deno and checkout
      await Deno.writeTextFile(`${dir}/busrt.service`, relocated("/run/busrt", "/var/cache/busrt"));
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", `${dir}/busrt.service`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, err);
      assert.equal(err.split("\n").filter((l) => l.includes("busrt.service")).join("\n"), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the unit's ExecStart runs the broker with exactly the permissions it grants", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/run`);
  await Deno.mkdir(`${dir}/cache`);
  const [cmd, ...args] = execStart(relocated(`${dir}/run`, `${dir}/cache`));
  assert.equal(cmd, Deno.execPath());
  assert.ok(args.includes("--no-prompt") && !args.includes("-A") && !args.includes("--allow-all"));
  const child = new Deno.Command(cmd, {
    args,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const sock = `${dir}/run/busrt.sock`;
    const deadline = Date.now() + 15_000;
    while ((await Deno.stat(sock).catch(() => null)) === null) {
      assert.ok(Date.now() < deadline, "the broker never created its socket");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await Deno.stat(sock)).mode! & 0o777, 0o660);
    const client = await connect(sock, { name: "unit.check", timeout: 5 });
    const rpc = new RpcClient(client);
    const reply = await rpc.call(".broker", "test");
    assert.ok(reply.payload.length > 0);
    await client.close();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, await stderr);
    assert.equal(await Deno.stat(sock).catch(() => null), null, "socket file removed");
    assert.equal(await Deno.stat(`${dir}/run/busrt.pid`).catch(() => null), null, "pid file removed");
    assert.doesNotMatch(await stderr, /NotCapable|PermissionDenied|ERROR/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await child.status;
    await stderr.catch(() => "");
    await Deno.remove(dir, { recursive: true });
  }
});
