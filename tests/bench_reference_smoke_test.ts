/**
 * The reference broker in the peer comparison: a smoke run of compare.ts with
 * the busrtd target and the `busrt benchmark` table (tiny sizes, seconds),
 * and the delivery verification of the workloads, which must fail a cell
 * that lost, repeated, reordered or damaged a message.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DeliveryCheck, PayloadRing } from "../bench/peers/payload_check.ts";
import { parseToolResults, TOOL_STAGES, type ToolRun } from "../bench/peers/reference_tool.ts";
import type { BenchConnection } from "../bench/peers/target.ts";
import { runStream } from "../bench/peers/workloads.ts";
import { REFERENCE_UNAVAILABLE } from "./_reference.ts";

const COMPARE = new URL("../bench/peers/compare.ts", import.meta.url).pathname;

interface Cell {
  row: string;
  target: string;
  error: string | null;
  count: number;
  verified?: number;
}

Deno.test({
  name:
    "compare.ts --smoke --tool runs busrtd as a target and the busrt benchmark table against both brokers",
  ignore: REFERENCE_UNAVAILABLE !== null,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const json = `${dir}/run.json`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          COMPARE,
          "--smoke",
          "--tool",
          "--only",
          "busrt-unix,busrtd-unix",
          "--rows",
          "1to1,fanout,reqrep1",
          "--json",
          json,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const report = JSON.parse(await Deno.readTextFile(json)) as {
        cells: Cell[];
        tool: { runs: ToolRun[] };
        targets: { id: string }[];
      };
      assert.deepEqual(report.targets.map((t) => t.id), ["busrt-unix", "busrtd-unix"]);
      for (const row of ["1to1", "fanout", "reqrep1"]) {
        for (const target of ["busrt-unix", "busrtd-unix"]) {
          const cell = report.cells.find((c) => c.row === row && c.target === target);
          assert.ok(cell !== undefined, `no cell ${row}/${target}`);
          assert.equal(cell.error, null, `${row}/${target}`);
          assert.ok(cell.count > 0, `${row}/${target} moved nothing`);
          // every delivery (fan-out: each of the 8) or reply was checked, none was wrong
          assert.equal(cell.verified, cell.count, `${row}/${target} verified`);
        }
      }
      assert.deepEqual(report.tool.runs.map((r) => r.broker).sort(), ["busrtd", "ours"]);
      for (const run of report.tool.runs) {
        assert.equal(run.error, null, `${run.broker}: ${run.error}`);
        assert.deepEqual(run.stages.map((s) => s.stage), [...TOOL_STAGES]);
        for (const s of run.stages) {
          assert.equal(s.iterations, run.iterations, `${run.broker} ${s.stage}`);
          assert.ok(s.rate > 0 && Number.isFinite(s.rate), `${run.broker} ${s.stage} rate`);
          assert.ok(s.brokerCpuUs >= 0 && s.brokerPeakRss > 0, `${run.broker} ${s.stage} /proc figures`);
        }
      }
      const markdown = new TextDecoder().decode(out.stdout);
      assert.match(markdown, /\| 1→1 pipelined +\| busrt \(unix\) +\|/);
      assert.match(markdown, /\| +\| busrtd \(unix\) +\| [\d,]+ msg\/s/);
      assert.match(markdown, /## The reference benchmark tool/);
      for (const stage of TOOL_STAGES) {
        assert.match(
          markdown,
          new RegExp(
            `\\| ${
              stage.replaceAll(".", "\\.").replaceAll("+", "\\+")
            } +\\| [\\d,]+ +\\| [\\d,]+ +\\| \\**\\d+\\.\\d\\d`,
          ),
        );
      }
      assert.match(markdown, /ours ≥ 2 × busrtd|busrt \(unix\) ≥ 2 × busrtd/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A connection pair in memory whose delivery `mangle` may tamper with. */
function loopback(
  mangle: (payload: Uint8Array, index: number) => Uint8Array[],
): { sender: BenchConnection; receiver: BenchConnection } {
  let handler: (payload: Uint8Array) => void = () => {};
  let index = 0;
  const queued: Uint8Array[] = [];
  const base = {
    listen: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const receiver: BenchConnection = {
    ...base,
    inbox: "rx",
    send() {},
    publish() {},
    flush: () => Promise.resolve(),
    onMessage(h) {
      handler = h;
    },
  };
  const sender: BenchConnection = {
    ...base,
    inbox: "tx",
    send(_inbox, payload) {
      // copied as a socket would: the sender reuses its buffers
      queued.push(...mangle(payload.slice(), index++));
    },
    publish(_topic, payload) {
      queued.push(...mangle(payload.slice(), index++));
    },
    async flush() {
      await Promise.resolve();
      for (const p of queued.splice(0)) handler(p);
    },
    onMessage() {},
  };
  return { sender, receiver };
}

async function streamThrough(mangle: (payload: Uint8Array, index: number) => Uint8Array[]): Promise<number> {
  const { sender, receiver } = loopback(mangle);
  const r = await runStream({
    senders: [sender],
    receivers: [receiver],
    mode: "direct",
    topic: "",
    payloadSize: 100,
    total: 3000,
    capMs: 5000,
    window: 64,
    batch: 16,
    drainTimeoutMs: 300,
  });
  return r.verified;
}

Deno.test("runStream verifies every delivery and fails on a lost, repeated, reordered or damaged message", async () => {
  assert.equal(await streamThrough((p) => [p]), 3000);
  await assert.rejects(streamThrough((p, i) => i === 1000 ? [] : [p]), /lost|bad delivery/);
  await assert.rejects(streamThrough((p, i) => i === 1000 ? [p, p] : [p]), /bad delivery: .*repeated/);
  let held: Uint8Array | null = null;
  await assert.rejects(
    streamThrough((p, i) => {
      if (i === 1000) {
        held = p;
        return [];
      }
      if (i === 1001) return [p, held!];
      return [p];
    }),
    /bad delivery: .*#1001 of sender 0 where #1000 was due/,
  );
  // damage one byte of a message whose content is checked in full (every 256th)
  await assert.rejects(
    streamThrough((p, i) => {
      if (i === 1024) p[50] ^= 1;
      return [p];
    }),
    /bad delivery: .*#1024 .*corrupted/,
  );
  await assert.rejects(streamThrough((p, i) => [i === 7 ? p.subarray(0, 99) : p]), /99 bytes instead of 100/);
});

Deno.test("DeliveryCheck tells the senders of one receiver apart and checks the last byte of every message", () => {
  const a = new PayloadRing(0, 32, 2);
  const b = new PayloadRing(1, 32, 2);
  const check = new DeliveryCheck(1, 2, 32);
  check.check(0, b.next().slice());
  check.check(0, a.next().slice());
  check.check(0, a.next().slice());
  assert.equal(check.error, null);
  assert.equal(check.verified, 3);
  assert.equal(check.receivedFrom(0, 0), 2);
  const damaged = b.next().slice();
  damaged[31] ^= 0xff;
  check.check(0, damaged);
  assert.match(check.error ?? "", /message #1 of sender 1 with corrupted content/);
  const stranger = new DeliveryCheck(1, 1, 32);
  stranger.check(0, b.next().slice());
  assert.match(stranger.error ?? "", /stamped with sender 1 of 1/);
});

Deno.test("parseToolResults() reads the closing table of busrt benchmark (as printed by busrt 0.5.6)", () => {
  const stdout = [
    "*** stage completed: send+recv.qos.processed (20_000 iters, 0.954 secs)",
    "--- Benchmark results ------------------",
    " stage                    iters   secs   msecs     iters/s  ",
    "------------------------------------------------------------",
    " rpc.call                 20_000  1.372  1371.715  14_580   ",
    " rpc.call+handle          20_000  2.068  2067.970  9_671    ",
    " send.qos.no              20_000  0.021  20.694    966_468  ",
    " not.a.stage              20_000  0.021  20.694    966_468  ",
  ].join("\n");
  const rows = parseToolResults(stdout);
  assert.deepEqual([...rows.keys()], ["rpc.call", "rpc.call+handle", "send.qos.no"]);
  assert.deepEqual(rows.get("send.qos.no"), { iterations: 20000, ms: 20.694 });
});
