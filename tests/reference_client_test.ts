/**
 * Reference suite, part 1: our connect() client and RPC layer against the
 * real busrtd (busrt 0.5.6), over a unix socket and TCP. Each scenario runs
 * against busrtd and against our broker; both transcripts must equal the
 * expected one, so a difference between the brokers and a bug shared by
 * both fail alike.
 */
import assert from "node:assert/strict";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { BusError } from "../protocol/errors.ts";
import { QoS, VERSION } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { unpack } from "../rpc/msgpack.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError, RpcErrorCode } from "../rpc/rpc_error.ts";
import { CursorServer } from "../rpc/cursor_server.ts";
import { openCursor } from "../rpc/cursor_client.ts";
import { nextFrame, text, waitFor } from "./_helpers.ts";
import { onBothBrokers, REFERENCE_UNAVAILABLE } from "./_reference.ts";

const ignore = REFERENCE_UNAVAILABLE !== null;
if (ignore) console.log(`Reference suite skipped: ${REFERENCE_UNAVAILABLE}`);

const TRANSPORTS = ["unix", "tcp"] as const;

function describe(frame: Frame): string {
  return `kind=0x${frame.kind.toString(16)} from=${frame.sender}(${frame.primarySender}) topic=${
    frame.topic ?? "-"
  } payload=${text(frame.payload)} realtime=${frame.realtime}`;
}

async function failure(promise: Promise<unknown> | undefined): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    if (err instanceof BusError) return `BusError 0x${err.code.toString(16)}`;
    if (err instanceof RpcError) return `RpcError ${err.code}: ${err.message}`;
    throw err;
  }
}

/** An announcement without its time. */
function announcement(frame: Frame): string {
  const { s, d } = unpack<{ s: string; d: string; t: unknown }>(frame.payload);
  return `announcement from ${frame.sender} on ${frame.topic}: ${s} ${d}`;
}

/** Frames that arrive at `client` until the marker `"marker"` (excluded). */
async function untilMarker(client: IpcClient): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const frame = await nextFrame(client, 5000);
    if (text(frame.payload) === "marker") return seen;
    seen.push(describe(frame));
  }
}

async function clientScenario(address: string): Promise<string[]> {
  const out: string[] = [];
  const a = await connect(address, { name: "ref.a", timeout: 5 });
  const b = await connect(address, { name: "ref.b", timeout: 5 });
  try {
    await b.subscribe(["t/#", "u/+/v"], QoS.Processed);
    await b.exclude("t/secret/#", QoS.Processed);
    await a.publish("t/x", "p1", QoS.Processed);
    await a.publish("t/secret/y", "hidden", QoS.Processed);
    await a.publish("u/1/v", "p2", QoS.Processed);
    await a.publish("u/1/2/v", "deeper", QoS.Processed);
    await a.publishFor("t/for", "ref.b", "pf", QoS.Processed);
    await a.publishFor("t/for", "ref.other", "not for b", QoS.Processed);
    await a.send("ref.b", "m1", QoS.Processed);
    await a.send("ref.b", "rt", QoS.RealtimeProcessed);
    a.send("ref.b", "qos0");
    await a.broadcast("ref.?", "bc", QoS.Processed);
    await b.unsubscribe("u/+/v", QoS.Processed);
    await a.publish("u/2/v", "after unsubscribe", QoS.Processed);
    await b.unexclude("t/secret/#", QoS.Processed);
    await a.publish("t/secret/z", "visible again", QoS.Processed);
    await a.send("ref.b", "marker", QoS.Processed);
    out.push("b:", ...await untilMarker(b));
    await b.send("ref.a", "marker", QoS.Processed);
    out.push("a:", ...await untilMarker(a));
    out.push(`send to nobody: ${await failure(a.send("nobody", "x", QoS.Processed))}`);
    out.push(`publishFor nobody: ${await failure(a.publishFor("t/x", "nobody", "x", QoS.Processed))}`);
    out.push(`broadcast to no match: ${await failure(a.broadcast("nobody.*", "x", QoS.Processed))}`);
    out.push(`duplicate name: ${await failure(connect(address, { name: "ref.a", timeout: 5 }))}`);
    const a2 = await a.registerSecondary();
    out.push(`secondary: ${a2.name}`);
    await a2.send("ref.b", "from secondary", QoS.Processed);
    out.push(describe(await nextFrame(b, 5000)));
    await a2.close();
    // announcements: a primary's registration and its leaving, none for secondaries
    await b.subscribe(".broker/#", QoS.Processed);
    const c = await connect(address, { name: "ref.c", timeout: 5 });
    await (await c.registerSecondary()).close();
    await c.close();
    for (let n = 0; n < 2; n++) out.push(announcement(await nextFrame(b, 5000)));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return out;
}

const CLIENT_EXPECTED = [
  "b:",
  "kind=0x1 from=ref.a(ref.a) topic=t/x payload=p1 realtime=false",
  "kind=0x1 from=ref.a(ref.a) topic=u/1/v payload=p2 realtime=false",
  "kind=0x1 from=ref.a(ref.a) topic=t/for payload=pf realtime=false",
  "kind=0x12 from=ref.a(ref.a) topic=- payload=m1 realtime=false",
  "kind=0x12 from=ref.a(ref.a) topic=- payload=rt realtime=true",
  "kind=0x12 from=ref.a(ref.a) topic=- payload=qos0 realtime=false",
  "kind=0x13 from=ref.a(ref.a) topic=- payload=bc realtime=false",
  "kind=0x1 from=ref.a(ref.a) topic=t/secret/z payload=visible again realtime=false",
  "a:",
  "kind=0x13 from=ref.a(ref.a) topic=- payload=bc realtime=false",
  "send to nobody: BusError 0x71",
  "publishFor nobody: ok",
  "broadcast to no match: ok",
  "duplicate name: BusError 0x76",
  "secondary: ref.a%%0",
  "kind=0x12 from=ref.a%%0(ref.a) topic=- payload=from secondary realtime=false",
  "announcement from .broker on .broker/info: reg ref.c",
  "announcement from .broker on .broker/info: unreg ref.c",
];

async function rpcScenario(address: string): Promise<string[]> {
  const out: string[] = [];
  const cursors = new CursorServer();
  const notes: string[] = [];
  const server: RpcClient = new RpcClient(await connect(address, { name: "ref.srv", timeout: 5 }), {
    handlers: {
      async onCall(call) {
        switch (call.method) {
          case "echo":
            return call.params.slice();
          case "sum":
            return call.unpack<number[]>().reduce((x, y) => x + y, 0);
          case "fail":
            throw new RpcError(-7, "bad input");
          case "crash":
            throw new Error("boom");
          case "nested": // calls through its own client from inside the handler
            return (await server.call(".broker", "test")).unpack();
          case "Cdata":
            return cursors.open(["r1", "r2", "r3", "r4", "r5"]);
          case "N":
            return cursors.next(call);
          case "NB":
            return cursors.nextBulk(call);
          case "record":
            notes.push(`call0 ${call.id} ${call.unpack<string>()}`);
            return undefined;
          default:
            throw new RpcError(RpcErrorCode.MethodNotFound);
        }
      },
      onNotification: (n) => void notes.push(`notification from ${n.sender}: ${n.unpack<string>()}`),
    },
  });
  const caller = new RpcClient(await connect(address, { name: "ref.caller", timeout: 5 }), { timeout: 5 });
  try {
    const echoed = (await caller.call("ref.srv", "echo", new Uint8Array([0, 1, 0xee, 0xff]))).payload;
    out.push(`echo: ${[...echoed].join(",")}`);
    out.push(`sum: ${(await caller.call("ref.srv", "sum", [1, 2, 39])).unpack()}`);
    out.push(`fail: ${await failure(caller.call("ref.srv", "fail"))}`);
    out.push(`crash: ${await failure(caller.call("ref.srv", "crash"))}`);
    out.push(`unknown: ${await failure(caller.call("ref.srv", "nope"))}`);
    out.push(`nested: ${JSON.stringify((await caller.call("ref.srv", "nested")).unpack())}`);
    out.push(`missing target: ${await failure(caller.call("nobody", "x"))}`);
    out.push(`call0: ${await failure(caller.call0("ref.srv", "record", "c0"))}`);
    out.push(`call0 missing target: ${await failure(caller.call0("nobody", "x"))}`);
    out.push(`notify: ${await failure(caller.notify("ref.srv", "n1"))}`);
    await waitFor(() => notes.length === 2, 5000, "call0 and notification handled");
    out.push(...notes.sort());
    const secondary = await caller.secondary();
    out.push(
      `secondary ${secondary.name}: ${
        (await secondary.call("ref.srv", "echo", "via secondary")).unpack<string>()
      }`,
    );
    const cursor = await openCursor<string>(caller, "ref.srv", "Cdata", undefined, { bulk: 2 });
    const bulk: string[] = [];
    for await (const record of cursor) bulk.push(record);
    out.push(`cursor (bulk 2): ${bulk.join(",")}`);
    const single = await openCursor<string>(caller, "ref.srv", "Cdata");
    const one: string[] = [];
    for await (const record of single) one.push(record);
    out.push(`cursor (one by one): ${one.join(",")}`);
    out.push(`.broker test: ${JSON.stringify((await caller.call(".broker", "test")).unpack())}`);
    const info = (await caller.call(".broker", "info")).unpack<{ author: string; version: string }>();
    out.push(`.broker info: ${info.author} ${info.version}`);
    const bench = (await caller.call(".broker", "benchmark.test", new Uint8Array([1, 2, 3]))).payload;
    out.push(`.broker benchmark.test: ${[...bench].join(",")}`);
    const stats = (await caller.call(".broker", "stats")).unpack<Record<string, unknown>>();
    out.push(`.broker stats keys: ${Object.keys(stats).sort().join(",")}`);
    const list = (await caller.call(".broker", "client.list")).unpack<
      { clients: { name: string; kind: string; instances: number }[] }
    >();
    const clients = list.clients.map((c) => `${c.name}/${c.kind}/${c.instances}`).sort();
    out.push(`.broker client.list: ${clients.join(" ")}`);
    out.push(`.broker unknown: ${await failure(caller.call(".broker", "nope"))}`);
  } finally {
    await caller.close();
    await server.close();
    await cursors.close();
  }
  return out;
}

/** `.broker info` of busrtd: its copyright line and crate version. */
const BUSRTD_INFO = "(c) 2022 Bohemia Automation / Altertech 0.5.6";
/** `.broker info` of our broker: the same fields, this package's name and version (PROTOCOL.md §12.1). */
const OUR_INFO = `@busrt/busrt ${VERSION}`;

function rpcExpected(transport: "unix" | "tcp", info: string): string[] {
  const ipc = transport === "unix" ? "local_ipc" : "tcp";
  return [
    "echo: 0,1,238,255",
    "sum: 42",
    "fail: RpcError -7: bad input",
    "crash: RpcError -32603: boom",
    "unknown: RpcError -32601: method not found",
    'nested: {"ok":true}',
    "missing target: RpcError -32113: target not registered",
    "call0: ok",
    "call0 missing target: RpcError -32113: target not registered",
    "notify: ok",
    "call0 0 c0",
    "notification from ref.caller: n1",
    "secondary ref.caller%%0: via secondary",
    "cursor (bulk 2): r1,r2,r3,r4,r5",
    "cursor (one by one): r1,r2,r3,r4,r5",
    '.broker test: {"ok":true}',
    `.broker info: ${info}`,
    ".broker benchmark.test: 1,2,3",
    ".broker stats keys: r_bytes,r_frames,uptime,w_bytes,w_frames",
    `.broker client.list: .broker/internal/1 ref.caller/${ipc}/2 ref.srv/${ipc}/1`,
    ".broker unknown: RpcError -32601: method not found",
  ];
}

for (const transport of TRANSPORTS) {
  Deno.test({
    name: `our client routes, filters, acknowledges, fails and announces as against busrtd (${transport})`,
    ignore,
    async fn() {
      const { ours, busrtd } = await onBothBrokers((broker) => clientScenario(broker.address(transport)));
      assert.deepEqual(busrtd, CLIENT_EXPECTED, "against busrtd");
      assert.deepEqual(ours, CLIENT_EXPECTED, "against our broker");
    },
  });

  Deno.test({
    name:
      `our RPC layer: calls, errors, call0, notifications, secondaries, cursors and .broker as against busrtd (${transport})`,
    ignore,
    async fn() {
      const { ours, busrtd } = await onBothBrokers((broker) => rpcScenario(broker.address(transport)));
      assert.deepEqual(busrtd, rpcExpected(transport, BUSRTD_INFO), "against busrtd");
      assert.deepEqual(ours, rpcExpected(transport, OUR_INFO), "against our broker");
    },
  });
}
