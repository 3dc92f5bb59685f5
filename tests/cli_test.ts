/**
 * The `busrt` client commands, run as subprocesses against a broker started
 * by the test (with the core RPC), plus the pure helpers behind them.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { QoS, VERSION } from "../protocol/constants.ts";
import { pack } from "../rpc/msgpack.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { RpcError } from "../rpc/rpc_error.ts";
import { GLOBAL_OPTIONS, splitAtWord } from "../cli/args.ts";
import { convertParamValue, encodeKeyValueParams, paramsFromArgs } from "../cli/params.ts";
import { decodePayload, renderPayload, stringifyJson } from "../cli/render.ts";
import { makeStyle } from "../cli/style.ts";
import { formatCount, formatTable } from "../cli/table.ts";
import { CliProcess, type CliResult, runCli } from "./_cli_helpers.ts";
import { nextFrame } from "./_helpers.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

// ---------------------------------------------------------------- test broker

interface TestBroker {
  broker: Broker;
  socket: string;
  /** An in-process client named `svc` answering `echo` (params back) and failing `fail`. */
  svc: RpcClient;
  /** Params of the last `svc` call. */
  lastParams: () => Uint8Array | null;
  close(): Promise<void>;
}

async function startBroker(): Promise<TestBroker> {
  const dir = await Deno.makeTempDir({ prefix: "busrt-cli-" });
  const broker = new Broker();
  enableCoreRpc(broker);
  const socket = `${dir}/busrt.sock`;
  // a generous timeout: the CLI subprocesses start slowly on a loaded machine
  await broker.serveUnix(socket, { timeout: 30 });
  let last: Uint8Array | null = null;
  const svc = new RpcClient(broker.registerClient("svc"), {
    handlers: {
      onCall: (call) => {
        last = call.params.slice();
        if (call.method === "fail") throw new RpcError(-32601, "no such thing");
        return call.params.slice();
      },
    },
  });
  return {
    broker,
    socket,
    svc,
    lastParams: () => last,
    async close() {
      await svc.close();
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `fn` against a fresh {@linkcode startBroker} broker and closes it afterwards, pass or fail. */
async function withBroker(fn: (bus: TestBroker) => Promise<void>): Promise<void> {
  const bus = await startBroker();
  try {
    await fn(bus);
  } finally {
    await bus.close();
  }
}

/** Asserts a failure was reported as exactly one line, without a stack trace. */
function assertOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

// ---------------------------------------------------------------- pure helpers

Deno.test("splitAtWord() skips option values and stops at the command", () => {
  const s = splitAtWord(["-s", "/x.sock", "--json", "rpc", "call", "-t", "1"], GLOBAL_OPTIONS);
  assert.deepEqual(s, { before: ["-s", "/x.sock", "--json"], word: "rpc", rest: ["call", "-t", "1"] });
  assert.equal(splitAtWord(["--json"], GLOBAL_OPTIONS).word, null);
});

Deno.test("key=value params convert like the reference and encode byte-exact", () => {
  assert.equal(convertParamValue("true"), true);
  assert.equal(convertParamValue("-12"), -12n);
  assert.deepEqual(convertParamValue("9223372036854775808"), { float: 9223372036854775808 });
  assert.deepEqual(convertParamValue("1.0"), { float: 1 });
  assert.deepEqual(convertParamValue("-inf"), { float: -Infinity });
  assert.equal(convertParamValue("0x10"), "0x10");
  assert.equal(convertParamValue(""), "");
  // {"a": 1, "b": 1.0 (float64), "c": "x", "d": 300, "e": -40}
  const bytes = encodeKeyValueParams(["a=1", "", "b=1.0", "c=x", "d=300", "e=-40"], "rpc call");
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  assert.equal(
    hex,
    "85 a1 61 01 a1 62 cb 3f f0 00 00 00 00 00 00 a1 63 a1 78 a1 64 cd 01 2c a1 65 d0 d8",
  );
  // only the text between the first and the second "=" is the value
  assert.deepEqual([...encodeKeyValueParams(["k=v=w"], "x")], [0x81, 0xa1, 0x6b, 0xa1, 0x76]);
  assert.throws(() => encodeKeyValueParams(["novalue"], "rpc call"), /Invalid parameter "novalue"/);
  assert.equal(paramsFromArgs(["-"], "x").kind, "stdin");
  const json = paramsFromArgs(['{"n": 1}'], "x");
  assert.equal(json.kind, "bytes");
  assert.deepEqual(json.kind === "bytes" ? [...json.bytes] : [], [0x81, 0xa1, 0x6e, 0x01]);
});

Deno.test("payload rendering follows the reference rules", () => {
  const plain = makeStyle(false);
  assert.equal(renderPayload(encoder.encode("hello\tworld"), plain), "STR:  hello\tworld");
  assert.equal(renderPayload(encoder.encode('{"a":[1]}'), plain), 'JSON:\n{\n  "a": [\n    1\n  ]\n}');
  assert.equal(renderPayload(encoder.encode("[1,2]"), plain), "STR:  [1,2]", "only objects are JSON");
  assert.equal(renderPayload(pack({ ok: true }), plain), 'MSGPACK:\n{\n  "ok": true\n}');
  assert.equal(renderPayload(new Uint8Array([0x05]), plain), "MSGPACK:\n5", "a byte below 0x09 is not text");
  assert.equal(renderPayload(new Uint8Array([0x00, 0xc1]), plain), "HEX: 00c1");
  const long = new Uint8Array(300).fill(0xc1);
  assert.equal(renderPayload(long, plain), `HEX: ${"c1".repeat(256)}...`);
  // a uint64 beyond 2^53 stays exact
  const big = new Uint8Array([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(stringifyJson(decodePayload(big).value, false), "18446744073709551615");
  // extension types cannot be shown as JSON
  assert.equal(decodePayload(new Uint8Array([0xd4, 0x01, 0x00])).format, "hex");
});

Deno.test("formatTable() aligns columns and colours only when asked", () => {
  const columns = [{ title: "name" }, { title: "n", align: "right" as const }];
  const rows = [["alpha", formatCount(1234567)], ["b", "0"]];
  assert.equal(
    formatTable(columns, rows, makeStyle(false)),
    "name           n\n-----  ---------\nalpha  1_234_567\nb              0",
  );
  const coloured = formatTable(columns, rows, makeStyle(true));
  const esc = String.fromCharCode(27);
  assert.ok(coloured.startsWith(`${esc}[1mname`), "bold titles");
  assert.equal(
    coloured.replace(new RegExp(`${esc}\\[\\d+m`, "g"), ""),
    formatTable(columns, rows, makeStyle(false)),
  );
  assert.equal(formatCount(-1000), "-1_000");
});

// ---------------------------------------------------------------- commands

Deno.test("send delivers a message and a broadcast, with the payload from an argument or stdin", async () => {
  const bus = await startBroker();
  const target = bus.broker.registerClient("target.one");
  try {
    const sent = await runCli(["-s", bus.socket, "send", "target.one", "hello"]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout, "OK\n");
    const f1 = await nextFrame(target, 15_000);
    assert.equal(decoder.decode(f1.payload), "hello");
    assert.ok(f1.isMessage);
    assert.match(f1.sender, /^cli\./, "default name cli.<host>.<pid>");

    const piped = await runCli(
      ["send", "target.one", "--socket", bus.socket, "--json"],
      new Uint8Array([0, 1, 2]),
    );
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(JSON.parse(piped.stdout), { ok: true });
    assert.deepEqual([...(await nextFrame(target, 15_000)).payload], [0, 1, 2]);

    const masked = await runCli(["-s", bus.socket, "send", "target.*", "to all"]);
    assert.equal(masked.code, 0, masked.stderr);
    const f3 = await nextFrame(target, 15_000);
    assert.ok(f3.isBroadcast, "a target with * is broadcast");
    assert.equal(decoder.decode(f3.payload), "to all");

    const missing = await runCli(["-s", bus.socket, "send", "nobody", "x"]);
    assertOneLineError(missing, 1, /^busrt: Cannot send to "nobody": client not registered/);
  } finally {
    await target.close();
    await bus.close();
  }
});

Deno.test("listen prints a publication from publish, and stops cleanly on SIGINT", async () => {
  const bus = await startBroker();
  const listener = new CliProcess(["-s", bus.socket, "--name", "cli.listener", "listen", "-t", "sensors/#"]);
  try {
    await listener.stdout.waitFor(/Listening to messages for cli\.listener \.\.\./);
    const published = await runCli(["-s", bus.socket, "--name", "cli.pub", "publish", "sensors/t1", "21.5"]);
    assert.equal(published.code, 0, published.stderr);
    const block = await listener.stdout.waitFor(
      /(\S+) Publish from cli\.pub \(cli\.pub\)\ntopic: sensors\/t1\nSTR: {2}21\.5\n----\n/,
    );
    assert.match(block[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/, "local RFC 3339 time");
  } finally {
    const result = await listener.stop("SIGINT");
    await bus.close();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
  }
});

Deno.test("listen --json prints one object per frame and honours --exclude", async () => {
  const bus = await startBroker();
  const sender = bus.broker.registerClient("sender");
  const listener = new CliProcess([
    "-s",
    bus.socket,
    "-n",
    "cli.json",
    "--json",
    "listen",
    "-t",
    "a/#",
    "--exclude",
    "a/hidden",
  ]);
  try {
    await listener.stderr.waitFor(/Listening to messages for cli\.json/);
    sender.publish("a/hidden", "not shown");
    await sender.publish("a/b", pack({ n: 1 }), QoS.Processed);
    await sender.send("cli.json", "direct", QoS.Processed);
    const line = await listener.stdout.waitFor(/^.*"kind":"message".*$/m);
    const lines = listener.stdout.text.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2, listener.stdout.text);
    assert.deepEqual(
      { ...lines[0], time: undefined },
      {
        time: undefined,
        kind: "publish",
        sender: "sender",
        primary: "sender",
        topic: "a/b",
        method: null,
        realtime: false,
        size: 4,
        format: "msgpack",
        payload: { n: 1 },
      },
    );
    assert.equal(JSON.parse(line[0]).payload, "direct");
  } finally {
    const result = await listener.stop("SIGTERM");
    await sender.close();
    await bus.close();
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test("rpc call reaches .broker test and a handler, with key=value, JSON and stdin params", async () => {
  await withBroker(async (bus) => {
    const [test, testJson, kv, json, raw, fail, missing] = await Promise.all([
      runCli(["-s", bus.socket, "rpc", "call", ".broker", "test"]),
      runCli(["-s", bus.socket, "--json", "rpc", "call", ".broker", "test"]),
      runCli(["-s", bus.socket, "rpc", "call", "svc", "echo", "n=5", "f=1.5", "on=true", "s=text"]),
      runCli(["-s", bus.socket, "rpc", "call", "svc", "echo", '{"list": [1, "x"]}', "--json"]),
      runCli(["-s", bus.socket, "rpc", "call", "svc", "echo", "-"], "plain words"),
      runCli(["-s", bus.socket, "rpc", "call", "svc", "fail"]),
      runCli(["-s", bus.socket, "rpc", "call", "nobody", "ping"]),
    ]);
    assert.equal(test.code, 0, test.stderr);
    assert.equal(test.stdout, '{\n  "ok": true\n}\n');
    assert.deepEqual(JSON.parse(testJson.stdout), { format: "msgpack", result: { ok: true } });
    assert.equal(kv.code, 0, kv.stderr);
    assert.deepEqual(JSON.parse(kv.stdout), { n: 5, f: 1.5, on: true, s: "text" });
    assert.deepEqual(JSON.parse(json.stdout), { format: "msgpack", result: { list: [1, "x"] } });
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.stdout, "plain words\n");
    assertOneLineError(fail, 1, /^busrt: RPC error -32601: no such thing$/);
    assertOneLineError(missing, 1, /^busrt: Cannot call "ping" on "nobody": .*\(-32113\)$/);
  });
});

Deno.test("rpc call0 and notify are acknowledged; rpc listen prints calls and answers them", async () => {
  const bus = await startBroker();
  const listener = new CliProcess(["-s", bus.socket, "-n", "cli.rpc", "rpc", "listen"]);
  const caller = new RpcClient(bus.broker.registerClient("caller"), { timeout: 15 });
  try {
    const call0 = await runCli(["-s", bus.socket, "rpc", "call0", "svc", "echo", "x=1"]);
    assert.equal(call0.code, 0, call0.stderr);
    assert.equal(call0.stdout, "OK\n");
    assert.deepEqual([...bus.lastParams()!], [0x81, 0xa1, 0x78, 0x01]);

    await listener.stdout.waitFor(/Listening to RPC messages for cli\.rpc/);
    const reply = await caller.call("cli.rpc", "do.it", { k: "v" });
    assert.equal(reply.payload.length, 0, "answered with an empty result");
    await listener.stdout.waitFor(
      /Call from caller \(caller\)\nmethod: do\.it\nMSGPACK:\n\{\n {2}"k": "v"\n\}\n----/,
    );
    const notified = await runCli(["-s", bus.socket, "-n", "cli.note", "rpc", "notify", "cli.rpc", "ping!"]);
    assert.equal(notified.code, 0, notified.stderr);
    await listener.stdout.waitFor(/Notification from cli\.note \(cli\.note\)\nSTR: {2}ping!\n----/);
  } finally {
    const result = await listener.stop("SIGINT");
    await caller.close();
    await bus.close();
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test("client list prints a table without its own client, and JSON with --json", async () => {
  const bus = await startBroker();
  const other = bus.broker.registerClient("zeta.app");
  try {
    const [table, json, filtered] = await Promise.all([
      runCli(["-s", bus.socket, "-n", "cli.lister", "client", "list"]),
      runCli(["-s", bus.socket, "-n", "cli.lister2", "client", "list", "--json"]),
      runCli(["-s", bus.socket, "broker", "client.list", "--filter", "^zeta", "--json"]),
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^name\s+type\s+source\s+port\s+r_frames\s+r_bytes\s+w_frames\s+w_bytes\s+queue\s+ins$/,
    );
    assert.match(lines[1], /^-+( +-+){9}$/);
    const names = lines.slice(2).map((l) => l.split(/\s+/)[0]);
    assert.ok(names.includes(".broker") && names.includes("svc") && names.includes("zeta.app"), table.stdout);
    assert.ok(!names.includes("cli.lister"), "its own client is left out");
    assert.deepEqual(names, [...names].sort(), "sorted by name");
    assert.ok(!table.stdout.includes(String.fromCharCode(27)), "no colours when stdout is not a terminal");

    const rows = JSON.parse(json.stdout) as { name: string; kind: string; port: string | null }[];
    assert.ok(!rows.some((r) => r.name === "cli.lister2"));
    assert.deepEqual(rows.find((r) => r.name === "zeta.app"), {
      name: "zeta.app",
      kind: "internal",
      source: null,
      port: null,
      r_frames: 0,
      r_bytes: 0,
      w_frames: 0,
      w_bytes: 0,
      queue: 0,
      instances: 1,
    });
    assert.deepEqual(JSON.parse(filtered.stdout).map((r: { name: string }) => r.name), ["zeta.app"]);
  } finally {
    await other.close();
    await bus.close();
  }
});

Deno.test("broker info, stats and test print tables or JSON", async () => {
  await withBroker(async (bus) => {
    const [info, stats, statsJson, test] = await Promise.all([
      runCli(["-s", bus.socket, "broker", "info"]),
      runCli(["-s", bus.socket, "broker", "stats"]),
      runCli(["-s", bus.socket, "broker", "stats", "--json"]),
      runCli(["-s", bus.socket, "--json", "broker", "test"]),
    ]);
    assert.match(info.stdout, /^author\s+@busrt\/busrt$/m);
    assert.match(info.stdout, new RegExp(`^version\\s+${VERSION.replaceAll(".", "\\.")}$`, "m"));
    assert.deepEqual(
      stats.stdout.trimEnd().split("\n").slice(2).map((l) => l.split(/\s+/)[0]),
      ["r_frames", "r_bytes", "w_frames", "w_bytes", "uptime"],
    );
    assert.deepEqual(Object.keys(JSON.parse(statsJson.stdout)), [
      "uptime",
      "r_frames",
      "r_bytes",
      "w_frames",
      "w_bytes",
    ]);
    assert.deepEqual(JSON.parse(test.stdout), { ok: true });
  });
});

Deno.test("benchmark runs the chosen stages with tiny iterations and reports each", async () => {
  await withBroker(async (bus) => {
    const [json, table] = await Promise.all([
      runCli([
        "-s",
        bus.socket,
        "-n",
        "bj",
        "benchmark",
        "-i",
        "400",
        "-w",
        "2",
        "--json",
        "--stages",
        "send+recv.qos.processed,rpc.call,rpc.call+handle,rpc.call0",
      ]),
      runCli([
        "-s",
        bus.socket,
        "-n",
        "bt",
        "benchmark",
        "--iters",
        "300",
        "--payload-size",
        "10",
        "--stages",
        "send.qos.no",
      ]),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.workers, 2);
    assert.equal(report.iterations, 400);
    assert.deepEqual(report.results.map((r: { stage: string }) => r.stage), [
      "send+recv.qos.processed",
      "rpc.call",
      "rpc.call+handle",
      "rpc.call0",
    ]);
    for (const r of report.results) assert.ok(r.iterations === 400 && r.rate > 0, JSON.stringify(r));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Starting benchmark, 1 worker\(s\), 300 iters/);
    assert.match(table.stdout, /^stage\s+iters\s+secs\s+iters\/s$/m);
    assert.match(table.stdout, /^send\.qos\.no\s+300\s+\d+\.\d{3}\s+[\d_]+$/m);
  });
});

Deno.test("user errors print one line on stderr and exit non-zero", async () => {
  const bus = await startBroker();
  const taken = bus.broker.registerClient("taken.name");
  const dir = await Deno.makeTempDir();
  try {
    const results = await Promise.all([
      runCli(["listen", "--colour"]),
      runCli(["frobnicate"]),
      runCli([]),
      runCli(["send"]),
      runCli(["publish", "a", "b", "c"]),
      runCli(["--timeout", "soon", "send", "x", "y"]),
      runCli(["rpc", "call", "x", "m", "novalue"]),
      runCli(["rpc", "dance"]),
      runCli(["benchmark", "--stages", "nope"]),
      runCli(["-s", `${dir}/none.sock`, "send", "x", "y"]),
      runCli(["-s", bus.socket, "--name", "taken.name", "send", "x", "y"]),
      runCli(["-s", bus.socket, "--name", ".dot", "send", "x", "y"]),
    ]);
    const expected: [number, RegExp][] = [
      [2, /^busrt: Unknown option "--colour" \(see "busrt listen --help"\)$/],
      [2, /^busrt: Unknown command "frobnicate" \(see "busrt --help"\)$/],
      [2, /^busrt: Missing command/],
      [2, /^busrt: Missing argument TARGET \(see "busrt send --help"\)$/],
      [2, /^busrt: Unexpected argument "c"/],
      [2, /^busrt: Invalid value "soon" for --timeout: expected a number/],
      [2, /^busrt: Invalid parameter "novalue": expected key=value/],
      [2, /^busrt: Unknown subcommand "rpc dance"/],
      [2, /^busrt: Invalid value "nope" for --stages/],
      [1, /^busrt: Cannot connect to ".*none\.sock": it does not exist \(is the broker running\?\)$/],
      [1, /^busrt: Cannot register "taken\.name": the name is in use/],
      [2, /^busrt: Invalid value "\.dot" for --name/],
    ];
    results.forEach((r, i) => assertOneLineError(r, expected[i][0], expected[i][1]));
  } finally {
    await taken.close();
    await bus.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every command answers --help with its usage", async () => {
  const commands = [
    [],
    ["serve"],
    ["listen"],
    ["send"],
    ["broadcast"],
    ["publish"],
    ["rpc"],
    ["rpc", "call"],
    ["rpc", "call0"],
    ["rpc", "notify"],
    ["rpc", "listen"],
    ["broker"],
    ["broker", "info"],
    ["broker", "stats"],
    ["broker", "test"],
    ["broker", "client.list"],
    ["client"],
    ["client", "list"],
    ["benchmark"],
  ];
  const results = await Promise.all(commands.map((c) => runCli([...c, "--help"])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${commands[i].join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, commands[i].length === 0 ? /^busrt — / : /^Usage: busrt /, commands[i].join(" "));
  });
  const version = await runCli(["--version"]);
  assert.match(version.stdout, /^busrt \d+\.\d+\.\d+ \(BUS\/RT protocol v1/);
  const helpWord = await runCli(["help", "publish"]);
  assert.match(helpWord.stdout, /^Usage: busrt publish/);
});
