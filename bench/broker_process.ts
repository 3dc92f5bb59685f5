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
