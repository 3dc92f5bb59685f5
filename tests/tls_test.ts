/**
 * The TLS listener and client: mutual TLS with the client's name proven by
 * its certificate, AAA on top, plain TLS, and the Link adapter under load.
 * Certificates are generated with `openssl` at run time; without it the
 * tests are skipped.
 */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { AaaMap, ClientAaa } from "../broker/aaa.ts";
import { Broker } from "../broker/broker.ts";
import type { BrokerListener } from "../broker/listener.ts";
import {
  certificateBoundPolicy,
  loadCertificateReader,
  type TlsListenerOptions,
} from "../broker/tls_listener.ts";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { tlsDial, type TlsDialOptions } from "../transport/tls_dial.ts";
import { ErrorCode, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { memoryLogger } from "../log/logger.ts";
import { hasOpenssl, makeTestPki, type TestPki } from "./_certs.ts";
import { describeFrames, framesBeforeMarker, nextFrame, patternBytes, settle } from "./_helpers.ts";

const OPENSSL = await hasOpenssl();
if (!OPENSSL) console.warn("tls_test.ts: `openssl` not found, TLS tests skipped (apt-get install openssl)");

function isAccessDenied(err: unknown): boolean {
  return err instanceof BusError && err.code === ErrorCode.Access;
}

/** A broker with one TLS listener; tracks clients for cleanup. */
class TlsBus {
  readonly broker: Broker;
  readonly listener: BrokerListener;
  readonly log: ReturnType<typeof memoryLogger>;
  readonly pki: TestPki;
  readonly #clients: IpcClient[] = [];

  private constructor(
    broker: Broker,
    listener: BrokerListener,
    log: ReturnType<typeof memoryLogger>,
    pki: TestPki,
  ) {
    this.broker = broker;
    this.listener = listener;
    this.log = log;
    this.pki = pki;
  }

  static async start(pki: TestPki, config: Partial<TlsListenerOptions> = {}): Promise<TlsBus> {
    const log = memoryLogger();
    const broker = new Broker({ logger: log });
    const listener = await broker.serveTls("tls://127.0.0.1:0", {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      requireClientCert: true,
      timeout: 10,
      ...config,
    });
    return new TlsBus(broker, listener, log, pki);
  }

  get address(): string {
    return `tls://${this.listener.bind}`;
  }

  /** Connects with the client certificate of `label` (none for null). */
  async client(name: string, label: string | null, extra: TlsDialOptions = {}): Promise<IpcClient> {
    const pair = label === null ? null : this.pki.clients[label];
    const dial = tlsDial({
      caCerts: [this.pki.ca.cert],
      ...(pair === null ? {} : { cert: pair.cert, key: pair.key }),
      ...extra,
    });
    const c = await connect(this.address, { name, dial, timeout: 5 });
    this.#clients.push(c);
    return c;
  }

  track(c: IpcClient): IpcClient {
    this.#clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close().catch(() => {})));
    await this.broker.close();
    await settle();
  }
}

async function withTlsBus(
  pki: TestPki,
  config: Partial<TlsListenerOptions>,
  fn: (bus: TlsBus) => Promise<void>,
) {
  const bus = await TlsBus.start(pki, config);
  try {
    await fn(bus);
  } finally {
    await bus.close();
  }
}

/** The DER bytes of a PEM certificate. */
function pemToDer(pem: string): Uint8Array {
  const base64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

Deno.test({
  name: "loadCertificateReader() reads the subject CN and DNS subject-alternative names from DER",
  ignore: !OPENSSL,
  async fn() {
    const pki = await makeTestPki();
    try {
      const read = await loadCertificateReader();
      assert.deepEqual(read(pemToDer(pki.clients.app.cert)), { names: ["app"], isCa: false });
      assert.deepEqual(read(pemToDer(pki.clients.san.cert)), {
        names: ["unrelated", "svc.alt"],
        isCa: false,
      });
      assert.deepEqual(read(pemToDer(pki.server.cert)), { names: ["localhost", "localhost"], isCa: false });
      assert.deepEqual(read(pemToDer(pki.ca.cert)), { names: ["ca"], isCa: true });
      assert.deepEqual(read(new Uint8Array([0x30, 0x03, 0x02, 0x01])), { names: [], isCa: false }, "not DER");
    } finally {
      await pki.remove();
    }
  },
});

Deno.test("certificateBoundPolicy() admits only a primary named by the certificate, then asks the inner policy", () => {
  const inner = new AaaMap({ app: new ClientAaa().denyPublish() });
  const policy = certificateBoundPolicy(inner);
  const acl = policy.authorize("app", { ip: "127.0.0.1", certNames: ["app"] });
  assert.ok(acl !== null && !acl.allowPublish("x"));
  assert.equal(policy.authorize("app", { ip: "127.0.0.1" }), null, "no certificate");
  assert.equal(policy.authorize("other", { ip: "127.0.0.1", certNames: ["other"] }), null, "not in the map");
});

Deno.test({
  name: "TLS listener with required client certificates",
  ignore: !OPENSSL,
  async fn(t) {
    const pki = await makeTestPki();
    try {
      await t.step("a client without a certificate cannot connect", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const err = await bus.client("app", null).catch((e) => e);
          assert.ok(err instanceof BusError, String(err));
          assert.ok(!bus.broker.isRegistered("app"));
        });
      });

      await t.step("a certificate from an untrusted CA cannot connect", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const dial = tlsDial({
            caCerts: [pki.ca.cert],
            cert: pki.foreignClient.cert,
            key: pki.foreignClient.key,
          });
          const err = await connect(bus.address, { name: "app", dial, timeout: 5 }).catch((e) => e);
          assert.ok(err instanceof BusError, String(err));
          assert.ok(!bus.broker.isRegistered("app"));
        });
      });

      await t.step("a certificate for another name is refused with 0x79", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          await assert.rejects(bus.client("app", "other"), isAccessDenied);
          await assert.rejects(bus.client("other%%1", "app"), isAccessDenied);
          assert.ok(bus.log.lines.some((l) => l.includes("certificate names")), "the refusal is logged");
        });
      });

      await t.step("the certificate's CN as the name works, with traffic both ways", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const app = await bus.client("app", "app");
          const local = bus.broker.registerClient("local");
          await app.send("local", "over tls", QoS.Processed);
          const f = await nextFrame(local);
          assert.equal(new TextDecoder().decode(f.payload), "over tls");
          await local.send("app", "back", QoS.Processed);
          assert.equal(new TextDecoder().decode((await nextFrame(app)).payload), "back");
          const [info] = bus.broker.clientList(/^app$/);
          assert.equal(info.kind, "tcp");
          assert.match(info.source ?? "", /^127\.0\.0\.1:\d+$/);
          assert.equal(info.port, bus.listener.bind);
        });
      });

      await t.step("a DNS subject-alternative name works as the name", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          assert.ok((await bus.client("svc.alt", "san")).isConnected());
          await assert.rejects(bus.client("unrelated2", "san"), isAccessDenied);
        });
      });

      await t.step("a secondary of a certified primary works", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const app = await bus.client("app", "app");
          const secondary = bus.track(await app.registerSecondary());
          assert.equal(secondary.name, "app%%0");
          const local = bus.broker.registerClient("local");
          await secondary.send("local", "from secondary", QoS.Processed);
          assert.equal((await nextFrame(local)).sender, "app%%0");
        });
      });

      await t.step("AAA applies on top of the certificate check", async () => {
        const aaa = new AaaMap({
          app: new ClientAaa().allowHosts(["127.0.0.1"]).denyPublish(),
          // has a certificate but a host network that excludes loopback
          other: new ClientAaa().allowHosts(["10.0.0.0/8"]),
        });
        await withTlsBus(pki, { policy: aaa }, async (bus) => {
          const app = await bus.client("app", "app");
          await assert.rejects(app.publish("a/b", "x", QoS.Processed), isAccessDenied);
          await app.send("app", "self", QoS.Processed);
          await assert.rejects(bus.client("other", "other"), isAccessDenied);
          await assert.rejects(bus.client("svc.alt", "san"), isAccessDenied, "certified but not in the map");
        });
      });

      await t.step("large payloads cross the TLS link intact in both directions", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const app = await bus.client("app", "app");
          const local = bus.broker.registerClient("local");
          const big = patternBytes(3 * 1024 * 1024, 11);
          for (let i = 0; i < 3; i++) app.send("local", big, QoS.No);
          await app.send("local", "end", QoS.Processed);
          for (let i = 0; i < 3; i++) assert.deepEqual((await nextFrame(local, 20000)).payload, big);
          assert.equal(new TextDecoder().decode((await nextFrame(local)).payload), "end");
          for (let i = 0; i < 3; i++) local.send("app", big);
          const marker = bus.broker.registerClient("marker");
          const got = await framesBeforeMarker(app, marker, 20000);
          assert.equal(got.length, 3);
          for (const f of got) assert.deepEqual(f.payload, big);
        });
      });

      await t.step("tlsDial hostname verifies a name other than the address host", async () => {
        await withTlsBus(pki, {}, async (bus) => {
          const app = await bus.client("app", "app", { hostname: "localhost" });
          const local = bus.broker.registerClient("local");
          await app.send("local", "via node:tls", QoS.Processed);
          assert.deepEqual(describeFrames([await nextFrame(local)]), ["msg:app:via node:tls"]);
          const err = await bus.client("app%%9", "app", { hostname: "wrong.example" }).catch((e) => e);
          assert.ok(err instanceof BusError && !err.isAccessDenied(), String(err));
        });
      });

      await t.step("closing the broker closes TLS clients and the listener", async () => {
        const bus = await TlsBus.start(pki);
        const app = await bus.client("app", "app");
        await bus.broker.close();
        await app.closed;
        assert.ok(!app.isConnected());
        await bus.close();
      });
    } finally {
      await pki.remove();
    }
  },
});

Deno.test({
  name: "TLS listener without client certificates",
  ignore: !OPENSSL,
  async fn(t) {
    const pki = await makeTestPki();
    try {
      await t.step("any name connects over plain TLS when no AAA map is set", async () => {
        await withTlsBus(pki, { requireClientCert: false, ca: undefined }, async (bus) => {
          assert.ok((await bus.client("whoever", null)).isConnected());
          assert.ok(
            (await bus.client("app", "app")).isConnected(),
            "an unrequested certificate does no harm",
          );
        });
      });

      await t.step("a client that does not trust the server's CA cannot connect", async () => {
        await withTlsBus(pki, { requireClientCert: false }, async (bus) => {
          const dial = tlsDial({ caCerts: [pki.foreignCa.cert] });
          const err = await connect(bus.address, { name: "x", dial, timeout: 5 }).catch((e) => e);
          assert.ok(err instanceof BusError, String(err));
        });
      });

      await t.step("a plain TCP client gets no BUS/RT greeting", async () => {
        await withTlsBus(pki, { requireClientCert: false }, async (bus) => {
          const err = await connect(bus.listener.bind, { name: "plain", timeout: 0.5 }).catch((e) => e);
          assert.ok(err instanceof BusError, String(err));
          assert.ok(!bus.broker.isRegistered("plain"));
        });
      });

      await t.step("requireClientCert without a CA is refused", async () => {
        const broker = new Broker();
        await assert.rejects(
          broker.serveTls("127.0.0.1:0", {
            cert: pki.server.cert,
            key: pki.server.key,
            requireClientCert: true,
          }),
          TypeError,
        );
        await broker.close();
      });
    } finally {
      await pki.remove();
    }
  },
});

Deno.test({
  name: "node:tls sockets keep working after the adapter pauses them",
  ignore: !OPENSSL,
  async fn() {
    // a direct check of the read-side backpressure: a slow reader must pause the socket
    const pki = await makeTestPki();
    const { NodeSocketLink } = await import("../transport/node_socket_link.ts");
    const server = tls.createServer({ cert: pki.server.cert, key: pki.server.key });
    let serverLink: InstanceType<typeof NodeSocketLink> | null = null;
    const accepted = new Promise<void>((resolve) =>
      server.on("secureConnection", (s: tls.TLSSocket) => {
        serverLink = new NodeSocketLink(s, 64 * 1024);
        resolve();
      })
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as { port: number }).port;
    const client = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [pki.ca.cert] });
    try {
      await accepted;
      const data = patternBytes(4 * 1024 * 1024, 5);
      const writing = (async () => {
        let off = 0;
        while (off < data.length) off += await client.write(data.subarray(off, off + 65536));
      })();
      const got = new Uint8Array(data.length);
      let off = 0;
      const buf = new Uint8Array(10000);
      while (off < data.length) {
        const n = await serverLink!.read(buf);
        assert.ok(n !== null);
        got.set(buf.subarray(0, n), off);
        off += n;
      }
      await writing;
      assert.deepEqual(got, data);
      client.close();
      assert.equal(await serverLink!.read(buf), null, "end of stream after the peer closes");
    } finally {
      try {
        client.close();
      } catch {
        // closed above
      }
      (serverLink as InstanceType<typeof NodeSocketLink> | null)?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pki.remove();
    }
  },
});
