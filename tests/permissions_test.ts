/**
 * Deno permissions as the outer wall: the permission check names the missing
 * flags, the flags it suggests are enough to run a broker, and unix socket
 * modes are applied with umask (or chmod when umask is not allowed).
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import {
  checkServePermissions,
  formatPermissionProblems,
  permissionFlags,
  permissionSet,
  servePlanFromBinds,
  servePlanFromConfig,
} from "../cli/permissions.ts";
import { parseBrokerConfig } from "../broker/config_file.ts";
import { silentLogger } from "../log/logger.ts";

const repo = new URL("../", import.meta.url);
const denoJson = new URL("deno.json", repo).pathname;

/** Runs a script with exactly the given permission flags; returns its stdout parsed as JSON. */
async function runRestricted(
  dir: string,
  source: string,
  flags: string[],
  permissionSets?: Record<string, unknown>,
): Promise<unknown> {
  const script = `${dir}/script.ts`;
  await Deno.writeTextFile(script, source);
  let config = denoJson;
  if (permissionSets !== undefined) {
    // the repo's imports plus the permission sets
    const repoConfig = JSON.parse(await Deno.readTextFile(denoJson));
    config = `${dir}/deno.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ imports: repoConfig.imports, permissions: permissionSets }),
    );
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--quiet", `--config=${config}`, ...flags, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `script failed (${out.code}): ${stderr}`);
  return JSON.parse(stdout);
}

const mod = (path: string) => JSON.stringify(new URL(path, repo).href);

Deno.test("servePlanFromBinds() sorts unix paths, TCP/TLS/WebSocket binds and FIFOs", () => {
  const plan = servePlanFromBinds(
    ["/run/busrt.sock", "rel.sock", "127.0.0.1:7777", "tls://[::1]:7778", "fifo:/run/busrt.fifo", "ws://x:1"],
    { pidFile: "/run/busrt.pid", configFile: "/etc/busrt.json", socketMode: true },
  );
  assert.deepEqual(plan, {
    unixSockets: ["/run/busrt.sock", "rel.sock"],
    tcpBinds: ["127.0.0.1:7777", "[::1]:7778", "x:1"],
    fifos: ["/run/busrt.fifo"],
    readFiles: ["/etc/busrt.json"],
    writeFiles: ["/run/busrt.pid"],
    socketMode: true,
  });
});

Deno.test("a FIFO bind needs read and write on its path and the mkfifo command (transport/fifo_reader.ts)", () => {
  const plan = servePlanFromBinds(["fifo:/run/busrt.fifo"]);
  assert.deepEqual(permissionFlags(plan), [
    "--allow-read=/run/busrt.fifo",
    "--allow-write=/run/busrt.fifo",
    "--allow-run=mkfifo",
  ]);
  assert.deepEqual(permissionSet(plan).run, ["mkfifo"]);
});

Deno.test("permissionFlags() gives the least-privilege flags, merged per permission", () => {
  const flags = permissionFlags(
    servePlanFromBinds(["/run/busrt.sock", "127.0.0.1:7777", "tls://[::1]:7778"], {
      socketMode: true,
      pidFile: "/run/busrt.pid",
      readFiles: ["/etc/busrt/server.crt"],
    }),
  );
  assert.deepEqual(flags, [
    "--allow-net=unix:/run/busrt.sock,127.0.0.1:7777,[::1]:7778",
    "--allow-read=/run/busrt.sock,/etc/busrt/server.crt",
    "--allow-write=/run/busrt.sock,/run/busrt.pid",
  ]);
  const withSys = permissionFlags(servePlanFromBinds(["/run/busrt.sock"], { socketMode: true }), {
    allowSys: true,
  });
  assert.equal(withSys.at(-1), "--allow-sys", "Deno 2.9 has no --allow-sys=umask");
  assert.ok(
    !permissionFlags(servePlanFromBinds(["127.0.0.1:1"], { socketMode: true }), { allowSys: true })
      .includes("--allow-sys"),
    "no unix socket, no umask",
  );
});

Deno.test("permissionSet() grants umask alone, for a deno.json permission set", () => {
  const set = permissionSet(
    servePlanFromBinds(["/run/busrt.sock", "tls://0.0.0.0:7778"], {
      socketMode: true,
      configFile: "/etc/busrt.json",
    }),
  );
  assert.deepEqual(set, {
    net: ["unix:/run/busrt.sock", "0.0.0.0:7778"],
    read: ["/run/busrt.sock", "/etc/busrt.json"],
    write: ["/run/busrt.sock"],
    sys: ["umask"],
  });
});

Deno.test("servePlanFromConfig() includes TLS files and socket modes of a config", () => {
  const config = parseBrokerConfig(
    JSON.stringify({
      listeners: [
        { bind: "/run/b.sock", socketMode: "0660" },
        {
          bind: "tls://0.0.0.0:7778",
          tls: { cert: "/etc/b/s.crt", key: "/etc/b/s.key", ca: "/etc/b/ca.crt", requireClientCert: true },
        },
      ],
    }),
    "/etc/b/busrt.json",
  );
  const plan = servePlanFromConfig(config, { configFile: "/etc/b/busrt.json" });
  assert.deepEqual(plan.readFiles, ["/etc/b/busrt.json", "/etc/b/s.crt", "/etc/b/s.key", "/etc/b/ca.crt"]);
  assert.deepEqual(plan.tcpBinds, ["0.0.0.0:7778"]);
  assert.equal(plan.socketMode, true);
});

Deno.test("checkServePermissions() finds nothing missing when everything is granted", async () => {
  const plan = servePlanFromBinds(["/tmp/x.sock", "127.0.0.1:7777"], {
    socketMode: true,
    pidFile: "/tmp/x.pid",
  });
  assert.deepEqual(await checkServePermissions(plan), []);
});

Deno.test("checkServePermissions() names each missing flag in plain words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-perm-" });
  try {
    const sock = `${dir}/busrt.sock`;
    const source = `
      import { checkServePermissions, servePlanFromBinds } from ${mod("cli/permissions.ts")};
      const plan = servePlanFromBinds([${JSON.stringify(sock)}, "127.0.0.1:7777", "tls://127.0.0.1:7778"],
        { socketMode: true, pidFile: ${JSON.stringify(`${dir}/busrt.pid`)} });
      console.log(JSON.stringify(await checkServePermissions(plan)));
    `;
    // read on the directory, TCP 7777 only: the unix socket, 7778, the pid file and umask are missing
    const problems = await runRestricted(dir, source, [
      `--allow-read=${dir}`,
      "--allow-net=127.0.0.1:7777",
    ]) as {
      flag: string;
      fatal: boolean;
      message: string;
    }[];
    assert.deepEqual(problems.map((p) => p.flag), [
      `--allow-net=unix:${sock}`,
      `--allow-write=${sock}`,
      "--allow-net=127.0.0.1:7778",
      `--allow-write=${dir}/busrt.pid`,
      "--allow-sys",
    ]);
    assert.equal(
      problems[0].message,
      `needs --allow-net=unix:${sock} (to listen on the unix socket "${sock}")`,
    );
    assert.deepEqual(problems.map((p) => p.fatal), [true, true, true, true, false]);
    const text = formatPermissionProblems(problems.map((p) => ({ ...p, reason: "" })));
    assert.match(text, /^error: needs --allow-net=unix:/);
    assert.match(text, /\nwarning: needs --allow-sys \(to create unix sockets with their mode at once/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A script that serves a unix socket (mode 0660) and TCP, connects once, and reports modes. */
function brokerScript(sock: string): string {
  return `
    import { Broker } from ${mod("broker/broker.ts")};
    import { connect } from ${mod("client/ipc_client.ts")};
    const before = Deno.permissions.querySync({ name: "sys", kind: "umask" }).state === "granted" ? Deno.umask() : null;
    const broker = new Broker();
    await broker.serveUnix(${JSON.stringify(sock)}, { socketMode: 0o660 });
    const tcp = await broker.serveTcp("127.0.0.1:0");
    const mode = (await Deno.stat(${JSON.stringify(sock)})).mode & 0o777;
    const after = before === null ? null : Deno.umask();
    const a = await connect(${JSON.stringify(sock)}, { name: "a" });
    await a.close();
    await broker.close();
    console.log(JSON.stringify({ mode, before, after, tcp: tcp.bind !== "" }));
  `;
}

Deno.test("a broker runs with exactly the suggested least-privilege permission set (umask included)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-perm-" });
  try {
    const sock = `${dir}/busrt.sock`;
    const set = permissionSet(servePlanFromBinds([sock, "127.0.0.1:0"], { socketMode: true }));
    const result = await runRestricted(dir, brokerScript(sock), ["--permission-set=busrt"], {
      busrt: set,
    }) as Record<
      string,
      unknown
    >;
    assert.equal(result.mode, 0o660);
    assert.notEqual(result.before, null, "umask was granted");
    assert.equal(result.after, result.before, "the process umask is restored");
    assert.equal(result.tcp, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without the umask permission the socket mode is still applied (chmod after bind)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-perm-" });
  try {
    const sock = `${dir}/busrt.sock`;
    const flags = permissionFlags(servePlanFromBinds([sock, "127.0.0.1:0"], { socketMode: true }));
    assert.ok(!flags.some((f) => f.startsWith("--allow-sys")));
    const result = await runRestricted(dir, brokerScript(sock), flags) as Record<string, unknown>;
    assert.equal(result.mode, 0o660);
    assert.equal(result.before, null, "umask was not available");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unix socket modes are applied at bind time (Deno.stat)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-perm-" });
  const broker = new Broker({ logger: silentLogger });
  try {
    const umask = Deno.umask();
    for (const mode of [0o660, 0o600, 0o666]) {
      const path = `${dir}/m${mode.toString(8)}.sock`;
      await broker.serveUnix(path, { socketMode: mode });
      assert.equal((await Deno.stat(path)).mode! & 0o777, mode, `mode ${mode.toString(8)}`);
    }
    assert.equal(Deno.umask(), umask, "the process umask is restored");
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
