/**
 * The TCP acceptor: `TCP_NODELAY` on every connection, peers recorded as
 * `ip:port` (IPv6 as `[addr]:port`).
 *
 * @example Listen on a free loopback port
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenTcp } from "./tcp_acceptor.ts";
 * const acceptor = listenTcp({ hostname: "127.0.0.1", port: 0 });
 * assert.match(acceptor.bind, /^127\.0\.0\.1:[1-9]\d*$/);
 * acceptor.close();
 * ```
 *
 * @module
 */
import type { Accepted, Acceptor } from "./acceptor.ts";
import { formatHostPort } from "./address.ts";

/** Where {@linkcode listenTcp} listens. */
export interface TcpAcceptorOptions {
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  /** Port; 0 picks a free one (read `acceptor.bind`). */
  port: number;
}

/**
 * Listens on TCP.
 *
 * @param options host and port (a parsed `host:port` address fits)
 * @returns an acceptor yielding `tcp` connections; its `bind` has the actual port
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export function listenTcp(options: TcpAcceptorOptions): Acceptor {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  return new TcpAcceptor(listener);
}

class TcpAcceptor implements Acceptor {
  readonly bind: string;
  readonly #listener: Deno.TcpListener;
  #closed = false;

  constructor(listener: Deno.TcpListener) {
    const local = listener.addr as Deno.NetAddr;
    this.bind = formatHostPort(local.hostname, local.port);
    this.#listener = listener;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Accepted> {
    for await (const conn of this.#listener) {
      conn.setNoDelay(true);
      const peer = conn.remoteAddr as Deno.NetAddr;
      yield {
        link: conn,
        origin: {
          kind: "tcp",
          source: formatHostPort(peer.hostname, peer.port),
          port: this.bind,
          peer: { ip: peer.hostname },
        },
      };
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
  }
}
