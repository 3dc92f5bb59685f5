/**
 * WebSocket listeners of a broker (`ws://host:port[/path]` and
 * `wss://host:port[/path]`): the socket side is the WebSocket acceptor of
 * `transport/ws_acceptor.ts`; this file works out its settings from the
 * listener's (the upgrade is bounded by `timeout`, messages by
 * `payloadLimit`) and checks what a WebSocket bind cannot do.
 *
 * @example A WebSocket listener with a token
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "../client/mod.ts";
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * const listener = await broker.serve("ws://127.0.0.1:0/bus", { token: "s3cret", timeout: 5 });
 * assert.match(listener.bind, /^ws:\/\/127\.0\.0\.1:\d+\/bus$/);
 * const client = await connect(listener.bind, { name: "app", token: "s3cret" });
 * assert.equal(broker.clientList()[0].kind, "websocket");
 * await assert.rejects(connect(listener.bind, { name: "intruder", token: "guess" }));
 * await client.close();
 * await broker.close();
 * ```
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { Acceptor } from "../transport/acceptor.ts";
import { parseAddress } from "../transport/address.ts";
import type { TlsOptions } from "../transport/tls_acceptor.ts";
import { listenWebSocket } from "../transport/ws_acceptor.ts";
import { type ListenerOptions, resolveListenerOptions } from "./listener_options.ts";

/** What a WebSocket listener adds to the {@linkcode ListenerOptions}. */
export interface WebSocketServeOptions {
  /**
   * Bearer token clients must present (`Authorization: Bearer …` or the
   * `token` query parameter), compared in constant time; a request without
   * it is refused with HTTP 401 before any BUS/RT byte. `ws://` and `wss://`
   * binds only. Default: none.
   */
  token?: string;
}

/**
 * Settings of a WebSocket listener: the usual {@linkcode ListenerOptions},
 * the token, and for `wss://` the certificate and key (client certificates
 * are not available: `Deno.serve` cannot request them).
 */
export type WebSocketListenerOptions = ListenerOptions & WebSocketServeOptions & Partial<TlsOptions>;

/** A WebSocket acceptor ready to be served. */
export interface WebSocketAcceptorPlan {
  /** The bound HTTP server. */
  acceptor: Acceptor;
  /** The listener options to serve it with. */
  config: ListenerOptions;
}

/**
 * Binds the HTTP server of a `ws://` or `wss://` bind. Used by
 * `broker.serveWebSocket` and `broker.serve`.
 *
 * @param address `ws://host:port[/path]` or `wss://host:port[/path]`
 * @param config listener settings, token, and for `wss://` the TLS material
 * @param queueSize the broker's default queue size
 * @param log where refusals and violations are logged (rate-limited)
 * @returns the acceptor and the options to serve it with
 * @throws {TypeError} for another kind of address, a path with a query, `wss://`
 *   without `cert` and `key`, TLS options on `ws://`, or client certificates asked for
 */
export async function openWebSocketAcceptor(
  address: string,
  config: WebSocketListenerOptions,
  queueSize: number,
  log: Logger,
): Promise<WebSocketAcceptorPlan> {
  const addr = parseAddress(address);
  const fail = (why: string) => new TypeError(`Cannot listen on "${address}": ${why}`);
  if (addr.transport !== "ws" && addr.transport !== "wss") throw fail("not ws://host:port[/path] or wss://…");
  if (/[?#]/.test(addr.path)) throw fail("a WebSocket bind's path cannot have a query or a fragment");
  const secure = addr.transport === "wss";
  const { cert, key } = config;
  if (secure && (cert === undefined || key === undefined)) {
    throw fail("a wss:// bind needs the cert and key options");
  }
  if (!secure && (cert !== undefined || key !== undefined || config.ca !== undefined)) {
    throw fail("TLS options need a wss:// (or tls://) bind");
  }
  if (config.requireClientCert === true || (secure && config.ca !== undefined)) {
    throw fail(
      "client certificates are not available on wss:// (Deno.serve cannot request them); use tls://",
    );
  }
  // checked before binding anything
  const resolved = resolveListenerOptions(config, queueSize);
  const batch = Math.max(resolved.bufSize, 65536);
  const acceptor = await listenWebSocket({
    hostname: addr.hostname,
    port: addr.port,
    path: addr.path,
    tls: secure ? { cert: cert!, key: key! } : undefined,
    token: config.token,
    upgradeTimeout: resolved.timeout,
    limits: {
      // a message is one batch of the client's writer: frames up to the payload limit plus a batch
      maxMessageSize: Math.min(resolved.payloadLimit, 0xffffffff) + 2 * batch,
      writeHighWater: Math.max(1024 * 1024, 4 * resolved.bufSize),
    },
    log,
  });
  const { token: _token, cert: _cert, key: _key, ...listener } = config;
  return { acceptor, config: listener };
}
