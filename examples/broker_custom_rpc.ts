/**
 * A broker whose `.broker` client serves custom RPC methods next to the
 * built-in ones (`test`, `info`, `stats`, `client.list`, `benchmark.test`),
 * like the reference `broker_custom_rpc` example.
 *
 * Run:   deno run -A examples/broker_custom_rpc.ts [/tmp/busrt.sock]
 * Try:   deno run -A cli.ts -s /tmp/busrt.sock rpc call .broker ping message=hello
 *        deno run -A cli.ts -s /tmp/busrt.sock rpc call .broker client.list
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { consoleLogger } from "../log/logger.ts";
import { unpack } from "../rpc/msgpack.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

const path = Deno.args[0] ?? "/tmp/busrt.sock";
const broker = new Broker({ logger: consoleLogger("info") });

const core = enableCoreRpc(broker, {
  methods: {
    // "test" replaced: returns raw bytes instead of {ok: true}
    "test": () => new TextEncoder().encode("passed"),
    // parses MessagePack params {message?: string} and returns the message back
    "ping": (call) => {
      const params = call.unpack<{ message?: string } | undefined>();
      if (params !== undefined && (typeof params !== "object" || params === null)) {
        throw new RpcError(RpcErrorCode.InvalidParams, "params must be a map");
      }
      return params?.message;
    },
    // a method using the broker itself
    "client.count": (_call, b) => b.clientList().length,
  },
  onNotification: (n) => console.log(`RPC notification from ${n.sender}: ${n.text()}`),
  onFrame: (f) => {
    // announcements on .broker/* are MessagePack; the rest is printed as text
    const body = f.topic?.startsWith(".broker/") ? unpack(f.payload) : new TextDecoder().decode(f.payload);
    console.log(`frame from ${f.sender} ${f.topic ?? ""}:`, body);
  },
});
// methods can be added and removed at any time
core.addMethod("uptime", (_call, b) => b.stats().uptime);

// print every publication too, as the reference example does
await core.client.subscribe("#");
await broker.serveUnix(path, { timeout: 5 });
console.log(`Waiting for frames to .broker on ${path} (methods: ${core.methodNames().join(", ")})`);

const stop = async () => {
  await broker.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
