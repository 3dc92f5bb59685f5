/**
 * A stand-alone broker process for the end-to-end benchmark.
 *
 * Run: deno run -A bench/broker_server.ts /tmp/busrt-bench.sock [127.0.0.1:0]
 * (with a second argument it listens on TCP too and prints `ready <host:port>`)
 *
 * @module
 */
import { Broker } from "../broker/mod.ts";

if (import.meta.main) {
  const path = Deno.args[0] ?? "/tmp/busrt-bench.sock";
  const broker = new Broker();
  await broker.serveUnix(path, { timeout: 5 });
  const tcp = Deno.args[1] === undefined ? null : await broker.serveTcp(Deno.args[1], { timeout: 5 });
  console.log(tcp === null ? "ready" : `ready ${tcp.bind}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await broker.close();
    Deno.exit(0);
  });
}
