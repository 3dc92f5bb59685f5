import assert from "node:assert/strict";
import { MsgpackCodec, pack, packParams, unpack } from "../rpc/msgpack.ts";
import { RpcError } from "../rpc/rpc_error.ts";
import { packCursorHandle, parseCursorHandle } from "../rpc/cursor_handle.ts";
import { CORE_METHODS } from "../rpc/core_rpc.ts";
import type { Broker, ClientInfo } from "../broker/broker.ts";
import { RpcCall } from "../rpc/rpc_event.ts";
import { Frame } from "../protocol/frame.ts";
import { AUTHOR, Op, VERSION } from "../protocol/constants.ts";
import { assertBytes, hex, toHex } from "./_helpers.ts";

Deno.test("pack() writes integers in the most compact form", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [127, "7F"],
    [128, "CC 80"],
    [255, "CC FF"],
    [256, "CD 01 00"],
    [65535, "CD FF FF"],
    [65536, "CE 00 01 00 00"],
    [0xffffffff, "CE FF FF FF FF"],
    [0x100000000, "CF 00 00 00 01 00 00 00 00"],
    [Number.MAX_SAFE_INTEGER, "CF 00 1F FF FF FF FF FF FF"],
    [-1, "FF"],
    [-32, "E0"],
    [-33, "D0 DF"],
    [-128, "D0 80"],
    [-129, "D1 FF 7F"],
    [-32768, "D1 80 00"],
    [-32769, "D2 FF FF 7F FF"],
    [-0x80000000, "D2 80 00 00 00"],
    [-0x80000001, "D3 FF FF FF FF 7F FF FF FF"],
    [5n, "05"],
    [300n, "CD 01 2C"],
    [1700000000123456789n, "CF 17 97 9C FE 3D 85 CD 15"],
    [(1n << 64n) - 1n, "CF FF FF FF FF FF FF FF FF"],
    [-(1n << 63n), "D3 80 00 00 00 00 00 00 00"],
  ];
  for (const [value, expected] of cases) assertBytes(pack(value), hex(expected), `pack(${value})`);
});

Deno.test("pack() refuses integers beyond 64 bits", () => {
  assert.throws(() => pack(1n << 64n), RangeError);
  assert.throws(() => pack(-(1n << 63n) - 1n), RangeError);
});

Deno.test("pack() writes non-integers as float64", () => {
  assertBytes(pack(1.5), hex("CB 3F F8 00 00 00 00 00 00"));
  assert.equal(pack(2 ** 60)[0], 0xcb, "an unsafe integer number is not exact: float");
});

Deno.test("pack() writes compact maps with string keys in insertion order", () => {
  assertBytes(pack({ ok: true }), hex("81 A2 6F 6B C3"));
  assertBytes(pack({ b: 1, a: null }), hex("82 A1 62 01 A1 61 C0"));
});

Deno.test("pack() converts Map, Set and ArrayBuffer and drops undefined fields", () => {
  assertBytes(pack(new Map<unknown, unknown>([["a", 1], ["b", "x"]])), hex("82 A1 61 01 A1 62 A1 78"));
  // the keys go through String(); integer-like keys come first, as in any JS object
  assertBytes(pack(new Map<unknown, unknown>([["a", 1], [2, "x"]])), hex("82 A1 32 A1 78 A1 61 01"));
  assertBytes(pack(new Set([1, 2])), hex("92 01 02"));
  assertBytes(pack(new Uint8Array([1, 2]).buffer), hex("C4 02 01 02"));
  assertBytes(pack({ a: 1, b: undefined }), hex("81 A1 61 01"));
  assertBytes(pack({ m: new Map([["k", 1n << 40n]]) }), hex("81 A1 6D 81 A1 6B CF 00 00 01 00 00 00 00 00"));
});

Deno.test("pack() refuses values that would need extension types", () => {
  assert.throws(() => pack(new Date(0)), TypeError);
  assert.throws(() => pack({ f: () => 1 }), TypeError);
  assert.throws(() => pack(Symbol("x")), TypeError);
});

Deno.test("pack() does not modify its input", () => {
  const input = { big: 2 ** 40, list: [1n, 2 ** 33], map: new Map([["a", 1]]) };
  const before = { big: input.big, list: [...input.list], map: input.map };
  pack(input);
  assert.equal(input.big, before.big);
  assert.deepEqual(input.list, before.list);
  assert.equal(input.map, before.map);
});

Deno.test("pack() refuses cyclic values with a RangeError", () => {
  const a: Record<string, unknown> = {};
  a.self = a;
  assert.throws(() => pack(a), RangeError);
});

Deno.test("pack() encodes Uint8Array as bin and packParams() sends it as it is", () => {
  const raw = new Uint8Array([0xde, 0xad]);
  assertBytes(pack(raw), hex("C4 02 DE AD"));
  assert.equal(packParams(raw), raw);
  assert.equal(packParams(undefined).length, 0);
  assertBytes(packParams(null), hex("C0"));
  assertBytes(packParams("hi"), hex("A2 68 69"));
});

Deno.test("unpack() gives numbers for safe 64-bit integers and bigints beyond", () => {
  assert.equal(unpack(hex("CF 00 00 00 01 00 00 00 00")), 0x100000000);
  assert.equal(unpack(hex("D3 FF FF FF FF FF FF FF FF")), -1);
  assert.equal(unpack(hex("CF 17 97 9C FE 3D 85 CD 15")), 1700000000123456789n);
  assert.deepEqual(unpack(hex("92 CF 00 00 00 00 00 00 00 05 CF FF FF FF FF FF FF FF FF")), [
    5,
    (1n << 64n) - 1n,
  ]);
  assert.deepEqual(unpack(hex("81 A1 74 CF 17 97 9C FE 3D 85 CD 15")), { t: 1700000000123456789n });
});

Deno.test('MsgpackCodec with int64 "bigint" keeps 64-bit encodings as bigints', () => {
  const codec = new MsgpackCodec({ int64: "bigint" });
  assert.equal(codec.decode(hex("CF 00 00 00 00 00 00 00 05")), 5n);
  assert.equal(codec.decode(hex("05")), 5);
});

Deno.test("unpack() of an empty payload is undefined", () => {
  assert.equal(unpack(new Uint8Array(0)), undefined);
});

Deno.test("unpack() reports malformed input as a parse error (-32700) with the decoder's message", () => {
  for (const bad of ["C1", "92 01", "01 02", "D9 05 61"]) {
    assert.throws(() => unpack(hex(bad)), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.ok(err.isParse(), `code of ${bad}`);
      assert.ok(err.message.length > 0);
      return true;
    });
  }
});

Deno.test("MsgpackCodec enforces its decoding limits", () => {
  const codec = new MsgpackCodec({ maxStrLength: 3, maxBinLength: 2, maxArrayLength: 2, maxMapLength: 1 });
  assert.equal(codec.decode(hex("A3 61 62 63")), "abc");
  const isParse = (err: unknown) => err instanceof RpcError && err.isParse();
  assert.throws(() => codec.decode(hex("A4 61 62 63 64")), isParse);
  assert.throws(() => codec.decode(hex("C4 03 01 02 03")), isParse);
  assert.throws(() => codec.decode(hex("93 01 02 03")), isParse);
  assert.throws(() => codec.decode(hex("82 A1 61 01 A1 62 02")), isParse);
  // a header claiming 4 billion elements is refused before anything is allocated
  assert.throws(() => unpack(hex("DD FF FF FF FF")), isParse);
});

Deno.test("MsgpackCodec refuses the __proto__ key", () => {
  assert.throws(() => unpack(hex("81 A9 5F 5F 70 72 6F 74 6F 5F 5F 01")), RpcError);
});

Deno.test("pack() nested inside a toJSON-free getter still encodes (encoder reuse is reentrant)", () => {
  const value = {
    get inner(): Uint8Array {
      return pack({ x: 1 });
    },
  };
  assertBytes(pack(value), hex("81 A5 69 6E 6E 65 72 C4 04 81 A1 78 01"));
});

// ---------------------------------------------------------------- §23.9 vectors

function callWith(params: Uint8Array): RpcCall {
  return new RpcCall(
    new Frame(Op.Message, "test.client", null, new Uint8Array(0), false),
    1,
    hex("00"),
    params,
  );
}

Deno.test("core test and info replies are byte-exact with §23.9 (info: the reference's layout, our name and version)", () => {
  assertBytes(
    CORE_METHODS.test(callWith(new Uint8Array(0)), {} as Broker) as Uint8Array,
    hex("81 A2 6F 6B C3"),
  );
  assertBytes(
    CORE_METHODS.info(callWith(new Uint8Array(0)), {} as Broker) as Uint8Array,
    new Uint8Array([
      ...hex("82 A6 61 75 74 68 6F 72"),
      ...fixstr(AUTHOR),
      ...hex("A7 76 65 72 73 69 6F 6E"),
      ...fixstr(VERSION),
    ]),
  );
  assert.equal(AUTHOR, "@busrt/busrt");
  // §12.1: the same map as the reference's, whose payload is
  const reference = hex(
    "82 A6 61 75 74 68 6F 72 D9 27 28 63 29 20 32 30 32 32 20 42 6F 68 65 6D 69 61 20 41 75 74 6F 6D 61 74 69 6F 6E 20 2F 20 41 6C 74 65 72 74 65 63 68 A7 76 65 72 73 69 6F 6E A5 30 2E 35 2E 36",
  );
  assert.deepEqual(unpack(reference), {
    author: "(c) 2022 Bohemia Automation / Altertech",
    version: "0.5.6",
  });
});

/** A MessagePack fixstr (under 32 bytes). */
function fixstr(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  assert.ok(bytes.length < 32);
  return [0xa0 | bytes.length, ...bytes];
}

Deno.test("core stats reply is byte-exact with §23.9", () => {
  const broker = {
    stats: () => ({ uptime: 42, r_frames: 300, r_bytes: 70000, w_frames: 5, w_bytes: 1 }),
  } as unknown as Broker;
  assertBytes(
    CORE_METHODS.stats(callWith(new Uint8Array(0)), broker) as Uint8Array,
    hex(
      "85 A6 75 70 74 69 6D 65 2A A8 72 5F 66 72 61 6D 65 73 CD 01 2C A7 72 5F 62 79 74 65 73 CE 00 01 11 70 A8 77 5F 66 72 61 6D 65 73 05 A7 77 5F 62 79 74 65 73 01",
    ),
  );
});

Deno.test("core client.list params and reply are byte-exact with §23.9", async () => {
  assertBytes(pack({ filter: "^test" }), hex("81 A6 66 69 6C 74 65 72 A5 5E 74 65 73 74"));
  let seenFilter: RegExp | undefined;
  // fields deliberately in another order: the reply must still follow §12.4
  const row = {
    instances: 1,
    queue: 0,
    name: "test.client",
    kind: "local_ipc",
    port: "/tmp/busrt.sock",
    source: null,
    r_frames: 3,
    r_bytes: 120,
    w_frames: 4,
    w_bytes: 200,
  } as unknown as ClientInfo;
  const broker = {
    clientList: (filter?: RegExp) => {
      seenFilter = filter;
      return [row];
    },
  } as unknown as Broker;
  const reply = await CORE_METHODS["client.list"](
    callWith(hex("81 A6 66 69 6C 74 65 72 A5 5E 74 65 73 74")),
    broker,
  );
  assert.equal(
    seenFilter,
    undefined,
    "the filter (^test, which keeps the row) runs in the core RPC, in slices",
  );
  assertBytes(
    reply as Uint8Array,
    hex(
      "81 A7 63 6C 69 65 6E 74 73 91 8A A4 6E 61 6D 65 AB 74 65 73 74 2E 63 6C 69 65 6E 74 A4 6B 69 6E 64 A9 6C 6F 63 61 6C 5F 69 70 63 A6 73 6F 75 72 63 65 C0 A4 70 6F 72 74 AF 2F 74 6D 70 2F 62 75 73 72 74 2E 73 6F 63 6B A8 72 5F 66 72 61 6D 65 73 03 A7 72 5F 62 79 74 65 73 78 A8 77 5F 66 72 61 6D 65 73 04 A7 77 5F 62 79 74 65 73 CC C8 A5 71 75 65 75 65 00 A9 69 6E 73 74 61 6E 63 65 73 01",
    ),
  );
});

Deno.test("cursor handles are byte-exact with §23.9 and parse back", () => {
  const id = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
  const plain = hex("81 A1 75 C4 10 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F");
  const bulk = hex("82 A1 75 C4 10 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F A1 6E 64");
  assertBytes(packCursorHandle(id), plain);
  assertBytes(packCursorHandle(id, 100), bulk);
  assert.equal(toHex(parseCursorHandle(plain).id), toHex(id));
  assert.equal(parseCursorHandle(plain).n, undefined);
  assert.equal(parseCursorHandle(bulk).n, 100);
  const fromText = parseCursorHandle(pack({ u: "10111213-1415-1617-1819-1a1b1c1d1e1f" }));
  assert.equal(toHex(fromText.id), toHex(id), "a UUID string is accepted too");
});

Deno.test("parseCursorHandle() refuses bad handles with -32700", () => {
  const isParse = (err: unknown) => err instanceof RpcError && err.isParse();
  assert.throws(() => parseCursorHandle(new Uint8Array(0)), isParse);
  assert.throws(() => parseCursorHandle(pack([1, 2])), isParse);
  assert.throws(() => parseCursorHandle(pack({ u: new Uint8Array(15) })), isParse);
  assert.throws(() => parseCursorHandle(pack({ u: new Uint8Array(16), n: -1 })), isParse);
  assert.throws(() => parseCursorHandle(hex("C1")), isParse);
});
