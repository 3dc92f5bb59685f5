/**
 * An RPC service: handles calls, notifications and publications, calls the
 * broker from inside a call handler, and keeps publications in arrival order.
 *
 * Call handlers always run concurrently (as in the reference RPC layer), so
 * one may call through its own client. Publications are handled one at a
 * time in arrival order here (`orderedFrames`); a handler that may wait long
 * calls through the secondary client instead.
 *
 * Run:   deno run -A examples/rpc_handler.ts [/tmp/busrt.sock]
 * Then:  deno run -A examples/rpc_client.ts [/tmp/busrt.sock]
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

const path = Deno.args[0] ?? "/tmp/busrt.sock";
let counter = 0;

const rpc: RpcClient = new RpcClient(await connect(path, { name: "example.handler" }), {
  orderedFrames: true,
  handlers: {
    async onCall(call) {
      switch (call.method) {
        case "test":
          return { ok: true };
        case "add": {
          const { a, b } = call.unpack<{ a: number; b: number }>();
          if (typeof a !== "number" || typeof b !== "number") {
            throw new RpcError(RpcErrorCode.InvalidParams, "expected {a: number, b: number}");
          }
          return a + b;
        }
        case "counter":
          return ++counter;
        case "echo":
          return call.params; // raw bytes back, whatever they are
        case "clients": {
          // calls are handled concurrently: the reply is read while this handler waits
          const reply = await rpc.call(".broker", "client.list");
          return reply.unpack<{ clients: { name: string }[] }>().clients.map((c) => c.name);
        }
        default:
          throw new RpcError(RpcErrorCode.MethodNotFound, `no method "${call.method}"`);
      }
    },
    onNotification(n) {
      console.log(`notification from ${n.sender}: ${n.text()}`);
    },
    async onFrame(frame) {
      // ordered: the next publication waits for this handler; a call from here
      // goes through the secondary, which never waits behind this client's frames
      const helper = await rpc.secondary();
      await helper.notify("example.audit", frame.payload).catch(() => {});
      console.log(
        `publication ${frame.topic} from ${frame.sender}: ${new TextDecoder().decode(frame.payload)}`,
      );
    },
  },
});
await rpc.client.subscribe("example/#", QoS.Processed);
console.log(`${rpc.name} is serving on ${path}; Ctrl+C to stop`);
Deno.addSignalListener("SIGINT", async () => {
  await rpc.close();
  Deno.exit(0);
});
