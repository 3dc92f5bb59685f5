/**
 * A broker in a process of its own, for tests and soaks that measure it
 * from outside (RSS) or must survive what it is fed: `.broker` core RPC,
 * a unix and a TCP listener with the listener options given as JSON.
 *
 * Run: deno run -A tests/_broker_child.ts <unix socket path> '<ListenerOptions JSON>'
 * Prints `ready <unix path> <host:port>`; stops on SIGTERM. With the
 * environment variable `BUSRT_STATS=<file>` it appends one JSON line a
 * second to that file: the largest event-loop delay of the second (ms, a
 * 20 ms timer's lateness) and the resident memory.
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
  const statsFile = Deno.env.get("BUSRT_STATS");
  if (statsFile !== undefined) sampleEventLoop(statsFile);
  console.log(`ready ${path} ${tcp.bind}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await broker.close();
    Deno.exit(0);
  });
}

/** Appends `{t, loopDelayMaxMs, rss}` to `file` every second. */
function sampleEventLoop(file: string): void {
  const started = performance.now();
  let expected = performance.now() + 20;
  let worst = 0;
  let lastReport = performance.now();
  setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - expected);
    expected = now + 20;
    if (now - lastReport >= 1000) {
      lastReport = now;
      const line = { t: (now - started) / 1000, loopDelayMaxMs: worst, rss: Deno.memoryUsage().rss };
      Deno.writeTextFileSync(file, JSON.stringify(line) + "\n", { append: true });
      worst = 0;
    }
  }, 20);
}
