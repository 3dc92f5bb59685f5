/**
 * A server process for the idle-client probe: our broker, or a raw Deno unix
 * socket server that speaks only the BUS/RT handshake and then keeps one
 * pending read per connection (the floor: what Deno itself costs per idle
 * socket). On SIGUSR1 it runs a full GC and prints
 * `mem <seq> <heapUsed> <external> <rss> gc <heapTotal> <new space size>`.
 *
 * Run: deno run -A --v8-flags=--expose-gc bench/peers/idle_server.ts <busrt|raw> <socket path> [timeout s]
 * Prints `ready` once listening; stops on SIGTERM.
 *
 * @module
 */
import v8 from "node:v8";
import { Broker } from "../../broker/mod.ts";

/** A connection of the raw server: handshake, then reads into a small buffer until EOF. */
async function rawSession(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256);
  const take = async (n: number): Promise<void> => {
    let got = 0;
    while (got < n) {
      const r = await conn.read(buf.subarray(got, n));
      if (r === null) throw new Error("eof");
      got += r;
    }
  };
  try {
    await conn.write(new Uint8Array([0xeb, 1, 0])); // greeting
    await take(3);
    await conn.write(new Uint8Array([1]));
    await take(2);
    await take(buf[0] | (buf[1] << 8));
    await conn.write(new Uint8Array([1]));
    while (await conn.read(buf) !== null) {
      // pings and frames are read and dropped
    }
  } catch {
    // closed
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

function serveRaw(path: string): void {
  const listener = Deno.listen({ transport: "unix", path });
  (async () => {
    for await (const conn of listener) rawSession(conn);
  })();
}

let seq = 0;
async function report(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = Deno.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
  console.log(
    `mem ${++seq} ${m.heapUsed} ${m.external} ${m.rss} ${
      gc === undefined ? "nogc" : "gc"
    } ${m.heapTotal} ${newSpace}`,
  );
}

if (import.meta.main) {
  const [kind, path, timeoutText] = Deno.args;
  const timeout = Number(timeoutText ?? 5);
  let broker: Broker | null = null;
  if (kind === "raw") serveRaw(path);
  else if (kind === "busrt") {
    broker = new Broker();
    await broker.serveUnix(path, { timeout });
  } else throw new TypeError(`unknown server kind ${kind}`);
  Deno.addSignalListener("SIGUSR1", () => void report());
  Deno.addSignalListener("SIGTERM", async () => {
    await broker?.close();
    Deno.exit(0);
  });
  console.log("ready");
}
