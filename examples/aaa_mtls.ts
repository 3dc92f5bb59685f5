/**
 * Proven client names: a TLS listener that requires client certificates,
 * plus an AAA map, and a client that connects with its certificate. The
 * client's name must equal its certificate's subject CN (or a DNS SAN).
 *
 * Make a CA, a server and a client certificate for `svc.reports` in ./pki
 * with the openssl recipe of docs/SECURITY.md (run it in that directory), then:
 *
 *   deno run --allow-net=127.0.0.1:7778 --allow-read=./pki examples/aaa_mtls.ts ./pki [tls://127.0.0.1:7778]
 *
 * @module
 */
import { AaaMap, Broker, ClientAaa, connect, QoS } from "../mod.ts";

const dir = Deno.args[0] ?? "./pki";
const bind = Deno.args[1] ?? "tls://127.0.0.1:7778";
const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);

const broker = new Broker();
const listener = await broker.serve(bind, {
  cert: await read("server.crt"),
  key: await read("server.key"),
  ca: await read("ca.crt"),
  requireClientCert: true,
  // proven names, then permissions: "svc.reports" may publish under reports/ only
  policy: new AaaMap({ "svc.reports": new ClientAaa().allowPublishTo(["reports/#"]).denyBroadcast() }),
});

const client = await connect(`tls://${listener.bind}`, {
  name: "svc.reports", // must match the certificate's CN
  tls: {
    caCerts: [await read("ca.crt")],
    cert: await read("svc.reports.crt"),
    key: await read("svc.reports.key"),
  },
});
await client.publish("reports/status", "up", QoS.Processed);
console.log(`svc.reports connected over ${listener.bind} with its certificate and published reports/status`);
try {
  await client.publish("other/status", "up", QoS.Processed);
} catch (err) {
  console.log("denied as expected:", (err as Error).message);
}
await client.close();
await broker.close();
