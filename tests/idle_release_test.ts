/**
 * Issue #17 item 3: an idle connection gives back what a burst made it
 * allocate: its write buffers (the session lets its writer go at a NOP when
 * nothing is pending) and its grown read buffer (made small again after a
 * NOP period without data frames). The broker runs alone in a subprocess
 * with `--expose-gc` (the clients' own buffers are not counted); bounds are
 * loose (memory, not timing).
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";

const KiB = 1024;
const CLIENTS = 16;
const MESSAGES = 1024;
const PAYLOAD = new Uint8Array(1024);

async function drain(client: IpcClient, count: number): Promise<void> {
  let n = 0;
  for await (const _ of client) if (++n === count) return;
}

Deno.test("memory: buffers a burst grew are given back once the connections idle", async () => {
  const dir = await Deno.makeTempDir({ prefix: "busrt-idle-release-" });
  const path = `${dir}/b.sock`;
  const probe = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./_idle_release_probe.ts", import.meta.url).pathname,
      path,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = probe.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const line = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the probe ended: ${buffered}`);
      buffered += value;
    }
    const i = buffered.indexOf("\n");
    const out = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return out;
  };
  const writer = probe.stdin.getWriter();
  const external = async (): Promise<number> => {
    await writer.write(new TextEncoder().encode("m\n"));
    return Number(await line());
  };
  const clients: IpcClient[] = [];
  try {
    assert.equal(await line(), "ready");
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(await connect(path, { name: `c${i}`, timeout: 5, pingInterval: 0.1 }));
    }
    const baseline = await external();
    const received = clients.map((c) => drain(c, MESSAGES));
    await Promise.all(clients.map(async (c, i) => {
      for (let m = 0; m < MESSAGES; m++) c.send(`c${(i + 1) % CLIENTS}`, PAYLOAD, QoS.No);
      await c.flush();
    }));
    await Promise.all(received);
    const busy = await external();
    // at most one NOP period with traffic, then two whole idle ones (NOPs every 1 s)
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const idle = await external();
    const grown = (busy - baseline) / KiB;
    const left = (idle - baseline) / KiB;
    // meaningful only if the burst really grew the buffers (16 sessions, 1 MiB in and out each)
    assert.ok(grown > 1024, `the burst grew the broker's buffers by only ${grown.toFixed(0)} KiB`);
    assert.ok(
      left < 256,
      `${left.toFixed(0)} KiB above the baseline after idling (${grown.toFixed(0)} KiB after the burst)`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await writer.close();
    await lines.cancel();
    await probe.status;
    await Deno.remove(dir, { recursive: true });
  }
});
