/**
 * One end of a stream in a process of its own, for the kill -9 tests of
 * tests/rpc_stream_test.ts: `server` serves `ticks` (an endless stream),
 * `caller` opens `many` of `stream.server` and reads one item. Each prints
 * one line once it got that far, then waits to be killed.
 *
 * Run: deno run -A tests/_stream_peer.ts <socket> server|caller
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";

const [socket, role] = Deno.args;
if (role === "server") {
  const rpc = new RpcClient(await connect(socket, { name: "stream.peer.server" }));
  rpc.handleStream("ticks", async function* () {
    for (let i = 0;; i++) {
      yield i;
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  console.log("serving");
} else if (role === "caller") {
  const rpc = new RpcClient(await connect(socket, { name: "stream.peer.caller" }));
  const reader = rpc.callStream("stream.server", "many", undefined, { window: 4, timeout: 0.5 });
  await reader.next();
  console.log("reading");
} else {
  console.error("Usage: deno run -A tests/_stream_peer.ts <socket> server|caller");
  Deno.exit(2);
}
await new Promise(() => {});
