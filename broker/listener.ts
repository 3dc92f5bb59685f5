/**
 * Listeners: accept connections from any {@linkcode Acceptor} (the unix,
 * TCP and TLS acceptors of `transport/`, or one of your own), run a session
 * for each, and one timer wheel for all their deadlines and keepalives. Also what `broker.serve`
 * accepts as a bind ({@linkcode parseBind}).
 *
 * @module
 */
import { closeQuietly } from "../transport/link.ts";
import type { Accepted, Acceptor } from "../transport/acceptor.ts";
import {
  AddressError,
  type BusAddress,
  parseAddress,
  type TcpAddress,
  TLS_SCHEME,
  type TlsAddress,
  type UnixAddress,
  type WebSocketAddress,
} from "../transport/address.ts";
import { listenTcp } from "../transport/tcp_acceptor.ts";
import { listenUnix } from "../transport/unix_acceptor.ts";
import { TimerWheel } from "../transport/timer_wheel.ts";
import type { Router } from "./router.ts";
import { IpcSession } from "./ipc_session.ts";
import {
  type ListenerOptions,
  type ResolvedListenerOptions,
  resolveListenerOptions,
} from "./listener_options.ts";

export type { Accepted, AcceptedOrigin, Acceptor, ConnectionKind } from "../transport/acceptor.ts";

/**
 * A bind that `broker.serve` listens on: a unix socket path, `host:port`,
 * `tls://host:port`, `ws://host:port[/path]` or `wss://host:port[/path]`.
 */
export type ServableAddress = UnixAddress | TcpAddress | TlsAddress | WebSocketAddress;

/** The binds `broker.serve` listens on, as messages name them. */
export const SERVED_FORMS: string =
  `a unix socket path, host:port, ${TLS_SCHEME}host:port, ws://host:port[/path] or wss://host:port[/path]`;

/**
 * Parses a bind of `broker.serve` (and of `busrt serve -B`, and of the
 * config file): the address grammar of `transport/address.ts`, restricted
 * to what the broker listens on. `fifo:` is a valid address that the
 * broker does not listen on: the FIFO command channel is the RPC layer's
 * `serveFifo()`.
 *
 * @example A TLS bind, a WebSocket bind, and a FIFO, which is no listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBind } from "./listener.ts";
 * assert.equal(parseBind("tls://0.0.0.0:7778").transport, "tls");
 * assert.equal(parseBind("wss://0.0.0.0:7780/bus").transport, "wss");
 * assert.throws(() => parseBind("fifo:/run/busrt.fifo"), /serve it with serveFifo\(\)/);
 * ```
 *
 * @param bind the bind text
 * @returns the parsed bind
 * @throws {AddressError} (a `TypeError`) for a malformed bind, an unknown
 *   scheme, or `fifo:` (`unsupported` is then true)
 */
export function parseBind(bind: string): ServableAddress {
  const addr: BusAddress = parseAddress(bind);
  if (addr.transport !== "fifo") return addr;
  throw new AddressError(
    bind,
    `a fifo: bind is a command channel of the RPC layer: serve it with serveFifo() (busrt serve -B fifo:PATH); ` +
      `the broker listens on ${SERVED_FORMS}`,
    { unsupported: true },
  );
}

/**
 * The reason a bind failed, first line only, without a leading
 * `Cannot listen on "…": ` (the acceptors name the address in their own
 * errors): for callers that name the bind themselves, so the prefix is not
 * repeated.
 *
 * @example Strip the acceptor's own prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenFailureReason } from "./listener.ts";
 * const err = new Error('Cannot listen on "/tmp/b.sock": another server answers on it');
 * assert.equal(listenFailureReason(err), "another server answers on it");
 * assert.equal(listenFailureReason(new Error("Address in use")), "Address in use");
 * ```
 *
 * @param err what the bind threw
 * @returns the reason
 */
export function listenFailureReason(err: unknown): string {
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return message.replace(/^Cannot listen on "[^"]*": /i, "");
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
  /**
   * Handshake deadlines, keepalive NOPs and timeouts of all the sessions:
   * one interval (running while a session is connected), not one per client.
   */
  readonly #wheel: TimerWheel;
  #stopped = false;
  readonly #sessionEnded = (session: IpcSession) => {
    this.#sessions.delete(session);
  };

  /**
   * Starts accepting from `acceptor`. @internal
   *
   * @param router the broker's router
   * @param acceptor the source of connections
   * @param config the resolved listener settings
   */
  constructor(router: Router, acceptor: Acceptor, config: ResolvedListenerOptions) {
    this.#router = router;
    this.bind = acceptor.bind;
    this.config = config;
    this.#acceptor = acceptor;
    // a step of 1/32 of the NOP period: deadlines are met within ~3 % of timeout/2
    this.#wheel = new TimerWheel({ resolutionMs: Math.min(250, Math.max(1, config.timeout * 1000 / 64)) });
    this.closed = this.#acceptLoop();
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const accepted of this.#acceptor) {
        if (this.#stopped) {
          closeQuietly(accepted.link);
          break;
        }
        this.#startSession(accepted);
      }
    } catch (err) {
      if (!this.#stopped) this.#router.log.error(`listener ${this.bind} failed: ${err}`);
    } finally {
      this.#stopped = true;
    }
  }

  /**
   * Runs a session for one connection. A method of its own so that no
   * variable of the accept loop, which stays suspended until the next
   * connection, references the session (and its buffers) after it ends.
   */
  #startSession(accepted: Accepted): void {
    const session = new IpcSession(
      this.#router,
      accepted.link,
      this.config,
      accepted.origin,
      this.#wheel,
      this.#sessionEnded,
    );
    this.#sessions.set(session, session.run());
  }

  /**
   * Stops accepting (removing a unix socket file) and closes connections that
   * have not registered yet. Registered clients stay connected.
   */
  close(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#acceptor.close();
      for (const s of this.#sessions.keys()) s.abort();
    }
    return this.closed;
  }

  /**
   * Resolves when every connection accepted by this listener has ended and,
   * once closed, the acceptor has let go of its server (`acceptor.finished`).
   */
  async drained(): Promise<void> {
    while (this.#sessions.size > 0) await Promise.all([...this.#sessions.values()]);
    await this.#acceptor.finished;
  }

  /**
   * Creates a listener over an open acceptor; closes the acceptor when the
   * options are invalid. @internal
   *
   * @param router the broker's router
   * @param acceptor the source of connections
   * @param config the listener settings
   * @returns the listener
   */
  static accept(router: Router, acceptor: Acceptor, config: ListenerOptions): BrokerListener {
    let resolved: ResolvedListenerOptions;
    try {
      resolved = resolveListenerOptions(config, router.queueSize);
    } catch (err) {
      acceptor.close();
      throw err;
    }
    return new BrokerListener(router, acceptor, resolved);
  }

  /**
   * Creates a unix-socket listener. @internal
   *
   * @param router the broker's router
   * @param path the socket file path
   * @param config the listener settings
   * @returns the listener
   */
  static async unix(router: Router, path: string, config: ListenerOptions): Promise<BrokerListener> {
    const resolved = resolveListenerOptions(config, router.queueSize);
    const acceptor = await listenUnix(path, { socketMode: resolved.socketMode });
    return new BrokerListener(router, acceptor, resolved);
  }

  /**
   * Creates a TCP listener on `host:port`. @internal
   *
   * @param router the broker's router
   * @param address `host:port`
   * @param config the listener settings
   * @returns the listener
   */
  static tcp(router: Router, address: string, config: ListenerOptions): Promise<BrokerListener> {
    const resolved = resolveListenerOptions(config, router.queueSize);
    const addr = parseAddress(address);
    if (addr.transport !== "tcp") throw new TypeError(`Cannot listen on "${address}": not host:port`);
    return Promise.resolve(new BrokerListener(router, listenTcp(addr), resolved));
  }
}
