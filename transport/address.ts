/**
 * The one address grammar of BUS/RT: every listener bind and every client
 * address is parsed here into a typed {@linkcode BusAddress}.
 *
 * | Form                         | Parsed as                                        |
 * | ---------------------------- | ------------------------------------------------ |
 * | `/run/busrt.sock`, `bus.ipc` | `{ transport: "unix", path }`                    |
 * | `127.0.0.1:7777`, `[::1]:1`  | `{ transport: "tcp", hostname, port }`           |
 * | `tls://host:port`            | `{ transport: "tls", hostname, port }`           |
 * | `ws://host[:port][/path]`    | `{ transport: "ws", hostname, port, path }`      |
 * | `wss://host[:port][/path]`   | `{ transport: "wss", hostname, port, path }`     |
 * | `fifo:PATH`                  | `{ transport: "fifo", path }`                    |
 *
 * A unix socket is classified as the reference tools do (docs/PROTOCOL.md §2): a
 * path starting with `/`, or ending with `.sock`, `.socket` or `.ipc`.
 * Anything else of the form `scheme://…` with another scheme is refused
 * with one {@linkcode AddressError} naming the accepted forms. IPv6 hosts
 * are written in brackets (`[::1]:7777`); the brackets are not part of
 * `hostname`.
 *
 * @example Classify binds and client addresses
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddress, parseAddress } from "./address.ts";
 * assert.deepEqual(parseAddress("/tmp/busrt.sock"), { transport: "unix", path: "/tmp/busrt.sock" });
 * assert.deepEqual(parseAddress("tls://[::1]:7778"), { transport: "tls", hostname: "::1", port: 7778 });
 * assert.equal(formatAddress(parseAddress("tls://[::1]:7778")), "tls://[::1]:7778");
 * ```
 *
 * @module
 */

/** The scheme prefix of TLS addresses: `tls://host:port`. */
export const TLS_SCHEME = "tls://";
/** The scheme prefix of WebSocket addresses: `ws://host[:port][/path]`. */
export const WS_SCHEME = "ws://";
/** The scheme prefix of WebSocket-over-TLS addresses: `wss://host[:port][/path]`. */
export const WSS_SCHEME = "wss://";
/** The prefix of FIFO binds: `fifo:PATH` (PROTOCOL.md §16.4). */
export const FIFO_PREFIX = "fifo:";
/** File name endings that make a relative path a unix socket. */
export const UNIX_SOCKET_SUFFIXES: readonly string[] = [".sock", ".socket", ".ipc"];

/** Every accepted form, as error messages and help texts name them. */
export const ADDRESS_FORMS: string =
  "a unix socket path (starting with / or ending .sock, .socket, .ipc), host:port, [v6]:port, " +
  "tls://host:port, ws://host[:port][/path], wss://host[:port][/path] or fifo:PATH";

/** A unix stream socket. */
export interface UnixAddress {
  /** Discriminant. */
  transport: "unix";
  /** Socket file path, as written. */
  path: string;
}

/** Plain TCP `host:port`. */
export interface TcpAddress {
  /** Discriminant. */
  transport: "tcp";
  /** Host name or IP address; IPv6 without brackets. */
  hostname: string;
  /** Port 0..65535 (0: any free port, for binds). */
  port: number;
}

/** TLS over TCP: `tls://host:port`. */
export interface TlsAddress {
  /** Discriminant. */
  transport: "tls";
  /** Host name or IP address; IPv6 without brackets. */
  hostname: string;
  /** Port 0..65535. */
  port: number;
}

/** WebSocket (`ws://`) or WebSocket over TLS (`wss://`). */
export interface WebSocketAddress {
  /** Discriminant. */
  transport: "ws" | "wss";
  /** Host name or IP address; IPv6 without brackets. */
  hostname: string;
  /** Port 0..65535; 80 (`ws`) or 443 (`wss`) when the address has none. */
  port: number;
  /** Request path, starting with `/`; `/` when the address has none. */
  path: string;
}

/** A named pipe of broker commands: `fifo:PATH`. */
export interface FifoAddress {
  /** Discriminant. */
  transport: "fifo";
  /** FIFO file path. */
  path: string;
}

/** A parsed bind or client address. */
export type BusAddress = UnixAddress | TcpAddress | TlsAddress | WebSocketAddress | FifoAddress;

/** The kinds of {@linkcode BusAddress}. */
export type AddressTransport = BusAddress["transport"];

/** Options of {@linkcode AddressError}. */
export interface AddressErrorOptions {
  /**
   * The address is well-formed but of a kind that is not accepted (an
   * unknown scheme, or one this side does not serve yet). Default false.
   */
  unsupported?: boolean;
}

/**
 * A bind or address that cannot be used. The message is
 * `Invalid address "<address>": <reason>` (or `Unsupported address …` when
 * {@linkcode AddressError.unsupported} is set), so callers can also
 * rephrase it from `address` and `reason`.
 *
 * @example Tell a bad port from an unknown scheme
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressError, parseAddress } from "./address.ts";
 * assert.throws(() => parseAddress("127.0.0.1:99999"), (err: unknown) => {
 *   assert.ok(err instanceof AddressError && err instanceof TypeError);
 *   assert.equal(err.unsupported, false);
 *   assert.match(err.reason, /port "99999"/);
 *   return true;
 * });
 * assert.throws(() => parseAddress("http://x:1"), (err: unknown) => err instanceof AddressError && err.unsupported);
 * ```
 */
export class AddressError extends TypeError {
  /** The address as given. */
  readonly address: string;
  /** What is wrong with it, without the address. */
  readonly reason: string;
  /** Whether the address is of an unknown or unserved kind rather than malformed. */
  readonly unsupported: boolean;

  /**
   * Creates the error.
   *
   * @param address the address as given
   * @param reason what is wrong with it
   * @param options whether it is unsupported rather than malformed
   */
  constructor(address: string, reason: string, options: AddressErrorOptions = {}) {
    const unsupported = options.unsupported ?? false;
    super(`${unsupported ? "Unsupported" : "Invalid"} address "${address}": ${reason}`);
    this.name = "AddressError";
    this.address = address;
    this.reason = reason;
    this.unsupported = unsupported;
  }
}

const PLAIN_FORM =
  "neither a unix socket path (starting with / or ending .sock, .socket, .ipc) nor host:port";
const SCHEME_SEPARATOR = "://";
const SCHEME_NAME = /^[a-zA-Z][a-zA-Z0-9+.-]*$/;
const BAD_HOST_CHARS = /[\s/\\[\]@?#]/;

/**
 * Parses a bind or a client address (see the module documentation for the
 * forms).
 *
 * @example Parse a TLS bind
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddress } from "./address.ts";
 * const addr = parseAddress("tls://0.0.0.0:7778");
 * assert.equal(addr.transport, "tls");
 * assert.ok(addr.transport === "tls" && addr.port === 7778 && addr.hostname === "0.0.0.0");
 * ```
 *
 * @example Every form
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddress } from "./address.ts";
 * assert.deepEqual(parseAddress("rel/bus.sock"), { transport: "unix", path: "rel/bus.sock" });
 * assert.deepEqual(parseAddress("127.0.0.1:7777"), { transport: "tcp", hostname: "127.0.0.1", port: 7777 });
 * assert.deepEqual(parseAddress("[::1]:7777"), { transport: "tcp", hostname: "::1", port: 7777 });
 * assert.deepEqual(parseAddress("ws://bus.local:8080/ipc"), {
 *   transport: "ws",
 *   hostname: "bus.local",
 *   port: 8080,
 *   path: "/ipc",
 * });
 * assert.deepEqual(parseAddress("wss://bus.local"), { transport: "wss", hostname: "bus.local", port: 443, path: "/" });
 * assert.deepEqual(parseAddress("fifo:/run/busrt.fifo"), { transport: "fifo", path: "/run/busrt.fifo" });
 * ```
 *
 * @example Errors name what is wrong
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddress } from "./address.ts";
 * assert.throws(() => parseAddress("localhost"), /missing port/);
 * assert.throws(() => parseAddress("ftp://x:21"), /unknown scheme "ftp:\/\/"; expected a unix socket path/);
 * ```
 *
 * @param address a unix socket path, `host:port`, `[v6]:port`, `tls://host:port`,
 *   `ws://host[:port][/path]`, `wss://host[:port][/path]` or `fifo:PATH`
 * @returns the parsed address
 * @throws {AddressError} (a `TypeError`) for a malformed address or an unknown scheme
 */
export function parseAddress(address: string): BusAddress {
  if (typeof address !== "string") {
    throw new AddressError(String(address), `expected a string, got ${typeof address}`);
  }
  // an absolute path is a path, whatever it contains
  if (address.startsWith("/")) return { transport: "unix", path: address };
  const sep = address.indexOf(SCHEME_SEPARATOR);
  if (sep !== -1) return parseSchemeAddress(address, sep);
  if (address.slice(0, FIFO_PREFIX.length).toLowerCase() === FIFO_PREFIX) {
    const path = address.slice(FIFO_PREFIX.length);
    if (path === "") throw new AddressError(address, "not fifo:PATH (empty path)");
    return { transport: "fifo", path };
  }
  if (UNIX_SOCKET_SUFFIXES.some((s) => address.endsWith(s))) return { transport: "unix", path: address };
  const { hostname, port } = parseHostPort(address, address, PLAIN_FORM, null);
  return { transport: "tcp", hostname, port };
}

function parseSchemeAddress(address: string, sep: number): BusAddress {
  const name = address.slice(0, sep);
  const scheme = SCHEME_NAME.test(name) ? name.toLowerCase() : null;
  const rest = address.slice(sep + SCHEME_SEPARATOR.length);
  if (scheme === "tls") {
    const { hostname, port } = parseHostPort(address, rest, "not tls://host:port", null);
    return { transport: "tls", hostname, port };
  }
  if (scheme === "ws" || scheme === "wss") {
    const slash = rest.indexOf("/");
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? "/" : rest.slice(slash);
    const form = `not ${scheme}://host[:port][/path]`;
    const { hostname, port } = parseHostPort(address, authority, form, scheme === "ws" ? 80 : 443);
    return { transport: scheme, hostname, port, path };
  }
  throw new AddressError(address, `unknown scheme "${name}://"; expected ${ADDRESS_FORMS}`, {
    unsupported: true,
  });
}

/** Splits `host:port` or `[v6]:port`; `defaultPort` null means the port is required. */
function parseHostPort(
  address: string,
  text: string,
  form: string,
  defaultPort: number | null,
): { hostname: string; port: number } {
  const fail = (what: string): never => {
    throw new AddressError(address, `${form} (${what})`);
  };
  if (text === "") fail("empty");
  let hostname: string;
  let portText: string | null;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) fail("no ] after the IPv6 host");
    hostname = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after === "") portText = null;
    else if (after.startsWith(":")) portText = after.slice(1);
    else portText = fail(`unexpected "${after}" after the IPv6 host`);
    if (hostname !== "" && !hostname.includes(":")) fail(`"[${hostname}]" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    hostname = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? null : text.slice(colon + 1);
    if (hostname.includes(":")) fail("an IPv6 host must be in brackets, e.g. [::1]:7777");
  }
  if (hostname === "") fail("empty host");
  if (BAD_HOST_CHARS.test(hostname)) fail(`invalid host "${hostname}"`);
  if (portText === null || portText === "") {
    if (defaultPort === null) fail("missing port");
    return { hostname, port: defaultPort! };
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port <= 65535)) fail(`port "${portText}" is not 0 to 65535`);
  return { hostname, port };
}

/**
 * A host for `host:port` text: IPv6 addresses in brackets, anything else as is.
 *
 * @example Bracket an IPv6 address
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHost } from "./address.ts";
 * assert.equal(formatHost("::1"), "[::1]");
 * assert.equal(formatHost("127.0.0.1"), "127.0.0.1");
 * ```
 *
 * @param hostname a host name or IP address (IPv6 without brackets)
 * @returns the host, bracketed when it is an IPv6 address
 */
export function formatHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * `host:port`, with an IPv6 host in brackets.
 *
 * @example Join a host and a port
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHostPort } from "./address.ts";
 * assert.equal(formatHostPort("::1", 7777), "[::1]:7777");
 * assert.equal(formatHostPort("0.0.0.0", 0), "0.0.0.0:0");
 * ```
 *
 * @param hostname a host name or IP address (IPv6 without brackets)
 * @param port the port
 * @returns the `host:port` text that {@linkcode parseAddress} reads back
 */
export function formatHostPort(hostname: string, port: number): string {
  return `${formatHost(hostname)}:${port}`;
}

/**
 * The canonical text of an address; {@linkcode parseAddress} reads it back
 * to an equal value. WebSocket addresses always carry their port and path.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddress, parseAddress } from "./address.ts";
 * assert.equal(formatAddress({ transport: "tcp", hostname: "::1", port: 7777 }), "[::1]:7777");
 * assert.equal(formatAddress(parseAddress("wss://bus.local")), "wss://bus.local:443/");
 * assert.equal(formatAddress(parseAddress("fifo:/run/busrt.fifo")), "fifo:/run/busrt.fifo");
 * ```
 *
 * @param address a parsed address
 * @returns its text form
 */
export function formatAddress(address: BusAddress): string {
  switch (address.transport) {
    case "unix":
      return address.path;
    case "fifo":
      return `${FIFO_PREFIX}${address.path}`;
    case "tcp":
      return formatHostPort(address.hostname, address.port);
    case "tls":
      return `${TLS_SCHEME}${formatHostPort(address.hostname, address.port)}`;
    case "ws":
    case "wss":
      return `${address.transport}://${formatHostPort(address.hostname, address.port)}${address.path}`;
  }
}
