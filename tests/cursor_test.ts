import assert from "node:assert/strict";
import { QoS } from "../protocol/constants.ts";
import { CursorServer, type CursorSource } from "../rpc/cursor_server.ts";
import { openCursor, RemoteCursor } from "../rpc/cursor_client.ts";
import { packCursorHandle, parseCursorHandle } from "../rpc/cursor_handle.ts";
import { pack } from "../rpc/msgpack.ts";
import { RpcClient, type RpcHandlerMode } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import { delay, startBus, type TestBus, waitFor, withBus } from "./_helpers.ts";
import { rejectsWith } from "./_rpc_helpers.ts";

interface Row {
  id: number;
  name: string;
}

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `row ${i}` }));
}

interface CursorService {
  bus: TestBus;
  cursors: CursorServer;
  server: RpcClient;
  client: RpcClient;
  /** Sources opened so far, with whether they were released (finally ran). */
  released: boolean[];
  close(): Promise<void>;
}

/** Settings of {@linkcode cursorService}. */
interface CursorServiceOptions {
  ttl?: number;
  cleanInterval?: number;
  mode?: RpcHandlerMode;
  clock?: () => number;
}

/** A service "db" over unix sockets: `Crows` opens a cursor over `count` rows (an async generator). */
async function cursorService(options: CursorServiceOptions = {}): Promise<CursorService> {
  const bus = await startBus();
  const cursors = new CursorServer({
    ttl: options.ttl,
    cleanInterval: options.cleanInterval,
    clock: options.clock,
  });
  const released: boolean[] = [];
  async function* source(count: number, index: number): AsyncGenerator<Row> {
    try {
      for (const row of rows(count)) {
        await Promise.resolve();
        yield row;
      }
    } finally {
      released[index] = true;
    }
  }
  const server = new RpcClient(await bus.client("db"), {
    mode: options.mode,
    handlers: {
      onCall(call) {
        switch (call.method) {
          case "Crows": {
            const index = released.push(false) - 1;
            return cursors.open(source(call.unpack<{ count: number }>().count, index));
          }
          case "Cplain":
            return cursors.open(call.unpack<unknown[]>() as CursorSource);
          case "N":
            return cursors.next(call);
          case "NB":
            return cursors.nextBulk(call);
        }
        throw new RpcError(RpcErrorCode.MethodNotFound);
      },
    },
  });
  const client = new RpcClient(await bus.client("reader"));
  return {
    bus,
    cursors,
    server,
    client,
    released,
    async close() {
      await client.close();
      await server.close();
      await cursors.close();
      await bus.close();
    },
  };
}

/** Runs `fn` against a fresh {@linkcode cursorService} and closes it afterwards, pass or fail. */
async function withCursorService(
  fn: (svc: CursorService) => Promise<void>,
  options: CursorServiceOptions = {},
): Promise<void> {
  const svc = await cursorService(options);
  try {
    await fn(svc);
  } finally {
    await svc.close();
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

Deno.test("a remote cursor read one record at a time yields every record, then ends", async () => {
  await withCursorService(async (svc) => {
    for (const count of [0, 1, 7]) {
      const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count });
      assert.equal(cursor.id.length, 16);
      assert.deepEqual(await collect(cursor), rows(count));
    }
    assert.deepEqual(svc.released, [true, true, true], "exhausted sources finished");
  });
});

Deno.test("a remote cursor read in bulks yields every record for bulk sizes that divide the count or not", async () => {
  await withCursorService(async (svc) => {
    for (const [count, bulk] of [[10, 5], [10, 3], [10, 10], [10, 100], [0, 4], [1, 1]]) {
      const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count }, { bulk });
      assert.deepEqual(await collect(cursor), rows(count), `count ${count}, bulk ${bulk}`);
    }
  });
});

Deno.test("an exhausted cursor answers N with an empty payload and NB with a short array", async () => {
  await withCursorService(async (svc) => {
    const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count: 3 });
    assert.deepEqual(await cursor.nextBulk(2), rows(2));
    assert.deepEqual(await cursor.nextBulk(2), [rows(3)[2]], "shorter than n: exhausted");
    assert.deepEqual(await cursor.next(), { value: undefined, done: true });
    const raw = await svc.client.call("db", "N", packCursorHandle(cursor.id));
    assert.equal(raw.payload.length, 0, "empty payload when exhausted");
    assert.deepEqual(await cursor.nextBulk(5), []);
    // the cleaner removes it; afterwards the id is unknown
    assert.equal(svc.cursors.sweep(), 1);
    assert.equal(svc.cursors.size, 0);
    await rejectsWith(cursor.next(), RpcErrorCode.NotFound);
  });
});

Deno.test("records are plain MessagePack values; the N reply is one record, the NB reply an array", async () => {
  await withCursorService(async (svc) => {
    const handle = await svc.client.call("db", "Cplain", [1, "two", { three: 3 }]);
    const { id } = parseCursorHandle(handle.payload);
    assert.deepEqual(Object.keys(handle.unpack<object>()), ["u"]);
    assert.deepEqual((await svc.client.call("db", "N", packCursorHandle(id))).payload, pack(1));
    assert.deepEqual(
      (await svc.client.call("db", "NB", packCursorHandle(id, 5))).payload,
      pack(["two", { three: 3 }]),
    );
    const noN = await svc.client.call("db", "Cplain", [7, 8]);
    const bulkOfOne = await svc.client.call("db", "NB", noN.payload); // handle without n: bulk of 1
    assert.deepEqual(bulkOfOne.unpack(), [7]);
  });
});

Deno.test("an unknown cursor id gives -32001 and bad params give -32700", async () => {
  await withCursorService(async (svc) => {
    const unknown = new RemoteCursor(svc.client, "db", new Uint8Array(16));
    const err = await rejectsWith(unknown.next(), RpcErrorCode.NotFound);
    assert.equal(err.data.length, 0);
    await rejectsWith(unknown.nextBulk(3), RpcErrorCode.NotFound);
    for (const params of [new Uint8Array(0), pack({ u: "nope" }), pack([1]), new Uint8Array([0xc1])]) {
      const parse = await rejectsWith(svc.client.call("db", "N", params), RpcErrorCode.Parse);
      assert.ok(parse.message.length > 0);
    }
  });
});

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => t += ms };
}

Deno.test("an idle cursor expires after its TTL (-32001) and its source is released", async () => {
  const clock = fakeClock();
  await withCursorService(async (svc) => {
    const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count: 100 });
    assert.deepEqual((await cursor.next()).value, rows(1)[0]);
    clock.advance(29_999);
    assert.deepEqual((await cursor.next()).value, rows(2)[1], "still alive just before the TTL");
    clock.advance(30_001);
    await rejectsWith(cursor.next(), RpcErrorCode.NotFound);
    assert.equal(svc.cursors.size, 0);
    await waitFor(() => svc.released[0] === true, 5000, "the source to be released");
  }, { ttl: 30, cleanInterval: 60, clock: clock.now });
});

Deno.test("every next call pushes the expiry further", async () => {
  const clock = fakeClock();
  await withCursorService(async (svc) => {
    const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count: 100 });
    // 6 × 20 s = 120 s in total, four TTLs, yet never idle for a TTL
    for (let i = 0; i < 6; i++) {
      clock.advance(20_000);
      assert.equal((await cursor.next()).value?.id, i);
      assert.equal(svc.cursors.sweep(), 0);
    }
    clock.advance(30_001);
    assert.equal(svc.cursors.sweep(), 1);
  }, { ttl: 30, cleanInterval: 60, clock: clock.now });
});

Deno.test("the periodic cleaner removes exhausted and expired cursors and stops when none is left", async () => {
  const clock = fakeClock();
  await withCursorService(async (svc) => {
    const exhausted = await openCursor<Row>(svc.client, "db", "Crows", { count: 1 }, { bulk: 5 });
    assert.deepEqual(await collect(exhausted), rows(1));
    await waitFor(() => svc.cursors.size === 0, 5000, "the cleaner to remove the exhausted cursor");
    // read once: a generator that never started has nothing to release
    await (await openCursor(svc.client, "db", "Crows", { count: 100 })).next();
    await delay(50);
    assert.equal(svc.cursors.size, 1, "not expired yet");
    clock.advance(30_001);
    await waitFor(() => svc.cursors.size === 0, 5000, "the cleaner to remove the expired cursor");
    await waitFor(() => svc.released.every((r) => r), 5000, "both sources to be released");
  }, { ttl: 30, cleanInterval: 0.01, clock: clock.now });
});

Deno.test("close() drops every cursor, releases the sources and refuses new cursors", async () => {
  await withCursorService(async (svc) => {
    const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count: 100 });
    await cursor.next();
    await svc.cursors.close();
    assert.equal(svc.cursors.size, 0);
    await waitFor(() => svc.released[0] === true, 5000, "the source to be released");
    await rejectsWith(cursor.next(), RpcErrorCode.NotFound);
    await rejectsWith(openCursor(svc.client, "db", "Crows", { count: 1 }), RpcErrorCode.Eof);
  });
});

Deno.test("concurrent next calls on one cursor are served one after another", async () => {
  await withCursorService(async (svc) => {
    const cursor = await openCursor<Row>(svc.client, "db", "Crows", { count: 20 });
    const results = await Promise.all(Array.from({ length: 20 }, () => cursor.next()));
    assert.deepEqual(results.map((r) => r.value?.id), Array.from({ length: 20 }, (_, i) => i));
    assert.equal((await cursor.next()).done, true);
  }, { mode: "concurrent" });
});

async function* failing(): AsyncGenerator<number> {
  yield 1;
  throw new Error("disk on fire");
}

Deno.test("a failing source ends the cursor with -32603", async () => {
  await withBus(async (bus) => {
    const cursors = new CursorServer();
    try {
      const server = new RpcClient(bus.broker.registerClient("db"), {
        handlers: {
          onCall: (call) => call.method === "C" ? cursors.open(failing()) : cursors.next(call),
        },
      });
      const client = new RpcClient(bus.broker.registerClient("reader"), { qos: QoS.RealtimeProcessed });
      const cursor = await openCursor<number>(client, "db", "C");
      assert.equal((await cursor.next()).value, 1);
      const err = await rejectsWith(cursor.next(), RpcErrorCode.Internal);
      assert.equal(err.message, "disk on fire");
      await rejectsWith(cursor.next(), RpcErrorCode.NotFound);
      await client.close();
      await server.close();
    } finally {
      await cursors.close();
    }
  });
});

Deno.test("CursorServer and RemoteCursor refuse invalid settings", () => {
  assert.throws(() => new CursorServer({ ttl: 0 }), RangeError);
  assert.throws(() => new CursorServer({ cleanInterval: -1 }), RangeError);
  assert.throws(() => packCursorHandle(new Uint8Array(8)), RangeError);
  assert.throws(() => new RemoteCursor({} as RpcClient, "x", new Uint8Array(16), { bulk: -1 }), RangeError);
});
