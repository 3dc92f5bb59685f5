/**
 * RPC handler semantics as the reference RPC layer: calls always concurrent,
 * frames and notifications concurrent by default or ordered on request, and
 * a call handler that calls through its own client in every mode — against
 * our broker and against the reference busrtd.
 */
import assert from "node:assert/strict";
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { RpcClient, type RpcClientOptions } from "../rpc/rpc_client.ts";
import { BROKER_KINDS, withBroker } from "./_reference.ts";
import { waitFor } from "./_helpers.ts";

const MODES: Record<string, RpcClientOptions> = {
  "default options": {},
  'mode "blocking"': { mode: "blocking" },
  'mode "concurrent"': { mode: "concurrent" },
  orderedFrames: { orderedFrames: true },
  orderedNotifications: { orderedNotifications: true },
  "concurrency 1": { concurrency: 1 },
};

for (const kind of BROKER_KINDS) {
  Deno.test(`a call handler can call through its own client in every handler mode (${kind})`, async () => {
    await withBroker(kind, async (broker) => {
      const open = async (name: string, options: RpcClientOptions = {}) =>
        new RpcClient(await connect(broker.unix, { name, timeout: 5 }), { timeout: 3, ...options });
      const inner = await open("inner", { handlers: { onCall: (call) => `inner saw ${call.sender}` } });
      const caller = await open("caller");
      try {
        for (const [mode, options] of Object.entries(MODES)) {
          const name = `outer.${mode.replace(/\W+/g, "_")}`;
          const outer: RpcClient = await open(name, {
            ...options,
            handlers: {
              async onCall(call) {
                if (call.method === "leaf") return "leaf";
                const viaOther = (await outer.call("inner", "x")).unpack<string>();
                // a call to itself needs a second handler slot: not with concurrency 1
                const viaSelf = options.concurrency === 1
                  ? "leaf"
                  : (await outer.call(name, "leaf")).unpack();
                return `${viaOther}, ${viaSelf}`;
              },
            },
          });
          assert.equal((await caller.call(name, "outer")).unpack(), `inner saw ${name}, leaf`, mode);
          await outer.close();
        }
      } finally {
        await caller.close();
        await inner.close();
      }
    });
  });
}

Deno.test("by default notifications and frames are handled concurrently, as the reference's defaults", async () => {
  await withBroker("ours", async (broker) => {
    const gate = Promise.withResolvers<void>();
    let notifications = 0;
    let frames = 0;
    const rx = new RpcClient(await connect(broker.unix, { name: "rx" }), {
      handlers: {
        onNotification: async () => {
          notifications++;
          await gate.promise;
        },
        onFrame: async () => {
          frames++;
          await gate.promise;
        },
      },
    });
    await rx.client.subscribe("t", QoS.Processed);
    const tx = new RpcClient(await connect(broker.unix, { name: "tx" }));
    for (let i = 0; i < 3; i++) {
      await tx.notify("rx", i);
      await tx.client.publish("t", new Uint8Array([i]), QoS.Processed);
    }
    await waitFor(() => notifications === 3 && frames === 3, 5000, "six handlers running at once");
    assert.equal(rx.runningHandlers, 6);
    gate.resolve();
    await waitFor(() => rx.runningHandlers === 0, 5000, "handlers to finish");
    await tx.close();
    await rx.close();
  });
});

Deno.test("an ordered notification handler may call through its own client: reading goes on while it waits", async () => {
  await withBroker("ours", async (broker) => {
    const answers: string[] = [];
    const service = new RpcClient(await connect(broker.unix, { name: "service" }), {
      handlers: { onCall: (call) => `echo ${call.unpack<number>()}` },
    });
    const rx: RpcClient = new RpcClient(await connect(broker.unix, { name: "rx" }), {
      orderedNotifications: true,
      timeout: 3,
      handlers: {
        onNotification: async (n) => {
          answers.push((await rx.call("service", "x", n.unpack<number>())).unpack<string>());
        },
      },
    });
    const tx = new RpcClient(await connect(broker.unix, { name: "tx" }));
    for (let i = 0; i < 20; i++) await tx.notify("rx", i, { qos: QoS.No });
    await tx.client.flush();
    await waitFor(() => answers.length === 20, 5000, "20 notifications handled");
    assert.deepEqual(answers, Array.from({ length: 20 }, (_, i) => `echo ${i}`));
    await tx.close();
    await rx.close();
    await service.close();
  });
});

Deno.test("RpcClient refuses an unknown mode", async () => {
  await withBroker("ours", async (broker) => {
    const client = await connect(broker.unix, { name: "x" });
    assert.throws(
      () => new RpcClient(client, { mode: "serial" as "blocking" }),
      /Invalid mode "serial": expected "blocking" or "concurrent"/,
    );
    await client.close();
  });
});
