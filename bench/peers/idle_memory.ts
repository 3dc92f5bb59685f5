/**
 * Where our broker's memory goes with many idle clients: a broker in this
 * process on a unix socket, idle clients from child processes, then
 * `Deno.memoryUsage()` and a heap-snapshot diff (before → after) per object
 * kind, divided per connection.
 *
 * Run: deno run -A bench/peers/idle_memory.ts [clients, default 10000] [bufSize]
 *
 * @module
 */
import v8 from "node:v8";
import { Broker } from "../../broker/mod.ts";
import { diffHeaps, summarizeHeap } from "./heap_summary.ts";
import { measureIdle } from "./idle_probe.ts";

async function snapshot(dir: string, name: string): Promise<ReturnType<typeof summarizeHeap>> {
  const path = v8.writeHeapSnapshot(`${dir}/${name}.heapsnapshot`);
  const parsed = JSON.parse(await Deno.readTextFile(path));
  await Deno.remove(path);
  return summarizeHeap(parsed);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

if (import.meta.main) {
  const clients = Number(Deno.args[0] ?? 10_000);
  const bufSize = Deno.args[1] === undefined ? undefined : Number(Deno.args[1]);
  const dir = await Deno.makeTempDir({ prefix: "busrt-idle-memory-" });
  const broker = new Broker();
  try {
    const path = `${dir}/broker.sock`;
    await broker.serveUnix(path, { timeout: 5, bufSize });
    const before = await snapshot(dir, "before");
    const m0 = Deno.memoryUsage();
    let m1 = m0;
    let after = before;
    const r = await measureIdle("busrt-unix", "busrt", path, Deno.pid, clients, 4, async () => {
      m1 = Deno.memoryUsage();
      after = await snapshot(dir, "after");
    });
    if (r.error !== null) throw new Error(r.error);
    const n = r.connections;
    const perClient = (a: number, b: number) => `${((b - a) / n).toFixed(0)} B per client`;
    console.log(`${n} idle clients (bufSize ${bufSize ?? "default"}), this process:`);
    console.log(
      `heap used  ${mb(m0.heapUsed)} → ${mb(m1.heapUsed)}  (${perClient(m0.heapUsed, m1.heapUsed)})`,
    );
    console.log(
      `external   ${mb(m0.external)} → ${mb(m1.external)}  (${
        perClient(m0.external, m1.external)
      }, ArrayBuffers)`,
    );
    console.log(
      `rss        ${mb(m0.rss)} → ${mb(m1.rss)}  (${
        perClient(m0.rss, m1.rss)
      }; includes the snapshot parser's garbage)`,
    );
    console.log(`\nheap growth by object kind (after a full GC), per client:`);
    console.log("| bytes/client | objects/client | kind |\n|--:|--:|---|");
    for (const d of diffHeaps(before, after).slice(0, 30)) {
      console.log(`| ${(d.bytes / n).toFixed(0)} | ${(d.count / n).toFixed(2)} | \`${d.kind}\` |`);
    }
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
