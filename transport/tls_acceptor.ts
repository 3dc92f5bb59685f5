/**
 * The TLS acceptor, on `node:tls` because `Deno.listenTls` cannot request
 * client certificates. Each connection is adapted to a {@linkcode Link}
 * ({@linkcode NodeSocketLink}); with client certificates required, the
 * names the certificate proves (subject CN and DNS subject-alternative
 * names, read from its DER by `client_certificate.ts`; none for a CA
 * certificate) are passed on in `peer.certNames` for the access policy to
 * check.
 *
 * @example Accept TLS connections (needs a certificate and its key)
 * ```ts ignore
 * import { listenTls } from "./tls_acceptor.ts";
 * const acceptor = await listenTls({
 *   hostname: "0.0.0.0",
 *   port: 7778,
 *   cert: await Deno.readTextFile("server.crt"),
 *   key: await Deno.readTextFile("server.key"),
 * });
 * for await (const { link, origin } of acceptor) console.log(origin.source, link);
 * ```
 *
 * @module
 */
import type * as tls from "node:tls";
import type { Logger } from "../log/logger.ts";
import type { Accepted, Acceptor, PeerInfo } from "./acceptor.ts";
import { formatHostPort, TLS_SCHEME } from "./address.ts";
import { type CertificateReader, loadCertificateReader } from "./client_certificate.ts";
import { closeQuietly } from "./link.ts";
import { NodeSocketLink } from "./node_socket_link.ts";

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

/** Options of {@linkcode listenTls}. */
export interface TlsAcceptorOptions extends TlsOptions {
  /** Host name or IP address to listen on (IPv6 without brackets). */
  hostname: string;
  /** Port; 0 picks a free one (read `acceptor.bind`). */
  port: number;
  /** Seconds a client has to complete the TLS handshake. Default 1. */
  handshakeTimeout?: number;
  /** Bytes buffered per connection before reading from its socket pauses. Default 256 KiB. */
  highWaterMark?: number;
  /** Where failed handshakes are logged (debug). Default: nowhere. */
  log?: Logger;
}

const DEFAULT_HIGH_WATER = 256 * 1024;

/**
 * Listens for TLS connections. The server certificate is presented to every
 * client; with `requireClientCert`, a client without a certificate signed by
 * `ca` fails the handshake, and the names of a valid certificate are passed
 * on in `origin.peer.certNames` (without it, `certNames` is absent).
 *
 * @param options where to listen, and the TLS material
 * @returns an acceptor yielding `tcp` connections; its `bind` is `host:port` with the actual port
 * @throws {TypeError} for `requireClientCert` without `ca`, or a cert or key that is not text
 */
export async function listenTls(options: TlsAcceptorOptions): Promise<Acceptor> {
  const where = `${TLS_SCHEME}${formatHostPort(options.hostname, options.port)}`;
  const requireCert = options.requireClientCert ?? false;
  const ca = options.ca === undefined ? undefined : typeof options.ca === "string" ? [options.ca] : [
    ...options.ca,
  ];
  if (requireCert && (ca === undefined || ca.length === 0)) {
    throw new TypeError(`Cannot listen on "${where}": requireClientCert needs a ca`);
  }
  if (typeof options.cert !== "string" || typeof options.key !== "string") {
    throw new TypeError(`Cannot listen on "${where}": cert and key must be PEM text`);
  }
  // loaded on first use: embedders without TLS never pay for node:tls (nor for pkijs without client certificates)
  const { createServer } = await import("node:tls");
  const readCertificate = requireCert ? await loadCertificateReader() : null;
  const server = createServer({
    cert: options.cert,
    key: options.key,
    ca,
    requestCert: requireCert,
    rejectUnauthorized: requireCert,
    handshakeTimeout: (options.handshakeTimeout ?? 1) * 1000,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(options.port, options.hostname, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const local = server.address();
  const port = typeof local === "object" && local !== null ? local.port : options.port;
  const bind = formatHostPort(options.hostname, port);
  return new TlsAcceptor(server, bind, readCertificate, options.log ?? null, options.highWaterMark);
}

/**
 * The names a verified client certificate proves: read from its DER, none for
 * a CA certificate (logged) or a certificate that cannot be read.
 */
function provenNames(
  socket: tls.TLSSocket,
  read: CertificateReader,
  bind: string,
  log: Logger | null,
): string[] {
  const raw: unknown = socket.getPeerCertificate()?.raw;
  if (!(raw instanceof Uint8Array)) return [];
  const identity = read(raw);
  if (identity.isCa) {
    log?.warn(
      `${bind}: client presented a CA certificate (names ${JSON.stringify(identity.names)}); no name proven`,
    );
    return [];
  }
  return identity.names;
}

/** Turns `secureConnection` events into an async iterable of accepted links. */
class TlsAcceptor implements Acceptor {
  readonly bind: string;
  readonly #server: tls.Server;
  readonly #pending: Accepted[] = [];
  #wake: (() => void) | null = null;
  #closed = false;
  #failure: Error | null = null;

  constructor(
    server: tls.Server,
    bind: string,
    readCertificate: CertificateReader | null,
    log: Logger | null,
    highWater: number = DEFAULT_HIGH_WATER,
  ) {
    this.bind = bind;
    this.#server = server;
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      const link = new NodeSocketLink(socket, highWater);
      const ip = socket.remoteAddress ?? null;
      const peer: PeerInfo = { ip };
      if (readCertificate !== null) {
        // rejectUnauthorized already ended unverified handshakes; checked again as a guard
        peer.certNames = socket.authorized ? provenNames(socket, readCertificate, bind, log) : [];
      }
      this.#pending.push({
        link,
        origin: {
          kind: "tcp",
          source: ip === null ? null : formatHostPort(ip, socket.remotePort ?? 0),
          port: bind,
          peer,
        },
      });
      this.#notify();
    });
    server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      log?.debug(`${bind}: TLS handshake failed: ${err.message}`);
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
