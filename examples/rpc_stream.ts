/**
 * Streaming calls: a service streams readings to a client (server
 * streaming), takes a batch of samples and answers once (client streaming),
 * and converts items as they come (bidirectional). The reader stops early
 * with `break`, and the service's generator learns it. Runs self-contained
 * with an in-process broker and a unix socket.
 *
 * Run: deno run -A examples/rpc_stream.ts
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

const dir = await Deno.makeTempDir();
const path = `${dir}/busrt.sock`;
const broker = new Broker();
await broker.serveUnix(path);

// the service, on its own connection
const service = new RpcClient(await connect(path, { name: "sensors" }));

// server streaming: params in, items out, sent as the reader grants credit
service.handleStream("readings", async function* (params, ctx) {
  const { count } = params as { count: number };
  try {
    for (let i = 1; i <= count; i++) yield { seq: i, celsius: 20 + (i % 5) / 10 };
  } finally {
    if (ctx.signal.aborted) console.log(`(the reader stopped the stream of ${ctx.sender})`);
  }
});

// client streaming: items in, one result out
service.handleUpload("average", async (items) => {
  let sum = 0;
  let n = 0;
  for await (const x of items) {
    sum += x as number;
    n++;
  }
  if (n === 0) throw new RpcError(RpcErrorCode.InvalidParams, "no samples");
  return { n, mean: sum / n };
});

// bidirectional: each item in gives one item out
service.handleDuplex("toFahrenheit", async function* (items) {
  for await (const c of items) yield (c as number) * 9 / 5 + 32;
});

const client = new RpcClient(await connect(path, { name: "dashboard" }));

let received = 0;
for await (
  const r of client.callStream<{ seq: number }>("sensors", "readings", { count: 10_000 }, { window: 32 })
) {
  if (++received <= 3) console.log("reading:", r);
  if (received === 1000) break; // enough: the service is told to stop
}
console.log(`read ${received} readings, then stopped`);

const avg = await client.callUpload("sensors", "average", [20.5, 21, 22.5]);
console.log("average:", avg.unpack());

try {
  await client.callUpload("sensors", "average", []);
} catch (err) {
  if (err instanceof RpcError) console.log(`empty upload refused: ${err.code} ${err.message}`);
}

const conversion = client.callDuplex<number>("sensors", "toFahrenheit");
for (const c of [0, 37, 100]) await conversion.send(c);
await conversion.end();
console.log("in Fahrenheit:", await Array.fromAsync(conversion));

console.log("open streams:", client.streamStats(), service.streamStats());

await client.close();
await service.close();
await broker.close();
await Deno.remove(dir, { recursive: true });
