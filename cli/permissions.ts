/**
 * Deno permissions as the outer wall of the broker: before `serve` binds
 * anything, check that the process holds exactly the permissions its binds
 * and files need, and say in plain words which flag is missing.
 *
 * @example At the start of `serve`
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   checkServePermissions,
 *   formatPermissionProblems,
 *   permissionFlags,
 *   servePlanFromBinds,
 * } from "./permissions.ts";
 * const plan = servePlanFromBinds(["/run/busrt.sock", "127.0.0.1:7777"], { pidFile: "/run/busrt.pid" });
 * assert.deepEqual(permissionFlags(plan), [
 *   "--allow-net=unix:/run/busrt.sock,127.0.0.1:7777",
 *   "--allow-read=/run/busrt.sock",
 *   "--allow-write=/run/busrt.sock,/run/busrt.pid",
 * ]);
 * const problems = await checkServePermissions(plan);
 * // serve stops here, naming each missing flag, before it binds anything
 * if (problems.some((p) => p.fatal)) throw new Error(formatPermissionProblems(problems));
 * ```
 *
 * @module
 */
import type { BrokerConfig } from "../broker/config_file.ts";
import { formatHostPort, parseAddress } from "../transport/address.ts";

/** What a broker process is about to do, as far as permissions go. */
export interface ServePlan {
  /** Unix socket paths to listen on. */
  unixSockets?: readonly string[];
  /** TCP, TLS and WebSocket `host:port` binds, without scheme or path. */
  tcpBinds?: readonly string[];
  /** `host:port` the broker connects to: the NATS servers of a bridge (docs/CLUSTER.md). */
  connectTo?: readonly string[];
  /**
   * FIFO paths to create (with the `mkfifo` command) and read: `fifo:<path>`
   * binds of the library's `serveFifo`. `serve` does not serve them yet and
   * refuses such a bind before planning.
   */
  fifos?: readonly string[];
  /** Files to read: config, certificates, keys. */
  readFiles?: readonly string[];
  /** Files to write: PID file. */
  writeFiles?: readonly string[];
  /** Whether a unix socket file mode is set (needs `--allow-sys=umask` to apply it with no window). */
  socketMode?: boolean;
}

/** One missing permission. */
export interface PermissionProblem {
  /** The flag that grants it, e.g. `--allow-net=unix:/run/busrt.sock`. */
  flag: string;
  /** Why it is needed, e.g. `to listen on the unix socket "/run/busrt.sock"`. */
  reason: string;
  /** False when the broker can work without it, less safely (umask). */
  fatal: boolean;
  /** `needs <flag> (<reason>)`, ready to print. */
  message: string;
}

interface Need {
  descriptor: Deno.PermissionDescriptor;
  flag: string;
  reason: string;
  fatal: boolean;
}

function needsOf(plan: ServePlan): Need[] {
  const needs: Need[] = [];
  for (const path of plan.unixSockets ?? []) {
    const what = `to listen on the unix socket "${path}"`;
    needs.push(
      {
        descriptor: { name: "net", host: `unix:${path}` },
        flag: `--allow-net=unix:${path}`,
        reason: what,
        fatal: true,
      },
      // a stale socket file is inspected and removed before binding
      { descriptor: { name: "read", path }, flag: `--allow-read=${path}`, reason: what, fatal: true },
      { descriptor: { name: "write", path }, flag: `--allow-write=${path}`, reason: what, fatal: true },
    );
  }
  for (const bind of plan.tcpBinds ?? []) {
    const host = netHost(bind);
    needs.push({
      descriptor: { name: "net", host },
      flag: `--allow-net=${host}`,
      reason: `to listen on "${bind}"`,
      fatal: true,
    });
  }
  for (const address of plan.connectTo ?? []) {
    const host = netHost(address);
    needs.push({
      descriptor: { name: "net", host },
      flag: `--allow-net=${host}`,
      reason: `to connect to "${address}"`,
      fatal: true,
    });
  }
  for (const path of plan.fifos ?? []) {
    const what = `to create and read the FIFO "${path}"`;
    needs.push(
      { descriptor: { name: "read", path }, flag: `--allow-read=${path}`, reason: what, fatal: true },
      { descriptor: { name: "write", path }, flag: `--allow-write=${path}`, reason: what, fatal: true },
      // Deno has no mkfifo API: transport/fifo_reader.ts runs the mkfifo command
      {
        descriptor: { name: "run", command: "mkfifo" },
        flag: "--allow-run=mkfifo",
        reason: what,
        fatal: true,
      },
    );
  }
  for (const path of plan.readFiles ?? []) {
    needs.push({
      descriptor: { name: "read", path },
      flag: `--allow-read=${path}`,
      reason: `to read "${path}"`,
      fatal: true,
    });
  }
  for (const path of plan.writeFiles ?? []) {
    needs.push({
      descriptor: { name: "write", path },
      flag: `--allow-write=${path}`,
      reason: `to write "${path}"`,
      fatal: true,
    });
  }
  if (plan.socketMode && (plan.unixSockets?.length ?? 0) > 0) {
    needs.push({
      descriptor: { name: "sys", kind: "umask" },
      // Deno 2.9 refuses the flag --allow-sys=umask ("unknown sys descriptor"); a permission
      // set in deno.json with "sys": ["umask"] grants just this
      flag: "--allow-sys",
      reason: "to create unix sockets with their mode at once; Deno refuses --allow-sys=umask, so grant it " +
        'with "sys": ["umask"] in a deno.json permission set (deno run -P) or with --allow-sys; without it ' +
        "the mode is set by chmod right after binding",
      fatal: false,
    });
  }
  return needs;
}

/** `host:port` as Deno's net permission spells it (`[v6]:port`). */
function netHost(bind: string): string {
  const addr = parseAddress(bind);
  if (addr.transport !== "tcp") throw new TypeError(`Invalid TCP bind "${bind}": expected host:port`);
  return formatHostPort(addr.hostname, addr.port);
}

/**
 * Checks, without prompting, every permission the plan needs; returns the
 * missing ones (empty when all are granted). Only `fatal` problems stop a
 * broker from working.
 *
 * @example Check one TCP bind
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkServePermissions } from "./permissions.ts";
 * const problems = await checkServePermissions({ tcpBinds: ["127.0.0.1:7777"] });
 * const { state } = await Deno.permissions.query({ name: "net", host: "127.0.0.1:7777" });
 * assert.deepEqual(problems.map((p) => p.flag), state === "granted" ? [] : ["--allow-net=127.0.0.1:7777"]);
 * ```
 *
 * @param plan what the broker is about to do
 * @returns the missing permissions
 */
export async function checkServePermissions(plan: ServePlan): Promise<PermissionProblem[]> {
  const problems: PermissionProblem[] = [];
  const seen = new Set<string>();
  for (const need of needsOf(plan)) {
    if (seen.has(need.flag)) continue;
    seen.add(need.flag);
    const status = await Deno.permissions.query(need.descriptor);
    if (status.state === "granted") continue;
    problems.push({
      flag: need.flag,
      reason: need.reason,
      fatal: need.fatal,
      message: `needs ${need.flag} (${need.reason})`,
    });
  }
  return problems;
}

/** Options of {@linkcode permissionFlags}. */
export interface PermissionFlagsOptions {
  /**
   * Add `--allow-sys` (all system information) so socket modes are applied
   * through umask. Default false: the mode is then set by chmod after bind.
   */
  allowSys?: boolean;
}

/**
 * The least-privilege command-line flags for a plan, merged per permission,
 * e.g. `--allow-net=unix:/run/busrt.sock,127.0.0.1:7777`. The umask
 * permission has no scoped flag in Deno 2.9: use {@linkcode permissionSet}
 * for it, or `allowSys`.
 *
 * @example The flags of a unix socket with a mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionFlags } from "./permissions.ts";
 * const plan = { unixSockets: ["/run/busrt.sock"], socketMode: true };
 * assert.deepEqual(permissionFlags(plan), [
 *   "--allow-net=unix:/run/busrt.sock",
 *   "--allow-read=/run/busrt.sock",
 *   "--allow-write=/run/busrt.sock",
 * ]);
 * assert.equal(permissionFlags(plan, { allowSys: true }).at(-1), "--allow-sys");
 * ```
 *
 * @param plan what the broker is about to do
 * @param options whether to add `--allow-sys` for the umask
 * @returns the flags, one per permission
 */
export function permissionFlags(plan: ServePlan, options: PermissionFlagsOptions = {}): string[] {
  const groups = new Map<string, string[]>();
  for (const need of needsOf(plan)) {
    if (need.descriptor.name === "sys") continue;
    const eq = need.flag.indexOf("=");
    const name = need.flag.slice(0, eq);
    const values = groups.get(name) ?? [];
    const value = need.flag.slice(eq + 1);
    if (!values.includes(value)) values.push(value);
    groups.set(name, values);
  }
  const flags = [...groups].map(([name, values]) => `${name}=${values.join(",")}`);
  if (options.allowSys && needsOf(plan).some((n) => n.descriptor.name === "sys")) flags.push("--allow-sys");
  return flags;
}

/** A permission set for the `permissions` field of deno.json (used with `deno run -P=<name>`). */
export interface PermissionSet {
  /** Net hosts (`unix:<path>`, `host:port`). */
  net?: string[];
  /** Readable paths. */
  read?: string[];
  /** Writable paths. */
  write?: string[];
  /** System information kinds (`umask`). */
  sys?: string[];
  /** Commands to run (`mkfifo`, for FIFO binds). */
  run?: string[];
}

/**
 * The least-privilege permission set for a plan, for deno.json
 * `"permissions": { "busrt": <this> }` and `deno run -P=busrt`. Unlike the
 * flags, it can grant the umask permission alone.
 *
 * @example Grant the umask alone
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionSet } from "./permissions.ts";
 * const set = permissionSet({ unixSockets: ["/run/busrt.sock"], socketMode: true });
 * assert.deepEqual(set.sys, ["umask"]);
 * assert.deepEqual(set.net, ["unix:/run/busrt.sock"]);
 * ```
 *
 * @param plan what the broker is about to do
 * @returns the permission set
 */
export function permissionSet(plan: ServePlan): PermissionSet {
  const set: Record<string, string[]> = {};
  for (const need of needsOf(plan)) {
    const d = need.descriptor;
    let key: keyof PermissionSet;
    let value: string;
    if (d.name === "net") [key, value] = ["net", d.host ?? ""];
    else if (d.name === "read" || d.name === "write") [key, value] = [d.name, String(d.path ?? "")];
    else if (d.name === "sys") [key, value] = ["sys", d.kind ?? ""];
    else if (d.name === "run") [key, value] = ["run", String(d.command ?? "")];
    else continue;
    const list = set[key] ??= [];
    if (!list.includes(value)) list.push(value);
  }
  return set as PermissionSet;
}

/**
 * Problems as printable lines, fatal ones first.
 *
 * @param problems the problems found by {@linkcode checkServePermissions}
 * @returns one line per problem
 */
export function formatPermissionProblems(problems: readonly PermissionProblem[]): string {
  const sorted = [...problems].sort((a, b) => Number(b.fatal) - Number(a.fatal));
  return sorted.map((p) => `${p.fatal ? "error" : "warning"}: ${p.message}`).join("\n");
}

/** Options of {@linkcode servePlanFromBinds}. */
export interface ServePlanOptions {
  /** A unix socket mode is set. */
  socketMode?: boolean;
  /** PID file to write. */
  pidFile?: string;
  /** Config file to read. */
  configFile?: string;
  /** Other files to read (certificates, keys). */
  readFiles?: readonly string[];
}

/**
 * Builds a plan from `serve` binds, parsed by the one address grammar
 * (`parseAddress` of `transport/address.ts`): unix paths (start with `/` or
 * end with `.sock`, `.socket`, `.ipc`), `host:port`, `tls://host:port`,
 * `ws://host:port[/path]` and `wss://…` (a WebSocket bind needs the net
 * permission of its `host:port`, as TCP), and `fifo:<path>` (planned for the
 * library's `serveFifo`; `serve` refuses it today).
 *
 * @example A unix socket, a TLS bind, a WebSocket bind and a PID file
 * ```ts
 * import assert from "node:assert/strict";
 * import { servePlanFromBinds } from "./permissions.ts";
 * const binds = ["/tmp/busrt.sock", "tls://0.0.0.0:7777", "ws://127.0.0.1:7780/bus"];
 * const plan = servePlanFromBinds(binds, { pidFile: "/tmp/busrt.pid" });
 * assert.deepEqual(plan.unixSockets, ["/tmp/busrt.sock"]);
 * assert.deepEqual(plan.tcpBinds, ["0.0.0.0:7777", "127.0.0.1:7780"]);
 * assert.deepEqual(plan.writeFiles, ["/tmp/busrt.pid"]);
 * ```
 *
 * @param binds the binds, as given to `serve -B`
 * @param options files and the socket mode
 * @returns what the binds and files need
 * @throws {TypeError} (an `AddressError`) for a malformed bind or an unknown scheme
 */
export function servePlanFromBinds(binds: readonly string[], options: ServePlanOptions = {}): ServePlan {
  const unixSockets: string[] = [];
  const tcpBinds: string[] = [];
  const fifos: string[] = [];
  for (const bind of binds) {
    const addr = parseAddress(bind);
    if (addr.transport === "unix") unixSockets.push(addr.path);
    else if (addr.transport === "fifo") fifos.push(addr.path);
    else if (
      addr.transport === "tcp" || addr.transport === "tls" || addr.transport === "ws" ||
      addr.transport === "wss"
    ) {
      tcpBinds.push(formatHostPort(addr.hostname, addr.port));
    }
  }
  const readFiles = [...(options.readFiles ?? [])];
  if (options.configFile !== undefined) readFiles.unshift(options.configFile);
  return {
    unixSockets,
    tcpBinds,
    fifos,
    readFiles,
    writeFiles: options.pidFile === undefined ? [] : [options.pidFile],
    socketMode: options.socketMode ?? false,
  };
}

/**
 * Builds a plan from a loaded configuration file: its listeners, TLS files,
 * socket modes, and the config file itself.
 *
 * @example The plan of a configuration with a unix socket mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBrokerConfig } from "../broker/config_file.ts";
 * import { servePlanFromConfig } from "./permissions.ts";
 * const path = "/etc/busrt/busrt.config.json";
 * const text = '{"listeners": [{"bind": "/run/busrt.sock", "socketMode": "0660"}]}';
 * const config = parseBrokerConfig(text, path);
 * const plan = servePlanFromConfig(config, { configFile: path });
 * assert.deepEqual(plan.unixSockets, ["/run/busrt.sock"]);
 * assert.deepEqual(plan.readFiles, [path]);
 * assert.equal(plan.socketMode, true);
 * ```
 *
 * @param config the validated configuration
 * @param options more files to read or write
 * @returns what the listeners and files need
 */
export function servePlanFromConfig(config: BrokerConfig, options: ServePlanOptions = {}): ServePlan {
  const readFiles = [...(options.readFiles ?? [])];
  let socketMode = options.socketMode ?? false;
  const binds: string[] = [];
  for (const l of config.listeners) {
    binds.push(l.bind);
    if (l.server.socketMode !== undefined) socketMode = true;
    if (l.tls !== null) readFiles.push(l.tls.cert, l.tls.key, ...(l.tls.ca ?? []));
  }
  for (const path of config.fifos) binds.push(`fifo:${path}`);
  return servePlanFromBinds(binds, { ...options, readFiles, socketMode });
}
