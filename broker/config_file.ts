/**
 * The broker's JSON configuration file: listeners with their options, TLS
 * and AAA maps, and broker-wide options. Everything is validated before
 * anything starts; a problem is reported with the JSON path of the field
 * (`listeners[1].aaa.clientA.hosts[0]`) and the reason. The schema is
 * documented in docs/CONFIG.md.
 *
 * @example Start a broker from a configuration file
 * ```ts
 * import assert from "node:assert/strict";
 * import { silentLogger } from "../log/logger.ts";
 * import { applyBrokerConfig, Broker, brokerOptionsFromConfig, loadBrokerConfig } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const file = `${dir}/busrt.config.json`;
 * await Deno.writeTextFile(file, JSON.stringify({ listeners: [{ bind: `${dir}/busrt.sock` }] }));
 * const config = await loadBrokerConfig(file);
 * const broker = new Broker(brokerOptionsFromConfig(config, silentLogger));
 * const listeners = await applyBrokerConfig(broker, config);
 * assert.deepEqual(listeners.map((l) => l.bind), [`${dir}/busrt.sock`]);
 * await broker.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { consoleLogger, type Logger, type LogLevel } from "../log/logger.ts";
import { AddressError, formatHostPort, TLS_SCHEME } from "../transport/address.ts";
import { AaaMap, ClientAaa, type ClientAaaSpec, type PermissionSpec } from "./aaa.ts";
import type { Broker, BrokerOptions } from "./broker.ts";
import { IpNetwork } from "./ip_network.ts";
import { type BrokerListener, listenFailureReason, parseBind, type ServableAddress } from "./listener.ts";
import type { ListenerOptions } from "./listener_options.ts";
import { parseHttpBind } from "./http_monitor.ts";

/** How a listener is reached. */
export type BindTransport = ServableAddress["transport"];

/** TLS files of a listener (absolute paths, or relative to the working directory). */
export interface ListenerTlsConfig {
  /** Server certificate chain (PEM file). */
  cert: string;
  /** Server private key (PEM file). */
  key: string;
  /** CA certificate(s) for client certificates (PEM files), or null. */
  ca: string[] | null;
  /** Whether client certificates are required and bound to client names. */
  requireClientCert: boolean;
}

/** One validated listener. */
export interface ListenerConfig {
  /** The bind as written: a unix path, `host:port`, `tls://host:port`, `ws://host:port[/path]` or `wss://…`. */
  bind: string;
  /** Kind of bind. */
  transport: BindTransport;
  /** Unix path, or `host:port` without scheme. */
  address: string;
  /** Listener settings (without the policy). */
  server: Omit<ListenerOptions, "policy">;
  /** The listener's AAA map, or null for none (every name may connect). */
  aaa: AaaMap | null;
  /** TLS files, for `tls://` and `wss://` binds. */
  tls: ListenerTlsConfig | null;
  /** Bearer token clients must present, for `ws://` and `wss://` binds; null for none. */
  token: string | null;
}

/** The HTTP monitoring endpoint of a configuration file (`Broker.serveHttp`). */
export interface HttpConfig {
  /** `host:port` as given. */
  bind: string;
  /** Where to listen. */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
  /** Bearer token requests must present, or null for none. */
  token: string | null;
  /** Whether `/metrics` has per-client series. */
  clientMetrics: boolean;
}

/**
 * The bridge to other hosts through NATS (docs/CLUSTER.md), as plain data:
 * `busrt serve` hands it to `Bridge.start` of `@busrt/busrt/bridge`.
 */
export interface BridgeConfig {
  /** NATS servers, `nats://host:port`. */
  servers: string[];
  /** This broker's node name. */
  node: string;
  /** Exported topic patterns (absent: `#`). */
  exports?: string[];
  /** Imported topic patterns (absent: `#`). */
  imports?: string[];
  /** Subject prefix (absent: `busrt`). */
  prefix?: string;
  /** Whether broadcasts to `@NODE/mask` reach other nodes (absent: false). */
  broadcast?: boolean;
  /** Seconds a message to another node waits for its ACK (absent: 0.5). */
  requestTimeout?: number;
  /** Bytes kept while NATS is unreachable (absent: 8 MiB). */
  bufferBytes?: number;
  /** What goes when that buffer is full (absent: `oldest`). */
  dropPolicy?: "oldest" | "newest";
}

/** A validated configuration file. */
export interface BrokerConfig {
  /** Where the configuration came from (a file path or a label). */
  source: string;
  /** Broker-wide options as given (absent fields keep the broker defaults). */
  broker: { queueSize?: number; forceRegister?: boolean };
  /** Log level. Default `info`. */
  logLevel: LogLevel;
  /** The listeners, in file order. */
  listeners: ListenerConfig[];
  /**
   * FIFO command channels (PROTOCOL.md §16.4) to create: paths, resolved
   * against the file's directory. Served by the RPC layer (`serveFifo`), so
   * `applyBrokerConfig` leaves them to its caller (`busrt serve` serves them).
   */
  fifos: string[];
  /**
   * The HTTP monitoring endpoint, or null for none. Like `fifos`, left to
   * the caller of `applyBrokerConfig` (`busrt serve` serves it).
   */
  http: HttpConfig | null;
  /** The bridge to other hosts, or null. Like `http`, left to the caller (`busrt serve` starts it). */
  bridge: BridgeConfig | null;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
const TOP_KEYS = ["queueSize", "forceRegister", "logLevel", "listeners", "fifo", "http", "bridge"];
const BRIDGE_KEYS = [
  "servers",
  "node",
  "exports",
  "imports",
  "prefix",
  "broadcast",
  "requestTimeout",
  "bufferBytes",
  "dropPolicy",
];
const HTTP_KEYS = ["bind", "token", "clientMetrics"];
const LISTENER_KEYS = [
  "bind",
  "timeout",
  "bufSize",
  "bufTtl",
  "queueSize",
  "queueBytes",
  "topicLimit",
  "payloadLimit",
  "socketMode",
  "tls",
  "token",
  "aaa",
];
const TLS_KEYS = ["cert", "key", "ca", "requireClientCert"];
const AAA_KEYS = ["hosts", "p2p", "publish", "subscribe", "broadcast"];

interface Problem {
  path: string;
  reason: string;
  range: boolean;
}

/** Collects problems with their JSON paths. */
class Checker {
  readonly problems: Problem[] = [];

  fail(path: string, reason: string, range = false): void {
    this.problems.push({ path, reason, range });
  }

  object(value: unknown, path: string): Record<string, unknown> | null {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
    this.fail(path, `must be an object, got ${describe(value)}`);
    return null;
  }

  keys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
    for (const k of Object.keys(obj)) {
      // "_comment"-style keys are free-form notes (JSON has no comments)
      if (k.startsWith("_") || k.startsWith("$")) continue;
      if (!allowed.includes(k)) {
        this.fail(join(path, k), `unknown field (expected one of ${allowed.join(", ")})`);
      }
    }
  }

  positiveInteger(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.fail(path, `must be a whole number, got ${describe(value)}`);
    } else if (value < 1 || value > 0xffffffff) {
      this.fail(path, `must be 1 to 4294967295, got ${value}`, true);
    } else return value;
    return undefined;
  }

  number(value: unknown, path: string, min: number, exclusive: boolean): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      this.fail(path, `must be a number, got ${describe(value)}`);
    } else if (exclusive ? value <= min : value < min) {
      this.fail(path, `must be ${exclusive ? "greater than" : "at least"} ${min}, got ${value}`, true);
    } else return value;
    return undefined;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") this.fail(path, `must be true or false, got ${describe(value)}`);
    else return value;
    return undefined;
  }

  string(value: unknown, path: string): string | undefined {
    if (typeof value === "string" && value.length > 0) return value;
    this.fail(path, `must be a non-empty string, got ${describe(value)}`);
    return undefined;
  }
}

function parseHttp(c: Checker, value: unknown): HttpConfig | null {
  const obj = c.object(value, "http");
  if (obj === null) return null;
  c.keys(obj, HTTP_KEYS, "http");
  const bind = c.string(obj.bind, "http.bind");
  const token = obj.token === undefined ? null : c.string(obj.token, "http.token") ?? null;
  const clientMetrics = c.boolean(obj.clientMetrics, "http.clientMetrics") ?? false;
  if (bind === undefined) return null;
  try {
    return { bind, ...parseHttpBind(bind), token, clientMetrics };
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    c.fail("http.bind", `${err.reason}, got ${describe(bind)}`);
    return null;
  }
}

function parseBridge(c: Checker, value: unknown): BridgeConfig | null {
  const obj = c.object(value, "bridge");
  if (obj === null) return null;
  c.keys(obj, BRIDGE_KEYS, "bridge");
  const strings = (v: unknown, path: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== "string" || s === "")) {
      c.fail(path, `must be a non-empty list of non-empty strings, got ${describe(v)}`);
      return undefined;
    }
    return v as string[];
  };
  const servers = strings(obj.servers, "bridge.servers");
  if (obj.servers === undefined) c.fail("bridge.servers", "is required: the NATS servers, nats://host:port");
  servers?.forEach((s, i) => {
    if (!/^((nats|tls):\/\/)?[^\s/,]+:\d{1,5}\/?$/.test(s)) {
      c.fail(`bridge.servers[${i}]`, `must be nats://host:port, got ${describe(s)}`);
    }
  });
  const node = c.string(obj.node, "bridge.node");
  if (node !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(node)) {
    c.fail("bridge.node", `must be 1-64 letters, digits, _ and -, got ${describe(node)}`);
  }
  const out: BridgeConfig = { servers: servers ?? [], node: node ?? "" };
  const exports = strings(obj.exports, "bridge.exports");
  if (exports !== undefined) out.exports = exports;
  const imports = strings(obj.imports, "bridge.imports");
  if (imports !== undefined) out.imports = imports;
  if (obj.prefix !== undefined) {
    const prefix = c.string(obj.prefix, "bridge.prefix");
    if (prefix !== undefined && !prefix.split(".").every((t) => t !== "" && !/[\s*>]/.test(t))) {
      c.fail("bridge.prefix", `must be subject tokens joined by ".", got ${describe(prefix)}`);
    } else if (prefix !== undefined) out.prefix = prefix;
  }
  const broadcast = c.boolean(obj.broadcast, "bridge.broadcast");
  if (broadcast !== undefined) out.broadcast = broadcast;
  const requestTimeout = c.number(obj.requestTimeout, "bridge.requestTimeout", 0, true);
  if (requestTimeout !== undefined) out.requestTimeout = requestTimeout;
  if (obj.bufferBytes !== undefined) {
    if (
      typeof obj.bufferBytes !== "number" || !Number.isSafeInteger(obj.bufferBytes) || obj.bufferBytes < 0
    ) {
      c.fail("bridge.bufferBytes", `must be a whole number of bytes, got ${describe(obj.bufferBytes)}`, true);
    } else out.bufferBytes = obj.bufferBytes;
  }
  if (obj.dropPolicy !== undefined) {
    if (obj.dropPolicy !== "oldest" && obj.dropPolicy !== "newest") {
      c.fail("bridge.dropPolicy", `must be "oldest" or "newest", got ${describe(obj.dropPolicy)}`);
    } else out.dropPolicy = obj.dropPolicy;
  }
  return out;
}

/**
 * Parses and validates configuration text. TLS file paths are resolved
 * against the directory of `sourceName` when it is a path.
 *
 * @example A listener with an AAA map, then a field out of range
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBrokerConfig } from "./config_file.ts";
 * const config = parseBrokerConfig('{"listeners": [{"bind": "127.0.0.1:7777", "aaa": {"app": {}}}]}', "inline");
 * assert.ok(config.listeners[0].aaa?.has("app"));
 * assert.throws(
 *   () => parseBrokerConfig('{"listeners": [{"bind": "127.0.0.1:7777", "timeout": 0}]}', "inline"),
 *   RangeError,
 * );
 * ```
 *
 * @param jsonText the configuration as JSON text
 * @param sourceName the file path (or a label) named in error messages
 * @returns the validated configuration
 *
 * @throws {SyntaxError} when the text is not JSON
 * @throws {TypeError} naming the first bad field (and how many more there are)
 * @throws {RangeError} when the only problem is a number out of range
 */
export function parseBrokerConfig(jsonText: string, sourceName: string): BrokerConfig {
  let root: unknown;
  try {
    root = JSON.parse(jsonText);
  } catch (err) {
    throw new SyntaxError(`Invalid config "${sourceName}": not valid JSON (${(err as Error).message})`);
  }
  const baseDir = sourceName.includes("/") ? dirname(resolve(sourceName)) : null;
  const c = new Checker();
  const config: BrokerConfig = {
    source: sourceName,
    broker: {},
    logLevel: "info",
    listeners: [],
    fifos: [],
    http: null,
    bridge: null,
  };
  const top = c.object(root, "(root)");
  if (top !== null) {
    c.keys(top, TOP_KEYS, "");
    const queueSize = c.positiveInteger(top.queueSize, "queueSize");
    if (queueSize !== undefined) config.broker.queueSize = queueSize;
    const forceRegister = c.boolean(top.forceRegister, "forceRegister");
    if (forceRegister !== undefined) config.broker.forceRegister = forceRegister;
    if (top.logLevel !== undefined) {
      if (LOG_LEVELS.includes(top.logLevel as LogLevel)) config.logLevel = top.logLevel as LogLevel;
      else c.fail("logLevel", `must be one of ${LOG_LEVELS.join(", ")}, got ${describe(top.logLevel)}`);
    }
    if (top.fifo !== undefined) {
      if (!Array.isArray(top.fifo)) c.fail("fifo", `must be a list of FIFO paths, got ${describe(top.fifo)}`);
      else {
        top.fifo.forEach((f, i) => {
          if (typeof f !== "string" || f === "" || f.includes("\0")) {
            c.fail(`fifo[${i}]`, `must be a file path, got ${describe(f)}`);
          } else config.fifos.push(baseDir !== null && !isAbsolute(f) ? resolve(baseDir, f) : f);
        });
      }
    }
    if (top.http !== undefined) config.http = parseHttp(c, top.http);
    if (top.bridge !== undefined) config.bridge = parseBridge(c, top.bridge);
    if (!Array.isArray(top.listeners)) {
      c.fail("listeners", `must be a list of listeners, got ${describe(top.listeners)}`);
    } else {
      if (top.listeners.length === 0) c.fail("listeners", "must have at least one listener");
      const seen = new Map<string, number>();
      top.listeners.forEach((l, i) => {
        const listener = parseListener(c, l, `listeners[${i}]`, baseDir);
        if (listener === null) return;
        const earlier = seen.get(listener.address);
        if (earlier !== undefined) {
          c.fail(`listeners[${i}].bind`, `"${listener.bind}" is already bound by listeners[${earlier}]`);
        }
        seen.set(listener.address, i);
        config.listeners.push(listener);
      });
    }
  }
  if (c.problems.length > 0) throw configError(sourceName, c.problems);
  return config;
}

function parseListener(
  c: Checker,
  value: unknown,
  path: string,
  baseDir: string | null,
): ListenerConfig | null {
  const obj = c.object(value, path);
  if (obj === null) return null;
  c.keys(obj, LISTENER_KEYS, path);
  const bind = c.string(obj.bind, `${path}.bind`);
  let transport: BindTransport = "tcp";
  let address = "";
  if (bind !== undefined) {
    const parsed = checkBind(bind);
    if (typeof parsed === "string") c.fail(`${path}.bind`, parsed);
    else ({ transport, address } = parsed);
  }
  const server: Omit<ListenerOptions, "policy"> = {};
  const timeout = c.number(obj.timeout, `${path}.timeout`, 0, true);
  if (timeout !== undefined) server.timeout = timeout;
  const bufSize = c.positiveInteger(obj.bufSize, `${path}.bufSize`);
  if (bufSize !== undefined) server.bufSize = bufSize;
  const bufTtl = c.number(obj.bufTtl, `${path}.bufTtl`, 0, false);
  if (bufTtl !== undefined) server.bufTtl = bufTtl;
  const queueSize = c.positiveInteger(obj.queueSize, `${path}.queueSize`);
  if (queueSize !== undefined) server.queueSize = queueSize;
  const queueBytes = c.positiveInteger(obj.queueBytes, `${path}.queueBytes`);
  if (queueBytes !== undefined) server.queueBytes = queueBytes;
  const topicLimit = c.positiveInteger(obj.topicLimit, `${path}.topicLimit`);
  if (topicLimit !== undefined) server.topicLimit = topicLimit;
  if (obj.payloadLimit === null) server.payloadLimit = null;
  else {
    const limit = c.positiveInteger(obj.payloadLimit, `${path}.payloadLimit`);
    if (limit !== undefined) server.payloadLimit = limit;
  }
  if (obj.socketMode !== undefined) {
    if (bind !== undefined && transport !== "unix") {
      c.fail(`${path}.socketMode`, "applies to unix socket binds only");
    } else {
      const mode = parseSocketMode(obj.socketMode);
      if (typeof mode === "string") c.fail(`${path}.socketMode`, mode, true);
      else server.socketMode = mode;
    }
  }
  let tls: ListenerTlsConfig | null = null;
  if (obj.tls !== undefined) {
    if (bind !== undefined && transport !== "tls" && transport !== "wss") {
      c.fail(`${path}.tls`, `applies to wss:// and ${TLS_SCHEME}host:port binds only`);
    } else tls = parseTls(c, obj.tls, `${path}.tls`, baseDir);
    if (tls?.requireClientCert === true && transport === "wss") {
      c.fail(
        `${path}.tls.requireClientCert`,
        `client certificates are not available on wss:// binds; use ${TLS_SCHEME}`,
      );
    }
  } else if (transport === "tls" || transport === "wss") {
    c.fail(
      `${path}.tls`,
      `is required for a ${transport === "tls" ? TLS_SCHEME : "wss://"} bind (cert and key files)`,
    );
  }
  let token: string | null = null;
  if (obj.token !== undefined) {
    if (bind !== undefined && transport !== "ws" && transport !== "wss") {
      c.fail(`${path}.token`, "applies to ws:// and wss:// binds only");
    } else token = c.string(obj.token, `${path}.token`) ?? null;
  }
  const aaa = obj.aaa === undefined || obj.aaa === null ? null : parseAaa(c, obj.aaa, `${path}.aaa`);
  if (bind === undefined) return null;
  return { bind, transport, address, server, aaa, tls, token };
}

/** The transport and the address without scheme, or the reason the bind is refused. */
function checkBind(bind: string): { transport: BindTransport; address: string } | string {
  try {
    const addr = parseBind(bind);
    const address = addr.transport === "unix" ? addr.path : formatHostPort(addr.hostname, addr.port);
    return { transport: addr.transport, address };
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    return `"${bind}" is ${err.unsupported ? "not supported" : "invalid"}: ${err.reason}`;
  }
}

function parseSocketMode(value: unknown): number | string {
  if (typeof value === "string") {
    if (!/^(0o|0)?[0-7]{3}$/.test(value)) return `must be an octal mode like "0660", got ${describe(value)}`;
    return parseInt(value.replace(/^0o/, ""), 8);
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o777) return value;
  return `must be an octal string like "0660" (or a number 0 to 511), got ${describe(value)}`;
}

function parseTls(
  c: Checker,
  value: unknown,
  path: string,
  baseDir: string | null,
): ListenerTlsConfig | null {
  const obj = c.object(value, path);
  if (obj === null) return null;
  c.keys(obj, TLS_KEYS, path);
  const cert = c.string(obj.cert, `${path}.cert`);
  const key = c.string(obj.key, `${path}.key`);
  let ca: string[] | null = null;
  if (typeof obj.ca === "string" && obj.ca.length > 0) ca = [obj.ca];
  else if (Array.isArray(obj.ca)) {
    ca = [];
    obj.ca.forEach((f, i) => {
      const s = c.string(f, `${path}.ca[${i}]`);
      if (s !== undefined) ca!.push(s);
    });
    if (obj.ca.length === 0) c.fail(`${path}.ca`, "must name at least one file");
  } else if (obj.ca !== undefined) {
    c.fail(`${path}.ca`, `must be a file name or a list of them, got ${describe(obj.ca)}`);
  }
  const requireClientCert = c.boolean(obj.requireClientCert, `${path}.requireClientCert`) ?? false;
  if (requireClientCert && ca === null) c.fail(`${path}.ca`, "is required when requireClientCert is true");
  if (!requireClientCert && ca !== null) {
    c.fail(`${path}.ca`, "is used only with requireClientCert: true (set it, or remove ca)");
  }
  if (cert === undefined || key === undefined) return null;
  const abs = (f: string) => baseDir === null || isAbsolute(f) ? f : resolve(baseDir, f);
  return { cert: abs(cert), key: abs(key), ca: ca === null ? null : ca.map(abs), requireClientCert };
}

function parseAaa(c: Checker, value: unknown, path: string): AaaMap | null {
  const obj = c.object(value, path);
  if (obj === null) return null;
  const map = new AaaMap();
  for (const [name, entry] of Object.entries(obj)) {
    const p = join(path, name);
    if (name.length === 0 || name.startsWith(".") || name.includes("%%")) {
      c.fail(p, `"${name}" is not a client primary name (non-empty, no leading ".", no "%%")`);
      continue;
    }
    const spec = parseAaaEntry(c, entry, p);
    if (spec === null) continue;
    try {
      map.set(name, ClientAaa.fromSpec(spec));
    } catch (err) {
      c.fail(p, (err as Error).message);
    }
  }
  return map;
}

function parseAaaEntry(c: Checker, value: unknown, path: string): ClientAaaSpec | null {
  const obj = c.object(value, path);
  if (obj === null) return null;
  c.keys(obj, AAA_KEYS, path);
  const before = c.problems.length;
  const spec: ClientAaaSpec = {};
  if (obj.hosts !== undefined) {
    if (!Array.isArray(obj.hosts)) {
      c.fail(`${path}.hosts`, `must be a list of networks like "127.0.0.1/32", got ${describe(obj.hosts)}`);
    } else {
      obj.hosts.forEach((h, i) => {
        if (typeof h !== "string") {
          c.fail(`${path}.hosts[${i}]`, `must be a network string, got ${describe(h)}`);
        } else {
          try {
            IpNetwork.parse(h);
          } catch {
            c.fail(
              `${path}.hosts[${i}]`,
              `"${h}" is not an IPv4 or IPv6 network (like "10.0.0.0/8" or "::1")`,
            );
          }
        }
      });
      spec.hosts = obj.hosts as string[];
    }
  }
  for (const field of ["p2p", "publish", "subscribe", "broadcast"] as const) {
    const v = obj[field];
    if (v === undefined) continue;
    const perm = parsePermission(c, v, `${path}.${field}`);
    if (perm !== undefined) spec[field] = perm;
  }
  return c.problems.length === before ? spec : null;
}

function parsePermission(c: Checker, value: unknown, path: string): PermissionSpec | undefined {
  if (value === true || value === false || value === "any" || value === "deny") return value;
  if (!Array.isArray(value)) {
    c.fail(path, `must be a list of patterns, true/"any" or false/"deny", got ${describe(value)}`);
    return undefined;
  }
  let ok = true;
  value.forEach((p, i) => {
    if (typeof p !== "string") {
      c.fail(`${path}[${i}]`, `must be a pattern string, got ${describe(p)}`);
      ok = false;
    }
  });
  return ok ? value as string[] : undefined;
}

/**
 * Reads and validates a configuration file (see {@linkcode parseBrokerConfig}).
 *
 * @example Read a file, then a missing one
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBrokerConfig } from "./config_file.ts";
 * const dir = await Deno.makeTempDir();
 * const text = JSON.stringify({ logLevel: "warn", listeners: [{ bind: "127.0.0.1:7777" }] });
 * await Deno.writeTextFile(`${dir}/busrt.config.json`, text);
 * assert.equal((await loadBrokerConfig(`${dir}/busrt.config.json`)).logLevel, "warn");
 * await assert.rejects(loadBrokerConfig(`${dir}/missing.json`), /^Error: Cannot read config/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path the file path
 * @returns the validated configuration
 */
export async function loadBrokerConfig(path: string): Promise<BrokerConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`Cannot read config "${path}": ${(err as Error).message}`, { cause: err });
  }
  return parseBrokerConfig(text, path);
}

/**
 * The options for `new Broker(...)` from a configuration: queue size,
 * force-register and a console logger at the configured level (or `logger`).
 *
 * @param config the validated configuration
 * @param logger the logger to use instead of a console logger
 * @returns the broker options
 */
export function brokerOptionsFromConfig(config: BrokerConfig, logger?: Logger): BrokerOptions {
  return { ...config.broker, logger: logger ?? consoleLogger(config.logLevel) };
}

/** PEM text read from a listener's TLS files. */
interface TlsMaterial {
  cert: string;
  key: string;
  ca: string[] | undefined;
}

/** Options of {@linkcode applyBrokerConfig}. */
export interface ApplyConfigOptions {
  /**
   * Listener settings used where the file gives none (e.g. the command
   * line's `timeout`); the file's listener fields win. Default: the library
   * defaults.
   */
  defaults?: Omit<ListenerOptions, "policy">;
}

/**
 * Starts every listener of a configuration on `broker`. All TLS files are
 * read and checked first; a listener that fails to start (e.g. the address
 * is in use) closes the ones already started, so either all start or none.
 * A `forceRegister` in the file is applied to the broker.
 *
 * @example Defaults for what the file leaves out
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyBrokerConfig, Broker, parseBrokerConfig } from "./mod.ts";
 * const config = parseBrokerConfig('{"listeners": [{"bind": "127.0.0.1:0", "timeout": 2}]}', "inline");
 * const broker = new Broker();
 * const [listener] = await applyBrokerConfig(broker, config, { defaults: { timeout: 5, bufSize: 4096 } });
 * assert.equal(listener.config.timeout, 2);
 * assert.equal(listener.config.bufSize, 4096);
 * await broker.close();
 * ```
 *
 * @param broker the broker to start the listeners on
 * @param config the validated configuration
 * @param options listener settings used where the file gives none
 * @returns the started listeners, in file order
 * @throws {Error} naming the field (`listeners[1].tls.cert`, `listeners[0].bind`) and the reason
 */
export async function applyBrokerConfig(
  broker: Broker,
  config: BrokerConfig,
  options: ApplyConfigOptions = {},
): Promise<BrokerListener[]> {
  const material: (TlsMaterial | null)[] = [];
  for (const [i, l] of config.listeners.entries()) {
    material.push(l.tls === null ? null : await readTlsMaterial(config.source, `listeners[${i}].tls`, l.tls));
  }
  if (config.broker.forceRegister !== undefined) broker.forceRegister = config.broker.forceRegister;
  const started: BrokerListener[] = [];
  try {
    for (const [i, l] of config.listeners.entries()) {
      const server: ListenerOptions = {
        ...options.defaults,
        ...(config.broker.queueSize === undefined ? {} : { queueSize: config.broker.queueSize }),
        ...l.server,
        policy: l.aaa,
      };
      const m = material[i];
      const tls = m === null ? {} : { ...m, requireClientCert: l.tls!.requireClientCert };
      const token = l.token === null ? {} : { token: l.token };
      try {
        started.push(await broker.serve(l.bind, { ...server, ...tls, ...token }));
      } catch (err) {
        throw new Error(
          `Cannot start config "${config.source}": listeners[${i}].bind: cannot listen on "${l.bind}": ${
            listenFailureReason(err)
          }`,
          { cause: err },
        );
      }
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  return started;
}

async function readTlsMaterial(source: string, path: string, tls: ListenerTlsConfig): Promise<TlsMaterial> {
  const read = async (file: string, field: string, marker: RegExp): Promise<string> => {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new Error(
        `Invalid config "${source}": ${field}: cannot read "${file}": ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!marker.test(text)) {
      throw new TypeError(`Invalid config "${source}": ${field}: "${file}" is not a PEM file`);
    }
    return text;
  };
  const cert = await read(tls.cert, `${path}.cert`, /-----BEGIN CERTIFICATE-----/);
  const key = await read(tls.key, `${path}.key`, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  const ca = tls.ca === null ? undefined : await Promise.all(
    tls.ca.map((f, i) =>
      read(f, tls.ca!.length === 1 ? `${path}.ca` : `${path}.ca[${i}]`, /-----BEGIN CERTIFICATE-----/)
    ),
  );
  return { cert, key, ca };
}

function configError(source: string, problems: Problem[]): Error {
  const lines = problems.map((p) => `${p.path}: ${p.reason}`);
  if (problems.length === 1) {
    const message = `Invalid config "${source}": ${lines[0]}`;
    return problems[0].range ? new RangeError(message) : new TypeError(message);
  }
  return new TypeError(`Invalid config "${source}": ${problems.length} problems:\n  ${lines.join("\n  ")}`);
}

function join(path: string, key: string): string {
  const k = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === "") return k;
  return k.startsWith('"') ? `${path}[${k}]` : `${path}.${k}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value);
}
