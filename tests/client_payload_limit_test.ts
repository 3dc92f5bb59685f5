/**
 * The client knows the broker's payload limit (`ConnectOptions.payloadLimit`,
 * `--payload-limit`): a frame over it is refused locally with an error naming
 * both sizes, before anything is written, instead of the broker dropping the
 * connection (which the client used to report only as "disconnected").
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { runCli } from "./_cli_helpers.ts";
import { nextFrame, text, waitFor } from "./_helpers.ts";

const LIMIT = 1000;

async function withSmallLimitBroker(fn: (socket: string, broker: Broker) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  try {
    await broker.serveUnix(`${dir}/b.sock`, { payloadLimit: LIMIT });
    await fn(`${dir}/b.sock`, broker);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a client with payloadLimit refuses a larger frame before writing it and stays connected", async () => {
  await withSmallLimitBroker(async (socket, broker) => {
    const receiver = await connect(socket, { name: "rx", payloadLimit: LIMIT });
    const sender = await connect(socket, { name: "tx", payloadLimit: LIMIT });
    try {
      await sender.send("rx", new Uint8Array(LIMIT - 3), QoS.Processed); // "rx" + NUL + 997 = the limit
      const before = broker.stats().r_frames;
      const message = /^frame body of 1004 bytes is over the payload limit of 1000 bytes; nothing was sent$/;
      assert.throws(() => sender.send("rx", new Uint8Array(LIMIT + 1)), (err: Error) => {
        assert.ok(err instanceof RangeError);
        assert.match(err.message, message);
        return true;
      });
      assert.throws(() => sender.publish("topic/x", new Uint8Array(LIMIT)), RangeError);
      assert.throws(() => sender.subscribe("t".repeat(LIMIT + 1)), RangeError);
      const rpc = new RpcClient(sender);
      await assert.rejects(
        rpc.call(".broker", "benchmark.test", new Uint8Array(LIMIT)),
        /over the payload limit/,
      );
      await sender.send("rx", "still connected", QoS.Processed);
      assert.ok(sender.isConnected());
      assert.equal(broker.stats().r_frames - before, 1, "only the last frame reached the broker");
      const sizes: number[] = [];
      for await (const frame of receiver) {
        sizes.push(frame.payload.length);
        if (sizes.length === 2) break;
      }
      assert.deepEqual(sizes, [LIMIT - 3, 15]);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });
});

Deno.test("payloadLimit defaults to the broker's default 64 MiB, null means none, and bad values are refused", async () => {
  await withSmallLimitBroker(async (socket) => {
    const client = await connect(socket, { name: "default" });
    try {
      assert.throws(
        () => client.send("x", new Uint8Array(64 * 1024 * 1024)),
        /of 67108866 bytes .* 67108864 bytes/,
      );
      assert.ok(client.isConnected());
    } finally {
      await client.close();
    }
    const unlimited = await connect(socket, { name: "unlimited", payloadLimit: null });
    // no local check: the broker (limit 1000) ends the connection
    await assert.rejects(async () => await unlimited.send("x", new Uint8Array(LIMIT * 2), QoS.Processed));
    await unlimited.closed;
    await assert.rejects(connect(socket, { name: "bad", payloadLimit: 0 }), /Invalid payloadLimit "0"/);
  });
});

Deno.test("busrt --payload-limit refuses a larger frame with the sizes, before sending; bad values are usage errors", async () => {
  await withSmallLimitBroker(async (socket) => {
    const [refused, bad] = await Promise.all([
      runCli(["-s", socket, "--payload-limit", String(LIMIT), "send", "nobody", "x".repeat(LIMIT)]),
      runCli(["-s", socket, "--payload-limit", "0", "send", "nobody", "x"]),
    ]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `busrt: Cannot send to "nobody": frame body of 1007 bytes is over the payload limit of 1000 bytes; ` +
        "nothing was sent\n",
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid value "0" for --payload-limit: must be at least 1/);
  });
});

Deno.test("a reconnecting client drops a buffered frame over payloadLimit and sends the others after reconnecting", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bus.sock`;
  let broker = new Broker();
  await broker.serveUnix(path, { payloadLimit: LIMIT });
  const client = await connect(path, {
    name: "app",
    timeout: 2,
    payloadLimit: LIMIT,
    reconnect: { initialDelay: 10, bufferBytes: 10 * LIMIT },
  });
  try {
    await broker.close();
    await waitFor(() => !client.isConnected(), 5000, "the client sees the loss");
    client.send("peer", "before");
    client.send("peer", new Uint8Array(LIMIT)); // buffered while down: refused when it is sent
    client.send("peer", "after");
    broker = new Broker();
    const peer = broker.registerClient("peer");
    await broker.serveUnix(path, { payloadLimit: LIMIT });
    assert.equal(text((await nextFrame(peer)).payload), "before");
    assert.equal(text((await nextFrame(peer)).payload), "after");
    assert.equal(client.droppedFrames, 1);
    assert.ok(client.isConnected());
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
