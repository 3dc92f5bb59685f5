/**
 * The client over WebSocket beyond the basics: secondaries and RPC (both
 * ways and the `.broker` core RPC), a reconnecting client across a broker
 * restart on the same port, and the link's bound on unread bytes.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { brokerTest } from "../rpc/broker_api.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { WebSocketLink, WS_CLOSE_TOO_BIG } from "../transport/ws_link.ts";
import { nextFrame, text, waitFor, withTimeout } from "./_helpers.ts";

Deno.test("ws: secondaries dial with the primary's token; RPC both ways and .broker test", async () => {
  const broker = new Broker();
  enableCoreRpc(broker);
  const { bind } = await broker.serve("ws://127.0.0.1:0/bus", { token: "t0ken", timeout: 5 });
  const server = new RpcClient(await connect(bind, { name: "svc", token: "t0ken" }), {
    handlers: {
      onCall: (call) => call.method === "add" ? call.unpack<number[]>().reduce((a, b) => a + b) : undefined,
    },
  });
  const primary = await connect(bind, { name: "app", token: "t0ken" });
  const secondary = await primary.registerSecondary();
  const caller = new RpcClient(secondary);
  try {
    assert.equal(secondary.name, "app%%0");
    assert.equal(broker.clientList().find((c) => c.name === "app")?.instances, 2);
    assert.equal((await caller.call("svc", "add", [1, 2, 39])).unpack<number>(), 42);
    assert.equal(await brokerTest(caller), true);
    await primary.subscribe("news/#", QoS.Processed);
    await secondary.publish("news/today", "from the secondary", QoS.Processed);
    assert.equal(text((await nextFrame(primary)).payload), "from the secondary");
  } finally {
    await caller.close();
    await primary.close();
    await server.close();
    await broker.close();
  }
});

Deno.test("ws: a reconnecting client comes back after the broker restarts on the same port", async () => {
  let broker = new Broker();
  const first = await broker.serve("ws://127.0.0.1:0/", { timeout: 2 });
  const port = Number(new URL(first.bind).port);
  const client = await connect(first.bind, {
    name: "phoenix",
    timeout: 2,
    reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 },
  });
  const reconnected = (async () => {
    for await (const event of client.status()) if (event.type === "reconnected") return event;
  })();
  try {
    await client.subscribe("alive/#", QoS.Processed);
    await broker.close();
    await waitFor(() => !client.isConnected(), 3000, "the client to notice the broker is gone");
    broker = new Broker();
    await broker.serve(`ws://127.0.0.1:${port}/`, { timeout: 2 });
    assert.equal((await withTimeout(reconnected, 5000, "the reconnected event"))?.type, "reconnected");
    assert.ok(broker.isRegistered("phoenix"));
    // its subscription was restored
    await broker.registerClient("pub").publish("alive/yes", "welcome back", QoS.Processed);
    assert.equal(text((await nextFrame(client)).payload), "welcome back");
  } finally {
    await client.close();
    await broker.close();
  }
});

Deno.test("ws: more unread bytes than the link holds closes the connection (4009)", async () => {
  const accepted = Promise.withResolvers<WebSocketLink>();
  const violations: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const link = new WebSocketLink(socket, {
      maxMessageSize: 1024,
      maxBufferedBytes: 4096,
      onViolation: (violation, detail) => violations.push(`${violation}: ${detail}`),
    });
    link.opened.then(() => accepted.resolve(link));
    return response;
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  await new Promise((resolve) => ws.onopen = resolve);
  const link = await accepted.promise;
  // nobody reads on the server side: five 1 KiB messages exceed the 4 KiB bound
  for (let i = 0; i < 5; i++) ws.send(new Uint8Array(1024));
  assert.equal((await closed).code, WS_CLOSE_TOO_BIG);
  assert.deepEqual(violations, ["too many unread bytes: 5120 bytes not read yet (limit 4096)"]);
  await link.ended;
  await server.shutdown();
});

Deno.test("ws: a write longer than maxSendSize goes as several messages, joined again by the reader", async () => {
  const sizes: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      sizes.push((e.data as ArrayBuffer).byteLength);
      socket.send(e.data as ArrayBuffer); // echo each message as it came
    };
    return response;
  });
  const link = new WebSocketLink(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`), { maxSendSize: 1000 });
  await link.opened;
  const data = Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff);
  assert.equal(await link.write(data), 2500);
  const back = new Uint8Array(2500);
  for (let off = 0; off < back.length;) off += (await link.read(back.subarray(off)))!;
  assert.deepEqual(sizes, [1000, 1000, 500]);
  assert.deepEqual(back, data);
  link.close();
  await link.ended;
  await server.shutdown();
});
