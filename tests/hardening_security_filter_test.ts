// Issue #12 item 1: a `client.list` filter cannot freeze the broker; filters run in linear time and the
// broker's event loop keeps turning while a long search runs.
import assert from "node:assert/strict";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import type { RpcClient } from "../rpc/rpc_client.ts";
import { RpcErrorCode } from "../rpc/rpc_error.ts";
import { startBus, type TestBus } from "./_helpers.ts";
import { ipcRpc, rejectsWith } from "./_rpc_helpers.ts";

/** The longest the event loop stood still (ms) while `work` ran, sampled by a 1 ms timer. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  try {
    const result = await work();
    stallMs = Math.max(stallMs, performance.now() - last);
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

async function listNames(rpc: RpcClient, filter: string): Promise<string[]> {
  const reply = await rpc.call(".broker", "client.list", { filter }, { timeout: 60 });
  return reply.unpack<{ clients: { name: string }[] }>().clients.map((c) => c.name);
}

async function withFilterBus(fn: (bus: TestBus, rpc: RpcClient) => Promise<void>): Promise<void> {
  const bus = await startBus();
  enableCoreRpc(bus.broker);
  try {
    await fn(bus, await ipcRpc(bus, "caller"));
  } finally {
    await bus.close();
  }
}

Deno.test("client.list: the catastrophic-backtracking filter ^(a+)+$ does not freeze the broker", async () => {
  await withFilterBus(async (bus, rpc) => {
    // 30 characters: a backtracking engine stalls for about 10 s here (0.7 s at 26, doubling per character);
    // the bound below leaves room for a loaded 2-core machine
    await bus.wire("a".repeat(30) + "!");
    const { result, stallMs } = await longestStall(() => listNames(rpc, "^(a+)+$"));
    assert.deepEqual(result, []);
    assert.ok(stallMs < 500, `event loop stalled ${stallMs.toFixed(1)} ms`);
  });
});

Deno.test("client.list: no filter holds the event loop for long on 64 KiB names", async () => {
  await withFilterBus(async (bus, rpc) => {
    const long = "a".repeat(65534) + "!";
    let seed = 7;
    const ab = Array.from({ length: 65535 }, () => (seed = (seed * 48271) % 2147483647) & 1 ? "a" : "b").join(
      "",
    );
    await bus.wire(long);
    await bus.wire(ab);
    const hostile = ["^(a+)+$", "(a|aa)*c", "[ab]*a[ab]{20}$", "(.*)(.*)(.*)(.*)(.*)\\d"];
    for (const filter of hostile) {
      const { result, stallMs } = await longestStall(() => listNames(rpc, filter));
      assert.ok(!result.includes(long), filter);
      assert.ok(stallMs < 500, `${filter}: event loop stalled ${stallMs.toFixed(1)} ms`);
    }
    // a large filter on long names: refused once its work limit is spent, the broker responsive meanwhile
    const { result: refused, stallMs } = await longestStall(() =>
      rejectsWith(listNames(rpc, "(\\w|\\W){500}z"), RpcErrorCode.InvalidParams)
    );
    assert.match(refused.message, /too costly/);
    assert.ok(stallMs < 500, `large filter: event loop stalled ${stallMs.toFixed(1)} ms`);
    assert.deepEqual(await listNames(rpc, "^a+!$"), [long]);
  });
});

Deno.test("client.list: the filters users write keep working", async () => {
  await withFilterBus(async (bus, rpc) => {
    for (const name of ["sensor.t1", "sensor.t2", "app.worker.3", "Sensor.X", "db-7", "other"]) {
      bus.broker.registerClient(name);
    }
    assert.deepEqual(await listNames(rpc, "^sensor\\."), ["sensor.t1", "sensor.t2"]);
    assert.deepEqual(await listNames(rpc, ".*\\.worker\\..*"), ["app.worker.3"]);
    assert.deepEqual(await listNames(rpc, "^(db|app)[-.]"), ["app.worker.3", "db-7"]);
    assert.deepEqual(await listNames(rpc, "[0-9]$"), ["app.worker.3", "db-7", "sensor.t1", "sensor.t2"]);
    assert.deepEqual(await listNames(rpc, "(?i)^sensor\\.x$"), ["Sensor.X"]);
    assert.deepEqual(await listNames(rpc, "^\\w+$"), ["caller", "other"]);
    assert.deepEqual(await listNames(rpc, "^[^.]{5}$"), ["other"]);
    assert.deepEqual(await listNames(rpc, "t\\d|r$"), [
      ".broker",
      "caller",
      "other",
      "sensor.t1",
      "sensor.t2",
    ]);
    await rejectsWith(listNames(rpc, "(unclosed"), RpcErrorCode.Parse);
  });
});

Deno.test("client.list: filters compare with the reference's on scripts, flags and refused escapes", async () => {
  await withFilterBus(async (bus, rpc) => {
    for (const name of ["αβγ", "tab\there", "a b"]) bus.broker.registerClient(name);
    assert.deepEqual(await listNames(rpc, "\\p{Greek}"), ["αβγ"]);
    assert.deepEqual(await listNames(rpc, "(?U)^a+ "), ["a b"]);
    assert.deepEqual(await listNames(rpc, "\\s"), ["a b", "tab\there"]);
    for (const refused of ["\\<", "[a&&b]", "(?x)a b", "a{1001}", "x".repeat(4097)]) {
      await rejectsWith(listNames(rpc, refused), RpcErrorCode.Parse);
    }
  });
});
