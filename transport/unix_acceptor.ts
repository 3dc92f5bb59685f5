/**
 * The unix socket acceptor: replaces a stale socket file, creates the socket
 * with its final mode (a umask around bind), and removes the file on close.
 *
 * @example Listen on a socket in a temporary directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenUnix } from "./unix_acceptor.ts";
 * const dir = await Deno.makeTempDir();
 * const acceptor = await listenUnix(`${dir}/busrt.sock`, { socketMode: 0o600 });
 * assert.equal(acceptor.bind, `${dir}/busrt.sock`);
 * acceptor.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { Accepted, AcceptedOrigin, Acceptor } from "./acceptor.ts";

/** Options of {@linkcode listenUnix}. */
export interface UnixAcceptorOptions {
  /** Mode of the socket file, e.g. `0o660`; null or absent: by umask. */
  socketMode?: number | null;
}

/**
 * Listens on a unix socket. An existing socket file nobody answers on is
 * replaced; a live socket or a file that is not a socket is an error.
 *
 * @param path the socket file path
 * @param options the socket file mode
 * @returns an acceptor yielding `local_ipc` connections; `close()` removes the file
 * @throws {Deno.errors.AddrInUse} when another server answers on `path`
 * @throws {Deno.errors.AlreadyExists} when `path` exists and is not a socket
 */
export async function listenUnix(path: string, options: UnixAcceptorOptions = {}): Promise<Acceptor> {
  await removeStaleSocket(path);
  return new UnixAcceptor(path, bindUnix(path, options.socketMode ?? null));
}

class UnixAcceptor implements Acceptor {
  readonly bind: string;
  readonly #listener: Deno.Listener;
  readonly #origin: AcceptedOrigin;
  #closed = false;

  constructor(path: string, listener: Deno.Listener) {
    this.bind = path;
    this.#listener = listener;
    this.#origin = { kind: "local_ipc", source: null, port: path, peer: { ip: null } };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Accepted> {
    for await (const conn of this.#listener) yield { link: conn, origin: this.#origin };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
    try {
      Deno.removeSync(this.bind);
    } catch {
      // Deno removes the file itself on close
    }
  }
}

function bindUnix(path: string, mode: number | null): Deno.Listener {
  if (mode === null) return Deno.listen({ transport: "unix", path });
  // A umask around bind creates the file with the final mode: no window
  // in which it is more open than asked.
  let previous: number | null = null;
  try {
    previous = Deno.umask(~mode & 0o777);
  } catch {
    previous = null;
  }
  try {
    const listener = Deno.listen({ transport: "unix", path });
    if (previous === null) Deno.chmodSync(path, mode);
    return listener;
  } finally {
    if (previous !== null) Deno.umask(previous);
  }
}

/** Removes a socket file nobody answers on; refuses a live socket or a non-socket file. */
async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (!info.isSocket) {
    throw new Deno.errors.AlreadyExists(`Cannot listen on "${path}": the file exists and is not a socket`);
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new Deno.errors.AddrInUse(`Cannot listen on "${path}": another server answers on it`);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw err;
    await Deno.remove(path);
  }
}
