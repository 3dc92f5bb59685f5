/**
 * The benchmark's progress bar fits the terminal (it used to be 83 columns at
 * the default 1,000,000 iterations and wrapped on an 80-column terminal,
 * leaving a line per redraw), and is not drawn when stdout is not a terminal.
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { progressLine } from "../cli/progress_bar.ts";
import { ALL_STAGES } from "../cli/benchmark_command.ts";
import { CLI } from "./_cli_helpers.ts";

Deno.test("progressLine() fits 40, 80 and 120 columns for every stage and up to 10^9 iterations", () => {
  for (const columns of [40, 80, 120]) {
    for (const total of [1, 999, 1_000_000, 123_456_789, 1_000_000_000]) {
      for (const stage of ALL_STAGES) {
        for (const done of [0, Math.floor(total / 3), total]) {
          const line = progressLine(stage, done, total, columns);
          const where = `${columns} columns, ${stage} ${done}/${total}: "${line}"`;
          assert.ok(line.length <= columns - 1, where);
          assert.ok(line.startsWith(stage), where);
          assert.match(line, new RegExp(` ${Math.floor((done / total) * 100)}%`), where);
        }
      }
    }
  }
  // the default run on an 80-column terminal keeps every part; 10^9 too on 120 columns, with a full bar
  assert.match(progressLine("send+recv.qos.processed", 1, 1_000_000, 80), /\[\.+\] {3}0% +1\/1_000_000$/);
  const wide = progressLine("send.qos.no", 1_000_000_000, 1_000_000_000, 120);
  assert.match(wide, new RegExp(`\\[#{30}\\] 100%  1_000_000_000/1_000_000_000$`));
  // on 40 columns the counts go before the bar does
  assert.match(progressLine("rpc.call", 500_000, 1_000_000, 40), /^rpc\.call \[#+\.+\] {2}50%$/);
});

/** Runs `busrt benchmark` on a pseudo-terminal of `columns` columns; returns what the terminal got. */
async function benchmarkOnTerminal(socket: string, columns: number, stdoutFile?: string): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [Deno.execPath(), "run", "-q", "-A", CLI, "-s", socket, "benchmark", "-i", "300000"]
    .concat(["--stages", "send.qos.no,send+recv.qos.processed"]).map(quote).join(" ");
  const redirect = stdoutFile === undefined ? "" : ` > ${quote(stdoutFile)}`;
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qec", `stty cols ${columns} rows 24; ${command}${redirect}`, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, text);
  return text;
}

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((r) => r.success, () => false);

Deno.test({
  name: "busrt benchmark on a 60-column terminal redraws one line that fits; with stdout in a file, no bar",
  ignore: !hasScript,
  async fn() {
    const dir = await Deno.makeTempDir();
    const broker = new Broker();
    try {
      const socket = `${dir}/b.sock`;
      await broker.serveUnix(socket);
      const [terminal, redirected] = await Promise.all([
        benchmarkOnTerminal(socket, 60),
        benchmarkOnTerminal(socket, 60, `${dir}/results.txt`),
      ]);
      const draws = terminal.split("\x1b[2K").slice(1).map((d) => d.split("\r")[0]).filter((d) => d !== "");
      assert.ok(draws.length >= 2, terminal);
      for (const draw of draws) assert.ok(draw.length <= 59, `"${draw}" (${draw.length})`);
      assert.ok(draws.some((d) => d.startsWith("send+recv.qos.processed")), terminal);
      assert.match(terminal, /send\.qos\.no .*\n.*send\+recv\.qos\.processed/s); // the results table
      assert.doesNotMatch(redirected, /\[[#.]+\]/);
      assert.match(await Deno.readTextFile(`${dir}/results.txt`), /send\+recv\.qos\.processed +300_000/);
    } finally {
      await broker.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
