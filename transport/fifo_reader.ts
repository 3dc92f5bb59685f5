/**
 * A named pipe read line by line (the transport of the broker's FIFO
 * command channel, PROTOCOL.md §16.4). Deno has no `mkfifo` API, so the pipe
 * is made by the `mkfifo` command (`--allow-run=mkfifo`); it is opened for
 * reading and writing, so the reader never sees end-of-file when a writer
 * closes: writers may come and go. `close()` ends the lines and removes the
 * pipe.
 *
 * @example Lines from two writers in turn
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFifo } from "./fifo_reader.ts";
 * const dir = await Deno.makeTempDir();
 * const fifo = await openFifo(`${dir}/cmd.fifo`);
 * assert.equal((await Deno.stat(fifo.path)).mode! & 0o777, 0o622);
 * await Deno.writeTextFile(fifo.path, "first\n");
 * await Deno.writeTextFile(fifo.path, "second\n", { append: true });
 * const lines = fifo.lines()[Symbol.asyncIterator]();
 * assert.equal((await lines.next()).value, "first");
 * assert.equal((await lines.next()).value, "second");
 * fifo.close();
 * assert.equal((await lines.next()).done, true);
 * await Deno.remove(dir);
 * ```
 *
 * @module
 */

/** Options of {@linkcode openFifo}. */
export interface FifoOptions {
  /** Mode of the pipe. Default `0o622` (others may write commands, only the owner reads). */
  mode?: number;
  /** Longest line kept, in bytes; a longer one is dropped (reported by `onLongLine`). Default 1 MiB. */
  maxLineBytes?: number;
  /** Called with the length of each dropped over-long line. */
  onLongLine?: (bytes: number) => void;
}

/** An open FIFO. */
export interface FifoReader {
  /** The pipe's path. */
  readonly path: string;
  /** The lines written to the pipe, without their newline, until `close()`. Iterate once. */
  lines(): AsyncIterable<string>;
  /** Stops reading and removes the pipe. Calling it again does nothing. */
  close(): void;
}

/**
 * Creates the named pipe `path` (replacing a file or pipe already there,
 * refusing a directory) and opens it.
 *
 * @param path where to create the pipe
 * @param options the mode and the line bound
 * @returns the open FIFO
 * @throws {Deno.errors.IsADirectory} when `path` is a directory
 * @throws {Deno.errors.NotCapable} without `--allow-run=mkfifo` (and read/write on `path`)
 * @throws {Error} when `mkfifo` fails
 */
export async function openFifo(path: string, options: FifoOptions = {}): Promise<FifoReader> {
  const mode = options.mode ?? 0o622;
  const existing = await Deno.lstat(path).catch(() => null);
  if (existing?.isDirectory) {
    throw new Deno.errors.IsADirectory(`Cannot create the FIFO "${path}": it is a directory`);
  }
  if (existing !== null) await Deno.remove(path);
  const made = await new Deno.Command("mkfifo", {
    args: ["-m", mode.toString(8), "--", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) {
    throw new Error(`Cannot create the FIFO "${path}": ${new TextDecoder().decode(made.stderr).trim()}`);
  }
  // read+write: opening never blocks and the last writer's close is no end-of-file
  const file = await Deno.open(path, { read: true, write: true });
  return new Fifo(path, file, options.maxLineBytes ?? 1024 * 1024, options.onLongLine ?? (() => {}));
}

class Fifo implements FifoReader {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #maxLine: number;
  readonly #onLongLine: (bytes: number) => void;
  #closed = false;

  constructor(path: string, file: Deno.FsFile, maxLine: number, onLongLine: (bytes: number) => void) {
    this.path = path;
    this.#file = file;
    this.#maxLine = maxLine;
    this.#onLongLine = onLongLine;
  }

  async *lines(): AsyncIterable<string> {
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(65536);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let dropping = false;
    for (;;) {
      let n: number | null;
      try {
        n = await this.#file.read(chunk);
      } catch (err) {
        if (this.#closed) return;
        throw err;
      }
      if (n === null || this.#closed) return;
      let start = 0;
      for (let i = 0; i < n; i++) {
        if (chunk[i] !== 0x0a) continue;
        const tail = chunk.subarray(start, i);
        start = i + 1;
        const bytes = pendingBytes + tail.length;
        if (dropping || bytes > this.#maxLine) this.#onLongLine(bytes);
        else yield decoder.decode(join(pending, tail)).replace(/\r$/, "");
        pending = [];
        pendingBytes = 0;
        dropping = false;
        if (this.#closed) return;
      }
      if (start < n) {
        pendingBytes += n - start;
        if (pendingBytes > this.#maxLine) {
          dropping = true;
          pending = [];
        } else pending.push(chunk.slice(start, n));
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // wakes the read that is blocked on the pipe, which then sees the close
      this.#file.writeSync(new Uint8Array([0x0a]));
    } catch {
      // nothing to wake
    }
    try {
      this.#file.close();
    } catch {
      // closed already
    }
    try {
      Deno.removeSync(this.path);
    } catch {
      // removed already
    }
  }
}

function join(parts: Uint8Array[], last: Uint8Array): Uint8Array {
  if (parts.length === 0) return last;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, last.length));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out.set(last, off);
  return out;
}
