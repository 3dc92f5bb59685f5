/**
 * Streaming calls against the reference (busrt 0.5.6): our clients stream
 * through the real broker `busrtd` (the extension is ordinary MESSAGE
 * frames to it), and the real CLI calling a streaming method of ours gets a
 * clean RPC error at once instead of waiting.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import { delay } from "./_helpers.ts";
import { assertNoStreams, collect, serveEndless } from "./_stream_helpers.ts";
import { type BrokerKind, BUSRT, REFERENCE_UNAVAILABLE, startBroker, withBroker } from "./_reference.ts";

const ignore = REFERENCE_UNAVAILABLE !== null;

for (const transport of ["unix", "tcp"] as const) {
  Deno.test({
    name: `server streams, uploads, duplex streams and cancellation work through busrtd over ${transport}`,
    ignore,
    async fn() {
      await withBroker("busrtd", async (broker) => {
        const server = new RpcClient(await connect(broker.address(transport), { name: "ref.server" }));
        const caller = new RpcClient(await connect(broker.address(transport), { name: "ref.caller" }));
        try {
          const returned = Promise.withResolvers<void>();
          server.handleStream("count", async function* (params) {
            for (let i = 0; i < (params as number); i++) yield i;
          });
          server.handleStream("forever", async function* () {
            try {
              for (let i = 0;; i++) yield i;
            } finally {
              returned.resolve();
            }
          });
          server.handleUpload("sum", async (items) => {
            let total = 0;
            for await (const n of items) total += n as number;
            return total;
          }, { window: 4 });
          server.handleDuplex("echo", async function* (items) {
            for await (const item of items) yield item;
          }, { window: 4 });
          server.handleStream("fails", function* () {
            yield 1;
            throw new RpcError(RpcErrorCode.InvalidParams, "bad");
          });

          const items = await collect(caller.callStream<number>("ref.server", "count", 3000, { window: 8 }));
          assert.deepEqual(items, Array.from({ length: 3000 }, (_, i) => i));
          assert.equal(
            (await caller.callUpload("ref.server", "sum", Array.from({ length: 1000 }, (_, i) => i)))
              .unpack(),
            499500,
          );
          const d = caller.callDuplex<number>("ref.server", "echo", undefined, { window: 4 });
          const sent = Promise.all(Array.from({ length: 200 }, (_, i) => d.send(i))).then(() => d.end());
          assert.deepEqual(await collect(d), Array.from({ length: 200 }, (_, i) => i));
          await sent;
          let n = 0;
          for await (const _ of caller.callStream("ref.server", "forever", undefined, { window: 4 })) {
            if (++n === 10) break;
          }
          await returned.promise;
          await assert.rejects(
            collect(caller.callStream("ref.server", "fails")),
            (err: RpcError) => err.code === RpcErrorCode.InvalidParams && err.message === "bad",
          );
          await assert.rejects(
            collect(caller.callStream("ref.nobody", "x")),
            (err: RpcError) => err.isNotRegistered(),
          );
          await assertNoStreams(server, caller);
        } finally {
          await Promise.all([server.close(), caller.close()]);
        }
      });
    },
  });
}

Deno.test({
  name: "a caller that disconnects from busrtd ends the handler waiting for its credit",
  ignore,
  async fn() {
    await withBroker("busrtd", async (broker) => {
      const server = new RpcClient(await connect(broker.unix, { name: "ref.server" }));
      const caller = new RpcClient(await connect(broker.unix, { name: "ref.caller" }));
      try {
        const ended = serveEndless(server, "many");
        const reader = caller.callStream<number>("ref.server", "many", undefined, {
          window: 4,
          timeout: 0.3,
        });
        assert.deepEqual(await reader.next(), { done: false, value: 0 });
        await caller.client.close();
        assert.equal(await ended, RpcErrorCode.NotRegistered);
        await assertNoStreams(server, caller);
      } finally {
        await Promise.all([server.close(), caller.close()]);
      }
    });
  },
});

for (const kind of ["ours", "busrtd"] as BrokerKind[]) {
  Deno.test({
    name: `the reference CLI calling a streaming method of ours gets error -32600 at once (${kind} broker)`,
    ignore,
    async fn() {
      await withBroker(kind, async (broker) => {
        const server = new RpcClient(await connect(broker.unix, { name: "stream.service" }), {
          handlers: { onCall: (call) => call.method === "plain" ? "plain ok" : undefined },
        });
        try {
          server.handleStream("ticks", async function* () {
            for (let i = 0;; i++) yield i;
          });
          const started = performance.now();
          const out = await new Deno.Command(BUSRT, {
            args: [broker.unix, "rpc", "call", "stream.service", "ticks", "n=3"],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const elapsed = performance.now() - started;
          const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
          assert.notEqual(out.code, 0, text);
          assert.match(text, /-32600/);
          assert.match(text, /"ticks" is a streaming method \(server stream\): a plain call cannot open it/);
          // far below the CLI's 5 s timeout: the reply came, nothing waited
          assert.ok(elapsed < 4000, `took ${elapsed} ms`);
          // the ordinary methods of the same client still answer it
          const plain = await new Deno.Command(BUSRT, {
            args: [broker.unix, "rpc", "call", "stream.service", "plain"],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(plain.code, 0);
          assert.match(new TextDecoder().decode(plain.stdout), /plain ok/);
          assert.deepEqual(server.streamStats(), { calling: 0, serving: 0 });
        } finally {
          await server.close();
        }
      });
    },
  });
}

Deno.test({
  name:
    "credit keeps a fast producer from overflowing a slow consumer's 64-frame queue in busrtd; plain messages do not",
  ignore,
  async fn() {
    const broker = await startBroker("busrtd", 64);
    const server = new RpcClient(await connect(broker.unix, { name: "ref.server" }));
    const consumer = new RpcClient(await connect(broker.unix, { name: "ref.consumer" }));
    try {
      server.handleStream("flood", function* () {
        for (let i = 0; i < 2000; i++) yield i;
      });
      let received = 0;
      for await (const n of consumer.callStream<number>("ref.server", "flood", undefined, { window: 16 })) {
        assert.equal(n, received, "in order");
        if (++received % 100 === 0) await delay(20); // slow
      }
      assert.equal(received, 2000);
      assert.ok(consumer.isConnected(), "the slow consumer was not dropped");
      await assertNoStreams(server, consumer);

      // control: 2,000 plain messages to a consumer that does not read overflow its queue; busrtd drops it
      const flooder = await connect(broker.unix, { name: "ref.flooder" });
      const victim = await connect(broker.unix, { name: "ref.victim" });
      const victimClosed = victim.closed.then(() => true);
      // the victim reads nothing: its client's own buffer fills, then busrtd's queue of 64 frames
      for (let i = 0; i < 2000; i++) flooder.send("ref.victim", new Uint8Array(8192));
      await flooder.flush();
      assert.equal(
        await Promise.race([victimClosed, delay(10_000).then(() => false)]),
        true,
        "the victim was dropped",
      );
      await Promise.all([flooder.close(), victim.close()]);
    } finally {
      await Promise.all([server.close(), consumer.close()]);
      await broker.stop();
    }
  },
});
