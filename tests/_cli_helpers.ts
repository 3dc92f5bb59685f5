/**
 * Shared helpers of the CLI tests: `cli.ts` run as a subprocess, to completion
 * or long-running with both output streams collected.
 *
 * @module
 */

/** Path of the CLI entry point. */
export const CLI: string = new URL("../cli.ts", import.meta.url).pathname;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Exit code and output of a finished CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run -q <denoFlags> cli.ts <args>` with piped output and no colours. */
function cliCommand(args: string[], stdin: boolean, denoFlags: string[] = ["-A"]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...denoFlags, CLI, ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Runs the CLI with all permissions to completion, feeding `stdin` if given. */
export async function runCli(args: string[], stdin?: Uint8Array | string): Promise<CliResult> {
  const child = cliCommand(args, stdin !== undefined).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(typeof stdin === "string" ? encoder.encode(stdin) : stdin);
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The repository root: scripts given to {@linkcode runScript} are relative to it. */
const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Runs `deno run -A <script> <args>` from the repository root to completion
 * (a bench or tool script), with piped output and no colours.
 *
 * @param script the script path, relative to the repository root
 * @param args its arguments
 * @returns its exit code and output
 */
export async function runScript(script: string, args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Collects a stream's text as it arrives and lets a test wait for a pattern. */
export class StreamText {
  /** Everything received so far. */
  text = "";
  /** Resolves at the end of the stream. */
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();

  /** Starts reading `stream`. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.text += chunk;
        for (const w of this.#waiters) w();
      }
      for (const w of this.#waiters) w();
    })();
  }

  /** Resolves when the text matches; fails after `ms` or at the end of the stream. */
  async waitFor(pattern: RegExp, ms = 15000): Promise<RegExpMatchArray> {
    const until = performance.now() + ms;
    let ended = false;
    this.done.then(() => ended = true);
    for (;;) {
      const m = this.text.match(pattern);
      if (m !== null) return m;
      if (ended) throw new Error(`Stream ended without ${pattern}; got:\n${this.text}`);
      const left = until - performance.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${pattern}; got:\n${this.text}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake!: () => void;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(wake);
        timer = setTimeout(resolve, Math.min(left, 200));
      });
      this.#waiters.delete(wake);
      clearTimeout(timer);
    }
  }
}

/** A long-running CLI subprocess (serve, listen, rpc listen) with both output streams collected. */
export class CliProcess {
  /** The subprocess. */
  readonly child: Deno.ChildProcess;
  /** Its standard output. */
  readonly stdout: StreamText;
  /** Its standard error. */
  readonly stderr: StreamText;

  /** Spawns `cli.ts <args>` under the given Deno permission flags (default: all). */
  constructor(args: string[], denoFlags: string[] = ["-A"]) {
    this.child = cliCommand(args, false, denoFlags).spawn();
    this.stdout = new StreamText(this.child.stdout);
    this.stderr = new StreamText(this.child.stderr);
  }

  /** Sends a signal unless the process has exited already. */
  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // exited already
    }
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<CliResult> {
    this.kill(signal);
    return await this.finish();
  }

  /** Waits for the exit and the end of both streams. */
  async finish(): Promise<CliResult> {
    const status = await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
    return { code: status.code, stdout: this.stdout.text, stderr: this.stderr.text };
  }
}
