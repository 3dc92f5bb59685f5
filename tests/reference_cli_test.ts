/**
 * Reference suite, part 2: every client command of our `cli.ts` against the
 * real busrtd (busrt 0.5.6), over a unix socket and TCP, with the same
 * results as against our broker; and `busrt benchmark` against busrtd over
 * TCP in both modes (it used to fail there with 0x76, issue #11).
 */
import assert from "node:assert/strict";
import { CliProcess, type CliResult, runCli } from "./_cli_helpers.ts";
import {
  assertSameSteps,
  type BrokerUnderTest,
  onBothBrokers,
  REFERENCE_UNAVAILABLE,
  withBroker,
  withoutAddresses,
} from "./_reference.ts";

const ignore = REFERENCE_UNAVAILABLE !== null;

/**
 * Replaces what legitimately differs between two runs: socket paths, ports,
 * local times, the `.broker info` values, and the traffic counters, which here depend on timing (our
 * client pings every 0.5 s). The reference tool's test compares counters
 * exactly.
 */
function normalise(text: string, broker: BrokerUnderTest): string {
  return withoutAddresses(
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:Z|[+-]\d\d:\d\d)/g, "<TIME>")
      .replace(/"(r_frames|r_bytes|w_frames|w_bytes|uptime|queue)":\d+/g, '"$1":<N>')
      .replace(/^((?:r_frames|r_bytes|w_frames|w_bytes|uptime) +)[\d_]+ *$/gm, "$1<N>")
      .replace(/^(\S+ +\S+ .*?)( +[\d_]+){6} *$/gm, "$1 <COUNTERS>")
      // each broker names itself in the .broker info reply (PROTOCOL.md §12.1)
      .replace(/"author":"[^"]*","version":"[^"]*"/g, '"author":"<AUTHOR>","version":"<VERSION>"')
      .replace(/^(author +).+$/gm, "$1<AUTHOR>")
      .replace(/^(version +).+$/gm, "$1<VERSION>"),
    broker,
  ).replace(/-{2,}( {2}-{2,})+/g, "<RULE>");
}

function show(label: string, result: CliResult, broker: BrokerUnderTest): string {
  return `$ busrt ${label} => ${result.code}\n${normalise(result.stdout, broker)}${
    result.stderr === "" ? "" : `stderr: ${normalise(result.stderr, broker)}`
  }`;
}

/** Every client command of cli.ts in one script, alternating unix and TCP; returns the transcript. */
async function cliScript(broker: BrokerUnderTest): Promise<string[]> {
  const out: string[] = [];
  const run = async (transport: "unix" | "tcp", args: string[], stdin?: Uint8Array | string) => {
    const result = await runCli(["-s", broker.address(transport), ...args], stdin);
    out.push(show(`(${transport}) ${args.join(" ")}`, result, broker));
  };
  const listener = new CliProcess([
    "-s",
    broker.unix,
    "-n",
    "cli.listener",
    "listen",
    "-t",
    "test/#",
    "--exclude",
    "test/secret/#",
  ]);
  const rpcListener = new CliProcess(["-s", broker.tcp, "-n", "cli.rpc", "rpc", "listen", "-t", "rpc/#"]);
  try {
    await listener.stdout.waitFor(/Listening to messages for cli\.listener/);
    await rpcListener.stdout.waitFor(/Listening to RPC messages for cli\.rpc/);
    await run("unix", ["-n", "cli.sender", "send", "cli.listener", "hello"]);
    await run("tcp", ["-n", "cli.sender", "send", "cli.*", "to every cli"]);
    await run("unix", ["-n", "cli.sender", "broadcast", "cli.listene?", "one char mask"]);
    await run("unix", ["-n", "cli.sender", "send", "cli.listener"], new Uint8Array([0x81, 0xa1, 0x6b, 0x02]));
    await run("tcp", ["-n", "cli.sender", "send", "nobody", "x"]);
    await run("unix", ["-n", "cli.sender", "publish", "test/a", "published"]);
    await run("tcp", ["-n", "cli.sender", "publish", "test/secret/b", "excluded"]);
    await run("unix", ["-n", "cli.sender", "publish", "rpc/x", "to the rpc listener"]);
    await run("unix", ["-n", "cli.sender", "publish", "test/json", '{"a":1}']);
    await run("tcp", ["-n", "cli.caller", "rpc", "call", "cli.rpc", "do.it", "k=v", "n=2"]);
    await run("unix", ["-n", "cli.caller", "rpc", "call", "cli.rpc", "stdin.params", "-"], "raw");
    await run("unix", ["-n", "cli.caller", "rpc", "call0", "cli.rpc", "fire"]);
    await run("tcp", ["-n", "cli.caller", "rpc", "notify", "cli.rpc", "note"]);
    await run("unix", ["-n", "cli.caller", "rpc", "call", ".broker", "test"]);
    await run("tcp", ["-n", "cli.caller", "rpc", "call", ".broker", "benchmark.test", '{"a":1}']);
    await run("unix", ["-n", "cli.caller", "--json", "rpc", "call", ".broker", "info"]);
    await run("unix", ["-n", "cli.caller", "rpc", "call", ".broker", "nope"]);
    await run("tcp", ["-n", "cli.caller", "rpc", "call", "nobody", "x"]);
    await run("unix", ["-n", "cli.admin", "broker", "test"]);
    await run("tcp", ["-n", "cli.admin", "broker", "info"]);
    await run("unix", ["-n", "cli.admin", "broker", "stats"]);
    await run("unix", ["-n", "cli.admin", "--json", "broker", "stats"]);
    await run("tcp", ["-n", "cli.admin", "client", "list"]);
    await run("unix", ["-n", "cli.admin", "broker", "client.list", "--filter", "^cli\\.l"]);
    await run("unix", ["-n", "cli.admin", "--json", "client", "list", "--filter", "rpc"]);
    await run("unix", ["-n", "cli.listener", "broker", "test"]);
    await listener.stdout.waitFor(/topic: test\/json\nJSON:/);
    await rpcListener.stdout.waitFor(/Notification from cli\.caller \(cli\.caller\)\nSTR: {2}note\n----/);
  } finally {
    const [listened, rpcListened] = await Promise.all([listener.stop(), rpcListener.stop()]);
    out.push(`listen => ${listened.code}\n${normalise(listened.stdout, broker)}`);
    out.push(`rpc listen => ${rpcListened.code}\n${normalise(rpcListened.stdout, broker)}`);
  }
  return out;
}

Deno.test({
  name: "every cli.ts client command gets the same results from busrtd as from our broker (unix and TCP)",
  ignore,
  async fn() {
    const { ours, busrtd } = await onBothBrokers(cliScript);
    assertSameSteps(ours, busrtd);
    const all = busrtd.join("\n");
    assert.match(all, /\(tcp\) -n cli\.sender send nobody x => 1\nstderr: busrt: Cannot send to "nobody"/);
    assert.match(all, /Message from cli\.sender \(cli\.sender\)\nSTR: {2}hello/);
    assert.match(all, /Broadcast from cli\.sender \(cli\.sender\)\nSTR: {2}to every cli/);
    assert.doesNotMatch(all, /excluded\n/);
    assert.match(all, /method: do\.it/);
    assert.match(all, /cli\.rpc +tcp +127\.0\.0\.1:<PORT> +<TCP> <COUNTERS>/);
  },
});

for (const mode of ["pipelined", "sequential"] as const) {
  Deno.test({
    name: `busrt benchmark --mode ${mode} runs every stage against busrtd over TCP`,
    ignore,
    async fn() {
      await withBroker("busrtd", async (broker) => {
        const result = await runCli([
          "-s",
          broker.tcp,
          "-n",
          `bench.${mode}`,
          "--json",
          "benchmark",
          "--mode",
          mode,
          "-w",
          "2",
          "-i",
          mode === "pipelined" ? "50000" : "4000",
        ]);
        assert.equal(result.code, 0, result.stderr);
        const report = JSON.parse(result.stdout) as {
          mode: string;
          results: { stage: string; iterations: number; rate: number }[];
        };
        assert.equal(report.mode, mode);
        const expected = mode === "pipelined"
          ? [
            "send.qos.no",
            "send.qos.processed",
            "send+recv.qos.no",
            "send+recv.qos.processed",
            "send->recv.qos.no",
            "rpc.call",
            "rpc.call+handle",
            "rpc.call0",
          ]
          : [
            "send.qos.no",
            "send.qos.processed",
            "send+recv.qos.no",
            "send+recv.qos.processed",
            "rpc.call",
            "rpc.call+handle",
            "rpc.call0",
          ];
        assert.deepEqual(report.results.map((r) => r.stage), expected);
        assert.ok(
          report.results.every((r) => r.rate > 0 && r.iterations === (mode === "pipelined" ? 50000 : 4000)),
        );
      });
    },
  });
}

Deno.test({
  name: "busrt benchmark reconnects the same names right after a QoS 0 flood against busrtd over TCP",
  ignore,
  async fn() {
    // send.qos.no then the RPC stages: the workers' message connections close after 100,000
    // unacknowledged frames and the same names register again at once (0x76 before issue #11)
    await withBroker("busrtd", async (broker) => {
      for (let round = 1; round <= 3; round++) {
        const result = await runCli([
          "-s",
          broker.tcp,
          "-n",
          `flood.${round}`,
          "--json",
          "benchmark",
          "-i",
          "100000",
          "--stages",
          "send.qos.no,rpc.call0",
        ]);
        assert.equal(result.code, 0, `round ${round}: ${result.stderr}`);
        const stages = (JSON.parse(result.stdout) as { results: { stage: string }[] }).results.map((r) =>
          r.stage
        );
        assert.deepEqual(stages, ["send.qos.no", "rpc.call0"]);
      }
    });
  },
});
