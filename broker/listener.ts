/**
 * Listeners: accept connections (unix, TCP, or any {@linkcode Acceptor}),
 * run a session for each, and drive their keepalive ticks.
 *
 * @module
 */
import { closeQuietly, type Link } from "../transport/link.ts";
import { parseAddress } from "../protocol/names.ts";
import type { Router } from "./router.ts";
import { IpcSession, type SessionOrigin } from "./ipc_session.ts";
import {
  type ListenerOptions,
  type ResolvedListenerOptions,
  resolveListenerOptions,
} from "./listener_options.ts";

/** An accepted connection and where it came from. */
export interface Accepted {
  /** The byte stream. */
  link: Link;
  /** Kind, source and peer identity. */
  origin: SessionOrigin;
}

/** A source of connections: a socket server or an adapter (TLS, WebSocket). */
export interface Acceptor extends AsyncIterable<Accepted> {
  /** Stops accepting. Unix acceptors remove their socket file. */
  close(): void;
}

/** A running listener of a broker. */
export class BrokerListener {
  /** The bind string shown as `port` in `client.list` (actual port for TCP port 0). */
  readonly bind: string;
  /** Resolves when the listener has stopped accepting. */
  readonly closed: Promise<void>;
  /** Effective settings. */
  readonly config: ResolvedListenerOptions;
  readonly #router: Router;
  readonly #acceptor: Acceptor;
  /** Open sessions and the promise of each one's end. */
  readonly #sessions = new Map<IpcSession, Promise<void>>();
  #timer: ReturnType<typeof setInterval>;
  #stopped = false;
  readonly #sessionEnded = (session: IpcSession) => {
    this.#sessions.delete(session);
  };

  /** Starts accepting from `acceptor`. */
  constructor(router: Router, bind: string, config: ResolvedListenerOptions, acceptor: Acceptor) {
    this.#router = router;
    this.bind = bind;
    this.config = config;
    this.#acceptor = acceptor;
    this.#timer = setInterval(() => this.#tick(), Math.max(1, config.timeout * 500));
    this.closed = this.#acceptLoop();
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const { link, origin } of this.#acceptor) {
        if (this.#stopped) {
          closeQuietly(link);
          break;
        }
        const session = new IpcSession(this.#router, link, this.config, origin, this.#sessionEnded);
        this.#sessions.set(session, session.run());
      }
    } catch (err) {
      if (!this.#stopped) this.#router.log.error(`listener ${this.bind} failed: ${err}`);
    } finally {
      this.#stopped = true;
      clearInterval(this.#timer);
    }
  }

  #tick(): void {
    const now = performance.now();
    for (const s of this.#sessions.keys()) s.tick(now);
  }

  /**
   * Stops accepting (removing a unix socket file) and closes connections that
   * have not registered yet. Registered clients stay connected.
   */
  close(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      clearInterval(this.#timer);
      this.#acceptor.close();
      for (const s of this.#sessions.keys()) s.abort();
    }
    return this.closed;
  }

  /** Resolves when every connection accepted by this listener has ended. */
  async drained(): Promise<void> {
    while (this.#sessions.size > 0) await Promise.all([...this.#sessions.values()]);
  }

  /** Creates a unix-socket listener. @internal */
  static async unix(router: Router, path: string, config: ListenerOptions): Promise<BrokerListener> {
    const resolved = resolveListenerOptions(config, router.queueSize);
    await removeStaleSocket(path);
    const listener = listenUnix(path, resolved.socketMode);
    const origin: SessionOrigin = { kind: "local_ipc", source: null, port: path, peer: { ip: null } };
    const acceptor: Acceptor = {
      async *[Symbol.asyncIterator]() {
        for await (const conn of listener) yield { link: conn, origin };
      },
      close() {
        try {
          listener.close();
        } catch {
          // closed already
        }
        try {
          Deno.removeSync(path);
        } catch {
          // Deno removes the file itself on close
        }
      },
    };
    return new BrokerListener(router, path, resolved, acceptor);
  }

  /** Creates a TCP listener. @internal */
  static tcp(router: Router, address: string, config: ListenerOptions): Promise<BrokerListener> {
    const resolved = resolveListenerOptions(config, router.queueSize);
    const addr = parseAddress(address);
    if (addr.transport !== "tcp") throw new TypeError(`Cannot listen on "${address}": not host:port`);
    const listener = Deno.listen({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
    const local = listener.addr as Deno.NetAddr;
    const bind = `${formatHost(local.hostname)}:${local.port}`;
    const acceptor: Acceptor = {
      async *[Symbol.asyncIterator]() {
        for await (const conn of listener) {
          conn.setNoDelay(true);
          const peer = conn.remoteAddr as Deno.NetAddr;
          yield {
            link: conn,
            origin: {
              kind: "tcp",
              source: `${formatHost(peer.hostname)}:${peer.port}`,
              port: bind,
              peer: { ip: peer.hostname },
            },
          };
        }
      },
      close() {
        try {
          listener.close();
        } catch {
          // closed already
        }
      },
    };
    return Promise.resolve(new BrokerListener(router, bind, resolved, acceptor));
  }
}

/** `[v6]` or v4 host for `host:port` strings. */
export function formatHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function listenUnix(path: string, mode: number | null): Deno.Listener {
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
