/**
 * What a reader needs to reproduce the figures: the machine and the exact
 * versions of Deno, the servers and the npm clients.
 *
 * @module
 */

/** Machine and software versions of a run. */
export interface Environment {
  /** CPU model from /proc/cpuinfo. */
  cpuModel: string;
  /** Online CPUs (nproc). */
  cpus: number;
  /** Total memory in bytes. */
  memoryBytes: number;
  /** Kernel release. */
  kernel: string;
  /** Load average when the run started. */
  loadAtStart: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** Server name → version line. */
  servers: Record<string, string>;
  /** npm client → pinned specifier. */
  clients: Record<string, string>;
}

async function run(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
    return (new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr)).trim();
  } catch {
    return "not installed";
  }
}

/** The 1-minute, 5-minute and 15-minute load averages. */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/**
 * Collects the environment; `withPeers` adds the peer server versions.
 *
 * @example
 * ```ts ignore
 * const env = await describeEnvironment(true);
 * console.log(env.cpuModel, env.cpus);
 * ```
 */
export async function describeEnvironment(withPeers: boolean): Promise<Environment> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKib = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  const servers: Record<string, string> = {};
  if (withPeers) {
    servers["nats-server"] = (await run("nats-server", ["--version"])).replace(/^nats-server:\s*/, "");
    servers["redis-server"] = (await run("redis-server", ["--version"])).split(" ").slice(0, 3).join(" ");
    servers["mosquitto"] = (await run("mosquitto", ["-h"])).split("\n")[0];
  }
  const clients: Record<string, string> = {};
  try {
    const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
    for (const name of ["nats", "ioredis", "mqtt"]) {
      if (withPeers && config.imports?.[name]) clients[name] = config.imports[name];
    }
  } catch {
    // no deno.json: leave the client versions out
  }
  return {
    cpuModel: model,
    cpus: navigator.hardwareConcurrency,
    memoryBytes: memKib * 1024,
    kernel: Deno.osRelease(),
    loadAtStart: loadAverage(),
    deno: `deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}`,
    servers,
    clients,
  };
}
