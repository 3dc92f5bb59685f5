/**
 * Helpers of the reference suite: the real Rust broker `busrtd` and CLI
 * `busrt` (busrt 0.5.6) from `../shared/rustref/bin`, and our broker started
 * the same way, so that a test can run one scenario against both.
 *
 * When the binaries cannot execute here, {@linkcode REFERENCE_UNAVAILABLE}
 * says why and the reference tests are ignored (`tests/reference_client_test.ts`
 * prints that reason once).
 *
 * @module
 */
import assert from "node:assert/strict";
import { Broker } from "../broker/mod.ts";
import { enableCoreRpc } from "../rpc/core_rpc.ts";
import { StreamText } from "./_cli_helpers.ts";

/** The reference broker. */
export const BUSRTD: string = new URL("../../shared/rustref/bin/busrtd", import.meta.url).pathname;
/** The reference CLI. */
export const BUSRT: string = new URL("../../shared/rustref/bin/busrt", import.meta.url).pathname;

const decoder = new TextDecoder();

function probe(): string | null {
  for (const binary of [BUSRTD, BUSRT]) {
    try {
      const out = new Deno.Command(binary, { args: ["--help"], stdout: "piped", stderr: "piped" })
        .outputSync();
      if (!out.success) return `${binary} --help exited with ${out.code}`;
    } catch (err) {
      return `${binary} cannot execute (${err instanceof Error ? err.message : err})`;
    }
  }
  return null;
}

/** Why the reference binaries cannot run here, or `null` when they can. */
export const REFERENCE_UNAVAILABLE: string | null = probe();

/** Which broker a scenario runs against. */
export type BrokerKind = "ours" | "busrtd";

/** Both brokers, ours first; `busrtd` only when it can run. */
export const BROKER_KINDS: readonly BrokerKind[] = REFERENCE_UNAVAILABLE === null
  ? ["ours", "busrtd"]
  : ["ours"];

/** A running broker with a unix socket and a TCP listener on 127.0.0.1. */
export interface BrokerUnderTest {
  /** Which implementation. */
  kind: BrokerKind;
  /** Unix socket path (in a fresh temporary directory). */
  unix: string;
  /** `127.0.0.1:<port>`. */
  tcp: string;
  /** The address of a transport. */
  address(transport: "unix" | "tcp"): string;
  /** Stops the broker and removes its directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts a broker of `kind`: ours in this process (as `busrt serve` builds
 * it: core RPC and announcements) or `busrtd` as a child process.
 *
 * @param kind which broker
 * @param queueSize the per-client queue (busrtd's default 8192 drops its own benchmark clients)
 * @returns the running broker
 */
export async function startBroker(kind: BrokerKind, queueSize = 1_000_000): Promise<BrokerUnderTest> {
  // the same path length for both kinds: client.list replies carry the path, so byte counters depend on it
  const dir = await Deno.makeTempDir({ prefix: "busrt-ref-" });
  const unix = `${dir}/bus.sock`;
  if (kind === "ours") {
    const broker = new Broker({ queueSize });
    enableCoreRpc(broker);
    // timeout 5 s as `busrt serve` and busrtd (the library's default is 1 s): the reference
    // benchmark's warm-up keeps its clients silent for seconds
    await broker.serveUnix(unix, { timeout: 5 });
    const { bind: tcp } = await broker.serveTcp("127.0.0.1:0", { timeout: 5 });
    return underTest(kind, unix, tcp, async () => {
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    });
  }
  for (let attempt = 1;; attempt++) {
    const tcp = `127.0.0.1:${freePort()}`;
    const child = new Deno.Command(BUSRTD, {
      args: ["-B", unix, "-B", tcp, "--queue-size", String(queueSize)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = collect(child.stderr);
    if (await listening(unix, tcp, child)) {
      return underTest(kind, unix, tcp, async () => {
        // SIGKILL: SIGTERM makes busrtd wait ~1 s before exiting; its socket files go with the directory
        try {
          child.kill("SIGKILL");
        } catch {
          // exited already
        }
        await child.status;
        await log;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      });
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await child.status;
    const text = await log;
    // the port found free may have been taken in between: try another one
    if (attempt >= 3) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`busrtd did not start on ${unix} and ${tcp}:\n${text}`);
    }
  }
}

function underTest(kind: BrokerKind, unix: string, tcp: string, stop: () => Promise<void>): BrokerUnderTest {
  return { kind, unix, tcp, address: (t) => t === "unix" ? unix : tcp, stop };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

async function listening(unix: string, tcp: string, child: Deno.ChildProcess): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  const [hostname, port] = tcp.split(":");
  const until = performance.now() + 5000;
  while (!exited && performance.now() < until) {
    try {
      (await Deno.connect({ transport: "unix", path: unix })).close();
      (await Deno.connect({ hostname, port: Number(port) })).close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return false;
}

/** Runs `fn` against a fresh broker of `kind` and stops it afterwards, pass or fail. */
export async function withBroker(
  kind: BrokerKind,
  fn: (broker: BrokerUnderTest) => Promise<void>,
): Promise<void> {
  const broker = await startBroker(kind);
  try {
    await fn(broker);
  } finally {
    await broker.stop();
  }
}

/**
 * Runs `script` against a fresh broker of each kind at once (ours and
 * busrtd) and returns each kind's result.
 *
 * @param script what to do with a broker
 * @returns the result per kind
 */
export async function onBothBrokers<T>(
  script: (broker: BrokerUnderTest) => Promise<T>,
): Promise<Record<BrokerKind, T>> {
  const result = {} as Record<BrokerKind, T>;
  await Promise.all((["ours", "busrtd"] as const).map((kind) =>
    withBroker(kind, async (broker) => {
      result[kind] = await script(broker);
    })
  ));
  return result;
}

/**
 * Asserts that two transcripts are equal, naming the first step that differs.
 *
 * @param ours the transcript against our broker
 * @param reference the transcript against busrtd
 */
export function assertSameSteps(ours: readonly string[], reference: readonly string[]): void {
  for (let i = 0; i < Math.max(ours.length, reference.length); i++) {
    assert.equal(ours[i], reference[i], `step ${i + 1}`);
  }
}

/**
 * Replaces the broker's addresses and the peers' ports in command output by
 * placeholders and collapses column padding (its width follows the lengths
 * of what differs); each test adds what else legitimately differs.
 *
 * @param text the output
 * @param broker the broker the command ran against
 * @returns the output without addresses, ports and padding
 */
export function withoutAddresses(text: string, broker: BrokerUnderTest): string {
  return text
    .replaceAll(broker.unix, "<SOCKET>")
    .replaceAll(broker.tcp, "<TCP>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<PORT>")
    .replace(/ +$/gm, "")
    .replace(/ {2,}/g, "  ");
}

/** Exit code and output of a finished reference CLI run. */
export interface ToolResult {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs the reference `busrt <address> <args…>` to completion (silent logging
 * unless `args` say otherwise), feeding `stdin` when given.
 *
 * @param address the broker address (positional, as the reference wants it)
 * @param args the command and its arguments; global options go in `globals`
 * @param globals options before the address, e.g. `["-s", "-n", "name"]`
 * @param stdin bytes for standard input
 * @returns the exit status and output
 */
export async function runReferenceCli(
  address: string,
  args: string[],
  globals: string[] = ["-s"],
  stdin?: Uint8Array,
): Promise<ToolResult> {
  const child = new Deno.Command(BUSRT, {
    args: [...globals, address, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A long-running reference CLI process (listen, rpc listen) with its output collected. */
export interface ToolProcess {
  /** Standard output so far. */
  stdout: StreamText;
  /** Standard error so far. */
  stderr: StreamText;
  /** Sends SIGINT and waits for the exit. */
  stop(): Promise<ToolResult>;
}

/**
 * Starts the reference `busrt [globals] <address> <args…>` and collects its
 * output until {@linkcode ToolProcess.stop}.
 *
 * @param address the broker address
 * @param args the command and its arguments
 * @param globals options before the address
 * @returns the running process
 */
export function spawnReferenceCli(address: string, args: string[], globals: string[] = ["-s"]): ToolProcess {
  const child = new Deno.Command(BUSRT, {
    args: [...globals, address, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = new StreamText(child.stdout);
  const stderr = new StreamText(child.stderr);
  return {
    stdout,
    stderr,
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // exited already
      }
      const status = await child.status;
      await Promise.all([stdout.done, stderr.done]);
      return { code: status.code, stdout: stdout.text, stderr: stderr.text };
    },
  };
}
