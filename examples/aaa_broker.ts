/**
 * A broker with an AAA map on its TCP listener, in the spirit of the
 * reference's `broker_aaa` example: only listed names may connect, each with
 * its own limits, and a changed entry is applied by disconnecting the client.
 *
 * Run:  deno run --allow-net=127.0.0.1:7777 examples/aaa_broker.ts [127.0.0.1:7777]
 * Then: deno run -A cli.ts -s 127.0.0.1:7777 --name sensor.boiler publish sensors/boiler/t 21
 * And:  deno run -A cli.ts -s 127.0.0.1:7777 --name sensor.boiler publish sensors/other/t 21   (refused)
 *
 * @module
 */
import { AaaMap, Broker, ClientAaa, consoleLogger } from "../mod.ts";

const aaa = new AaaMap({
  // may only publish its own readings and read its own configuration, from loopback
  "sensor.boiler": new ClientAaa()
    .allowHosts(["127.0.0.1/32"])
    .denyP2p()
    .allowPublishTo(["sensors/boiler/#"])
    .allowSubscribeTo(["config/boiler/#"])
    .denyBroadcast(),
  // reads every sensor and talks to services, publishes nothing
  "dashboard": new ClientAaa().allowP2pTo(["svc.*"]).denyPublish().allowSubscribeTo(["sensors/#"])
    .denyBroadcast(),
});

const broker = new Broker({ logger: consoleLogger("info") });
broker.registerCoreClient();
const listener = await broker.serveTcp(Deno.args[0] ?? "127.0.0.1:7777", { timeout: 5, policy: aaa });
console.log(`broker with AAA on ${listener.bind}; Ctrl+C to stop`);

// Every minute the dashboard loses its subscriptions and gets them back:
// an entry is copied when a client connects, so a change is applied by
// disconnecting it (it reconnects under the new rules).
let locked = false;
const timer = setInterval(() => {
  locked = !locked;
  const entry = locked
    ? new ClientAaa().denyP2p().denyPublish().denySubscribe().denyBroadcast()
    : new ClientAaa()
      .allowP2pTo(["svc.*"]).denyPublish().allowSubscribeTo(["sensors/#"]).denyBroadcast();
  const closed = aaa.replace("dashboard", entry, broker);
  console.log(`dashboard ${locked ? "locked" : "unlocked"}; ${closed} connection(s) closed`);
}, 60_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    clearInterval(timer);
    await broker.close();
    Deno.exit(0);
  });
}
