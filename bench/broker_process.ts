/**
 * A stand-alone broker with the `.broker` core RPC, for the RPC benchmark.
 *
 * Run: deno run -A bench/broker_process.ts /tmp/busrt-rpc-bench.sock
 * Prints `ready` once it listens; stops on SIGTERM or SIGINT.
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";

/**
 * Starts this script as a child process and waits until it listens.
 *
 * @param path the unix socket path
 * @param denoFlags extra Deno flags of the child (e.g. `--cpu-prof`)
 * @returns the child; stop it with SIGTERM
 */
export async function spawnBrokerProcess(path: string, denoFlags: string[] = []): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...denoFlags, new URL(import.meta.url).pathname, path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The broker process ended before it was ready");
    seen += value;
  }
  reader.releaseLock();
  return child;
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (path === undefined) {
    console.error("Usage: deno run -A bench/broker_process.ts <unix socket path>");
    Deno.exit(2);
  }
  const broker = new Broker();
  enableCoreRpc(broker);
  await broker.serveUnix(path, { timeout: 5 });
  console.log("ready");
  const stop = async () => {
    await broker.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
