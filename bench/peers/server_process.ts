/**
 * Server processes of the comparison: spawned with a raised open-files limit,
 * their output drained (a full pipe would stall them), stopped by their own PID.
 *
 * @module
 */

/** A server process started by the benchmark. */
export class ServerProcess {
  static readonly #live = new Set<ServerProcess>();

  /** Short name for messages. */
  readonly name: string;
  /** The server's PID (the shell wrapper `exec`s into the server). */
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  #output = "";
  #outputWaiters: (() => void)[] = [];
  #exited = false;
  readonly #drained: Promise<void>;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid;
    this.#drained = Promise.all([this.#drain(child.stdout), this.#drain(child.stderr)]).then(() => {});
    ServerProcess.#live.add(this);
    child.status.then(() => {
      this.#exited = true;
      ServerProcess.#live.delete(this);
      this.#wake();
    });
  }

  /**
   * Stops every process started here that is still running (on Ctrl-C).
   *
   * @example
   * ```ts ignore
   * Deno.addSignalListener("SIGINT", async () => { await ServerProcess.stopAll(); Deno.exit(130); });
   * ```
   */
  static async stopAll(): Promise<void> {
    await Promise.all([...ServerProcess.#live].map((p) => p.stop(2000)));
  }

  /**
   * Spawns `command args…` through `bash -c 'ulimit -n …; exec …'` so the
   * server itself may hold many connections.
   *
   * @example
   * ```ts ignore
   * const p = ServerProcess.spawn("redis", "redis-server", ["--port", "0"]);
   * ```
   */
  static spawn(name: string, command: string, args: string[], env?: Record<string, string>): ServerProcess {
    const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
    const child = new Deno.Command("bash", {
      args: ["-c", script, command, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    return new ServerProcess(name, child);
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      // keep the tail only: servers may log for a long time
      this.#output = (this.#output + decoder.decode(chunk, { stream: true })).slice(-8192);
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = this.#outputWaiters;
    this.#outputWaiters = [];
    for (const w of waiters) w();
  }

  /** The last few KiB of the server's stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  /** Waits for a line matching `pattern` in the output; returns the match. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const m = this.#output.match(pattern);
      if (m !== null) return m;
      if (this.#exited) throw new Error(`${this.name} exited before it was ready: ${this.#output.trim()}`);
      const left = until - performance.now();
      if (left <= 0) throw new Error(`${this.name} was not ready in ${timeoutMs} ms: ${this.#output.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#outputWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until a connection to `options` succeeds. */
  async waitForConnect(
    options: Deno.ConnectOptions | Deno.UnixConnectOptions,
    timeoutMs = 15_000,
  ): Promise<void> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      try {
        const conn = await Deno.connect(options as Deno.ConnectOptions);
        conn.close();
        return;
      } catch (err) {
        if (this.#exited) throw new Error(`${this.name} exited before it was ready: ${this.#output.trim()}`);
        if (performance.now() > until) {
          throw new Error(`${this.name} did not accept connections in ${timeoutMs} ms: ${err}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Sends SIGTERM to this PID, then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // exited meanwhile
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = await Promise.race([
        this.#child.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
      ]);
      clearTimeout(timer);
      if (killed) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
    }
    await this.#child.status;
    await this.#drained;
  }
}

/**
 * A free TCP port on 127.0.0.1 (bound and released; a small race is accepted).
 *
 * @example
 * ```ts ignore
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
