/**
 * Cursors: a service exposes a large result as a cursor (an async
 * generator), a client reads it one record at a time and in bulks. Runs
 * self-contained with an in-process broker and a unix socket.
 *
 * Run: deno run -A examples/rpc_cursor.ts
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { openCursor } from "../rpc/cursor_client.ts";
import { CursorServer } from "../rpc/cursor_server.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

interface Customer {
  id: number;
  name: string;
}

async function* customers(count: number): AsyncGenerator<Customer> {
  try {
    for (let id = 1; id <= count; id++) yield { id, name: `customer ${id}` };
  } finally {
    console.log("(source released)");
  }
}

const dir = await Deno.makeTempDir();
const path = `${dir}/busrt.sock`;
const broker = new Broker();
await broker.serveUnix(path);

// the service: "Ccustomers" opens a cursor, "N" / "NB" read it
const cursors = new CursorServer({ ttl: 30 });
const service = new RpcClient(broker.registerClient("db"), {
  handlers: {
    onCall(call) {
      switch (call.method) {
        case "Ccustomers":
          return cursors.open(customers(call.unpack<{ count: number }>().count));
        case "N":
          return cursors.next(call);
        case "NB":
          return cursors.nextBulk(call);
      }
      throw new RpcError(RpcErrorCode.MethodNotFound);
    },
  },
});

const client = new RpcClient(await connect(path, { name: "reader" }));
for await (const c of await openCursor<Customer>(client, "db", "Ccustomers", { count: 3 })) {
  console.log("one by one:", c);
}
let total = 0;
for await (
  const _ of await openCursor<Customer>(client, "db", "Ccustomers", { count: 1000 }, { bulk: 100 })
) total++;
console.log(`in bulks of 100: ${total} records`);

await client.close();
await service.close();
await cursors.close();
await broker.close();
await Deno.remove(dir, { recursive: true });
