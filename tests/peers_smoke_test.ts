/**
 * The peer comparison's smoke mode (our broker against the raw relay, a few
 * thousand messages, no Debian packages) and the pure parts of the bench
 * (flow control, percentiles, chart, profile summary).
 *
 * @module
 */
import assert from "node:assert/strict";
import { barChartSvg, escapeXml } from "../bench/peers/chart.ts";
import { ReceiveProgress } from "../bench/peers/flow_control.ts";
import { summarizeProfile } from "../bench/peers/profile_summary.ts";
import { percentile } from "../bench/peers/workloads.ts";

const COMPARE = new URL("../bench/peers/compare.ts", import.meta.url).pathname;

interface SmokeCell {
  row: string;
  target: string;
  error: string | null;
  rate: number;
  count: number;
  p50Us: number | null;
}

Deno.test("compare.ts --smoke runs our broker and the relay on every smoke row without errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const json = `${dir}/smoke.json`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", COMPARE, "--smoke", "--json", json],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const report = JSON.parse(await Deno.readTextFile(json)) as { cells: SmokeCell[]; mode: string };
    assert.equal(report.mode, "smoke");
    for (const row of ["1to1", "reqrep1", "8to1"]) {
      for (const target of ["busrt-unix", "relay-unix"]) {
        const cell = report.cells.find((c) => c.row === row && c.target === target);
        assert.ok(cell !== undefined, `no cell ${row}/${target}`);
        assert.equal(cell.error, null);
        assert.ok(cell.count > 0 && cell.rate > 0, `${row}/${target} moved nothing`);
      }
    }
    const reqrep = report.cells.find((c) => c.row === "reqrep1" && c.target === "busrt-unix")!;
    assert.ok(reqrep.p50Us !== null && reqrep.p50Us > 0);
    const markdown = new TextDecoder().decode(out.stdout);
    assert.match(markdown, /\| 1→1 pipelined \| busrt \(unix\) \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ReceiveProgress releases a sender only when the slowest receiver catches up", async () => {
  const p = new ReceiveProgress(2);
  let released = false;
  const wait = p.waitForAll(2).then(() => released = true);
  p.received(0);
  p.received(0);
  p.received(1);
  await Promise.resolve();
  assert.equal(released, false);
  p.received(1);
  await wait;
  assert.equal(released, true);
  assert.equal(p.min(), 2);
});

Deno.test("percentile() takes the nearest rank of sorted values", () => {
  const v = new Float64Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.equal(percentile(v, 0.5), 50);
  assert.equal(percentile(v, 0.99), 100);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 0.5)));
});

Deno.test("barChartSvg() escapes labels and scales each panel to its own maximum", () => {
  const svg = barChartSvg([
    {
      title: "a<b",
      unit: "msg/s",
      bars: [{ label: "x&y", value: 100, color: "#000" }, { label: "z", value: 50, color: "#111" }],
    },
    { title: "other", unit: "MB", bars: [{ label: "n/a bar", value: null, color: "#222" }] },
  ]);
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.ok(svg.includes("a&lt;b") && svg.includes("x&amp;y") && !svg.includes("x&y"));
  const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 2);
  assert.equal(widths[0], widths[1] * 2);
  assert.ok(svg.includes(">n/a<"));
  assert.equal(escapeXml(`"'`), "&quot;&#39;");
});

Deno.test("summarizeProfile() adds up self time per function from samples and deltas", () => {
  const frame = (functionName: string) => ({
    functionName,
    url: "file:///x/broker/a.ts",
    lineNumber: 0,
    columnNumber: 0,
  });
  const top = summarizeProfile({
    nodes: [{ id: 1, callFrame: frame("(root)") }, { id: 2, callFrame: frame("route") }, {
      id: 3,
      callFrame: frame("write"),
    }],
    startTime: 0,
    endTime: 400,
    samples: [2, 2, 3, 2],
    timeDeltas: [0, 100, 100, 100],
  });
  assert.equal(top[0].name, "route (broker/a.ts:1)");
  assert.equal(top[0].ms, 0.2);
  assert.equal(top[1].name, "write (broker/a.ts:1)");
  assert.ok(Math.abs(top[0].share - 2 / 3) < 1e-9);
});
