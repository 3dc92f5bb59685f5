/**
 * The WebSocket acceptor (`ws://` and `wss://` binds): Deno's HTTP server
 * (`Deno.serve`) answers the upgrade with `Deno.upgradeWebSocket`, and each
 * open socket becomes a {@linkcode WebSocketLink} that carries the BUS/RT
 * byte stream (docs/PROTOCOL.md §18).
 *
 * Before any BUS/RT byte:
 * - a request for another path than the configured one gets 404 (with no
 *   path, or `/`, every path is accepted, as in the reference);
 * - with a token, a request without it (`Authorization: Bearer …`, or a
 *   `token` query parameter) gets 401;
 * - a plain HTTP request (no WebSocket upgrade) gets 426;
 * - a socket that is not open within `upgradeTimeout` is closed.
 *
 * Closing the acceptor stops upgrading at once (503), and leaves the
 * connections it yielded open, as other acceptors do; since `Deno.serve`
 * cannot stop without closing the WebSockets it upgraded, the server (and
 * its port) goes when the last of them has ended (`finished`).
 *
 * Connections are of kind `websocket`, with the peer `ip:port` as source and
 * the peer IP for the access policy. `wss://` takes the listener's
 * certificate and key; `Deno.serve` cannot ask for client certificates.
 *
 * @example Accept one WebSocket connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenWebSocket } from "./ws_acceptor.ts";
 * import { WebSocketLink } from "./ws_link.ts";
 * const acceptor = await listenWebSocket({ hostname: "127.0.0.1", port: 0 });
 * assert.match(acceptor.url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
 * const client = new WebSocketLink(new WebSocket(acceptor.url));
 * for await (const { link, origin } of acceptor) {
 *   assert.equal(origin.kind, "websocket");
 *   assert.equal(origin.peer.ip, "127.0.0.1");
 *   link.close();
 *   break;
 * }
 * client.close();
 * acceptor.close();
 * await acceptor.finished;
 * ```
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { WarningLimiter } from "../log/warning_limiter.ts";
import { AcceptQueue } from "./accept_queue.ts";
import type { Accepted, AcceptedOrigin, Acceptor } from "./acceptor.ts";
import { formatHostPort } from "./address.ts";
import { closeQuietly } from "./link.ts";
import { WebSocketLink, type WebSocketLinkOptions } from "./ws_link.ts";
import { TokenCheck } from "./ws_token.ts";

/** Options of {@linkcode listenWebSocket}. */
export interface WebSocketAcceptorOptions {
  /** Host name or IP address to listen on (IPv6 without brackets). */
  hostname: string;
  /** Port; 0 picks a free one (read `acceptor.url`). */
  port: number;
  /** The only request path upgraded (e.g. `/bus`); absent, null or `/`: any path. */
  path?: string | null;
  /** Certificate chain and key (PEM) for `wss://`; absent: plain `ws://`. */
  tls?: { cert: string; key: string };
  /** Bearer token clients must present; absent: none. */
  token?: string;
  /** Seconds from the upgrade request to the open socket. Default 1. */
  upgradeTimeout?: number;
  /** Message and buffer limits of each connection. */
  limits?: Omit<WebSocketLinkOptions, "onViolation">;
  /** Where refusals (rate-limited) and failed upgrades (debug) are logged. Default: nowhere. */
  log?: Logger;
}

/** A WebSocket acceptor: an {@linkcode Acceptor} with its URL and the end of its server. */
export interface WebSocketAcceptor extends Acceptor {
  /** `ws://host:port/path` (or `wss://`) with the actual port: what clients connect to. */
  readonly url: string;
  /**
   * Resolves when the HTTP server has stopped: after `close()`, once the
   * last connection it upgraded has ended (until then it answers 503 and
   * keeps its port).
   */
  readonly finished: Promise<void>;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * Listens for WebSocket connections.
 *
 * @param options where to listen, TLS, token, path and limits
 * @returns the acceptor; its `bind` and `url` are `ws://host:port/path` (or
 *   `wss://`) with the actual port: what clients dial, and what `client.list`
 *   shows as `port` (the reference shows `host:port` there)
 * @throws {TypeError} for an empty token or a path not starting with `/`
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export async function listenWebSocket(options: WebSocketAcceptorOptions): Promise<WebSocketAcceptor> {
  const path = options.path === undefined || options.path === null || options.path === "/"
    ? null
    : options.path;
  if (path !== null && !path.startsWith("/")) {
    throw new TypeError(`Invalid WebSocket path "${path}": must start with /`);
  }
  const tokenCheck = options.token === undefined ? null : await TokenCheck.of(options.token);
  const upgradeMs = (options.upgradeTimeout ?? 1) * 1000;
  const log = options.log ?? null;
  const warnings = log === null ? null : new WarningLimiter(log);
  const abort = new AbortController();
  // Deno's HTTP server cannot stop without closing the WebSockets it upgraded:
  // after close() it answers 503 and stops once the last of them has ended
  const live = new Set<WebSocketLink>();
  let closing = false;
  const stopWhenIdle = () => {
    if (closing && live.size === 0) abort.abort();
  };
  let queue: AcceptQueue | null = null;
  let origin = (_source: string, _ip: string): AcceptedOrigin => {
    throw new Error("not listening yet");
  };
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: abort.signal,
    onListen() {},
    onError(err) {
      log?.debug(`WebSocket listener: request failed: ${err}`);
      return new Response("Internal Server Error\n", { status: 500, headers: TEXT });
    },
    ...(options.tls === undefined ? {} : { cert: options.tls.cert, key: options.tls.key }),
  }, async (request, info) => {
    const peer = info.remoteAddr;
    const source = formatHostPort(peer.hostname, peer.port);
    if (queue === null || closing) {
      return new Response("Service Unavailable\n", {
        status: 503,
        headers: { ...TEXT, connection: "close" },
      });
    }
    if (path !== null && new URL(request.url).pathname !== path) {
      return new Response("Not Found\n", { status: 404, headers: TEXT });
    }
    if (tokenCheck !== null && !(await tokenCheck.admits(request))) {
      warnings?.warn(
        "websocket token",
        `${bind}: WebSocket upgrade from ${source} refused: wrong or missing token`,
      );
      return new Response("Unauthorized: a bearer token is required\n", {
        status: 401,
        headers: { ...TEXT, "www-authenticate": 'Bearer realm="busrt"' },
      });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        "Upgrade Required: this is a BUS/RT WebSocket endpoint; connect with a WebSocket\n",
        {
          status: 426,
          headers: { ...TEXT, upgrade: "websocket", connection: "Upgrade" },
        },
      );
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    } catch (err) {
      log?.debug(
        `${bind}: bad WebSocket upgrade from ${source}: ${err instanceof Error ? err.message : err}`,
      );
      return new Response("Bad Request: not a valid WebSocket upgrade\n", { status: 400, headers: TEXT });
    }
    const link = new WebSocketLink(upgraded.socket, {
      ...options.limits,
      onViolation: (_violation, detail) =>
        warnings?.warn("websocket violation", `${bind}: ${source} sent ${detail}; connection closed`),
    });
    live.add(link);
    link.ended.then(() => {
      live.delete(link);
      stopWhenIdle();
    });
    const accepted: Accepted = { link, origin: origin(source, peer.hostname) };
    const timer = setTimeout(() => {
      log?.debug(`${bind}: WebSocket from ${source} not open within the timeout; closed`);
      closeQuietly(link);
    }, upgradeMs);
    link.opened.then(() => queue?.push(accepted), () => {}).finally(() => clearTimeout(timer));
    return upgraded.response;
  });
  const url = `${options.tls === undefined ? "ws" : "wss"}://${
    formatHostPort(options.hostname, server.addr.port)
  }${path ?? "/"}`;
  const bind = url;
  origin = (source, ip) => ({ kind: "websocket", source, port: bind, peer: { ip } });
  queue = new AcceptQueue(bind, () => {
    closing = true;
    warnings?.flush();
    stopWhenIdle();
  });
  const finished = server.finished.catch(() => {});
  const accepting = queue;
  return {
    bind,
    url,
    finished,
    [Symbol.asyncIterator]: () => accepting[Symbol.asyncIterator](),
    close: () => accepting.close(),
  };
}
