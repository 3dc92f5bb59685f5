/**
 * The one address grammar (transport/address.ts): every form of bind and
 * client address, every refusal, the formatters; and its users: what
 * `Broker.serve` listens on (now `tls://` too), the acceptor extension
 * point, and what `connect` dials.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { parseBind } from "../broker/listener.ts";
import { connect } from "../client/ipc_client.ts";
import type { Accepted, Acceptor } from "../transport/acceptor.ts";
import {
  ADDRESS_FORMS,
  AddressError,
  type BusAddress,
  formatAddress,
  formatHost,
  formatHostPort,
  parseAddress,
} from "../transport/address.ts";
import { tlsDial } from "../transport/tls_dial.ts";
import { QoS } from "../protocol/constants.ts";
import { hasOpenssl, makeTestPki } from "./_certs.ts";
import { nextFrame, settle } from "./_helpers.ts";

const OPENSSL = await hasOpenssl();
if (!OPENSSL) console.warn("address_test.ts: `openssl` not found, the tls:// serve test is skipped");

Deno.test("parseAddress() reads every form of bind and address", () => {
  const cases: [string, BusAddress][] = [
    ["/tmp/busrt.sock", { transport: "unix", path: "/tmp/busrt.sock" }],
    ["/run/busrt", { transport: "unix", path: "/run/busrt" }],
    ["/odd/dir://x", { transport: "unix", path: "/odd/dir://x" }],
    ["rel/bus.sock", { transport: "unix", path: "rel/bus.sock" }],
    ["bus.socket", { transport: "unix", path: "bus.socket" }],
    ["bus.ipc", { transport: "unix", path: "bus.ipc" }],
    ["127.0.0.1:7777", { transport: "tcp", hostname: "127.0.0.1", port: 7777 }],
    ["localhost:0", { transport: "tcp", hostname: "localhost", port: 0 }],
    ["bus.example.org:65535", { transport: "tcp", hostname: "bus.example.org", port: 65535 }],
    ["[::1]:9924", { transport: "tcp", hostname: "::1", port: 9924 }],
    ["[fe80::1%eth0]:1", { transport: "tcp", hostname: "fe80::1%eth0", port: 1 }],
    ["tls://0.0.0.0:7778", { transport: "tls", hostname: "0.0.0.0", port: 7778 }],
    ["tls://[::]:7778", { transport: "tls", hostname: "::", port: 7778 }],
    ["TLS://host:1", { transport: "tls", hostname: "host", port: 1 }],
    ["ws://bus.local:8080/ipc", { transport: "ws", hostname: "bus.local", port: 8080, path: "/ipc" }],
    ["ws://bus.local:8080", { transport: "ws", hostname: "bus.local", port: 8080, path: "/" }],
    ["ws://bus.local/a/b?x=1", { transport: "ws", hostname: "bus.local", port: 80, path: "/a/b?x=1" }],
    ["wss://[::1]:9443/", { transport: "wss", hostname: "::1", port: 9443, path: "/" }],
    ["wss://bus.local", { transport: "wss", hostname: "bus.local", port: 443, path: "/" }],
    ["fifo:/run/busrt.fifo", { transport: "fifo", path: "/run/busrt.fifo" }],
    ["fifo:rel.fifo", { transport: "fifo", path: "rel.fifo" }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseAddress(text), expected, text);
});

Deno.test("formatAddress() writes text that parses back to the same address", () => {
  const texts = [
    "/tmp/busrt.sock",
    "bus.ipc",
    "127.0.0.1:7777",
    "[::1]:9924",
    "tls://[::1]:7778",
    "tls://0.0.0.0:0",
    "ws://bus.local:8080/ipc",
    "wss://bus.local:443/",
    "fifo:/run/busrt.fifo",
  ];
  for (const text of texts) {
    assert.equal(formatAddress(parseAddress(text)), text);
    assert.deepEqual(parseAddress(formatAddress(parseAddress(text))), parseAddress(text));
  }
  assert.equal(formatAddress(parseAddress("ws://h")), "ws://h:80/");
  assert.equal(formatHost("::1"), "[::1]");
  assert.equal(formatHost("example.org"), "example.org");
  assert.equal(formatHostPort("::1", 7777), "[::1]:7777");
  assert.equal(formatHostPort("127.0.0.1", 0), "127.0.0.1:0");
});

/** Asserts that parsing fails with an AddressError whose message matches `pattern`. */
function assertRefused(address: string, pattern: RegExp, unsupported = false): void {
  assert.throws(() => parseAddress(address), (err: unknown) => {
    assert.ok(err instanceof AddressError, `${address}: expected an AddressError, got ${err}`);
    assert.ok(err instanceof TypeError);
    assert.equal(err.address, address);
    assert.equal(err.unsupported, unsupported, `${address}: ${err.message}`);
    assert.ok(
      err.message.startsWith(`${unsupported ? "Unsupported" : "Invalid"} address "${address}": `),
      err.message,
    );
    assert.match(err.message, pattern, address);
    assert.ok(err.message.endsWith(err.reason));
    return true;
  });
}

Deno.test("an unknown scheme gets one error naming every accepted form", () => {
  for (const address of ["http://x:1", "unix:///run/busrt.sock", "tcp://127.0.0.1:1", "x+y://z", "1a://b"]) {
    assertRefused(address, /unknown scheme ".*:\/\/"; expected /, true);
    const message = (() => {
      try {
        parseAddress(address);
      } catch (err) {
        return (err as Error).message;
      }
      return "";
    })();
    assert.ok(message.endsWith(ADDRESS_FORMS), message);
    for (
      const form of [
        "unix socket path",
        ".sock, .socket, .ipc",
        "host:port",
        "[v6]:port",
        "tls://host:port",
        "ws://host[:port][/path]",
        "wss://host[:port][/path]",
        "fifo:PATH",
      ]
    ) {
      assert.ok(message.includes(form), `"${message}" names ${form}`);
    }
  }
});

Deno.test("bad ports are refused", () => {
  for (const port of ["99999", "65536", "123456", "x1", "-1", "1.5", " 1", "0x10"]) {
    assertRefused(
      `127.0.0.1:${port}`,
      /^Invalid address .*: neither a unix socket path .* nor host:port \(port ".*" is not 0 to 65535\)$/,
    );
    assertRefused(`tls://127.0.0.1:${port}`, /not tls:\/\/host:port \(port ".*" is not 0 to 65535\)$/);
    assertRefused(`ws://127.0.0.1:${port}/x`, /not ws:\/\/host\[:port\]\[\/path\] \(port/);
  }
});

Deno.test("empty hosts are refused", () => {
  assertRefused(":7777", /nor host:port \(empty host\)$/);
  assertRefused("[]:7777", /nor host:port \(empty host\)$/);
  assertRefused("tls://:7777", /not tls:\/\/host:port \(empty host\)$/);
  assertRefused("wss://:1/x", /not wss:\/\/host\[:port\]\[\/path\] \(empty host\)$/);
  assertRefused("", /nor host:port \(empty\)$/);
  assertRefused("tls://", /not tls:\/\/host:port \(empty\)$/);
});

Deno.test("missing ports are refused (WebSocket has defaults)", () => {
  assertRefused(
    "localhost",
    /^Invalid address "localhost": neither a unix socket path .* nor host:port \(missing port\)$/,
  );
  assertRefused("localhost:", /nor host:port \(missing port\)$/);
  assertRefused("[::1]", /nor host:port \(missing port\)$/);
  assertRefused("tls://host", /not tls:\/\/host:port \(missing port\)$/);
  assertRefused("tls:///run/x.sock", /not tls:\/\/host:port/);
  assert.equal(parseAddress("ws://host").transport, "ws");
});

Deno.test("other malformed addresses are refused with the reason", () => {
  assertRefused("::1:7777", /IPv6 host must be in brackets/);
  assertRefused("[::1:7777", /no \] after the IPv6 host/);
  assertRefused("[::1]7777", /unexpected "7777" after the IPv6 host/);
  assertRefused("[localhost]:1", /"\[localhost\]" is not an IPv6 address/);
  assertRefused("a b:1", /invalid host "a b"/);
  assertRefused("user@host:1", /invalid host "user@host"/);
  assertRefused("fifo:", /not fifo:PATH \(empty path\)$/);
});

Deno.test("parseBind() accepts what Broker.serve listens on, and refuses fifo as the RPC layer's", () => {
  assert.deepEqual(parseBind("/tmp/x.sock"), { transport: "unix", path: "/tmp/x.sock" });
  assert.deepEqual(parseBind("[::1]:1"), { transport: "tcp", hostname: "::1", port: 1 });
  assert.deepEqual(parseBind("tls://h:2"), { transport: "tls", hostname: "h", port: 2 });
  assert.deepEqual(parseBind("ws://h:1"), { transport: "ws", hostname: "h", port: 1, path: "/" });
  assert.deepEqual(parseBind("wss://h:1/p"), { transport: "wss", hostname: "h", port: 1, path: "/p" });
  assert.throws(() => parseBind("fifo:/x"), (err: unknown) => {
    assert.ok(err instanceof AddressError && err.unsupported, String(err));
    assert.equal(
      err.message,
      'Unsupported address "fifo:/x": a fifo: bind is a command channel of the RPC layer: serve it with ' +
        "serveFifo() (busrt serve -B fifo:PATH); the broker listens on a unix socket path, host:port, " +
        "tls://host:port, ws://host:port[/path] or wss://host:port[/path]",
    );
    return true;
  });
  assert.throws(
    () => parseBind("localhost"),
    (err: unknown) => err instanceof AddressError && !err.unsupported,
  );
});

Deno.test("Broker.serve() listens on unix paths and host:port, and refuses what it does not serve", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-address-" });
  const broker = new Broker();
  try {
    const unix = await broker.serve(`${dir}/a.sock`, { timeout: 5 });
    assert.equal(unix.bind, `${dir}/a.sock`);
    const rel = await broker.serve("127.0.0.1:0");
    assert.match(rel.bind, /^127\.0\.0\.1:[1-9]\d*$/);
    assert.match((await broker.serve("ws://127.0.0.1:0")).bind, /^ws:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
    await assert.rejects(broker.serve("fifo:/tmp/x"), /serve it with serveFifo\(\)/);
    await assert.rejects(broker.serve("gopher://x:1"), /unknown scheme "gopher:\/\/"/);
    await assert.rejects(broker.serve("localhost"), /missing port/);
    await assert.rejects(broker.serve("tls://127.0.0.1:0"), /needs the cert and key options/);
    await assert.rejects(broker.serveTcp("tls://127.0.0.1:0"), /not host:port/);
    assert.equal(broker.listeners.length, 3);
    const client = await connect(rel.bind, { name: "app", timeout: 5 });
    assert.equal(broker.clientList()[0].port, rel.bind);
    await client.close();
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(broker.serve("127.0.0.1:0"), /the broker is closed/);
});

Deno.test({
  name: 'Broker.serve("tls://127.0.0.1:0", tls options) listens on TLS',
  ignore: !OPENSSL,
  async fn() {
    const pki = await makeTestPki();
    const broker = new Broker();
    try {
      const listener = await broker.serve("tls://127.0.0.1:0", {
        cert: pki.server.cert,
        key: pki.server.key,
        timeout: 5,
      });
      assert.match(listener.bind, /^127\.0\.0\.1:[1-9]\d*$/);
      const dial = tlsDial({ caCerts: [pki.ca.cert] });
      const a = await connect(`tls://${listener.bind}`, { name: "a", dial, timeout: 5 });
      // a tls:// address with the tls option needs no dial function
      const b = await connect(`tls://${listener.bind}`, {
        name: "b",
        tls: { caCerts: [pki.ca.cert] },
        timeout: 5,
      });
      const info = broker.clientList().find((c) => c.name === "a")!;
      assert.equal(info.kind, "tcp");
      assert.equal(info.port, listener.bind);
      assert.match(info.source ?? "", /^127\.0\.0\.1:\d+$/);
      await a.send("b", "over tls", QoS.Processed);
      const frame = await nextFrame(b);
      assert.equal(new TextDecoder().decode(frame.payload), "over tls");
      await a.close();
      await b.close();

      // with client certificates: the certificate names the client
      const mtls = await broker.serve("tls://127.0.0.1:0", {
        cert: pki.server.cert,
        key: pki.server.key,
        ca: pki.ca.cert,
        requireClientCert: true,
        timeout: 5,
      });
      const pair = Object.entries(pki.clients)[0];
      const certified = await connect(`tls://${mtls.bind}`, {
        name: pair[0],
        dial: tlsDial({ caCerts: [pki.ca.cert], cert: pair[1].cert, key: pair[1].key }),
        timeout: 5,
      });
      assert.ok(broker.isRegistered(pair[0]));
      await certified.close();
    } finally {
      await broker.close();
      await settle();
      await pki.remove();
    }
  },
});

/** An acceptor over a TCP listener that records whether it was closed. */
function countingAcceptor(): Acceptor & { closes: number } {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const bind = `127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return {
    bind,
    closes: 0,
    async *[Symbol.asyncIterator](): AsyncIterator<Accepted> {
      for await (const conn of server) {
        yield {
          link: conn,
          origin: { kind: "websocket", source: "10.0.0.1:1", port: "custom", peer: { ip: "10.0.0.1" } },
        };
      }
    },
    close() {
      if (this.closes++ === 0) server.close();
    },
  };
}

Deno.test("broker.serveAcceptor() runs sessions for a custom acceptor and owns it", async () => {
  const broker = new Broker();
  const acceptor = countingAcceptor();
  const listener = await broker.serveAcceptor(acceptor, { timeout: 5 });
  assert.equal(listener.bind, acceptor.bind);
  assert.deepEqual(broker.listeners, [listener]);
  const client = await connect(acceptor.bind, { name: "app", timeout: 5 });
  const [info] = broker.clientList();
  assert.deepEqual([info.kind, info.source, info.port], ["websocket", "10.0.0.1:1", "custom"]);
  await client.close();
  await broker.close();
  assert.equal(acceptor.closes, 1);

  // bad options or a closed broker: the acceptor is closed at once
  const other = new Broker();
  const refused = countingAcceptor();
  await assert.rejects(other.serveAcceptor(refused, { timeout: -1 }), RangeError);
  assert.equal(refused.closes, 1);
  await other.close();
  const late = countingAcceptor();
  await assert.rejects(other.serveAcceptor(late), /the broker is closed/);
  assert.ok(late.closes >= 1);
});

Deno.test("connect() refuses addresses it cannot dial with an AddressError", async () => {
  await assert.rejects(connect("localhost", { name: "x" }), (err: unknown) => {
    assert.ok(err instanceof AddressError && !err.unsupported, String(err));
    assert.match(err.message, /missing port/);
    return true;
  });
  await assert.rejects(connect("fifo:/tmp/x.fifo", { name: "x" }), (err: unknown) => {
    assert.ok(err instanceof AddressError && err.unsupported, String(err));
    assert.match(err.message, /the client does not dial fifo: addresses/);
    return true;
  });
  await assert.rejects(connect("gopher://x:1", { name: "x" }), /unknown scheme/);
  await assert.rejects(connect("/tmp/x.sock", { name: "x", tls: {} }), /TLS options need tls:\/\/host:port/);
  await assert.rejects(
    tlsDial()("/tmp/x.sock"),
    /cannot dial TLS: not tls:\/\/host:port or host:port/,
  );
});
