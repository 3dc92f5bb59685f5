/**
 * Starts `_broker_child.ts` in a process of its own and reads its resident
 * memory from `/proc`: the broker measured from outside, with nothing of
 * the test's own clients in its heap.
 *
 * @module
 */
import type { ListenerOptions } from "../broker/listener_options.ts";

/** A broker subprocess. */
export interface BrokerProcess {
  /** Unix socket path. */
  unix: string;
  /** TCP `127.0.0.1:port`. */
  tcp: string;
  /** Process id. */
  pid: number;
  /** Current resident memory in bytes (VmRSS). */
  rss(): number;
  /** Peak resident memory in bytes since start (VmHWM). */
  peakRss(): number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Stops the process (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

function statusField(pid: number, field: string): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * Starts a broker subprocess listening on a temporary unix socket and a
 * loopback TCP port.
 *
 * @param options the listener options of both listeners
 * @param env environment variables for the process (`BUSRT_STATS`, `BUSRT_LOG`)
 * @returns the running process
 */
export async function startBrokerProcess(
  options: ListenerOptions = {},
  env: Record<string, string> = {},
): Promise<BrokerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "busrt-child-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_broker_child.ts", import.meta.url).pathname,
      `${dir}/busrt.sock`,
      JSON.stringify(options),
    ],
    stdout: "piped",
    stderr: "inherit",
    env,
  }).spawn();
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the broker process ended before it was ready");
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  await child.stdout.cancel();
  const [word, unix, tcp] = line.trim().split(" ");
  if (word !== "ready") throw new Error(`unexpected output of the broker process: ${line}`);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    unix,
    tcp,
    pid: child.pid,
    rss: () => statusField(child.pid, "VmRSS"),
    peakRss: () => statusField(child.pid, "VmHWM"),
    alive: () => !exited,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
