/**
 * Worker pools against real member processes (`tests/_pool_worker.ts`)
 * connected over a unix socket: spread, least-in-flight, failover on
 * `kill -9`, a SIGSTOP'ed member suspected and readmitted, members joining
 * under load; membership against the reference `busrtd` too.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { connect } from "../client/ipc_client.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { PoolCallError, type PoolEvent, RpcPool, type RpcPoolOptions } from "../rpc/pool.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import { delay, waitFor } from "./_helpers.ts";
import { startWorkers, WorkerProcess } from "./_pool_processes.ts";
import { StreamText } from "./_cli_helpers.ts";
import { BROKER_KINDS, type BrokerKind, BUSRT, startBroker, withBroker } from "./_reference.ts";

/** One call of a load run. */
interface CallRecord {
  seq: number;
  start: number;
  end: number;
  sender: string | null;
  error: unknown;
}

/** Calls `work` from `concurrency` loops until `stop()`; every call recorded. */
async function load(
  pool: RpcPool,
  concurrency: number,
  stop: () => boolean,
  options: { idempotent?: boolean; params?: unknown } = {},
  counter = { seq: 0 },
): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (!stop()) {
      const r: CallRecord = {
        seq: ++counter.seq,
        start: performance.now(),
        end: 0,
        sender: null,
        error: null,
      };
      try {
        r.sender = (await pool.call("work", options.params, { idempotent: options.idempotent })).sender;
      } catch (err) {
        r.error = err;
      }
      r.end = performance.now();
      records.push(r);
    }
  }));
  return records;
}

function countBy(records: CallRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) if (r.sender !== null) counts.set(r.sender, (counts.get(r.sender) ?? 0) + 1);
  return counts;
}

function failures(records: CallRecord[]): string[] {
  return records.filter((r) => r.error !== null).map((r) => String(r.error));
}

/** Our broker and a caller over its unix socket; stops workers, pools, caller and broker after `fn`. */
async function withPoolBus(
  kind: BrokerKind,
  fn: (bus: { socket: string; rpc: RpcClient; workers: WorkerProcess[] }) => Promise<void>,
): Promise<void> {
  await withBroker(kind, async (broker) => {
    // timeout 5 s as the reference clients: busrtd can stall for about a second under a burst of connections
    const rpc = new RpcClient(await connect(broker.unix, { name: "pool.caller", timeout: 5 }));
    const workers: WorkerProcess[] = [];
    try {
      await fn({ socket: broker.unix, rpc, workers });
    } finally {
      await rpc.close();
      await Promise.all(workers.map((w) => w.kill()));
    }
  });
}

/** Opens a pool that records its events. */
async function eventPool(
  rpc: RpcClient,
  mask: string,
  options: RpcPoolOptions,
): Promise<{ pool: RpcPool; events: (PoolEvent & { at: number })[] }> {
  const events: (PoolEvent & { at: number })[] = [];
  const pool = await rpc.pool(mask, {
    ...options,
    onChange: (e) => events.push({ ...e, at: performance.now() }),
  });
  return { pool, events };
}

Deno.test("round robin spreads calls over member processes within ±1; callAll answers per member", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(...await startWorkers(socket, ["svc.rr.1", "svc.rr.2", "svc.rr.3"]));
    const pool = await rpc.pool("svc.rr.*", { strategy: "round-robin" });
    try {
      assert.equal(pool.size, 3);
      let left = 301;
      const records = await load(pool, 8, () => left-- <= 0);
      assert.deepEqual(failures(records), []);
      const counts = [...countBy(records).values()];
      assert.equal(counts.length, 3);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `uneven: ${counts}`);

      // every member's own count agrees with the replies it sent
      const all = await pool.callAll("count", undefined, { timeout: 5 });
      assert.deepEqual(all.map((r) => r.member), ["svc.rr.1", "svc.rr.2", "svc.rr.3"]);
      const byMember = countBy(records);
      for (const r of all) {
        assert.ok(r.ok, `${r.member}`);
        assert.equal(r.reply.unpack<number>(), byMember.get(r.member));
      }
      const missing = await pool.callAll("nope", undefined, { deadline: Date.now() + 5000 });
      for (const r of missing) {
        assert.ok(!r.ok && r.error instanceof RpcError && r.error.isMethodNotFound() && r.error.remote);
      }
      for (const m of pool.members()) {
        assert.equal(m.inFlight, 0);
        assert.ok(m.latencyMs !== null && m.latencyMs >= 0);
        assert.equal(m.calls, byMember.get(m.name)! + 2);
        assert.equal(m.suspected, false);
      }
    } finally {
      await pool.close();
    }
  });
});

Deno.test("least-in-flight favours the idle member when one member's handler is 50 times slower", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(await WorkerProcess.start(socket, "svc.lif.slow", 100));
    workers.push(await WorkerProcess.start(socket, "svc.lif.fast", 2));
    const pool = await rpc.pool("svc.lif.*", { strategy: "least-in-flight" });
    try {
      const until = performance.now() + 1500;
      const running = load(pool, 16, () => performance.now() > until);
      await delay(700);
      const midway = pool.members();
      const records = await running;
      // in flight: the slow member holds about as many calls as the fast one, each for 50 times longer
      assert.deepEqual(midway.map((m) => m.name), ["svc.lif.fast", "svc.lif.slow"]);
      assert.ok(midway.every((m) => m.inFlight >= 1 && m.inFlight <= 16), JSON.stringify(midway));
      assert.ok(midway[1].latencyMs! > midway[0].latencyMs!, JSON.stringify(midway));
      assert.deepEqual(failures(records), []);
      const counts = countBy(records);
      const slow = counts.get("svc.lif.slow") ?? 0;
      const fast = counts.get("svc.lif.fast") ?? 0;
      console.log(`least-in-flight: fast member ${fast} calls, slow member ${slow} calls`);
      assert.ok(slow > 0, "the slow member gets calls too");
      assert.ok(fast > 3 * slow, `fast ${fast} vs slow ${slow}`);
    } finally {
      await pool.close();
    }
  });
});

Deno.test("kill -9 of a member under load: every idempotent call succeeds; failover time measured", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(...await startWorkers(socket, ["svc.kill.1", "svc.kill.2", "svc.kill.3"], 5));
    const { pool, events } = await eventPool(rpc, "svc.kill.*", { heartbeat: { intervalMs: 200 } });
    try {
      let killedAt = Infinity;
      const victim = workers[1];
      const stopAt = performance.now() + 2000;
      const running = load(pool, 12, () => performance.now() > stopAt, { idempotent: true });
      await delay(600);
      killedAt = performance.now();
      victim.signal("SIGKILL");
      const records = await running;
      assert.deepEqual(failures(records), []);
      const leave = events.find((e) => e.type === "leave");
      assert.equal(leave?.member, victim.name);
      assert.deepEqual(pool.members().map((m) => m.name), ["svc.kill.1", "svc.kill.3"]);
      const around = records.filter((r) => r.end >= killedAt && r.start <= leave!.at);
      const before = records.filter((r) => r.end < killedAt);
      const worst = Math.max(...around.map((r) => r.end - r.start));
      const worstBefore = Math.max(...before.map((r) => r.end - r.start));
      console.log(
        `kill -9 failover: ${records.length} calls, 0 failed; leave seen ${
          (leave!.at - killedAt).toFixed(1)
        } ms ` +
          `after the kill; worst latency of the ${around.length} calls in flight around it ${
            worst.toFixed(1)
          } ms ` +
          `(worst before the kill ${worstBefore.toFixed(1)} ms)`,
      );
      assert.ok(countBy(records.filter((r) => r.start > leave!.at)).get(victim.name) === undefined);
    } finally {
      await pool.close();
    }
  });
});

Deno.test("a call lost with its member: non-idempotent fails with mayHaveRun, idempotent runs elsewhere", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(...await startWorkers(socket, ["svc.lost.1", "svc.lost.2"]));
    const pool = await rpc.pool("svc.lost.*", { heartbeat: false });
    try {
      const slow = { ms: 1500 };
      // round robin: one call of each pair on each member
      const plain = [pool.call("work", slow), pool.call("work", slow)];
      const safe = [
        pool.call("work", slow, { idempotent: true }),
        pool.call("work", slow, { idempotent: true }),
      ];
      await delay(300);
      const [victim, survivor] = workers;
      victim.signal("SIGKILL");
      const outcomes = await Promise.allSettled(plain);
      const lost = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason);
      assert.equal(lost.length, 1, `one lost: ${outcomes.map((o) => o.status)}`);
      assert.ok(lost[0] instanceof PoolCallError);
      assert.equal(lost[0].mayHaveRun, true);
      assert.equal(lost[0].attempts.length, 1);
      assert.equal(lost[0].attempts[0].member, victim.name);
      assert.match(lost[0].message, /left while the call was in flight; it may have run/);
      const rerun = await Promise.all(safe);
      assert.deepEqual(rerun.map((r) => r.sender), [survivor.name, survivor.name]);
    } finally {
      await pool.close();
    }
  });
});

Deno.test("a SIGSTOP'ed member is suspected and avoided, then readmitted after SIGCONT", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(...await startWorkers(socket, ["svc.hang.1", "svc.hang.2", "svc.hang.3"], 2));
    const { pool, events } = await eventPool(rpc, "svc.hang.*", {
      heartbeat: { intervalMs: 100, minStdDevMs: 50, acceptablePauseMs: 300 },
    });
    const victim = workers[2];
    try {
      await delay(500); // a few heartbeats of rhythm
      assert.ok(pool.members().every((m) => m.heartbeats > 0 && !m.suspected));
      const stopAt = performance.now() + 100_000;
      let stopLoad = false;
      const running = load(pool, 6, () => stopLoad || performance.now() > stopAt, { idempotent: true });
      await delay(200);
      const stoppedAt = performance.now();
      victim.signal("SIGSTOP");
      const isVictim = (type: string) => (e: PoolEvent) => e.type === type && e.member === victim.name;
      await waitFor(() => events.some(isVictim("suspect")), 10_000, "the stopped member suspected");
      const suspect = events.find(isVictim("suspect"))!;
      const detectedMs = suspect.at - stoppedAt;
      // avoided: none of these go to it
      const avoided = [];
      for (let i = 0; i < 30; i++) avoided.push((await pool.call("work")).sender);
      assert.ok(!avoided.includes(victim.name), `${avoided}`);
      assert.equal(pool.members().find((m) => m.name === victim.name)?.suspected, true);
      // callAll still asks it, and reports its silence by the deadline
      const all = await pool.callAll("count", undefined, { timeout: 0.5 });
      assert.deepEqual(all.map((r) => [r.member, r.ok]), [
        ["svc.hang.1", true],
        ["svc.hang.2", true],
        ["svc.hang.3", false],
      ]);
      const silent = all[2];
      assert.ok(!silent.ok && silent.error instanceof RpcError && silent.error.isTimeout());
      // a non-idempotent call pinned to it times out and says it may have run
      const alone = await rpc.pool(victim.name, { heartbeat: false });
      try {
        await assert.rejects(
          alone.call("work", undefined, { attemptTimeout: 0.3 }),
          (err: PoolCallError) => err instanceof PoolCallError && err.isTimeout() && err.mayHaveRun,
        );
      } finally {
        await alone.close();
      }
      victim.signal("SIGCONT");
      const contAt = performance.now();
      await waitFor(() => events.some(isVictim("recover")), 10_000, "the member readmitted");
      const recover = events.find(isVictim("recover"))!;
      stopLoad = true;
      const records = await running;
      assert.deepEqual(failures(records), [], "idempotent calls in flight on the stopped member moved on");
      const back = [];
      for (let i = 0; i < 30; i++) back.push((await pool.call("work")).sender);
      // 10 of 30 in turn — more should another member be (wrongly) suspected on a loaded machine
      assert.ok(back.filter((s) => s === victim.name).length >= 10, `${back}`);
      console.log(
        `SIGSTOP: suspected ${detectedMs.toFixed(0)} ms after the stop (heartbeat 100 ms), ` +
          `readmitted ${(recover.at - contAt).toFixed(0)} ms after SIGCONT; ${records.length} idempotent ` +
          `calls meanwhile, worst latency ${Math.max(...records.map((r) => r.end - r.start)).toFixed(0)} ms`,
      );
    } finally {
      victim.signal("SIGCONT");
      await pool.close();
    }
  });
});

Deno.test("a member joining under load receives calls from the first picks after its reg announcement", async () => {
  await withPoolBus("ours", async ({ socket, rpc, workers }) => {
    workers.push(await WorkerProcess.start(socket, "svc.join.1", 2));
    const counter = { seq: 0 };
    let joinSeq = -1;
    const pool = await rpc.pool("svc.join.*", {
      onChange: (e) => {
        if (e.type === "join" && e.member === "svc.join.2") joinSeq = counter.seq;
      },
    });
    try {
      let stop = false;
      const running = load(pool, 4, () => stop, { idempotent: true }, counter);
      await delay(200);
      workers.push(await WorkerProcess.start(socket, "svc.join.2", 2));
      await waitFor(() => joinSeq >= 0, 5000, "the join");
      await delay(200);
      stop = true;
      const records = await running;
      assert.deepEqual(failures(records), []);
      const after = records.filter((r) => r.seq > joinSeq).sort((a, b) => a.seq - b.seq);
      // round robin over two members: one of the first two calls picked after the join goes to it
      assert.ok(after.slice(0, 2).some((r) => r.sender === "svc.join.2"), JSON.stringify(after.slice(0, 2)));
      assert.ok((countBy(after).get("svc.join.2") ?? 0) >= after.length / 2 - 1);
    } finally {
      await pool.close();
    }
  });
});

for (const kind of BROKER_KINDS) {
  Deno.test(`${kind}: clients registering and leaving while the pool opens are all accounted for`, async () => {
    await withPoolBus(kind, async ({ socket, rpc }) => {
      const clients: RpcClient[] = [];
      const joining = Array.from({ length: 20 }, async (_, i) => {
        await delay(i % 5);
        clients.push(new RpcClient(await connect(socket, { name: `svc.race.${i}`, timeout: 5 })));
      });
      const [pool] = await Promise.all([rpc.pool("svc.race.*"), ...joining]);
      try {
        await waitFor(() => pool.size === 20, 5000, `20 members, got ${pool.size}`);
        const leaving = clients.splice(0, 10);
        const closing = Promise.all(leaving.map((c) => c.close()));
        await waitFor(() => pool.size === 10, 5000, `10 members, got ${pool.size}`);
        await closing;
        assert.deepEqual(
          pool.members().map((m) => m.name),
          clients.map((c) => c.name).sort(),
        );
        // heartbeats: `test` gets -32601 from these clients, an answer all the same
        await delay(1200);
        assert.ok(pool.members().every((m) => m.heartbeats > 0 && !m.suspected));
      } finally {
        await pool.close();
        await Promise.all(clients.map((c) => c.close()));
      }
    });
  });
}

Deno.test({
  name: "busrtd: member processes learnt from its client.list and announcements; kill -9 fails over",
  ignore: !BROKER_KINDS.includes("busrtd"),
  async fn() {
    await withPoolBus("busrtd", async ({ socket, rpc, workers }) => {
      workers.push(...await startWorkers(socket, ["svc.ref.1", "svc.ref.2"], 2));
      const { pool, events } = await eventPool(rpc, "svc.ref.*", { heartbeat: { intervalMs: 200 } });
      try {
        assert.equal(pool.size, 2);
        workers.push(await WorkerProcess.start(socket, "svc.ref.3", 2));
        await waitFor(() => pool.size === 3, 5000, "the third member");
        const stopAt = performance.now() + 1500;
        const running = load(pool, 8, () => performance.now() > stopAt, { idempotent: true });
        await delay(500);
        workers[0].signal("SIGKILL");
        const records = await running;
        assert.deepEqual(failures(records), []);
        assert.deepEqual(pool.members().map((m) => m.name), ["svc.ref.2", "svc.ref.3"]);
        assert.deepEqual(
          events.filter((e) => e.type === "join" || e.type === "leave").map((e) => `${e.type} ${e.member}`),
          ["join svc.ref.1", "join svc.ref.2", "join svc.ref.3", "leave svc.ref.1"],
        );
        assert.ok(pool.members().every((m) => m.heartbeats > 0));
      } finally {
        await pool.close();
      }
    });
  },
});

Deno.test({
  name:
    "busrtd: reference `busrt rpc listen` members answer the heartbeats; a SIGSTOP'ed one is avoided, then back",
  ignore: !BROKER_KINDS.includes("busrtd"),
  async fn() {
    await withPoolBus("busrtd", async ({ socket, rpc }) => {
      // the reference RPC layer answers every call of `rpc listen` with an empty result
      const listeners = ["svc.rust.1", "svc.rust.2"].map((name) => {
        const child = new Deno.Command(BUSRT, {
          args: ["-s", "-n", name, socket, "rpc", "listen"],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        return { name, child, out: new StreamText(child.stdout), err: new StreamText(child.stderr) };
      });
      try {
        await Promise.all(listeners.map((l) => l.out.waitFor(/Listening to RPC messages/, 10_000)));
        const { pool, events } = await eventPool(rpc, "svc.rust.*", {
          heartbeat: { intervalMs: 100, minStdDevMs: 50, acceptablePauseMs: 300 },
        });
        try {
          await delay(500);
          assert.ok(
            pool.members().every((m) => m.heartbeats > 0 && !m.suspected),
            JSON.stringify(pool.members()),
          );
          const replies = await Promise.all([1, 2, 3, 4].map(() => pool.call("resize", { w: 1 })));
          assert.deepEqual(replies.map((r) => [r.sender, r.isEmpty]).sort(), [
            ["svc.rust.1", true],
            ["svc.rust.1", true],
            ["svc.rust.2", true],
            ["svc.rust.2", true],
          ]);
          const [, stopped] = listeners;
          stopped.child.kill("SIGSTOP");
          try {
            await waitFor(
              () => events.some((e) => e.type === "suspect" && e.member === stopped.name),
              10_000,
              "the stopped reference listener suspected",
            );
            for (let i = 0; i < 10; i++) assert.equal((await pool.call("resize")).sender, "svc.rust.1");
          } finally {
            stopped.child.kill("SIGCONT");
          }
          await waitFor(
            () => events.some((e) => e.type === "recover" && e.member === stopped.name),
            10_000,
            "the reference listener readmitted",
          );
          const back = await Promise.all([1, 2, 3, 4].map(() => pool.call("resize")));
          assert.ok(back.some((r) => r.sender === stopped.name));
        } finally {
          await pool.close();
        }
      } finally {
        for (const l of listeners) {
          l.child.kill("SIGKILL");
          await l.child.status;
          await Promise.all([l.out.done, l.err.done]);
        }
      }
    });
  },
});

Deno.test("a call the broker refused is retried even when not idempotent; with no one left it did not run", async () => {
  const broker = new Broker();
  enableCoreRpc(broker);
  const serve = (name: string) =>
    new RpcClient(broker.registerClient(name), { handlers: { onCall: () => name } });
  const a = serve("svc.refused.a");
  const b = serve("svc.refused.b");
  const rpc = new RpcClient(broker.registerClient("app"));
  // a connection that reports the first call to svc.refused.a as refused (0x71), as when it has just left
  let refuse = true;
  const pool = await RpcPool.open("svc.refused.*", { heartbeat: false }, async (onFrame) => {
    const conn = new RpcClient(await rpc.client.registerSecondary(), { handlers: { onFrame } });
    return {
      client: conn.client,
      close: () => conn.close(),
      call(target, method, params, options) {
        if (refuse && target === "svc.refused.a" && method === "run") {
          refuse = false;
          return Promise.reject(new RpcError(RpcErrorCode.NotRegistered));
        }
        return conn.call(target, method, params, options);
      },
    };
  });
  try {
    assert.equal((await pool.call("run")).sender, "svc.refused.b");
    refuse = true;
    await assert.rejects(
      pool.call("run", undefined, { retries: 0 }),
      (err: PoolCallError) => err instanceof PoolCallError && !err.mayHaveRun && err.isNotRegistered(),
    );
    await b.close();
    await waitFor(() => pool.size === 1, 2000, "b gone");
    refuse = true;
    const err = await pool.call("run").catch((e) => e);
    assert.ok(err instanceof PoolCallError && !err.mayHaveRun, String(err));
    assert.match(err.message, /no other member .* to try; it did not run/);
  } finally {
    await pool.close();
    await Promise.all([rpc.close(), a.close()]);
    await broker.close();
  }
});

Deno.test("a pool needs a broker with core RPC, and closes with its RPC client", async () => {
  const plain = new Broker();
  const rpc = new RpcClient(plain.registerClient("app"));
  await assert.rejects(rpc.pool("svc.*"), (err: RpcError) => err.isNotRegistered());
  await rpc.close();
  await plain.close();

  const broker = await startBroker("ours");
  try {
    const owner = new RpcClient(await connect(broker.unix, { name: "owner" }));
    const pool = await owner.pool("svc.*");
    await owner.close();
    await waitFor(() => pool.closed, 2000, "the pool closed with its client");
    await assert.rejects(
      pool.call("x"),
      (err: PoolCallError) => err.code === RpcErrorCode.Eof && !err.mayHaveRun,
    );
  } finally {
    await broker.stop();
  }
});

Deno.test("random picks every member and only healthy ones; the options are checked", async () => {
  const broker = new Broker();
  enableCoreRpc(broker);
  const members = ["svc.rnd.a", "svc.rnd.b", "svc.rnd.c"].map((name) =>
    new RpcClient(broker.registerClient(name), { handlers: { onCall: () => name } })
  );
  const rpc = new RpcClient(broker.registerClient("app"));
  const pool = await rpc.pool("svc.rnd.*", { strategy: "random", heartbeat: false });
  try {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const { sender } = await pool.call("x");
      counts.set(sender, (counts.get(sender) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), ["svc.rnd.a", "svc.rnd.b", "svc.rnd.c"]);
    for (const n of counts.values()) assert.ok(n > 50, `${[...counts]}`);
    await assert.rejects(rpc.pool("svc.*", { strategy: "fastest" as "random" }), RangeError);
    await assert.rejects(rpc.pool("svc.*", { qos: 0 as 1 }), RangeError);
    await assert.rejects(rpc.pool("svc.*", { heartbeat: { intervalMs: 0 } }), RangeError);
    await assert.rejects(rpc.pool("svc.*", { heartbeat: { threshold: -1 } }), RangeError);
    await assert.rejects(rpc.pool(""), TypeError);
    await assert.rejects(pool.call("x", undefined, { retries: 1.5 }), RangeError);
  } finally {
    await pool.close();
    await Promise.all([rpc.close(), ...members.map((m) => m.close())]);
    await broker.close();
  }
});
