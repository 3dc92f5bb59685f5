/**
 * WebSocket for the IPC client: a `dial` factory for `connect` that opens
 * `ws://` or `wss://` with the standard `WebSocket` API, in Deno or in a
 * browser. A token goes as `Authorization: Bearer …` where the runtime can
 * set headers (Deno), else as the `token` query parameter (browsers).
 *
 * @example Dial a WebSocket server
 * ```ts
 * import assert from "node:assert/strict";
 * import { webSocketDial } from "./ws_dial.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   assert.equal(req.headers.get("authorization"), "Bearer s3cret");
 *   return Deno.upgradeWebSocket(req).response;
 * });
 * const link = await webSocketDial({ token: "s3cret" })(`ws://127.0.0.1:${server.addr.port}/bus`);
 * link.close();
 * await assert.rejects(webSocketDial()("127.0.0.1:1"), TypeError);
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { AddressError, formatHostPort, parseAddress } from "./address.ts";
import type { Link } from "./link.ts";
import { TOKEN_QUERY_PARAMETER } from "./ws_token.ts";
import { WebSocketLink, type WebSocketLinkOptions } from "./ws_link.ts";

/** Options of {@linkcode webSocketDial}. */
export interface WebSocketDialOptions {
  /** Bearer token for brokers (or proxies) that require one. */
  token?: string;
  /**
   * How the token travels: `header` (`Authorization: Bearer`, Deno only) or
   * `query` (`?token=`, what browsers can do). Default: `header` in Deno,
   * `query` elsewhere.
   */
  tokenIn?: "header" | "query";
  /**
   * CA certificates (PEM) trusted for a `wss://` broker's certificate, in
   * addition to the system roots. Deno only (a browser trusts its own store).
   */
  caCerts?: readonly string[];
  /** Message and buffer limits of the connection. */
  limits?: Omit<WebSocketLinkOptions, "onViolation">;
}

/** The `Deno` namespace when running in Deno, else null; looked up on use. */
function denoRuntime(): typeof Deno | null {
  return (globalThis as { Deno?: typeof Deno }).Deno ?? null;
}

/**
 * The URL a `ws://` or `wss://` address stands for, with the token as a
 * query parameter when it goes there.
 *
 * @example A bus address with a token in the query
 * ```ts
 * import assert from "node:assert/strict";
 * import { webSocketUrl } from "./ws_dial.ts";
 * assert.equal(webSocketUrl("ws://[::1]:8080/bus?x=1", "t k"), "ws://[::1]:8080/bus?x=1&token=t+k");
 * assert.equal(webSocketUrl("wss://bus.local:8443"), "wss://bus.local:8443/");
 * ```
 *
 * @param address `ws://host[:port][/path]` or `wss://…`
 * @param queryToken a token to add as the `token` query parameter
 * @returns the URL
 * @throws {AddressError} (a `TypeError`) for another kind of address
 */
export function webSocketUrl(address: string, queryToken?: string): string {
  const addr = parseAddress(address);
  if (addr.transport !== "ws" && addr.transport !== "wss") {
    throw new AddressError(address, "cannot dial WebSocket: not ws://host[:port][/path] or wss://…");
  }
  const url = new URL(`${addr.transport}://${formatHostPort(addr.hostname, addr.port)}${addr.path}`);
  if (queryToken !== undefined) url.searchParams.set(TOKEN_QUERY_PARAMETER, queryToken);
  return url.href;
}

/**
 * Creates a `dial` function for `connect`: the address is `ws://…` or
 * `wss://…`. It resolves once the socket is open; an upgrade the server
 * refuses (401, 404, 426…) rejects it. The client's secondaries dial the
 * same way.
 *
 * @param options token, trusted CAs and limits
 * @returns the dial function; it rejects with an `AddressError` (a `TypeError`)
 *   for an address that is not `ws://` or `wss://`
 */
export function webSocketDial(options: WebSocketDialOptions = {}): (address: string) => Promise<Link> {
  return async (address: string): Promise<Link> => {
    const deno = denoRuntime();
    const tokenIn = options.tokenIn ?? (deno === null ? "query" : "header");
    const token = options.token;
    const url = webSocketUrl(address, tokenIn === "query" ? token : undefined);
    let ws: WebSocket;
    let client: Deno.HttpClient | undefined;
    if (deno === null) {
      ws = new WebSocket(url);
    } else {
      const headers = token !== undefined && tokenIn === "header"
        ? { authorization: `Bearer ${token}` }
        : undefined;
      if (options.caCerts !== undefined) client = deno.createHttpClient({ caCerts: [...options.caCerts] });
      ws = new WebSocket(url, { headers, client });
    }
    const link = new WebSocketLink(ws, options.limits);
    try {
      await link.opened;
    } finally {
      // the upgraded connection no longer needs the client that made it
      client?.close();
    }
    return link;
  };
}
