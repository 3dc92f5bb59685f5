/**
 * Proven client names: a TLS listener that requires client certificates,
 * plus an AAA map, and a client that connects with its certificate. The
 * client's name must equal its certificate's subject CN (or a DNS SAN).
 *
 * Make a CA, a server and a client certificate (X.509 v3, clientAuth EKU for
 * the client) as shown in docs/SECURITY.md, then:
 *
 *   deno run --allow-net=127.0.0.1:7778 --allow-read=./pki examples/aaa_mtls.ts ./pki
 */
import { AaaMap, Broker, ClientAaa, connect, QoS } from "../mod.ts";

const dir = Deno.args[0] ?? "./pki";
const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);

const broker = new Broker();
const listener = await broker.serve("tls://127.0.0.1:7778", {
  cert: await read("server.crt"),
  key: await read("server.key"),
  ca: await read("ca.crt"),
  requireClientCert: true,
  // proven names, then permissions: "app" may publish under app/ only
  policy: new AaaMap({ app: new ClientAaa().allowPublishTo(["app/#"]).denyBroadcast() }),
});

const client = await connect(`tls://${listener.bind}`, {
  name: "app", // must match the certificate's CN
  tls: { caCerts: [await read("ca.crt")], cert: await read("app.crt"), key: await read("app.key") },
});
await client.publish("app/status", "up", QoS.Processed);
try {
  await client.publish("other/status", "up", QoS.Processed);
} catch (err) {
  console.log("denied as expected:", (err as Error).message);
}
await client.close();
await broker.close();
