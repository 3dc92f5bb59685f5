/**
 * Pool members as real processes (`tests/_pool_worker.ts`), started with
 * `deno run` and stopped by their PID only.
 *
 * @module
 */
import { StreamText } from "./_cli_helpers.ts";

const WORKER = new URL("./_pool_worker.ts", import.meta.url).pathname;

/** One running worker process. */
export class WorkerProcess {
  /** Its client name. */
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdout: StreamText;
  readonly #stderr: StreamText;
  #exited = false;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.#child = child;
    this.#stdout = new StreamText(child.stdout);
    this.#stderr = new StreamText(child.stderr);
    child.status.then(() => this.#exited = true);
  }

  /**
   * Starts a worker and waits until it is registered.
   *
   * @param socket the broker's unix socket
   * @param name the worker's client name
   * @param delayMs how long its `work` method takes
   */
  static async start(socket: string, name: string, delayMs = 0): Promise<WorkerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WORKER, socket, name, String(delayMs)],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = new WorkerProcess(name, child);
    try {
      await Promise.race([
        w.#stdout.waitFor(new RegExp(`ready ${name.replaceAll(".", "\\.")}`), 30_000),
        child.status.then((s) => {
          throw new Error(`worker ${name} exited with ${s.code}`);
        }),
      ]);
    } catch (err) {
      await w.kill();
      throw new Error(`worker ${name} did not start: ${err}\n${w.#stderr.text}`);
    }
    return w;
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends `signal` to this process (by PID) unless it exited. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // exited meanwhile
    }
  }

  /** SIGKILL (after SIGCONT, should it be stopped), then waits for the exit. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.#child.status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
  }
}

/** Starts `names.length` workers at once. */
export function startWorkers(socket: string, names: string[], delayMs = 0): Promise<WorkerProcess[]> {
  return Promise.all(names.map((n) => WorkerProcess.start(socket, n, delayMs)));
}
