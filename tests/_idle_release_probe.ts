/**
 * Subprocess of `idle_release_test.ts` (run with `--v8-flags=--expose-gc`):
 * a broker alone in this process on the unix socket given, timeout 2 s (a NOP
 * every 1 s). Prints `ready`; then for each line on stdin prints the external
 * memory (ArrayBuffers) after a full GC. Ends at the end of stdin.
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

async function collect(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc!();
  }
  return Deno.memoryUsage().external;
}

const broker = new Broker();
await broker.serveUnix(Deno.args[0], { timeout: 2 });
console.log("ready");
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  for (const _ of decoder.decode(chunk).split("\n").slice(1)) console.log(await collect());
}
await broker.close();
