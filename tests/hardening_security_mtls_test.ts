// Issue #12 item 6: with client certificates required, the names a certificate proves are read from its
// DER (subject CN, DNS SANs as encoded), never from Node's display text; a CA certificate names no client.
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { memoryLogger } from "../log/logger.ts";
import { ErrorCode } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { tlsDial } from "../transport/tls_dial.ts";
import { type CertPair, hasOpenssl, makeSignedCertificate, makeTestPki, type TestPki } from "./_certs.ts";

const OPENSSL = await hasOpenssl();

async function withMtlsBroker(fn: (address: string, pki: TestPki, log: string[]) => Promise<void>) {
  const pki = await makeTestPki();
  const log = memoryLogger();
  const broker = new Broker({ logger: log });
  try {
    const listener = await broker.serveTls("tls://127.0.0.1:0", {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      requireClientCert: true,
      timeout: 10,
    });
    await fn(`tls://${listener.bind}`, pki, log.lines);
  } finally {
    await broker.close();
    await pki.remove();
  }
}

/** Registers `name` with a certificate; returns the registration outcome. */
async function register(address: string, pki: TestPki, name: string, pair: CertPair): Promise<"ok" | number> {
  const dial = tlsDial({ caCerts: [pki.ca.cert], cert: pair.cert, key: pair.key });
  try {
    const client = await connect(address, { name, dial, timeout: 5 });
    await client.close();
    return "ok";
  } catch (err) {
    if (err instanceof BusError) return err.code;
    throw err;
  }
}

Deno.test({
  name: "mTLS: a DNS name holding ', DNS:alice' proves only itself, not alice",
  ignore: !OPENSSL,
  async fn() {
    await withMtlsBroker(async (address, pki) => {
      const hostile = await makeSignedCertificate(pki.dir, pki.ca, "hostile-san", "mallory", [
        "basicConstraints=CA:FALSE",
        "extendedKeyUsage=clientAuth",
        "subjectAltName=@alt",
        "[alt]",
        "DNS.1 = x, DNS:alice",
      ]);
      assert.equal(await register(address, pki, "alice", hostile), ErrorCode.Access);
      assert.equal(await register(address, pki, "x", hostile), ErrorCode.Access);
      assert.equal(await register(address, pki, "x, DNS:alice", hostile), "ok", "the DNS name as encoded");
      assert.equal(await register(address, pki, "mallory", hostile), "ok", "the subject CN");
    });
  },
});

Deno.test({
  name: "mTLS: a CA certificate (CA:TRUE) presented as a client certificate names no client",
  ignore: !OPENSSL,
  async fn() {
    await withMtlsBroker(async (address, pki, log) => {
      const intermediate = await makeSignedCertificate(pki.dir, pki.ca, "intermediate", "ops", [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,digitalSignature",
        "extendedKeyUsage=clientAuth",
      ]);
      // OpenSSL's purpose check already fails this handshake (0x73); it must not register either way
      assert.notEqual(await register(address, pki, "ops", intermediate), "ok", "an intermediate CA");
      assert.equal(await register(address, pki, "ca", pki.ca), ErrorCode.Access, "the trusted root itself");
      assert.ok(log.some((l) => l.includes("CA certificate")), log.join("\n"));
      assert.equal(await register(address, pki, "app", pki.clients.app), "ok", "a leaf still works");
    });
  },
});
