/**
 * Reference suite, part 3: the reference `busrt` CLI (busrt 0.5.6) against
 * our broker. Every subcommand runs the same script against busrtd and
 * against our broker; the outputs must be the same after normalising
 * timestamps, client names, socket paths and ports. Traffic counters
 * (`broker stats`, `broker client.list`) are compared as they are. The
 * `.broker info` values differ (each broker names itself, PROTOCOL.md
 * §12.1): those steps run last and their values are normalised.
 */
import assert from "node:assert/strict";
import {
  assertSameSteps,
  type BrokerUnderTest,
  onBothBrokers,
  REFERENCE_UNAVAILABLE,
  runReferenceCli,
  spawnReferenceCli,
  type ToolResult,
  withoutAddresses,
} from "./_reference.ts";

const ignore = REFERENCE_UNAVAILABLE !== null;

/** Replaces what legitimately differs between two runs; keeps every count. */
function normalise(text: string, broker: BrokerUnderTest): string {
  return withoutAddresses(
    text
      .replace(/\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /g, "[<TIME> ")
      .replace(/cli\.[^.\s]+\.\d+/g, "cli.<HOST>.<PID>")
      .replace(/(uptime +)\d+/g, "$1<UPTIME>")
      .replace(/thread '([^']+)' \(\d+\)/g, "thread '$1' (<TID>)"),
    broker,
  )
    // table columns are as wide as their widest cell (a temp path, a port): compare cells, not padding
    .replace(/-{3,}/g, "---")
    .replace(/ {2,}/g, "  ");
}

/** The values of the `.broker info` reply, which name each implementation, and its table's rule. */
function withoutInfoValues(text: string): string {
  return text
    .replace(/"author":"[^"]*","version":"[^"]*"/g, '"author":"<AUTHOR>","version":"<VERSION>"')
    .replace(/^( author +).+$/gm, "$1<AUTHOR>")
    .replace(/^( version +).+$/gm, "$1<VERSION>")
    .replace(/^-+$/gm, "<RULE>");
}

function show(label: string, result: ToolResult, broker: BrokerUnderTest): string {
  return `$ ${label} => ${result.code}\n${normalise(result.stdout, broker)}${
    // the reference panics on some failures: keep the first line (the panic site), not the backtrace note
    result.code === 0
      ? ""
      : `stderr: ${normalise(result.stderr.split("\n").filter((l) => l !== "")[0] ?? "", broker)}\n`}`;
}

const encoder = new TextEncoder();

/** Every subcommand of the reference CLI, in one script; returns the normalised transcript. */
async function toolScript(broker: BrokerUnderTest): Promise<string[]> {
  const out: string[] = [];
  const unix = broker.unix;
  const run = async (args: string[], globals: string[] = ["-s"], stdin?: Uint8Array) => {
    const result = await runReferenceCli(unix, args, globals, stdin);
    out.push(show([...globals, ...args].join(" "), result, broker));
    return result;
  };
  const listener = spawnReferenceCli(unix, ["listen", "-t", "test/#", "--exclude", "test/secret/#"], [
    "-s",
    "-n",
    "ref.listener",
  ]);
  // over TCP: its client.list row has a source address and the TCP listener as its port
  const rpcListener = spawnReferenceCli(broker.tcp, ["rpc", "listen", "-t", "rpc/#"], [
    "-s",
    "-n",
    "ref.rpc",
  ]);
  try {
    await listener.stdout.waitFor(/Listening to messages for/);
    await rpcListener.stdout.waitFor(/Listening to RPC messages for/);
    await run(["send", "ref.listener", "hello"], ["-s", "-n", "ref.sender"]);
    await run(["send", "ref.*", "to every ref"], ["-s", "-n", "ref.sender"]);
    await run(["send", "ref.listene?", "one char mask"], ["-s", "-n", "ref.sender"]);
    await run(["send", "ref.listener"], ["-s", "-n", "ref.sender"], new Uint8Array([0x81, 0xa1, 0x6b, 0x02]));
    await run(["send", "ref.listener"], ["-s", "-n", "ref.sender"], new Uint8Array([0, 1, 2, 0xff]));
    await run(["send", "nobody", "x"], ["-s", "-n", "ref.sender"]);
    await run(["publish", "test/a", "published"], ["-s", "-n", "ref.sender"]);
    await run(["publish", "test/secret/b", "excluded"], ["-s", "-n", "ref.sender"]);
    await run(["publish", "test/json", '{"a":1}'], ["-s", "-n", "ref.sender"]);
    await run(["publish", "rpc/x", "to the rpc listener"], ["-s", "-n", "ref.sender"]);
    await run(["rpc", "call", "ref.rpc", "do.it", "k=v", "n=2"], ["-s", "-n", "ref.caller"]);
    await run(
      ["rpc", "call", "ref.rpc", "stdin.params", "-"],
      ["-s", "-n", "ref.caller"],
      encoder.encode("raw"),
    );
    await run(["rpc", "call0", "ref.rpc", "fire"], ["-s", "-n", "ref.caller"]);
    await run(["rpc", "notify", "ref.rpc", "note"], ["-s", "-n", "ref.caller"]);
    await run(["rpc", "call", ".broker", "test"], ["-s", "-n", "ref.caller"]);
    await run(["rpc", "call", ".broker", "test"], ["-n", "ref.caller"]);
    await run(["rpc", "call", ".broker", "nope"], ["-s", "-n", "ref.caller"]);
    await run(["rpc", "call", "nobody", "x"], ["-s", "-n", "ref.caller"]);
    await run(["rpc", "call", ".broker", "benchmark.test", "a=1"], ["-s", "-n", "ref.caller"]);
    // named: the default cli.<host>.<pid> name varies in length, and so would the byte counters after it
    await run(["broker", "test"], ["-s", "-n", "ref.admin"]);
    await run(["broker", "client.list"], ["-s", "-n", "ref.admin"]);
    await run(["broker", "stats"], ["-s", "-n", "ref.admin"]);
    // over TCP, and the default log line (timestamp and name normalised)
    out.push(
      show(
        "tcp broker client.list",
        await runReferenceCli(broker.tcp, ["broker", "client.list"], ["-n", "ref.tcp"]),
        broker,
      ),
    );
    // the last frames each listener gets (the excluded publication came before the JSON one)
    await listener.stdout.waitFor(/topic: test\/json\nJSON:\n\{\n {2}"a": 1\n\}\n----/);
    await rpcListener.stdout.waitFor(/Notification from ref\.caller \(ref\.caller\)\nSTR: {2}note\n----/);
  } finally {
    const [listened, rpcListened] = await Promise.all([listener.stop(), rpcListener.stop()]);
    out.push(`listen:\n${normalise(listened.stdout, broker)}`);
    out.push(`rpc listen:\n${normalise(rpcListened.stdout, broker)}`);
  }
  const stats = await runReferenceCli(unix, ["broker", "stats"], ["-s", "-n", "ref.admin"]);
  out.push(show("stats after the listeners left", stats, broker));
  // last, after every counter was shown: our info reply has this package's name and version in the
  // reference's fields (PROTOCOL.md §12.1), so its length, and every byte counter after it, differ
  for (
    const [args, globals] of [[["rpc", "call", ".broker", "info"], ["-s", "-n", "ref.caller"]], [
      ["broker", "info"],
      ["-s", "-n", "ref.admin"],
    ]]
  ) {
    out.push(
      withoutInfoValues(
        show([...globals, ...args].join(" "), await runReferenceCli(unix, args, globals), broker),
      ),
    );
  }
  return out;
}

Deno.test({
  name: "the reference busrt CLI gets the same answers, counters included, from our broker as from busrtd",
  ignore,
  async fn() {
    const { ours, busrtd } = await onBothBrokers(toolScript);
    // byte counters may differ by a few bytes: a client's msgpack-encoded counters in a client.list reply
    // grow by a byte when they pass 127 or 255, which depends on timing (pings); frame counts stay exact
    assertSameSteps(ours.map(withoutByteCounters), busrtd.map(withoutByteCounters));
    for (let i = 0; i < ours.length; i++) assertByteCountersClose(ours[i], busrtd[i] ?? "", i + 1);
    // the script did what it says (not only the same thing twice)
    const all = ours.join("\n");
    assert.match(all, /\$ -s -n ref\.admin broker stats => 0\n field {2}value\n-+\n r_frames {2}\d+/);
    assert.match(all, /Message from ref\.sender \(ref\.sender\)\nSTR: {2}hello/);
    assert.doesNotMatch(all, /excluded\n/);
    assert.match(all, /method: do\.it/);
    // and the tolerance reached the client.list cells it is meant for
    assert.match(
      withoutByteCounters(all),
      /\n \.broker {2}internal {2}\d+ {2}<BYTES> {2}\d+ {2}<BYTES> {2}0 {2}1\n/,
    );
  },
});

Deno.test({
  name:
    "the reference busrt benchmark runs against our broker with the stages and counts it runs against busrtd",
  ignore,
  async fn() {
    const { ours, busrtd } = await onBothBrokers(async (broker) => {
      const result = await runReferenceCli(broker.tcp, ["benchmark", "-w", "2", "-i", "2000"], [
        "-s",
        "-n",
        "ref.bench",
      ]);
      assert.equal(result.code, 0, result.stderr);
      // the table: stage, iters, then timings (which differ): keep the first two columns
      const rows = result.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((c) =>
        /^(send|rpc)/.test(c[0])
      );
      const stats = await runReferenceCli(broker.unix, ["broker", "stats"], ["-s", "-n", "ref.admin"]);
      return [...rows.map((c) => `${c[0]} ${c[1]}`).sort(), normalise(stats.stdout, broker)];
    });
    assert.deepEqual(ours, busrtd);
    assert.equal(ours.length, 8, ours.join("\n"));
  },
});

const BYTE_COUNTER = /^ ([rw]_bytes) {2}(\d+)$/gm;
/** The header of a `client.list` table; `r_bytes` and `w_bytes` are the 5th and 3rd cells from the right. */
const CLIENT_TABLE_HEADER =
  /^ name {2}type {2}source {2}port {2}r_frames {2}r_bytes {2}w_frames {2}w_bytes {2}queue {2}ins$/;

/**
 * A step's byte counters and the step with each replaced by a placeholder: the values of the
 * `r_bytes`/`w_bytes` rows of `broker stats` and the `r_bytes`/`w_bytes` cells of every row of a
 * `client.list` table (counted from the right: empty source and port cells vanish with the padding).
 */
function byteCounters(step: string): { text: string; values: number[] } {
  const values: number[] = [];
  let inTable = false;
  const lines = step.split("\n").map((line) => {
    if (CLIENT_TABLE_HEADER.test(line)) {
      inTable = true;
      return line;
    }
    if (inTable && line === "---") return line;
    if (inTable && line.startsWith(" ")) {
      const cells = line.split("  ");
      if (cells.length >= 7) {
        for (const fromRight of [5, 3]) {
          const i = cells.length - fromRight;
          values.push(Number(cells[i].replaceAll("_", "")));
          cells[i] = "<BYTES>";
        }
        return cells.join("  ");
      }
    }
    inTable = false;
    return line.replace(BYTE_COUNTER, (_, name: string, value: string) => {
      values.push(Number(value));
      return ` ${name}  <BYTES>`;
    });
  });
  return { text: lines.join("\n"), values };
}

/** A step's output with its byte counters replaced by a placeholder. */
function withoutByteCounters(step: string): string {
  return byteCounters(step).text;
}

/** Asserts that the byte counters of two outputs of a step differ by at most 8 bytes each. */
function assertByteCountersClose(ours: string, reference: string, step: number): void {
  const a = byteCounters(ours).values;
  const b = byteCounters(reference).values;
  assert.equal(a.length, b.length, `step ${step}: byte counters`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 8, `step ${step}: byte counter ${v} vs ${b[i]}`));
}
