/**
 * An RPC service: handles calls, notifications and publications, and calls
 * another service from inside a handler through its secondary client.
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
          // In the default blocking mode, calling through `rpc` itself here would
          // deadlock: the reply could only be read after this handler returns.
          const helper = await rpc.secondary();
          const reply = await helper.call(".broker", "client.list");
          return reply.unpack<{ clients: { name: string }[] }>().clients.map((c) => c.name);
        }
        default:
          throw new RpcError(RpcErrorCode.MethodNotFound, `no method "${call.method}"`);
      }
    },
    onNotification(n) {
      console.log(`notification from ${n.sender}: ${n.text()}`);
    },
    onFrame(frame) {
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
