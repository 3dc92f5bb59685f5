/**
 * A TLS listener with optional client certificates (mutual TLS), built on
 * `node:tls` because `Deno.listenTls` cannot request client certificates.
 * With certificates required, a client proves its name: the certificate's
 * subject CN or one of its DNS names must equal the client's primary name.
 *
 * @example
 * ```ts ignore
 * import { Broker, serveTls } from "./mod.ts";
 * const broker = new Broker();
 * await serveTls(broker, "0.0.0.0:7777", {
 *   cert: await Deno.readTextFile("/etc/busrt/server.crt"),
 *   key: await Deno.readTextFile("/etc/busrt/server.key"),
 *   ca: await Deno.readTextFile("/etc/busrt/clients-ca.crt"),
 *   requireClientCert: true,
 * });
 * ```
 *
 * @module
 */
import type * as tls from "node:tls";
import { closeQuietly } from "../transport/link.ts";
import type { Logger } from "../log/logger.ts";
import { parseAddress } from "../protocol/names.ts";
import { NodeSocketLink } from "../transport/node_socket_link.ts";
import type { AccessPolicy, ClientAcl, PeerInfo } from "./access_policy.ts";
import type { Broker } from "./broker.ts";
import type { Router } from "./router.ts";
import { type Accepted, type Acceptor, BrokerListener, formatHost } from "./listener.ts";
import { type ListenerOptions, resolveListenerOptions } from "./listener_options.ts";

/** The scheme of TLS binds: `tls://host:port`. */
export const TLS_SCHEME = "tls://";

/** TLS settings of a listener. PEM text, not file names. */
export interface TlsOptions {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /** CA certificate(s) that client certificates must chain to (PEM). */
  ca?: string | readonly string[];
  /**
   * Require a client certificate signed by `ca`, and require its subject CN
   * or a DNS subject-alternative name to equal the client's primary name.
   * Default false.
   */
  requireClientCert?: boolean;
}

/** Settings of a TLS listener: the usual {@linkcode ListenerOptions} plus {@linkcode TlsOptions}. */
export type TlsListenerOptions = ListenerOptions & TlsOptions;

/**
 * Listens for TLS connections on `host:port` (or `tls://host:port`; port 0
 * picks a free port, see `listener.bind`). Clients are of kind `tcp`.
 *
 * With `requireClientCert`, a client without a valid certificate fails the
 * TLS handshake, and a client whose certificate names do not include its
 * primary name is refused with ERR_ACCESS (0x79) — also when the listener
 * has no AAA map. Secondaries (`name%%x`) use their primary's certificate.
 *
 * @example
 * ```ts ignore
 * const listener = await serveTls(broker, "tls://127.0.0.1:0", { cert, key, ca, requireClientCert: true, policy: aaa });
 * console.log(listener.bind);
 * ```
 *
 * @throws {TypeError} for a bad address or `requireClientCert` without `ca`
 */
export function serveTls(
  broker: Broker,
  address: string,
  config: TlsListenerOptions,
): Promise<BrokerListener> {
  return broker.addListener((router) => listenTls(router, broker, address, config));
}

async function listenTls(
  router: Router,
  broker: Broker,
  address: string,
  config: TlsListenerOptions,
): Promise<BrokerListener> {
  const hostPort = address.startsWith(TLS_SCHEME) ? address.slice(TLS_SCHEME.length) : address;
  const addr = parseAddress(hostPort);
  if (addr.transport !== "tcp") throw new TypeError(`Cannot listen on "${address}": not host:port`);
  const requireCert = config.requireClientCert ?? false;
  const ca = config.ca === undefined
    ? undefined
    : typeof config.ca === "string"
    ? [config.ca]
    : [...config.ca];
  if (requireCert && (ca === undefined || ca.length === 0)) {
    throw new TypeError(`Cannot listen on "${address}": requireClientCert needs a ca`);
  }
  if (typeof config.cert !== "string" || typeof config.key !== "string") {
    throw new TypeError(`Cannot listen on "${address}": cert and key must be PEM text`);
  }
  const policy = requireCert
    ? certificateBoundPolicy(config.policy ?? null, broker.log)
    : config.policy ?? null;
  const resolved = resolveListenerOptions({ ...config, policy }, broker.queueSize);
  // loaded on first use: embedders without TLS never pay for node:tls
  const { createServer } = await import("node:tls");
  const server = createServer({
    cert: config.cert,
    key: config.key,
    ca,
    requestCert: requireCert,
    rejectUnauthorized: requireCert,
    handshakeTimeout: resolved.timeout * 1000,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(addr.port, addr.hostname, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const local = server.address();
  const port = typeof local === "object" && local !== null ? local.port : addr.port;
  const bind = `${formatHost(addr.hostname)}:${port}`;
  const acceptor = new TlsAcceptor(server, bind, requireCert, broker.log, resolved.bufSize);
  return new BrokerListener(router, bind, resolved, acceptor);
}

/**
 * Wraps a policy so that a client is admitted only when the names proven by
 * its TLS certificate include its primary name; then `inner` (if any) decides.
 *
 * @example
 * ```ts
 * import { certificateBoundPolicy } from "./tls_listener.ts";
 * const policy = certificateBoundPolicy(null);
 * console.assert(policy.authorize("app", { ip: "127.0.0.1", certNames: ["app"] }) !== null);
 * console.assert(policy.authorize("app", { ip: "127.0.0.1", certNames: ["other"] }) === null);
 * ```
 */
export function certificateBoundPolicy(inner: AccessPolicy | null, log?: Logger): AccessPolicy {
  return {
    authorize(primary: string, peer: PeerInfo): ClientAcl | null {
      const names = peer.certNames ?? [];
      if (!names.includes(primary)) {
        log?.warn(
          `client "${primary}" refused: its certificate names ${JSON.stringify(names)} do not include it`,
        );
        return null;
      }
      return inner === null ? ALLOW_ALL : inner.authorize(primary, peer);
    },
  };
}

const ALLOW_ALL: ClientAcl = {
  allowP2p: () => true,
  allowPublish: () => true,
  allowSubscribe: () => true,
  allowBroadcast: () => true,
};

/**
 * The subject CN(s) and DNS subject-alternative names of a peer certificate
 * as returned by `TLSSocket.getPeerCertificate()`.
 */
export function certificateNames(cert: { subject?: unknown; subjectaltname?: unknown } | null): string[] {
  const names: string[] = [];
  if (cert === null) return names;
  const subject = cert.subject as Record<string, unknown> | undefined;
  const cn = subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) { for (const v of cn) if (typeof v === "string") names.push(v); }
  if (typeof cert.subjectaltname === "string") {
    for (const [type, value] of altNameEntries(cert.subjectaltname)) if (type === "DNS") names.push(value);
  }
  return names;
}

/**
 * Splits Node's `subjectaltname` text (`DNS:a, IP Address:1.2.3.4`) into
 * `[type, value]` pairs. Node writes values with special characters as JSON
 * strings, which may contain ", ".
 */
function altNameEntries(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon === -1) break;
    const type = text.slice(i, colon);
    let j = colon + 1;
    let value: string | null;
    if (text[j] === '"') {
      let k = j + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(j, k + 1));
      } catch {
        value = null;
      }
      j = k + 1;
    } else {
      const comma = text.indexOf(", ", j);
      j = comma === -1 ? text.length : comma;
      value = text.slice(colon + 1, j);
    }
    if (typeof value === "string") out.push([type, value]);
    if (text.startsWith(", ", j)) j += 2;
    if (j <= i) break;
    i = j;
  }
  return out;
}

/** Turns `secureConnection` events into an async iterable of accepted links. */
class TlsAcceptor implements Acceptor {
  readonly #server: tls.Server;
  readonly #pending: Accepted[] = [];
  #wake: (() => void) | null = null;
  #closed = false;
  #failure: Error | null = null;

  constructor(server: tls.Server, bind: string, requireCert: boolean, log: Logger, bufSize: number) {
    this.#server = server;
    const highWater = Math.max(bufSize * 4, 256 * 1024);
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const link = new NodeSocketLink(socket, highWater);
      const ip = socket.remoteAddress ?? null;
      const peer: PeerInfo = { ip };
      if (requireCert) {
        // rejectUnauthorized already ended unverified handshakes; checked again as a guard
        peer.certNames = socket.authorized ? certificateNames(socket.getPeerCertificate()) : [];
      }
      this.#pending.push({
        link,
        origin: {
          kind: "tcp",
          source: ip === null ? null : `${formatHost(ip)}:${socket.remotePort}`,
          port: bind,
          peer,
        },
      });
      this.#notify();
    });
    server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      log.debug(`${bind}: TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
    server.on("error", (err: Error) => {
      this.#failure = err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Accepted> {
    for (;;) {
      while (this.#pending.length > 0 && !this.#closed) yield this.#pending.shift()!;
      if (this.#closed) return;
      if (this.#failure !== null) throw this.#failure;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#pending.splice(0)) closeQuietly(a.link);
    this.#server.close();
    this.#notify();
  }
}
