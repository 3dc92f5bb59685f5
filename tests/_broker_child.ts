/**
 * A broker in a process of its own, for tests and soaks that measure it
 * from outside (RSS) or must survive what it is fed: `.broker` core RPC,
 * a unix and a TCP listener with the listener options given as JSON.
 *
 * Run: deno run -A tests/_broker_child.ts <unix socket path> '<ListenerOptions JSON>'
 * Prints `ready <unix path> <host:port>`; stops on SIGTERM.
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import type { ListenerOptions } from "../broker/listener_options.ts";
import { consoleLogger } from "../log/logger.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";

if (import.meta.main) {
  const path = Deno.args[0];
  const options = JSON.parse(Deno.args[1] ?? "{}") as ListenerOptions;
  const broker = new Broker({ logger: consoleLogger(Deno.env.get("BUSRT_LOG") === "1" ? "info" : "error") });
  enableCoreRpc(broker);
  await broker.serveUnix(path, options);
  const tcp = await broker.serveTcp("127.0.0.1:0", options);
  console.log(`ready ${path} ${tcp.bind}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await broker.close();
    Deno.exit(0);
  });
}
