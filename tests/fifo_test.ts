/**
 * The FIFO command channel (PROTOCOL.md §16.4): every line form received by
 * a real socket client, bad lines, 10,000 lines from several writers in
 * turn (a shell among them), the file replaced, a directory refused, removal
 * at shutdown — and the same lines against the reference `busrtd -B fifo:`
 * giving the same frames.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/broker.ts";
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { memoryLogger } from "../log/logger.ts";
import { QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { serveFifo } from "../rpc/fifo_channel.ts";
import { unpack } from "../rpc/msgpack.ts";
import { nextFrame, text, toHex, waitFor } from "./_helpers.ts";
import { BUSRTD, REFERENCE_UNAVAILABLE } from "./_reference.ts";

/** A line written to the pipe (one open, write, close: one writer). */
async function writeLines(path: string, lines: string[]): Promise<void> {
  const f = await Deno.open(path, { write: true });
  try {
    const bytes = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
  } finally {
    f.close();
  }
}

/** The frames a client sees, described for comparison (RPC payloads decoded). */
function describe(f: Frame): string {
  const p = f.payload;
  let body = toHex(p);
  if (f.kind === 0x12 && p[0] === 0x00) body = `notification ${text(p.subarray(1))}`;
  else if (f.kind === 0x12 && p[0] === 0x01) {
    const id = new DataView(p.buffer, p.byteOffset).getUint32(1, true);
    const nul = p.indexOf(0, 5);
    const params = unpack<Record<string, unknown>>(p.subarray(nul + 1));
    const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)));
    body = `call id=${id} ${text(p.subarray(5, nul))} ${JSON.stringify(sorted)}`;
  } else body = text(p);
  return `${f.kind} ${f.sender} ${f.topic ?? "-"} ${body}`;
}

const LINES = [
  "=fifo/a hello",
  "=fifo/b two words",
  "svc .ping-text",
  "svc :run on=true n=42 big=-9000000000 ratio=1.5 name=x empty= =",
  "svc direct",
  "? broadcast-mask",
  "x.* nobody-matches",
];
const EXPECTED = [
  "1 .broker fifo/a hello",
  "1 .broker fifo/b two",
  "18 .broker - notification ping-text",
  '18 .broker - call id=0 run {"":"","big":-9000000000,"empty":"","n":42,"name":"x","on":true,"ratio":1.5}',
  "18 .broker - direct",
  "19 .broker - broadcast-mask",
];

/** Connects `svc`, subscribed to `fifo/#`, and collects what arrives. */
async function receiver(path: string): Promise<IpcClient> {
  const svc = await connect(path, { name: "svc", timeout: 5 });
  await svc.subscribe("fifo/#", QoS.Processed);
  return svc;
}

Deno.test("fifo: every line form reaches a socket client as the .broker client, QoS 0", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  enableCoreRpc(broker);
  try {
    await broker.serveUnix(`${dir}/bus.sock`);
    const fifo = await serveFifo(broker, `${dir}/busrt.fifo`);
    assert.equal((await Deno.stat(fifo.path)).mode! & 0o777, 0o622);
    const svc = await receiver(`${dir}/bus.sock`);
    await writeLines(fifo.path, LINES);
    const got: string[] = [];
    for (let i = 0; i < EXPECTED.length; i++) got.push(describe(await nextFrame(svc)));
    assert.deepEqual(got, EXPECTED);
    await svc.close();
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fifo: bad lines log one line each and the next line still works", async () => {
  const dir = await Deno.makeTempDir();
  const log = memoryLogger();
  const broker = new Broker({ logger: log });
  try {
    const fifo = await serveFifo(broker, `${dir}/busrt.fifo`);
    const app = broker.registerClient("app");
    await app.subscribe("ok/#", QoS.Processed);
    await writeLines(fifo.path, ["lonely", "app :m novalue", "nobody payload", "", "=ok/1 fine"]);
    assert.equal(text((await nextFrame(app)).payload), "fine");
    assert.equal(fifo.failed, 3);
    assert.equal(fifo.executed, 1);
    const warnings = log.lines.filter((l) => l.includes("FIFO"));
    assert.equal(warnings.length, 3, warnings.join("\n"));
    assert.match(warnings[0], /"lonely" refused: .*second token/);
    assert.match(warnings[1], /"app :m novalue" refused: .*expected key=value/);
    assert.match(warnings[2], /"nobody payload" refused: the target is not registered/);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fifo: 10,000 lines from several writers in turn, a shell among them, all in order", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  try {
    const fifo = await serveFifo(broker, `${dir}/busrt.fifo`);
    const app = broker.registerClient("app", { queueSize: 20_000 });
    await app.subscribe("n/#", QoS.Processed);
    let n = 0;
    for (let writer = 0; writer < 4; writer++) {
      const lines = Array.from({ length: 2000 }, () => `=n/${writer} ${n++}`);
      await writeLines(fifo.path, lines);
    }
    // the fifth writer is a shell: `seq` piped into the FIFO
    const sh = await new Deno.Command("sh", {
      args: ["-c", `seq 8000 9999 | sed 's|^|=n/sh |' > '${fifo.path}'`],
    }).output();
    assert.ok(sh.success);
    const it = app[Symbol.asyncIterator]();
    for (let i = 0; i < 10_000; i++) {
      const f = (await it.next()).value!;
      if (text(f.payload) !== String(i)) assert.fail(`line ${i} arrived as ${text(f.payload)}`);
    }
    await waitFor(() => fifo.executed === 10_000, 5000, "every line counted");
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fifo: an existing file is replaced, a directory refused, and the pipe removed at shutdown", async () => {
  const dir = await Deno.makeTempDir();
  const broker = new Broker();
  try {
    const path = `${dir}/busrt.fifo`;
    await Deno.writeTextFile(path, "an old regular file");
    const fifo = await serveFifo(broker, path);
    const st = await Deno.lstat(path);
    assert.equal(st.isFile, false, "a pipe now, not the regular file");
    await Deno.mkdir(`${dir}/adir`);
    await assert.rejects(serveFifo(broker, `${dir}/adir`), /is a directory/);
    await broker.close();
    await fifo.done;
    assert.equal(await Deno.lstat(path).catch(() => null), null);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "fifo: the reference busrtd turns the same lines into the same frames",
  ignore: REFERENCE_UNAVAILABLE !== null,
  async fn() {
    const dir = await Deno.makeTempDir();
    const sock = `${dir}/ref.sock`;
    const fifoPath = `${dir}/ref.fifo`;
    const child = new Deno.Command(BUSRTD, {
      args: ["-B", sock, "-B", `fifo:${fifoPath}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(
        () => {
          try {
            return Deno.lstatSync(fifoPath).isFile === false && Deno.lstatSync(sock) !== null;
          } catch {
            return false;
          }
        },
        10_000,
        "busrtd listening",
      );
      assert.equal((await Deno.stat(fifoPath)).mode! & 0o777, 0o622, "the reference makes it 0622 too");
      const svc = await receiver(sock);
      await writeLines(fifoPath, LINES);
      const got: string[] = [];
      for (let i = 0; i < EXPECTED.length; i++) got.push(describe(await nextFrame(svc)));
      assert.deepEqual(got, EXPECTED);
      await svc.close();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
