/**
 * A stand-alone broker process for the end-to-end benchmark.
 *
 * Run: deno run -A bench/broker_server.ts /tmp/busrt-bench.sock
 *
 * @module
 */
import { Broker } from "../broker/mod.ts";

if (import.meta.main) {
  const path = Deno.args[0] ?? "/tmp/busrt-bench.sock";
  const broker = new Broker();
  await broker.serveUnix(path, { timeout: 5 });
  console.log("ready");
  Deno.addSignalListener("SIGTERM", async () => {
    await broker.close();
    Deno.exit(0);
  });
}
