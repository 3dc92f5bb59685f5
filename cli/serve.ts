/**
 * `busrt serve`: a stand-alone broker, after the reference `busrtd`.
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import {
  applyBrokerConfig,
  type BridgeConfig,
  type BrokerConfig,
  type HttpConfig,
  loadBrokerConfig,
} from "../broker/config_file.ts";
import type { Bridge } from "../bridge/bridge.ts";
import { parseServerList } from "../bridge/bridge_options.ts";
import { parseHttpBind } from "../broker/http_monitor.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { serveFifo } from "../rpc/fifo_channel.ts";
import { listenFailureReason, parseBind, type ServableAddress } from "../broker/listener.ts";
import type { ListenerOptions } from "../broker/listener_options.ts";
import type { TlsOptions } from "../broker/tls_listener.ts";
import { consoleLogger, LOG_FORMATS, type LogFormat, type Logger, type LogLevel } from "../log/logger.ts";
import { AddressError, FIFO_PREFIX, type FifoAddress, parseAddress } from "../transport/address.ts";
import { parseCommand, parseNumber } from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { printErrorLine, printLine } from "./output.ts";
import { StopSignals } from "./stop_signals.ts";
import { versionLine } from "./version.ts";
import {
  checkServePermissions,
  formatPermissionProblems,
  type PermissionProblem,
  servePlanFromBinds,
  servePlanFromConfig,
} from "./permissions.ts";

/** Binds used when neither `-B` nor `--config` is given. */
export const DEFAULT_BINDS: readonly string[] = ["/tmp/busrt.sock", "127.0.0.1:7777"];

/** Help of `busrt serve`. */
export const SERVE_HELP: string = `Usage: busrt serve [-B BIND]... [--config FILE] [options]

Runs a BUS/RT broker with the core RPC (.broker). Without -B and --config it
listens on ${DEFAULT_BINDS.join(" and ")}. SIGINT, SIGTERM or SIGHUP stop it
cleanly: clients are warned on .broker/warn, listeners are closed, the socket
and pid files removed, and it exits with 0. A stop signal within 0.5 s of the
first counts as the same one; a later one exits at once with 1.

Options:
  -B, --bind <BIND>          listen on BIND (repeatable): a unix socket path
                             (starting with / or ending .sock, .socket, .ipc),
                             host:port, tls://host:port, ws://host:port[/path],
                             wss://host:port[/path] (WebSocket, for browsers)
                             or fifo:PATH (a named pipe of commands, run as
                             .broker: =TOPIC PAYLOAD, TARGET PAYLOAD, TARGET
                             .NOTIFICATION, TARGET :METHOD k=v…; needs
                             --allow-run=mkfifo)
      --config <FILE>        JSON configuration file (listeners, TLS, AAA; see
                             docs/CONFIG.md); -B binds are added to its listeners
  -t, --timeout <SEC>        handshake, frame and write timeout (default 5)
      --buf-size <BYTES>     read/write buffer per client (default 16384)
      --buf-ttl <MICROSEC>   delayed-flush time (default 10)
      --queue-size <FRAMES>  outgoing queue per client (default 8192)
      --queue-bytes <BYTES>  outgoing queue per client in bytes; a client whose
                             queue would hold more is dropped (default 64 MiB)
      --topic-limit <N>      subscriptions, and exclusions, per client (default
                             65536); topics beyond it are refused with 0x74
      --payload-limit <BYTES> largest frame body accepted (default 64 MiB;
                             "none" for no limit)
      --socket-mode <MODE>   octal mode of unix socket files, e.g. 660
      --force-register       a new client with a taken name replaces the old one
      --tls-cert <FILE>      certificate chain (PEM) of tls:// and wss:// binds
      --tls-key <FILE>       private key (PEM) of tls:// and wss:// binds
      --tls-ca <FILE>        CA (PEM) for client certificates of tls:// binds
      --tls-require-client-cert  require client certificates naming the client
                             (tls:// binds; wss:// cannot ask for them)
      --ws-token <TOKEN>     bearer token ws:// and wss:// clients must present
                             (Authorization header or ?token=); HTTP 401 without
      --ws-token-file <FILE> the same, read from FILE (not shown by ps)
      --http <HOST:PORT>     serve the read-only HTTP monitoring endpoint there
                             (/healthz, /api/*, /metrics; see docs/MONITORING.md)
      --http-token <TOKEN>   bearer token HTTP requests must present; 401 without
      --http-token-file <FILE> the same, read from FILE (not shown by ps)
      --bridge <URLS>        join brokers on other hosts through NATS: servers
                             nats://h1:4222,nats://h2:4222 (docs/CLUSTER.md);
                             replaces the servers of the config's bridge
      --node <NAME>          this broker's node name in the cluster (needed
                             with --bridge); clients elsewhere reach a client
                             here as @NAME/client
  -P, --pid-file <FILE>      write the process id there; removed on exit
      --log-level <LEVEL>    debug, info, warn, error or silent (default info)
      --log-format <FORMAT>  text (default) or json: one JSON object a line
                             (time, level, event, message, fields)
  -v, --verbose              same as --log-level debug
  -V, --version              show the version
  -h, --help                 show this help

Log lines go to stderr.`;

const OPTIONS = {
  bind: { type: "string", short: "B", multiple: true },
  config: { type: "string" },
  timeout: { type: "string", short: "t" },
  "buf-size": { type: "string" },
  "buf-ttl": { type: "string" },
  "queue-size": { type: "string" },
  "queue-bytes": { type: "string" },
  "topic-limit": { type: "string" },
  "payload-limit": { type: "string" },
  "socket-mode": { type: "string" },
  "force-register": { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "tls-require-client-cert": { type: "boolean" },
  "ws-token": { type: "string" },
  "ws-token-file": { type: "string" },
  http: { type: "string" },
  "http-token": { type: "string" },
  "http-token-file": { type: "string" },
  bridge: { type: "string" },
  node: { type: "string" },
  "pid-file": { type: "string", short: "P" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  verbose: { type: "boolean", short: "v" },
  version: { type: "boolean", short: "V" },
  help: { type: "boolean", short: "h" },
} as const;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Defaults of `busrtd` (they differ from the library's). */
const SERVE_DEFAULTS = { timeout: 5, bufSize: 16384, bufTtl: 10, queueSize: 8192 } as const;

/** What `serve` was asked to do, validated. */
export interface ServeSettings {
  /** Binds from `-B` (or the defaults). */
  binds: string[];
  /** The configuration file, loaded, or null. */
  config: BrokerConfig | null;
  /** Listener settings for the `-B` binds. */
  server: ListenerOptions;
  /** Broker queue size. */
  queueSize: number;
  /** Whether names may be taken over. */
  forceRegister: boolean;
  /** TLS files for `tls://` and `wss://` binds (`ca` and client certificates: `tls://` only). */
  tls: { cert: string; key: string; ca?: string; requireClientCert: boolean } | null;
  /** The bearer token of `ws://` and `wss://` binds: given, or the file to read it from; null for none. */
  wsToken: { token: string } | { file: string } | null;
  /** The HTTP monitoring endpoint (`--http`, else the config file's), or null. */
  http: (HttpConfig & { tokenFile: string | null }) | null;
  /** The bridge to other hosts (`--bridge` and `--node`, else the config file's), or null. */
  bridge: BridgeConfig | null;
  /** Pid file, or null. */
  pidFile: string | null;
  /** Log level. */
  logLevel: LogLevel;
  /** Log line format. */
  logFormat: LogFormat;
}

type ServeValues = ReturnType<typeof parseCommand<typeof OPTIONS>>["values"];

function number(values: ServeValues, key: keyof typeof OPTIONS, rule: Parameters<typeof parseNumber>[3]) {
  const text = values[key];
  return typeof text === "string" ? parseNumber(text, `--${key}`, "serve", rule) : undefined;
}

/**
 * Validates the options of `serve` (without touching the network).
 *
 * @param values the parsed options of `serve`
 * @returns the settings to serve with
 */
export async function planServe(values: ServeValues): Promise<ServeSettings> {
  const binds = values.bind ?? [];
  const parsed = binds.map(checkBind);
  const config = values.config === undefined ? null : await loadConfig(values.config);
  const timeout = number(values, "timeout", { min: 0, minInclusive: false }) ?? SERVE_DEFAULTS.timeout;
  const bufSize = number(values, "buf-size", { integer: true, min: 1 }) ?? SERVE_DEFAULTS.bufSize;
  const bufTtl = number(values, "buf-ttl", { min: 0 }) ?? SERVE_DEFAULTS.bufTtl;
  const queueSize = number(values, "queue-size", { integer: true, min: 1 }) ?? config?.broker.queueSize ??
    SERVE_DEFAULTS.queueSize;
  const limitText = values["payload-limit"];
  const payloadLimit = limitText === undefined
    ? undefined
    : limitText === "none"
    ? null
    : parseNumber(limitText, "--payload-limit", "serve", { integer: true, min: 1, max: 0xffffffff });
  const server: ListenerOptions = { timeout, bufSize, bufTtl, queueSize, payloadLimit };
  const queueBytes = number(values, "queue-bytes", { integer: true, min: 1 });
  if (queueBytes !== undefined) server.queueBytes = queueBytes;
  const topicLimit = number(values, "topic-limit", { integer: true, min: 1 });
  if (topicLimit !== undefined) server.topicLimit = topicLimit;
  if (values["socket-mode"] !== undefined) server.socketMode = parseSocketMode(values["socket-mode"]);
  let logLevel: LogLevel = config?.logLevel ?? "info";
  if (values["log-level"] !== undefined) {
    if (!LOG_LEVELS.includes(values["log-level"] as LogLevel)) {
      throw new UsageError(
        `Invalid value "${values["log-level"]}" for --log-level: expected one of ${LOG_LEVELS.join(", ")}`,
        "serve",
      );
    }
    logLevel = values["log-level"] as LogLevel;
  }
  if (values.verbose === true) logLevel = "debug";
  const logFormat = (values["log-format"] ?? "text") as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) {
    throw new UsageError(
      `Invalid value "${values["log-format"]}" for --log-format: expected one of ${LOG_FORMATS.join(", ")}`,
      "serve",
    );
  }
  const tlsBinds = binds.filter((_, i) => parsed[i].transport === "tls" || parsed[i].transport === "wss");
  let tls: ServeSettings["tls"] = null;
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if (tlsBinds.length > 0) {
    if (cert === undefined || key === undefined) {
      throw new UsageError(`Bind "${tlsBinds[0]}" needs --tls-cert and --tls-key`, "serve");
    }
    if (values["tls-require-client-cert"] === true && values["tls-ca"] === undefined) {
      throw new UsageError("Option --tls-require-client-cert needs --tls-ca", "serve");
    }
    const clientCerts = values["tls-require-client-cert"] === true || values["tls-ca"] !== undefined;
    if (clientCerts && !parsed.some((p) => p.transport === "tls")) {
      throw new UsageError(
        "Options --tls-ca and --tls-require-client-cert need a tls://host:port bind (wss:// cannot ask for client certificates)",
        "serve",
      );
    }
    tls = { cert, key, ca: values["tls-ca"], requireClientCert: values["tls-require-client-cert"] === true };
  } else if (cert !== undefined || key !== undefined || values["tls-ca"] !== undefined) {
    throw new UsageError("TLS options need a tls://host:port or wss:// bind (-B)", "serve");
  }
  const wsToken = planWsToken(
    values,
    binds.filter((_, i) => parsed[i].transport === "ws" || parsed[i].transport === "wss"),
  );
  return {
    binds: binds.length === 0 && config === null ? [...DEFAULT_BINDS] : binds,
    config,
    server,
    queueSize,
    forceRegister: values["force-register"] === true || (config?.broker.forceRegister ?? false),
    tls,
    wsToken,
    http: planHttp(values, config),
    bridge: planBridge(values, config),
    pidFile: values["pid-file"] ?? null,
    logLevel,
    logFormat,
  };
}

/** `--bridge` and `--node` (they replace the servers and node of the config file's `bridge`). */
function planBridge(values: ServeValues, config: BrokerConfig | null): BridgeConfig | null {
  const base = config?.bridge ?? null;
  if (values.bridge === undefined && values.node === undefined) return base;
  if (values.bridge === undefined && base === null) {
    throw new UsageError("Option --node needs --bridge", "serve");
  }
  let servers = base?.servers ?? [];
  if (values.bridge !== undefined) {
    try {
      servers = parseServerList(values.bridge);
    } catch (err) {
      throw new UsageError(
        `Invalid value "${values.bridge}" for --bridge: ${(err as Error).message}`,
        "serve",
      );
    }
  }
  const node = values.node ?? base?.node;
  if (node === undefined) throw new UsageError("Option --bridge needs --node NAME", "serve");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(node)) {
    throw new UsageError(`Invalid value "${node}" for --node: use 1-64 letters, digits, _ and -`, "serve");
  }
  return { ...base, servers, node };
}

/** `--http`, `--http-token` and `--http-token-file` (they replace the config file's `http`). */
function planHttp(values: ServeValues, config: BrokerConfig | null): ServeSettings["http"] {
  const bind = values.http;
  const token = values["http-token"];
  const tokenFile = values["http-token-file"] ?? null;
  if (token === "") throw new UsageError('Invalid value "" for --http-token: must not be empty', "serve");
  if (token !== undefined && tokenFile !== null) {
    throw new UsageError("Options --http-token and --http-token-file exclude each other: give one", "serve");
  }
  if (bind === undefined) {
    if ((token !== undefined || tokenFile !== null) && config?.http == null) {
      throw new UsageError(
        `Option ${token !== undefined ? "--http-token" : "--http-token-file"} needs --http HOST:PORT`,
        "serve",
      );
    }
    if (config?.http == null) return null;
    return { ...config.http, token: tokenFile !== null ? null : token ?? config.http.token, tokenFile };
  }
  try {
    return { bind, ...parseHttpBind(bind), token: token ?? null, tokenFile, clientMetrics: false };
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    throw new UsageError(`Invalid value "${bind}" for --http: ${err.reason}`, "serve");
  }
}

/** The token options: at most one of them, and only with a WebSocket bind. */
function planWsToken(values: ServeValues, wsBinds: string[]): ServeSettings["wsToken"] {
  const token = values["ws-token"];
  const file = values["ws-token-file"];
  if (token === undefined && file === undefined) return null;
  if (token !== undefined && file !== undefined) {
    throw new UsageError("Options --ws-token and --ws-token-file exclude each other: give one", "serve");
  }
  if (wsBinds.length === 0) {
    throw new UsageError("Options --ws-token and --ws-token-file need a ws:// or wss:// bind (-B)", "serve");
  }
  if (token === "") throw new UsageError('Invalid value "" for --ws-token: must not be empty', "serve");
  return token !== undefined ? { token } : { file: file! };
}

/** Parses a `-B` bind (a listener, or a `fifo:` command channel); a bad one is a usage error. */
function checkBind(bind: string): ServableAddress | FifoAddress {
  try {
    const addr = parseAddress(bind);
    return addr.transport === "fifo" ? addr : parseBind(bind);
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    throw new UsageError(
      `${err.unsupported ? "Unsupported" : "Invalid"} bind "${bind}": ${err.reason}`,
      "serve",
    );
  }
}

function parseSocketMode(text: string): number {
  const digits = text.replace(/^0o/i, "");
  if (!/^[0-7]{1,4}$/.test(digits) || parseInt(digits, 8) > 0o777) {
    throw new UsageError(
      `Invalid value "${text}" for --socket-mode: expected an octal mode such as 660`,
      "serve",
    );
  }
  return parseInt(digits, 8);
}

async function loadConfig(path: string): Promise<BrokerConfig> {
  try {
    return await loadBrokerConfig(path);
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 1, { cause: err });
  }
}

async function startBind(broker: Broker, bind: string, plan: ServeSettings): Promise<void> {
  try {
    const addr = parseAddress(bind);
    if (addr.transport === "fifo") {
      await serveFifo(broker, addr.path);
      return;
    }
    const transport = parseBind(bind).transport;
    const tls = transport === "tls"
      ? await readTls(plan.tls!)
      : transport === "wss"
      ? await readTls({ cert: plan.tls!.cert, key: plan.tls!.key, requireClientCert: false })
      : {};
    const token = (transport === "ws" || transport === "wss") && plan.wsToken !== null
      ? { token: await readWsToken(plan.wsToken) }
      : {};
    await broker.serve(bind, { ...plan.server, ...tls, ...token });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`Cannot listen on "${bind}": ${listenFailureReason(err)}`, 1, { cause: err });
  }
}

/** The token of `--ws-token`, or the first line of the `--ws-token-file`. */
async function readWsToken(wsToken: NonNullable<ServeSettings["wsToken"]>): Promise<string> {
  if ("token" in wsToken) return wsToken.token;
  return await readTokenFile(wsToken.file, "--ws-token-file");
}

/** The first line of a token file, trimmed; an unreadable file or an empty line is an error. */
async function readTokenFile(file: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new CliError(`Cannot read ${option} "${file}": ${err instanceof Error ? err.message : err}`);
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (token === "") throw new CliError(`Invalid ${option} "${file}": its first line is empty`);
  return token;
}

/** Reads the PEM files of `--tls-cert`, `--tls-key` and `--tls-ca`. */
async function readTls(tls: NonNullable<ServeSettings["tls"]>): Promise<TlsOptions> {
  const read = (file: string, option: string) =>
    Deno.readTextFile(file).catch((err) => {
      throw new CliError(`Cannot read ${option} "${file}": ${err instanceof Error ? err.message : err}`);
    });
  return {
    cert: await read(tls.cert, "--tls-cert"),
    key: await read(tls.key, "--tls-key"),
    ca: tls.ca === undefined ? undefined : await read(tls.ca, "--tls-ca"),
    requireClientCert: tls.requireClientCert,
  };
}

async function writePidFile(path: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, String(Deno.pid));
  } catch (err) {
    throw new CliError(`Cannot write --pid-file "${path}": ${err instanceof Error ? err.message : err}`);
  }
}

/**
 * Runs `busrt serve` until SIGINT, SIGTERM or SIGHUP (`cli/stop_signals.ts`).
 *
 * @param args the arguments after `serve`
 * @returns the exit status
 */
export async function runServe(args: string[]): Promise<number> {
  const { values } = parseCommand("serve", args, OPTIONS);
  if (values.help === true) {
    printLine(SERVE_HELP);
    return 0;
  }
  if (values.version === true) {
    printLine(versionLine());
    return 0;
  }
  if (values.config !== undefined) {
    // before reading it: a missing --allow-read then gets the same plain words
    requirePermissions(await checkServePermissions({ readFiles: [values.config] }), null);
  }
  const plan = await planServe(values);
  const log = consoleLogger(plan.logLevel, plan.logFormat);
  requirePermissions(await permissionProblems(plan), log);
  const broker = new Broker({ queueSize: plan.queueSize, forceRegister: plan.forceRegister, logger: log });
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => wake = resolve);
  let pidWritten = false;
  // installed until shutdown has completed; a repeat within the window is the same request
  const stops = new StopSignals({
    onStop: () => wake(),
    onInsist: (signal) => {
      log.warn(`${signal} again: exiting at once`);
      if (pidWritten) removeFileNow(plan.pidFile!);
      Deno.exit(1);
    },
  });
  const stopSignal = () => stops.signal;
  let bridge: Bridge | null = null;
  try {
    logStart(log, plan);
    enableCoreRpc(broker);
    if (plan.config !== null) {
      try {
        await applyBrokerConfig(broker, plan.config);
      } catch (err) {
        throw new CliError(err instanceof Error ? err.message.split("\n")[0] : String(err), 1, {
          cause: err,
        });
      }
    }
    for (const path of plan.config?.fifos ?? []) await startBind(broker, `${FIFO_PREFIX}${path}`, plan);
    for (const bind of plan.binds) await startBind(broker, bind, plan);
    if (plan.http !== null) await startHttp(broker, plan.http);
    if (plan.bridge !== null) {
      // loaded only when asked for: the NATS client stays out of every other command's start-up
      const { Bridge } = await import("../bridge/bridge.ts");
      bridge = Bridge.start(broker, { ...plan.bridge, logger: log });
    }
    if (plan.pidFile !== null) {
      await writePidFile(plan.pidFile);
      pidWritten = true;
    }
    log.info(`broker ready (pid ${Deno.pid})`);
    await stopped;
    log.info(`${stopSignal()}: shutting down`);
    broker.announceShutdown();
    return 0;
  } finally {
    await bridge?.close();
    await broker.close();
    if (pidWritten) await Deno.remove(plan.pidFile!).catch(() => {});
    if (stopSignal() !== null) log.info("broker stopped");
    stops.close();
  }
}

async function startHttp(broker: Broker, http: NonNullable<ServeSettings["http"]>): Promise<void> {
  const token = http.tokenFile === null
    ? http.token
    : await readTokenFile(http.tokenFile, "--http-token-file");
  try {
    await broker.serveHttp({
      hostname: http.hostname,
      port: http.port,
      ...(token === null ? {} : { token }),
      clientMetrics: http.clientMetrics,
    });
  } catch (err) {
    throw new CliError(`Cannot serve HTTP on "${http.bind}": ${listenFailureReason(err)}`, 1, { cause: err });
  }
}

/** Removes a file now, best effort (the process is about to exit). */
function removeFileNow(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/** The permissions the binds, files and listeners of `settings` need but lack. */
async function permissionProblems(settings: ServeSettings): Promise<PermissionProblem[]> {
  const files = {
    socketMode: settings.server.socketMode !== undefined,
    pidFile: settings.pidFile ?? undefined,
    readFiles: [
      ...(settings.tls === null
        ? []
        : [settings.tls.cert, settings.tls.key, ...(settings.tls.ca === undefined ? [] : [settings.tls.ca])]),
      ...(settings.wsToken !== null && "file" in settings.wsToken ? [settings.wsToken.file] : []),
      ...(settings.http?.tokenFile == null ? [] : [settings.http.tokenFile]),
    ],
  };
  const binds = settings.http === null ? settings.binds : [...settings.binds, settings.http.bind];
  const problems = await checkServePermissions({
    ...servePlanFromBinds(binds, files),
    connectTo: (settings.bridge?.servers ?? []).map(natsHostPort), // the bridge's NATS servers
  });
  if (settings.config !== null) {
    const seen = new Set(problems.map((p) => p.flag));
    for (const p of await checkServePermissions(servePlanFromConfig(settings.config))) {
      if (!seen.has(p.flag)) problems.push(p);
    }
  }
  return problems;
}

/** `host:port` of a NATS server URL (`nats://` optional, port 4222 by default). */
function natsHostPort(server: string): string {
  const hostPort = server.replace(/^[a-z]+:\/\//, "").replace(/\/$/, "");
  return /:\d+$/.test(hostPort) ? hostPort : `${hostPort}:4222`;
}

/** Prints permission problems; fails when one of them is fatal. */
function requirePermissions(problems: PermissionProblem[], log: Logger | null): void {
  const fatal = problems.filter((p) => p.fatal);
  if (fatal.length > 0) {
    printErrorLine(formatPermissionProblems(problems));
    throw new CliError(
      `Missing Deno permission${fatal.length > 1 ? "s" : ""}: run again with ${
        fatal.map((p) => p.flag).join(" ")
      }`,
    );
  }
  for (const p of problems) log?.warn(p.message);
}

function logStart(log: Logger, plan: ServeSettings): void {
  const s = plan.server;
  const limit = s.payloadLimit === null
    ? "none"
    : s.payloadLimit === undefined
    ? "default"
    : `${s.payloadLimit} B`;
  log.info(
    `${versionLine()}; timeout ${s.timeout} s, buf size ${s.bufSize}, buf ttl ${s.bufTtl} µs, ` +
      `queue size ${plan.queueSize}, payload limit ${limit}${plan.forceRegister ? ", force register" : ""}`,
  );
  if (plan.config !== null) {
    log.info(`config "${plan.config.source}": ${plan.config.listeners.length} listener(s)`);
  }
}
