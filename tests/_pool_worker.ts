/**
 * A pool member as a process of its own, for the pool tests and bench:
 * connects to a broker over a unix socket, serves RPC, prints `ready NAME`
 * once registered, and runs until it is killed (or its broker goes).
 *
 * Run: deno run -A tests/_pool_worker.ts SOCKET NAME [DELAY_MS]
 *
 * Methods: `work` sleeps DELAY_MS (or the `ms` param) and replies
 * `{ worker, seq }` (seq: the calls of `work` so far, this one included);
 * `count` replies the number of `work` calls served; anything else (the
 * pool's `test` heartbeat among them) gets -32601 at once.
 *
 * @module
 */
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

const [socket, name, delayArg] = Deno.args;
if (socket === undefined || name === undefined) {
  console.error("usage: _pool_worker.ts SOCKET NAME [DELAY_MS]");
  Deno.exit(2);
}
const delayMs = Number(delayArg ?? 0);
let served = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const rpc = new RpcClient(await connect(socket, { name, timeout: 5 }), {
  concurrency: 1024,
  handlers: {
    async onCall(call) {
      switch (call.method) {
        case "work": {
          const params = call.params.length > 0 ? call.unpack<{ ms?: number } | null>() : null;
          const ms = params?.ms ?? delayMs;
          if (ms > 0) await sleep(ms);
          return { worker: name, seq: ++served };
        }
        case "count":
          return served;
      }
      throw new RpcError(RpcErrorCode.MethodNotFound);
    },
  },
});
console.log(`ready ${name}`);
await rpc.closed;
