/**
 * Streaming calls (docs/PROTOCOL.md §25) between IPC clients of our broker
 * over real sockets: server streams, uploads and duplex streams, credit flow
 * control against a small broker queue, cancellation both ways, inactivity
 * timeouts, error codes, and cleanup when either side goes away. Every
 * scenario ends by checking that no stream state is left on either side.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import {
  encodeCredit,
  encodeOpen,
  encodeStreamFrame,
  StreamKind,
  StreamMarker,
  StreamMode,
} from "../rpc/stream_wire.ts";
import {
  concat,
  delay,
  hex,
  nextFrame,
  type TestBus,
  toHex,
  TRANSPORTS,
  utf8,
  waitFor,
  withBus,
} from "./_helpers.ts";
import { ipcRpc, rejectsWith } from "./_rpc_helpers.ts";
import { assertNoStreams, collect, serveEndless } from "./_stream_helpers.ts";

async function pair(bus: TestBus, transport: "unix" | "tcp" = "unix"): Promise<[RpcClient, RpcClient]> {
  const server = new RpcClient(await bus.client("stream.server", transport));
  const caller = new RpcClient(await bus.client("stream.caller", transport));
  return [server, caller];
}

for (const transport of TRANSPORTS) {
  Deno.test(`callStream() receives 2,000 items in order over ${transport}, window 16`, async () => {
    await withBus(async (bus) => {
      const [server, caller] = await pair(bus, transport);
      server.handleStream("count", async function* (params) {
        const { n } = params as { n: number };
        for (let i = 0; i < n; i++) yield { i, text: `item ${i}` };
      });
      const got = await collect(
        caller.callStream<{ i: number }>("stream.server", "count", { n: 2000 }, { window: 16 }),
      );
      assert.equal(got.length, 2000);
      got.forEach((item, i) => assert.equal(item.i, i));
      await assertNoStreams(server, caller);
    });
  });
}

Deno.test("streams cross transports: a WebSocket server, a unix caller and an in-process caller of one broker", async () => {
  await withBus(async (bus) => {
    const { bind } = await bus.broker.serve("ws://127.0.0.1:0/", { timeout: 5 });
    const server = new RpcClient(await connect(bind, { name: "stream.ws" }));
    const caller = await ipcRpc(bus, "stream.caller");
    const local = new RpcClient(bus.broker.registerClient("stream.local"));
    server.handleStream("count", async function* (params) {
      for (let i = 0; i < (params as number); i++) yield i;
    });
    server.handleDuplex("echo", async function* (items) {
      for await (const item of items) yield item;
    });
    const expected = Array.from({ length: 1000 }, (_, i) => i);
    assert.deepEqual(await collect(caller.callStream("stream.ws", "count", 1000, { window: 8 })), expected);
    assert.deepEqual(await collect(local.callStream("stream.ws", "count", 1000, { window: 8 })), expected);
    const d = local.callDuplex<number>("stream.ws", "echo", undefined, { window: 4 });
    const sent = Promise.all(expected.map((i) => d.send(i))).then(() => d.end());
    assert.deepEqual(await collect(d), expected);
    await sent;
    await assertNoStreams(server, caller, local);
    await Promise.all([server.close(), local.close()]);
  });
});

Deno.test("a sync generator, raw items and an empty stream work; ordinary onCall handlers keep working", async () => {
  await withBus(async (bus) => {
    const server = await ipcRpc(bus, "stream.server", {
      handlers: { onCall: (call) => call.method === "plain" ? "plain reply" : undefined },
    });
    const caller = await ipcRpc(bus, "stream.caller");
    server.handleStream("letters", function* (params) {
      for (const c of params as string) yield c;
    });
    server.handleStream("bytes", function* (params, ctx) {
      assert.deepEqual(params, new Uint8Array([1, 2, 3]));
      assert.deepEqual(ctx.params, new Uint8Array([1, 2, 3]));
      yield new Uint8Array([9]);
      yield new Uint8Array([8, 7]);
    }, { raw: true });
    server.handleStream("nothing", () => []);
    assert.deepEqual(await collect(caller.callStream("stream.server", "letters", "abc")), ["a", "b", "c"]);
    assert.deepEqual(
      await collect(caller.callStream("stream.server", "bytes", new Uint8Array([1, 2, 3]), { raw: true })),
      [new Uint8Array([9]), new Uint8Array([8, 7])],
    );
    assert.deepEqual(await collect(caller.callStream("stream.server", "nothing")), []);
    assert.equal((await caller.call("stream.server", "plain")).unpack(), "plain reply");
    await assertNoStreams(server, caller);
  });
});

Deno.test("callUpload() sums 5,000 items; a handler that returns early ends the upload with its result", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    server.handleUpload("sum", async (items, ctx) => {
      let total = ctx.params.length > 0 ? 0 : 0;
      for await (const n of items) total += n as number;
      return total;
    }, { window: 8 });
    let pulled = 0;
    server.handleUpload("first3", async (items) => {
      const got: unknown[] = [];
      for await (const item of items) {
        got.push(item);
        if (got.length === 3) break;
      }
      return got;
    }, { window: 4 });
    async function* numbers(n: number) {
      for (let i = 1; i <= n; i++) {
        pulled++;
        yield i;
      }
    }
    assert.equal((await caller.callUpload("stream.server", "sum", numbers(5000))).unpack(), 5000 * 5001 / 2);
    pulled = 0;
    const reply = await caller.callUpload("stream.server", "first3", numbers(100_000));
    assert.deepEqual(reply.unpack(), [1, 2, 3]);
    assert.equal(reply.sender, "stream.server");
    assert.ok(pulled < 100, `the caller stopped pulling items (${pulled})`);
    await assertNoStreams(server, caller);
  });
});

Deno.test("callDuplex() answers item by item (ping-pong) and ends when the server ends", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    server.handleDuplex("double", async function* (items, ctx) {
      assert.equal(ctx.method, "double");
      assert.equal(ctx.sender, "stream.caller");
      for await (const n of items) yield (n as number) * 2;
      yield "done";
    }, { window: 2 });
    const d = caller.callDuplex<number | string>("stream.server", "double", undefined, { window: 2 });
    const replies = d[Symbol.asyncIterator]();
    for (let i = 0; i < 500; i++) {
      await d.send(i);
      assert.deepEqual(await replies.next(), { done: false, value: i * 2 });
    }
    await d.end();
    assert.deepEqual(await replies.next(), { done: false, value: "done" });
    assert.equal((await replies.next()).done, true);
    await assert.rejects(d.send(1), TypeError);
    await assertNoStreams(server, caller);

    // a server that ends at once: later sends fail, the stream is over
    server.handleDuplex("short", () => ["bye"]);
    const s = caller.callDuplex("stream.server", "short");
    assert.deepEqual(await collect(s), ["bye"]);
    await rejectsWith(s.send(1), RpcErrorCode.Eof);
    await assertNoStreams(server, caller);
  });
});

Deno.test("duplex: many sends before reading are paced by credit and all arrive in order", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    server.handleDuplex("echo", async function* (items) {
      for await (const item of items) yield item;
    }, { window: 4 });
    const d = caller.callDuplex<number>("stream.server", "echo", undefined, { window: 4 });
    const sent = Promise.all(Array.from({ length: 300 }, (_, i) => d.send(i))).then(() => d.end());
    const got = await collect(d);
    await sent;
    assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => i));
    await assertNoStreams(server, caller);
  });
});

Deno.test("50 concurrent streams of 200 items each keep their items apart", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    server.handleStream("seq", async function* (params) {
      const { tag } = params as { tag: number };
      for (let i = 0; i < 200; i++) yield [tag, i];
    });
    const results = await Promise.all(
      Array.from(
        { length: 50 },
        (_, tag) => collect(caller.callStream<number[]>("stream.server", "seq", { tag }, { window: 8 })),
      ),
    );
    results.forEach((items, tag) => assert.deepEqual(items, Array.from({ length: 200 }, (_, i) => [tag, i])));
    await assertNoStreams(server, caller);
  });
});

Deno.test("credit keeps a fast producer from overflowing a slow consumer's small broker queue; plain messages do not", async () => {
  await withBus(async (bus) => {
    // the consumer's listener allows 64 KiB queued for it; 300 items of 4 KiB are 1.2 MB
    const small = `${bus.dir}/small.sock`;
    await bus.broker.serveUnix(small, { timeout: 30, queueBytes: 64 * 1024 });
    const server = new RpcClient(await bus.client("stream.server"));
    const consumer = new RpcClient(await connect(small, { name: "slow.consumer", timeout: 5 }));
    const payload = new Uint8Array(4096).fill(7);
    let produced = 0;
    server.handleStream("flood", async function* () {
      for (let i = 0; i < 300; i++) {
        produced++;
        const item = payload.slice();
        new DataView(item.buffer).setUint32(0, i);
        yield item;
      }
    }, { raw: true });
    let received = 0;
    let maxAhead = 0;
    for await (
      const item of consumer.callStream<Uint8Array>("stream.server", "flood", undefined, {
        window: 8,
        raw: true,
      })
    ) {
      assert.equal(item.length, 4096);
      assert.equal(new DataView(item.buffer, item.byteOffset).getUint32(0), received, "in order");
      received++;
      maxAhead = Math.max(maxAhead, produced - received);
      if (received % 25 === 0) await delay(20); // slow
    }
    assert.equal(received, 300);
    assert.ok(consumer.isConnected(), "the slow consumer was not dropped");
    // the producer was never more than the window (plus the item being produced) ahead
    assert.ok(maxAhead <= 9, `producer ahead by ${maxAhead}`);
    await assertNoStreams(server, consumer);

    // control: the same flood as plain messages overflows the queue and the consumer is dropped
    const flooder = await bus.client("plain.flooder");
    const victim = await connect(small, { name: "slow.victim", timeout: 5 });
    const victimClosed = victim.closed.then(() => true);
    for (let i = 0; i < 300; i++) flooder.send("slow.victim", payload);
    await flooder.flush();
    assert.equal(
      await Promise.race([victimClosed, delay(5000).then(() => false)]),
      true,
      "the victim was dropped",
    );
    await consumer.close();
  });
});

Deno.test("windowBytes bounds large items in flight: a slow reader of 1 MiB items through an 8 MiB queue", async () => {
  await withBus(async (bus) => {
    const small = `${bus.dir}/small.sock`;
    await bus.broker.serveUnix(small, { timeout: 30, queueBytes: 8 * 1024 * 1024 });
    const server = new RpcClient(await bus.client("stream.server"));
    const payload = new Uint8Array(1024 * 1024).fill(3);
    let produced = 0;
    server.handleStream("big", function* () {
      for (let i = 0; i < 40; i++) {
        produced++;
        yield payload;
      }
    }, { raw: true });

    // default window of 64 items, but 2 MiB of bytes: after the first grant of 4, 2 items of 1 MiB
    const consumer = new RpcClient(await connect(small, { name: "big.consumer", timeout: 5 }));
    let received = 0;
    let maxAhead = 0;
    const options = { raw: true, windowBytes: 2 * 1024 * 1024 };
    for await (const item of consumer.callStream<Uint8Array>("stream.server", "big", undefined, options)) {
      assert.equal(item.length, payload.length);
      received++;
      maxAhead = Math.max(maxAhead, produced - received);
      if (received % 5 === 0) await delay(20); // slow
    }
    assert.equal(received, 40);
    assert.ok(maxAhead <= 5, `producer ahead by ${maxAhead} items of 1 MiB`);
    assert.ok(consumer.isConnected(), "the consumer was not dropped");
    await assertNoStreams(server, consumer);
    await consumer.close();

    await assertNoStreams(server);
  });
});

Deno.test("break out of for-await cancels the producer: its iterator is returned and ctx.signal aborts", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    const returned = Promise.withResolvers<void>();
    let aborted = false;
    server.handleStream("forever", async function* (_params, ctx) {
      ctx.signal.addEventListener("abort", () => aborted = true);
      try {
        for (let i = 0;; i++) yield i;
      } finally {
        returned.resolve();
      }
    });
    const got: number[] = [];
    for await (const n of caller.callStream<number>("stream.server", "forever", undefined, { window: 4 })) {
      got.push(n);
      if (got.length === 5) break;
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    await returned.promise;
    assert.ok(aborted, "ctx.signal aborted");
    await assertNoStreams(server, caller);
  });
});

Deno.test("a slow generator runs at most a couple of items ahead: break stops it at once", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    let produced = 0;
    const returned = Promise.withResolvers<number>();
    server.handleStream("slow", async function* () {
      try {
        for (let i = 0;; i++) {
          await delay(30);
          produced++;
          yield i;
        }
      } finally {
        returned.resolve(produced);
      }
    });
    let received = 0;
    for await (const _ of caller.callStream("stream.server", "slow", undefined, { window: 64 })) {
      if (++received === 3) break;
    }
    // the window allows 64 items, but a slow generator is asked for one item at a time
    assert.ok(await returned.promise <= received + 2, `produced ${produced} for ${received} read`);
    await assertNoStreams(server, caller);
  });
});

Deno.test("an AbortSignal cancels a stream, an upload and a duplex stream; the caller gets the reason", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    const stopped: string[] = [];
    server.handleStream("slow", async function* (_p, ctx) {
      try {
        for (let i = 0;; i++) {
          yield i;
          await delay(10);
        }
      } finally {
        stopped.push(`stream ${ctx.signal.aborted}`);
      }
    });
    server.handleUpload("sink", async (items, ctx) => {
      try {
        for await (const _ of items) { /* keep reading */ }
      } catch (err) {
        stopped.push(`upload ${ctx.signal.aborted}`);
        throw err;
      }
    });
    server.handleDuplex("hold", async function* (items, ctx) {
      try {
        for await (const item of items) yield item;
      } finally {
        stopped.push(`duplex ${ctx.signal.aborted}`);
      }
    });
    const reason = new Error("user gave up");

    const c1 = new AbortController();
    const got: number[] = [];
    await assert.rejects(async () => {
      for await (
        const n of caller.callStream<number>("stream.server", "slow", undefined, { signal: c1.signal })
      ) {
        got.push(n);
        if (n === 3) c1.abort(reason);
      }
    }, (err) => err === reason);
    assert.deepEqual(got, [0, 1, 2, 3]);

    const c2 = new AbortController();
    async function* endless() {
      for (let i = 0;; i++) {
        if (i === 50) c2.abort(reason);
        yield i;
        await delay(1);
      }
    }
    await assert.rejects(
      caller.callUpload("stream.server", "sink", endless(), { signal: c2.signal }),
      (err) => err === reason,
    );

    const c3 = new AbortController();
    const d = caller.callDuplex("stream.server", "hold", undefined, { signal: c3.signal });
    await d.send(1);
    assert.deepEqual(await d.next(), { done: false, value: 1 });
    c3.abort(reason);
    await assert.rejects(d.next(), (err) => err === reason);

    // an already aborted signal sends nothing
    await assert.rejects(
      collect(caller.callStream("stream.server", "slow", undefined, { signal: c1.signal })),
      (err) => err === reason,
    );

    await waitFor(() => stopped.length === 3, 5000, "every handler stopped");
    assert.deepEqual(stopped.sort(), ["duplex true", "stream true", "upload true"]);
    await assertNoStreams(server, caller);
  });
});

Deno.test("the inactivity timeout fails a stalled stream with -32120 and restarts with every item", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    const cancelled = Promise.withResolvers<void>();
    server.handleStream("stall", async function* (_p, ctx) {
      yield 1;
      yield 2;
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      cancelled.resolve();
    });
    server.handleStream("steady", async function* () {
      for (let i = 0; i < 8; i++) {
        await delay(150);
        yield i;
      }
    });
    const got: number[] = [];
    const err = await rejectsWith(
      (async () => {
        for await (
          const n of caller.callStream<number>("stream.server", "stall", undefined, { timeout: 0.3 })
        ) got.push(n);
      })(),
      RpcErrorCode.Timeout,
    );
    assert.deepEqual(got, [1, 2]);
    assert.ok(err.isTimeout());
    await cancelled.promise; // the server was told
    // 8 items 150 ms apart take 1.2 s, longer than the 0.6 s limit, which each item restarts
    const steady = await collect(
      caller.callStream<number>("stream.server", "steady", undefined, { timeout: 0.6 }),
    );
    assert.deepEqual(steady, [0, 1, 2, 3, 4, 5, 6, 7]);
    await assertNoStreams(server, caller);
  });
});

Deno.test("handler errors reach the caller with their RPC code; opening failures have clear codes", async () => {
  await withBus(async (bus) => {
    const server = await ipcRpc(bus, "stream.server", {
      handlers: { onCall: (call) => call.method === "plain" ? "not a stream" : undefined },
    });
    const caller = await ipcRpc(bus, "stream.caller");
    server.handleStream("fails", async function* () {
      yield 1;
      throw new RpcError(RpcErrorCode.InvalidParams, "bad n");
    });
    server.handleStream("crashes", function* () {
      yield 1;
      throw new Error("boom");
    });
    server.handleStream("refuses", () => {
      throw new RpcError(-777, "not today");
    });
    server.handleUpload("rejects", async (items) => {
      for await (const _ of items) throw new RpcError(-32001, "unknown item");
    });
    const got: unknown[] = [];
    const err = await rejectsWith(
      (async () => {
        for await (const n of caller.callStream("stream.server", "fails")) got.push(n);
      })(),
      RpcErrorCode.InvalidParams,
    );
    assert.deepEqual(got, [1]);
    assert.equal(err.message, "bad n");
    assert.ok(err.isRemote());
    assert.equal(
      (await rejectsWith(collect(caller.callStream("stream.server", "crashes")), -32603)).message,
      "boom",
    );
    assert.equal(
      (await rejectsWith(collect(caller.callStream("stream.server", "refuses")), -777)).message,
      "not today",
    );
    await rejectsWith(caller.callUpload("stream.server", "rejects", [1, 2, 3]), -32001);
    // an item that is not MessagePack fails the reader with -32700 and stops the server
    const garbled = Promise.withResolvers<boolean>();
    server.handleStream("garbled", async function* (_p, ctx) {
      try {
        yield new Uint8Array([0xc1]);
        for (;;) yield 1;
      } finally {
        garbled.resolve(ctx.signal.aborted);
      }
    });
    await rejectsWith(collect(caller.callStream("stream.server", "garbled")), RpcErrorCode.Parse);
    assert.equal(await garbled.promise, true);
    // not a streaming method of ours: the ordinary handler answered
    await rejectsWith(collect(caller.callStream("stream.server", "plain")), RpcErrorCode.InvalidRequest);
    // the wrong shape
    const shape = await rejectsWith(
      caller.callUpload("stream.server", "fails", [1]),
      RpcErrorCode.InvalidRequest,
    );
    assert.match(shape.message, /is a server stream, not a upload/);
    // nobody there
    await rejectsWith(collect(caller.callStream("nobody", "x")), RpcErrorCode.NotRegistered);
    // a client without any handler
    const bare = await ipcRpc(bus, "bare");
    await rejectsWith(collect(caller.callStream("bare", "x")), RpcErrorCode.MethodNotFound);
    // a plain call of a streaming method gets a clean error at once
    const plain = await rejectsWith(
      caller.call("stream.server", "fails", { n: 1 }),
      RpcErrorCode.InvalidRequest,
    );
    assert.match(
      plain.message,
      /"fails" is a streaming method \(server stream\): a plain call cannot open it/,
    );
    // an open header with an unknown shape is a plain call too
    const odd = encodeOpen(StreamMode.Server, 1, 1, 0, new Uint8Array(0));
    odd[3] = 9;
    await rejectsWith(caller.call("stream.server", "fails", odd), RpcErrorCode.InvalidRequest);
    await assertNoStreams(server, caller, bare);
  });
});

Deno.test("a server that goes away ends the caller's stream; a caller that goes away ends the handler", async () => {
  await withBus(async (bus) => {
    // the server disconnects mid-stream
    const server = await ipcRpc(bus, "stream.server");
    const caller = await ipcRpc(bus, "stream.caller");
    server.handleStream("ticks", async function* () {
      for (let i = 0;; i++) {
        yield i;
        await delay(5);
      }
    });
    const got: number[] = [];
    const failure = (async () => {
      for await (
        const n of caller.callStream<number>("stream.server", "ticks", undefined, { timeout: 1, window: 4 })
      ) {
        got.push(n);
        if (n === 10) await server.client.close();
      }
    })();
    const err = await failure.then(() => null, (e) => e);
    assert.ok(err instanceof RpcError, `${err}`);
    assert.ok(err.isNotRegistered() || err.isTimeout(), `${err.message} (${err.code})`);
    assert.ok(got.length >= 11);
    await assertNoStreams(server, caller);

    // the caller disconnects while the handler waits for credit (a slow reader)
    const server2 = await ipcRpc(bus, "stream.server2");
    const caller2 = await ipcRpc(bus, "stream.caller2");
    const ended = serveEndless(server2, "many");
    const reader = caller2.callStream<number>("stream.server2", "many", undefined, {
      window: 4,
      timeout: 0.3,
    });
    assert.deepEqual(await reader.next(), { done: false, value: 0 });
    await waitFor(() => server2.streamStats().serving === 1, 2000, "the stream is served");
    await caller2.client.close();
    // the handler waits for credit, probes after 0.3 s, learns the caller is gone (0x71)
    assert.equal(await ended, RpcErrorCode.NotRegistered);
    await assertNoStreams(server2, caller2);

    // closing the RPC client fails its streams with -32255 on its side
    const server3 = await ipcRpc(bus, "stream.server3");
    const caller3 = await ipcRpc(bus, "stream.caller3");
    server3.handleStream("idle", async function* (_p, ctx) {
      yield 0;
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    });
    const r3 = caller3.callStream("stream.server3", "idle", undefined, { timeout: 0 });
    assert.deepEqual(await r3.next(), { done: false, value: 0 });
    const pending = r3.next();
    await caller3.close();
    await rejectsWith(pending, RpcErrorCode.Eof);
    await assertNoStreams(caller3);
    await server3.close();
    await assertNoStreams(server3);
  });
});

Deno.test("cancel() on the reader stops the server; stray frames of forgotten streams are answered with a cancel", async () => {
  await withBus(async (bus) => {
    const [server, caller] = await pair(bus);
    const stopped = Promise.withResolvers<void>();
    server.handleStream("numbers", async function* () {
      try {
        for (let i = 0;; i++) yield i;
      } finally {
        stopped.resolve();
      }
    });
    const reader = caller.callStream<number>("stream.server", "numbers", undefined, { window: 2 });
    assert.deepEqual(await reader.next(), { done: false, value: 0 });
    reader.cancel();
    assert.deepEqual(await reader.next(), { done: true, value: undefined });
    await stopped.promise;
    await assertNoStreams(server, caller);

    // an item and a credit of streams nobody knows are answered with a cancel, an end is not
    const stray = await bus.client("stray");
    stray.send(
      "stream.server",
      encodeStreamFrame(StreamKind.ToServer, StreamMarker.End, 98, new Uint8Array(0)),
    );
    stray.send(
      "stream.server",
      encodeStreamFrame(StreamKind.ToServer, StreamMarker.Item, 99, new Uint8Array([1])),
    );
    stray.send("stream.caller", encodeCredit(StreamKind.ToCaller, 77, 5));
    const answers = [await nextFrame(stray), await nextFrame(stray)].map((f) =>
      `${f.sender} ${toHex(f.payload)}`
    );
    assert.deepEqual(answers.sort(), ["stream.caller 20 04 4D 00 00 00", "stream.server 21 04 63 00 00 00"]);
    await assertNoStreams(server, caller);
  });
});

/** Starts tests/_stream_peer.ts in `role` and waits for its line. */
async function startPeer(socket: string, role: "server" | "caller"): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_stream_peer.ts", import.meta.url).pathname, socket, role],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(role === "server" ? "serving" : "reading")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the ${role} process ended`);
    seen += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

Deno.test("kill -9 of the server process fails the caller's stream; kill -9 of the caller process ends the handler", async () => {
  await withBus(async (bus) => {
    const server = await ipcRpc(bus, "stream.server");
    const caller = await ipcRpc(bus, "stream.caller");
    const peerServer = await startPeer(bus.unix, "server");
    try {
      const got: number[] = [];
      const err = await (async () => {
        for await (
          const n of caller.callStream<number>("stream.peer.server", "ticks", undefined, {
            timeout: 1,
            window: 4,
          })
        ) {
          got.push(n);
          if (n === 20) peerServer.kill("SIGKILL");
        }
      })().then(() => null, (e) => e);
      assert.ok(err instanceof RpcError && (err.isNotRegistered() || err.isTimeout()), `${err}`);
      assert.ok(got.length >= 21);
    } finally {
      try {
        peerServer.kill("SIGKILL");
      } catch { /* gone */ }
      await peerServer.status;
    }
    await assertNoStreams(caller);

    const ended = serveEndless(server, "many");
    const peerCaller = await startPeer(bus.unix, "caller");
    await waitFor(() => server.streamStats().serving === 1, 5000, "the stream is served");
    peerCaller.kill("SIGKILL");
    await peerCaller.status;
    // the handler waits for credit, probes after the 0.5 s limit and learns the caller is gone
    assert.equal(await ended, RpcErrorCode.NotRegistered);
    await assertNoStreams(server, caller);
  });
});

Deno.test("§25.7 by hand: a raw client opens a stream of our server and serves one to our caller, byte for byte", async () => {
  await withBus(async (bus) => {
    const server = await ipcRpc(bus, "stream.server");
    const caller = await ipcRpc(bus, "stream.caller");
    server.handleStream("ab", () => ["a", "b"]);
    const raw = await bus.client("raw.peer");
    const frames = raw[Symbol.asyncIterator]();
    const next = async () => toHex((await frames.next()).value!.payload);

    // raw caller → our server (the trace of §25.7, method "ab")
    raw.send("stream.server", hex("01 05 00 00 00 61 62 00 C1 53 01 01 01 00 00 00 02 00 00 00 88 13 00 00"));
    assert.equal(await next(), "11 05 00 00 00 C1 53 01 00 00 00 00");
    assert.equal(await next(), "21 01 01 00 00 00 A1 61");
    assert.equal(await next(), "21 01 01 00 00 00 A1 62");
    assert.equal(await next(), "21 02 01 00 00 00");
    await assertNoStreams(server);
    // a grant that crosses the end is answered with a cancel
    raw.send("stream.server", hex("20 05 01 00 00 00 02 00 00 00"));
    assert.equal(await next(), "21 04 01 00 00 00");
    // an open with the id of a stream still open (a restarted caller) replaces that stream
    let replaced = "";
    server.handleStream("wait", async function* (_p, ctx) {
      yield "first";
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      replaced = (ctx.signal.reason as Error).message;
    });
    const openWait = (callId: number) =>
      concat(
        [0x01, callId, 0, 0, 0],
        utf8("wait"),
        hex("00 C1 53 01 01 07 00 00 00 01 00 00 00 00 00 00 00"),
      );
    raw.send("stream.server", openWait(6));
    assert.equal(await next(), "11 06 00 00 00 C1 53 01 00 00 00 00");
    assert.equal(await next(), "21 01 07 00 00 00 A5 66 69 72 73 74");
    raw.send("stream.server", openWait(7));
    assert.equal(await next(), "11 07 00 00 00 C1 53 01 00 00 00 00");
    assert.equal(await next(), "21 01 07 00 00 00 A5 66 69 72 73 74");
    await waitFor(() => replaced !== "", 2000, "the old stream ended");
    assert.equal(replaced, 'Stream 7 was opened again by "raw.peer"');
    assert.equal(server.streamStats().serving, 1);
    raw.send("stream.server", hex("20 04 07 00 00 00"));

    // our caller → raw server: the open call, items within the credit, a grant back, the end
    const items = caller.callStream<string>("raw.peer", "letters", "xy", { window: 2, timeout: 5 });
    const read = collect(items);
    read.catch(() => {}); // awaited below; a failed assertion before must not hide behind it
    const open = (await frames.next()).value!;
    const id = open.payload.subarray(1, 5);
    const params = open.payload.subarray(open.payload.indexOf(0, 5) + 1);
    assert.equal(toHex(params), "C1 53 01 01 01 00 00 00 02 00 00 00 88 13 00 00 A2 78 79");
    raw.send("stream.caller", concat([0x11], id, hex("C1 53 01 00 00 00 00")));
    raw.send("stream.caller", hex("21 01 01 00 00 00 A1 78"));
    raw.send("stream.caller", hex("21 01 01 00 00 00 A1 79"));
    assert.equal(await next(), "20 05 01 00 00 00 01 00 00 00");
    raw.send("stream.caller", hex("21 02 01 00 00 00"));
    assert.deepEqual(await read, ["x", "y"]);
    await assertNoStreams(caller);
  });
});

Deno.test("under a reconnecting client, a lost connection fails streams at once on both sides; new ones work after", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  let broker = new Broker();
  await broker.serveUnix(path);
  const opts = { timeout: 2, reconnect: { initialDelay: 10 } };
  const server = new RpcClient(await connect(path, { name: "srv", ...opts }));
  const caller = new RpcClient(await connect(path, { name: "caller", ...opts }), { timeout: 30 });
  try {
    const aborted = Promise.withResolvers<number>();
    server.handleStream("hold", async function* (_p, ctx) {
      yield 0;
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      aborted.resolve((ctx.signal.reason as RpcError).code);
    });
    server.handleStream("two", () => [1, 2]);
    const reader = caller.callStream("srv", "hold");
    assert.deepEqual(await reader.next(), { done: false, value: 0 });
    const failed = reader.next().then(() => null, (err) => err);
    await broker.close();
    const err = await failed;
    // -32115 from the connection status, or -32255 when a credit grant was being sent as it dropped
    assert.ok(err instanceof RpcError && (err.isIo() || err.isClosed()), String(err));
    const code = await aborted.promise;
    assert.ok(code === RpcErrorCode.Io || code === RpcErrorCode.Eof, `handler aborted with ${code}`);
    await assertNoStreams(server, caller);

    broker = new Broker();
    await broker.serveUnix(path);
    await waitFor(
      () => server.client.isConnected() && caller.client.isConnected(),
      10_000,
      "both reconnected",
    );
    assert.deepEqual(await collect(caller.callStream("srv", "two")), [1, 2]);
    await assertNoStreams(server, caller);
  } finally {
    await caller.close();
    await server.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
