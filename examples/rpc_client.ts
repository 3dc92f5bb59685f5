/**
 * Calls the broker's core RPC and the service of `rpc_handler.ts`, and
 * shows how failures are told apart.
 *
 * Run (with a broker with core RPC, e.g. `deno task serve`, and the handler):
 *   deno run -A examples/rpc_client.ts [/tmp/busrt.sock]
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { brokerInfo, brokerStats, listClients } from "../rpc/broker_api.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError } from "../rpc/rpc_error.ts";

const path = Deno.args[0] ?? "/tmp/busrt.sock";

let client;
try {
  client = await connect(path, { name: "example.client" });
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err} (start a broker: deno task serve)`);
  Deno.exit(1);
}
const rpc = new RpcClient(client, { timeout: 2 });
try {
  console.log("broker:", await brokerInfo(rpc), await brokerStats(rpc));
  console.log("clients:", (await listClients(rpc, "^example")).map((c) => `${c.name} (${c.kind})`));

  console.log("add:", (await rpc.call("example.handler", "add", { a: 2, b: 40 })).unpack());
  console.log("echo:", (await rpc.call("example.handler", "echo", new Uint8Array([1, 2, 3]))).payload);
  console.log("clients seen by the handler:", (await rpc.call("example.handler", "clients")).unpack());
  await rpc.call0("example.handler", "counter"); // runs, no reply
  await rpc.notify("example.handler", new TextEncoder().encode("hello"));
  rpc.client.publish("example/news", "published");

  try {
    await rpc.call("example.handler", "add", { a: "x" });
  } catch (err) {
    if (!(err instanceof RpcError) || !err.isInvalidParams()) throw err;
    console.log("refused as expected:", err.message);
  }
} catch (err) {
  // how failures are told apart: by the error's predicates, never its text
  if (!(err instanceof RpcError)) throw err;
  if (err.isNotRegistered()) {
    console.error("example.handler is not running: start examples/rpc_handler.ts first");
  } else if (err.isTimeout()) console.error("no reply in time");
  else console.error(`RPC error ${err.code}: ${err.message}`);
  Deno.exitCode = 1;
} finally {
  await rpc.close();
}
