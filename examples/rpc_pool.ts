/**
 * Worker pools: three worker processes serve `resize`; a caller reaches
 * them as one service through `rpc.pool("svc.resize.*")`, sees calls spread
 * over them, asks all of them at once, then kills one with SIGKILL in the
 * middle of a stream of idempotent calls — none of which fails. Runs
 * self-contained: a broker on a unix socket in a temp dir, and this same
 * file started three times as a worker.
 *
 * Run: deno run -A examples/rpc_pool.ts
 *
 * @module
 */
import { Broker } from "../broker/broker.ts";
import { connect } from "../client/ipc_client.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";

if (Deno.args[0] === "worker") {
  // a worker: `deno run -A examples/rpc_pool.ts worker SOCKET NAME`
  const [, socket, name] = Deno.args;
  const rpc = new RpcClient(await connect(socket, { name, timeout: 5 }), {
    handlers: {
      async onCall(call) {
        if (call.method !== "resize") throw new RpcError(RpcErrorCode.MethodNotFound);
        const { w, h } = call.unpack<{ w: number; h: number }>();
        await new Promise((resolve) => setTimeout(resolve, 5)); // the work
        return { by: name, size: `${Math.round(w / 2)}x${Math.round(h / 2)}` };
      },
    },
  });
  console.log("ready");
  await rpc.closed;
  Deno.exit(0);
}

const dir = await Deno.makeTempDir();
const socket = `${dir}/busrt.sock`;
const broker = new Broker();
enableCoreRpc(broker); // client.list and the reg/unreg announcements the pool follows
await broker.serveUnix(socket, { timeout: 5 }); // as the clients below: they ping every 2.5 s

async function startWorker(name: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "worker", socket, name],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!(await reader.read()).value?.includes("ready"));
  await reader.cancel();
  return child;
}

const workers = await Promise.all(["svc.resize.1", "svc.resize.2", "svc.resize.3"].map(startWorker));
const rpc = new RpcClient(await connect(socket, { name: "app", timeout: 5 }));
try {
  const pool = await rpc.pool("svc.resize.*", {
    strategy: "round-robin",
    heartbeat: { intervalMs: 500 },
    onChange: (e) => console.log(`  (${e.type} ${e.member})`),
  });

  const spread = new Map<string, number>();
  for (let i = 0; i < 9; i++) {
    const reply = await pool.call("resize", { w: 640, h: 480 });
    spread.set(reply.sender, (spread.get(reply.sender) ?? 0) + 1);
  }
  console.log("spread:", Object.fromEntries(spread));

  const all = await pool.callAll("resize", { w: 100, h: 100 }, { timeout: 2 });
  for (const r of all) console.log(`callAll ${r.member}:`, r.ok ? r.reply.unpack() : r.error.message);

  // a stream of idempotent calls from 8 callers; one worker is killed half way
  let done = 0;
  let failed = 0;
  const until = performance.now() + 1000;
  const callers = Array.from({ length: 8 }, async () => {
    while (performance.now() < until) {
      try {
        await pool.call("resize", { w: 64, h: 64 }, { idempotent: true });
        done++;
      } catch (err) {
        failed++;
        console.error("failed:", (err as Error).message);
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 400));
  workers[0].kill("SIGKILL");
  await Promise.all(callers);
  console.log(`after kill -9 of svc.resize.1: ${done} calls done, ${failed} failed`);
  for (const m of pool.members()) {
    console.log(
      `member ${m.name}: ${m.calls} calls, latency ${m.latencyMs?.toFixed(1)} ms, phi ${m.phi.toFixed(2)}` +
        `${m.suspected ? " (suspected)" : ""}`,
    );
  }
  await pool.close();
} finally {
  await rpc.close();
  for (const w of workers) {
    try {
      w.kill("SIGKILL");
    } catch {
      // exited already
    }
    await w.status;
  }
  await broker.close();
  await Deno.remove(dir, { recursive: true });
}
