/**
 * Server memory with many idle clients: a fresh server, its RSS before, then
 * with `count` connected clients spread over several client processes
 * (idle_clients.ts, each with a raised open-files limit).
 *
 * @module
 */
import { memory } from "./proc_stats.ts";
import { ServerProcess } from "./server_process.ts";

/** Memory figures of one idle test. */
export interface IdleResult {
  /** Server id, e.g. `busrt-unix`. */
  target: string;
  /** Clients connected. */
  connections: number;
  /** Server RSS before any client, bytes. */
  baselineRss: number;
  /** Server RSS with all clients connected and settled, bytes. */
  rss: number;
  /** Server peak RSS over its life, bytes. */
  peakRss: number;
  /** Seconds to connect all clients. */
  connectSeconds: number;
  /** Error text, or null. */
  error: string | null;
}

const IDLE_CLIENTS = new URL("./idle_clients.ts", import.meta.url).pathname;
const SETTLE_MS = 1500;

/**
 * Connects `count` idle clients of protocol `kind` to `address` from
 * `processes` child processes and reads the server's memory; `whileConnected`
 * runs after that, before the clients are stopped.
 *
 * @example
 * ```ts ignore
 * const r = await measureIdle("busrt-unix", "busrt", path, server.pid, 10_000, 4);
 * console.log(r.rss / 2 ** 20, "MiB");
 * ```
 */
export async function measureIdle(
  target: string,
  kind: "busrt" | "nats" | "redis" | "mqtt",
  address: string,
  serverPid: number,
  count: number,
  processes: number,
  whileConnected?: () => Promise<void>,
): Promise<IdleResult> {
  await new Promise((r) => setTimeout(r, 300));
  const result: IdleResult = {
    target,
    connections: 0,
    baselineRss: memory(serverPid).rss,
    rss: NaN,
    peakRss: NaN,
    connectSeconds: NaN,
    error: null,
  };
  const children: ServerProcess[] = [];
  try {
    const started = performance.now();
    const per = Math.ceil(count / processes);
    for (let i = 0; i < processes; i++) {
      const n = Math.min(per, count - i * per);
      if (n <= 0) break;
      children.push(
        ServerProcess.spawn(`idle clients ${i}`, Deno.execPath(), [
          "run",
          "-A",
          IDLE_CLIENTS,
          kind,
          address,
          String(n),
          `idle${i}`,
        ]),
      );
    }
    const counts = await Promise.all(children.map(async (c) => {
      const m = await c.waitForOutput(/(connected|error) (.*)/, 120_000);
      if (m[1] === "error") throw new Error(`idle clients failed: ${m[2]}`);
      return Number(m[2]);
    }));
    result.connectSeconds = (performance.now() - started) / 1000;
    result.connections = counts.reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const mem = memory(serverPid);
    result.rss = mem.rss;
    result.peakRss = mem.peak;
    await whileConnected?.();
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
  return result;
}
