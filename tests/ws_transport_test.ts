/**
 * The WebSocket transport over real loopback connections: the byte stream
 * across message boundaries, violations that close the connection (text,
 * oversize), the token (401 before any BUS/RT byte), paths (404), plain HTTP
 * (426), AAA on the peer IP, wss with a test CA, order and large payloads.
 */
import assert from "node:assert/strict";
import { AaaMap, ClientAaa } from "../broker/aaa.ts";
import { Broker } from "../broker/broker.ts";
import type { BrokerListener } from "../broker/listener.ts";
import type { WebSocketListenerOptions } from "../broker/ws_listener.ts";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { memoryLogger } from "../log/logger.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { encodeRegistration, GREETING_SIZE } from "../protocol/handshake.ts";
import { readExact } from "../transport/link.ts";
import { WebSocketLink, WS_CLOSE_TOO_BIG, WS_CLOSE_UNSUPPORTED_DATA } from "../transport/ws_link.ts";
import { hasOpenssl, makeTestPki } from "./_certs.ts";
import {
  ackBytes,
  assertBytes,
  clientFrame,
  concat,
  fieldsBody,
  nextFrame,
  patternBytes,
  text,
  utf8,
  waitFor,
} from "./_helpers.ts";

/** A broker with one WebSocket listener and a log to read. */
async function wsBroker(
  config: WebSocketListenerOptions = {},
  bind = "ws://127.0.0.1:0",
): Promise<{ broker: Broker; listener: BrokerListener; log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger();
  const broker = new Broker({ logger: log });
  const listener = await broker.serve(bind, { timeout: 5, ...config });
  return { broker, listener, log };
}

/** A raw WebSocket to the broker: sends exactly the messages the test says, reads the stream. */
async function rawSocket(
  url: string,
): Promise<{ ws: WebSocket; link: WebSocketLink; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(url);
  const link = new WebSocketLink(ws);
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (e) => resolve(e)));
  await link.opened;
  return { ws, link, closed };
}

/** The handshake by hand, every byte its own message. */
async function handshakeByteByByte(ws: WebSocket, link: WebSocketLink, name: string): Promise<void> {
  const greeting = await readExact(link, GREETING_SIZE);
  for (const b of greeting) ws.send(new Uint8Array([b]));
  assert.equal((await readExact(link, 1))[0], ErrorCode.Ok);
  for (const b of encodeRegistration(utf8(name))) ws.send(new Uint8Array([b]));
  assert.equal((await readExact(link, 1))[0], ErrorCode.Ok);
}

/** An HTTP/1.1 request written by hand; resolves with everything the server sends in `ms`. */
async function rawHttp(port: number, head: string, ms = 300): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(utf8(head.replaceAll("\n", "\r\n") + "\r\n"));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  const until = Date.now() + ms;
  try {
    while (Date.now() < until) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"wait">((r) => setTimeout(() => r("wait"), until - Date.now())),
      ]);
      if (n === null || n === "wait") break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    conn.close();
  }
  // one character per byte, so binary frames can be searched for
  return String.fromCharCode(...concat(...chunks));
}

function upgradeRequest(port: number, path: string, extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
    "",
  ].join("\n");
}

function portOf(listener: BrokerListener): number {
  return Number(new URL(listener.bind).port);
}

Deno.test("ws: frames split byte by byte across messages, and many frames in one message", async () => {
  const { broker, listener } = await wsBroker();
  const sink = broker.registerClient("sink");
  const { ws, link } = await rawSocket(listener.bind);
  try {
    await handshakeByteByByte(ws, link, "raw");
    const first = clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["sink"], "one"));
    for (const b of first) ws.send(new Uint8Array([b]));
    assertBytes(await readExact(link, 6), ackBytes(1, ErrorCode.Ok), "ACK of the frame sent byte by byte");
    const many = [];
    for (let id = 2; id <= 50; id++) {
      many.push(clientFrame(id, Op.Message, QoS.Processed, fieldsBody(["sink"], `m${id}`)));
    }
    ws.send(concat(...many));
    const acks = await readExact(link, 6 * 49);
    for (let id = 2; id <= 50; id++) {
      assertBytes(acks.subarray((id - 2) * 6, (id - 1) * 6), ackBytes(id, ErrorCode.Ok), `ACK ${id}`);
    }
    const got = [];
    for (let i = 1; i <= 50; i++) got.push(text((await nextFrame(sink)).payload));
    assert.deepEqual(got, ["one", ...Array.from({ length: 49 }, (_, i) => `m${i + 2}`)]);
    const row = broker.clientList().find((c) => c.name === "raw")!;
    assert.equal(row.kind, "websocket");
    assert.match(row.source ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(row.port, listener.bind);
  } finally {
    link.close();
    await broker.close();
  }
});

Deno.test("ws: a text message closes the connection, logged; the broker serves on", async () => {
  const { broker, listener, log } = await wsBroker();
  const { ws, link, closed } = await rawSocket(listener.bind);
  try {
    await handshakeByteByByte(ws, link, "talker");
    ws.send("hello as text");
    const event = await closed;
    assert.equal(event.code, WS_CLOSE_UNSUPPORTED_DATA);
    await waitFor(() => !broker.isRegistered("talker"), 2000, "the client to be dropped");
    assert.ok(
      log.lines.some((l) => /WARN .* sent a text message .*; connection closed/.test(l)),
      log.lines.join("\n"),
    );
    const next = await connect(listener.bind, { name: "next" });
    await next.close();
  } finally {
    link.close();
    await broker.close();
  }
});

Deno.test("ws: a message over the limit closes the connection; the limit follows payloadLimit", async () => {
  const { broker, listener, log } = await wsBroker({ payloadLimit: 1024 });
  const { ws, link, closed } = await rawSocket(listener.bind);
  try {
    await handshakeByteByByte(ws, link, "big");
    // the limit: payloadLimit + two batches of 64 KiB
    ws.send(new Uint8Array(1024 + 2 * 65536 + 1));
    assert.equal((await closed).code, WS_CLOSE_TOO_BIG);
    await waitFor(() => !broker.isRegistered("big"), 2000, "the client to be dropped");
    assert.ok(
      log.lines.some((l) => /sent a message of 132097 bytes \(limit 132096\)/.test(l)),
      log.lines.join("\n"),
    );
  } finally {
    link.close();
    await broker.close();
  }
});

Deno.test("ws: token right, wrong, missing; 401 before any BUS/RT byte; query parameter for browsers", async () => {
  const { broker, listener, log } = await wsBroker({ token: "s3cret" });
  const port = portOf(listener);
  try {
    const missing = await rawHttp(port, upgradeRequest(port, "/"));
    assert.match(missing, /^HTTP\/1\.1 401 /);
    assert.match(missing, /www-authenticate: Bearer/i);
    assert.ok(!missing.includes("\xEB\x01\x00"), "no greeting before the token");
    assert.match(
      await rawHttp(port, upgradeRequest(port, "/", ["Authorization: Bearer guess"])),
      /^HTTP\/1\.1 401 /,
    );
    const ok = await rawHttp(port, upgradeRequest(port, "/", ["Authorization: Bearer s3cret"]));
    assert.match(ok, /^HTTP\/1\.1 101 /);
    // the greeting follows in a binary message: FIN + opcode 2, length 3, EB 01 00
    assert.ok(ok.includes("\x82\x03\xEB\x01\x00"), "the greeting after the upgrade");
    const viaQuery = await rawHttp(port, upgradeRequest(port, "/?token=s3cret"));
    assert.match(viaQuery, /^HTTP\/1\.1 101 /);

    const client = await connect(listener.bind, { name: "app", token: "s3cret" });
    const browserLike = await connect(listener.bind, {
      name: "browser-like",
      webSocket: { token: "s3cret", tokenIn: "query" },
    });
    await assert.rejects(connect(listener.bind, { name: "x", token: "wrong" }), BusError);
    await assert.rejects(connect(listener.bind, { name: "y" }), BusError);
    assert.deepEqual(broker.clientNames().sort(), ["app", "browser-like"]);
    assert.ok(log.lines.some((l) => /refused: wrong or missing token/.test(l)));
    await client.close();
    await browserLike.close();
  } finally {
    await broker.close();
  }
});

Deno.test("ws: plain HTTP gets 426, another path 404, the configured path upgrades", async () => {
  const { broker, listener } = await wsBroker({}, "ws://127.0.0.1:0/bus");
  try {
    const base = listener.bind.replace(/^ws:/, "http:");
    const plain = await fetch(base);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get("upgrade"), "websocket");
    assert.match(await plain.text(), /BUS\/RT WebSocket endpoint/);
    const other = await fetch(base.replace(/\/bus$/, "/other"));
    assert.equal(other.status, 404);
    await other.body?.cancel();
    await assert.rejects(connect(listener.bind.replace(/\/bus$/, "/other"), { name: "lost" }), BusError);
    const client = await connect(listener.bind, { name: "found" });
    await client.close();
  } finally {
    await broker.close();
  }
});

Deno.test("ws: AAA host checks use the peer IP", async () => {
  const aaa = new AaaMap();
  aaa.set("local", ClientAaa.fromSpec({ hosts: ["127.0.0.1/32"] }));
  aaa.set("remote", ClientAaa.fromSpec({ hosts: ["10.0.0.0/8"] }));
  const { broker, listener } = await wsBroker({ policy: aaa });
  try {
    const local = await connect(listener.bind, { name: "local" });
    await assert.rejects(
      connect(listener.bind, { name: "remote" }),
      (err: unknown) => err instanceof BusError && err.code === ErrorCode.Access,
    );
    await assert.rejects(
      connect(listener.bind, { name: "unlisted" }),
      (err: unknown) => err instanceof BusError && err.code === ErrorCode.Access,
    );
    await local.close();
  } finally {
    await broker.close();
  }
});

Deno.test("ws: 1,000 messages in order between two WebSocket clients, and a 10 MiB payload", async () => {
  const { broker, listener } = await wsBroker({ bufSize: 8192 });
  const clients: IpcClient[] = [];
  try {
    const sender = await connect(listener.bind, { name: "sender", timeout: 10 });
    const receiver = await connect(listener.bind, { name: "receiver", timeout: 10 });
    clients.push(sender, receiver);
    for (let i = 0; i < 1000; i++) sender.send("receiver", `n${i}`);
    await sender.send("receiver", "end", QoS.Processed);
    const got: string[] = [];
    for (;;) {
      const t = text((await nextFrame(receiver)).payload);
      if (t === "end") break;
      got.push(t);
    }
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => `n${i}`));

    const big = patternBytes(10 * 1024 * 1024, 11);
    await sender.send("receiver", big, QoS.Processed);
    const frame = await nextFrame(receiver, 10_000);
    assert.equal(frame.payload.length, big.length);
    assert.ok(frame.payload.every((b, i) => b === big[i]), "the 10 MiB payload arrives intact");
  } finally {
    for (const c of clients) await c.close();
    await broker.close();
  }
});

Deno.test("ws: broker.close() ends WebSocket clients and returns", async () => {
  const { broker, listener } = await wsBroker();
  const client = await connect(listener.bind, { name: "app" });
  await broker.close();
  await client.closed;
  assert.ok(!client.isConnected());
});

Deno.test("ws: closing the listener keeps its clients, answers 503, and frees the port after the last one", async () => {
  const { broker, listener } = await wsBroker();
  const port = portOf(listener);
  const client = await connect(listener.bind, { name: "stays" });
  const sink = broker.registerClient("sink");
  try {
    await listener.close();
    const refused = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(refused.status, 503);
    await refused.body?.cancel();
    await assert.rejects(connect(listener.bind, { name: "late" }), BusError);
    await client.send("sink", "still connected", QoS.Processed);
    assert.equal(text((await nextFrame(sink)).payload), "still connected");
    await client.close();
    await waitFor(
      () => {
        try {
          Deno.listen({ hostname: "127.0.0.1", port }).close();
          return true;
        } catch {
          return false;
        }
      },
      3000,
      "the port to be released",
    );
  } finally {
    await client.close();
    await broker.close();
  }
});

Deno.test({
  name: "wss: a test CA, the client trusting it, and one that does not",
  ignore: !(await hasOpenssl()),
  async fn() {
    const pki = await makeTestPki();
    const { broker, listener } = await wsBroker(
      { cert: pki.server.cert, key: pki.server.key },
      "wss://127.0.0.1:0",
    );
    try {
      assert.match(listener.bind, /^wss:\/\/127\.0\.0\.1:\d+\/$/);
      const client = await connect(listener.bind, { name: "secure", tls: { caCerts: [pki.ca.cert] } });
      const sink = broker.registerClient("sink");
      await client.send("sink", "over wss", QoS.Processed);
      assert.equal(text((await nextFrame(sink)).payload), "over wss");
      assert.equal(broker.clientList().find((c) => c.name === "secure")?.kind, "websocket");
      await assert.rejects(connect(listener.bind, { name: "untrusting" }), BusError);
      await client.close();
      await assert.rejects(
        broker.serve("wss://127.0.0.1:0", {
          cert: pki.server.cert,
          key: pki.server.key,
          requireClientCert: true,
        }),
        /client certificates are not available on wss:\/\//,
      );
      await assert.rejects(broker.serve("wss://127.0.0.1:0"), /needs the cert and key/);
    } finally {
      await broker.close();
      await pki.remove();
    }
  },
});

Deno.test("bench/ws_bench.ts runs both transports (smoke, tiny counts)", async () => {
  const { runWsBench } = await import("../bench/ws_bench.ts");
  const best = await runWsBench(2000, 20, 1);
  assert.deepEqual([...best.keys()], ["tcp", "ws"]);
  for (const figures of best.values()) {
    assert.ok(figures.rate > 0 && figures.p50 > 0, JSON.stringify(figures));
  }
});
