/**
 * The transport seam on the accepting side: an {@linkcode Acceptor} is a
 * source of accepted byte streams ({@linkcode Link}s), each with the
 * {@linkcode AcceptedOrigin} the broker records for it (`client.list`) and
 * the {@linkcode PeerInfo} its access policy sees. The unix, TCP and TLS
 * acceptors live beside this file; a broker runs a session for every
 * accepted link of any acceptor (`broker.serveAcceptor(acceptor)`).
 *
 * @example A minimal acceptor over a Deno listener
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Acceptor } from "./acceptor.ts";
 * const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const acceptor: Acceptor = {
 *   bind: `127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
 *   async *[Symbol.asyncIterator]() {
 *     for await (const conn of server) {
 *       yield { link: conn, origin: { kind: "tcp", source: null, port: this.bind, peer: { ip: null } } };
 *     }
 *   },
 *   close: () => server.close(),
 * };
 * assert.match(acceptor.bind, /^127\.0\.0\.1:\d+$/);
 * acceptor.close();
 * ```
 *
 * @module
 */
import type { Link } from "./link.ts";

/**
 * The kind of an accepted connection, as `client.list` shows it: unix
 * sockets are `local_ipc`, TCP and TLS are `tcp`, WebSocket is `websocket`,
 * clients in Web Workers (a worker port or a broadcast channel) are `worker`.
 */
export type ConnectionKind = "local_ipc" | "tcp" | "websocket" | "worker";

/** Who is connecting, as far as the access policy (AAA) can tell. */
export interface PeerInfo {
  /** Peer IP address for TCP/WebSocket clients; null for unix sockets. */
  ip: string | null;
  /** Identities proven by a TLS client certificate (subject CN and DNS SANs). */
  certNames?: readonly string[];
}

/** Where an accepted connection comes from. */
export interface AcceptedOrigin {
  /** Client kind for `client.list`. */
  kind: ConnectionKind;
  /** Peer `ip:port` (IPv6 as `[addr]:port`), or null (unix sockets). */
  source: string | null;
  /** The listener's bind string, shown as `port` in `client.list`. */
  port: string;
  /** What the access policy sees. */
  peer: PeerInfo;
}

/** An accepted connection and where it came from. */
export interface Accepted {
  /** The byte stream. */
  link: Link;
  /** Kind, source and peer identity. */
  origin: AcceptedOrigin;
}

/**
 * A source of connections: a socket server or an adapter (TLS, WebSocket,
 * anything that yields {@linkcode Link}s). Iterating yields connections
 * until {@linkcode Acceptor.close} is called (the iteration then ends) or
 * the server fails (the iteration throws).
 */
export interface Acceptor extends AsyncIterable<Accepted> {
  /**
   * The bind string of the listener: a socket path, or `host:port` with the
   * actual port when port 0 was asked for.
   */
  readonly bind: string;
  /**
   * Stops accepting and releases the server (a unix acceptor removes its
   * socket file). Connections already yielded stay open. Calling it again
   * does nothing.
   */
  close(): void;
  /**
   * Resolves once, after `close()`, the acceptor has let go of everything
   * it holds: for a server that cannot stop without ending the connections
   * it handed out (the WebSocket acceptor's HTTP server), when the last of
   * them has ended. Absent: nothing to wait for. The broker waits for it
   * when it closes.
   */
  readonly finished?: Promise<void>;
}
