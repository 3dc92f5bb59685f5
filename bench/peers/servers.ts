/**
 * Starting the servers of the comparison on loopback (127.0.0.1, free ports,
 * unix sockets in a private temp dir) and the targets that reach them.
 *
 * @module
 */
import { busrtTarget } from "./busrt_target.ts";
import { BUSRTD, BUSRTD_QUEUE_SIZE } from "./reference_binaries.ts";
import { freePort, ServerProcess } from "./server_process.ts";
import type { Target, Transport } from "./target.ts";

/** A started server and the targets on it. */
export interface RunningServer {
  /** The server process. */
  process: ServerProcess;
  /** One target per transport the server listens on. */
  targets: Target[];
  /** Address per transport: a socket path or `127.0.0.1:<port>`. */
  addresses: Partial<Record<Transport, string>>;
}

const BROKER_SERVER = new URL("../broker_server.ts", import.meta.url).pathname;
const RELAY = new URL("../relay.ts", import.meta.url).pathname;

/**
 * Our broker (bench/broker_server.ts) in its own process, on a unix socket
 * and TCP. `denoFlags` go before the script (e.g. `--cpu-prof`).
 *
 * @example
 * ```ts ignore
 * const { process, targets } = await startBusrt(dir);
 * ```
 */
export async function startBusrt(
  dir: string,
  denoFlags: string[] = [],
  requestReply: "rpc" | "plain" = "rpc",
): Promise<RunningServer> {
  const path = `${dir}/busrt.sock`;
  const process = ServerProcess.spawn("busrt broker", Deno.execPath(), [
    "run",
    "-A",
    ...denoFlags,
    BROKER_SERVER,
    path,
    "127.0.0.1:0",
  ]);
  const m = await process.waitForOutput(/ready (\S+)/);
  const pid = process.pid;
  return {
    process,
    targets: [
      busrtTarget({
        id: "busrt-unix",
        label: "busrt (unix)",
        family: "busrt",
        transport: "unix",
        address: path,
        pid,
        requestReply,
      }),
      busrtTarget({
        id: "busrt-tcp",
        label: "busrt (tcp)",
        family: "busrt",
        transport: "tcp",
        address: m[1],
        pid,
        requestReply,
      }),
    ],
    addresses: { unix: path, tcp: m[1] },
  };
}

/** Our broker on a unix socket only (the idle-connections test). */
export async function startBusrtUnixOnly(dir: string): Promise<{ process: ServerProcess; path: string }> {
  const path = `${dir}/busrt-idle.sock`;
  const process = ServerProcess.spawn("busrt broker", Deno.execPath(), ["run", "-A", BROKER_SERVER, path]);
  await process.waitForOutput(/ready/);
  return { process, path };
}

/**
 * The Rust reference broker `busrtd` in its own process on a unix socket,
 * with `--queue-size 1000000` as its README advises for benchmarks, reached
 * through our client like our broker.
 *
 * @example
 * ```ts ignore
 * const { process, targets } = await startBusrtd(dir);
 * ```
 */
export async function startBusrtd(
  dir: string,
  requestReply: "rpc" | "plain" = "rpc",
): Promise<RunningServer> {
  const path = `${dir}/busrtd.sock`;
  const process = ServerProcess.spawn("busrtd", BUSRTD, [
    "-B",
    path,
    "--queue-size",
    String(BUSRTD_QUEUE_SIZE),
  ]);
  await process.waitForConnect({ transport: "unix", path });
  return {
    process,
    targets: [
      busrtTarget({
        id: "busrtd-unix",
        label: "busrtd (unix)",
        family: "busrtd",
        transport: "unix",
        address: path,
        pid: process.pid,
        requestReply,
      }),
    ],
    addresses: { unix: path },
  };
}

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/**
 * Our broker as users start it, `busrt serve` (core RPC on `.broker`, which the
 * reference benchmark tool calls), on a unix socket only, in its own process.
 *
 * @example
 * ```ts ignore
 * const { process, path } = await startBusrtServe(dir);
 * ```
 */
export async function startBusrtServe(dir: string): Promise<{ process: ServerProcess; path: string }> {
  const path = `${dir}/busrt-serve.sock`;
  const process = ServerProcess.spawn("busrt serve", Deno.execPath(), [
    "run",
    "-A",
    CLI,
    "serve",
    "-B",
    path,
  ]);
  await process.waitForConnect({ transport: "unix", path }, 30_000);
  return { process, path };
}

/** The raw relay (bench/relay.ts): the ceiling for direct messages over a unix socket. */
export async function startRelay(dir: string, requestReply: "rpc" | "plain" = "rpc"): Promise<RunningServer> {
  const path = `${dir}/relay.sock`;
  const process = ServerProcess.spawn("relay", Deno.execPath(), ["run", "-A", RELAY, path]);
  await process.waitForOutput(/ready/);
  return {
    process,
    targets: [
      busrtTarget({
        id: "relay-unix",
        label: "raw relay (unix)",
        family: "relay",
        transport: "unix",
        address: path,
        pid: process.pid,
        requestReply,
      }),
    ],
    addresses: { unix: path },
  };
}

/** nats-server on 127.0.0.1 with a generated config (TCP only: it has no unix listener). */
export async function startNats(dir: string): Promise<RunningServer> {
  const port = freePort();
  const conf = `${dir}/nats.conf`;
  await Deno.writeTextFile(conf, `listen: "127.0.0.1:${port}"\nmax_connections: 65536\n`);
  const process = ServerProcess.spawn("nats-server", "nats-server", ["-c", conf]);
  await process.waitForConnect({ hostname: "127.0.0.1", port });
  const { natsTarget } = await import("./nats_target.ts");
  return { process, targets: [natsTarget(port, process.pid)], addresses: { tcp: `127.0.0.1:${port}` } };
}

/** redis-server, pub/sub only: persistence off, TCP on 127.0.0.1 and a unix socket. */
export async function startRedis(dir: string, withUnix = true): Promise<RunningServer> {
  const port = freePort();
  const path = `${dir}/redis.sock`;
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--dir",
    dir,
    "--loglevel",
    "warning",
    "--maxclients",
    "16000",
  ];
  if (withUnix) args.push("--unixsocket", path, "--unixsocketperm", "700");
  const process = ServerProcess.spawn("redis-server", "redis-server", args);
  await process.waitForConnect({ hostname: "127.0.0.1", port });
  const { redisTarget } = await import("./redis_target.ts");
  const targets = [redisTarget({ transport: "tcp", port }, process.pid)];
  if (withUnix) targets.push(redisTarget({ transport: "unix", path }, process.pid));
  return { process, targets, addresses: { tcp: `127.0.0.1:${port}`, ...(withUnix ? { unix: path } : {}) } };
}

/** mosquitto with a generated minimal config: 127.0.0.1 and a unix socket, no persistence, no log. */
export async function startMosquitto(dir: string, withUnix = true): Promise<RunningServer> {
  const port = freePort();
  const path = `${dir}/mosquitto.sock`;
  const conf = `${dir}/mosquitto.conf`;
  const lines = [
    // as root, mosquitto would switch to its own user before binding the unix socket in our private dir
    ...(Deno.uid() === 0 ? ["user root"] : []),
    `listener ${port} 127.0.0.1`,
    ...(withUnix ? [`listener 0 ${path}`] : []),
    "allow_anonymous true",
    "persistence false",
    "log_dest none",
    "max_connections -1",
    // QoS 0 packets beyond this per-client queue (default 1000) are dropped: the load generator's
    // window bounds what is in flight, so lift the count limit instead of losing messages
    "max_queued_messages 0",
  ];
  await Deno.writeTextFile(conf, lines.join("\n") + "\n");
  const process = ServerProcess.spawn("mosquitto", "mosquitto", ["-c", conf]);
  await process.waitForConnect({ hostname: "127.0.0.1", port });
  const { mqttTarget } = await import("./mqtt_target.ts");
  const targets = [mqttTarget({ transport: "tcp", port }, process.pid)];
  if (withUnix) targets.push(mqttTarget({ transport: "unix", path }, process.pid));
  return { process, targets, addresses: { tcp: `127.0.0.1:${port}`, ...(withUnix ? { unix: path } : {}) } };
}
