/**
 * TLS listeners of a broker with optional client certificates (mutual TLS).
 * The socket side (the `node:tls` server, the link adapter, reading the
 * client certificate) is the TLS acceptor of `transport/tls_acceptor.ts`;
 * this file adds the broker's part: with certificates required, a client
 * proves its name — the certificate's subject CN or one of its DNS names
 * must equal the client's primary name.
 *
 * @example Require client certificates (needs the PEM files)
 * ```ts ignore
 * import { Broker } from "./mod.ts";
 * const broker = new Broker();
 * await broker.serve("tls://0.0.0.0:7777", {
 *   cert: await Deno.readTextFile("/etc/busrt/server.crt"),
 *   key: await Deno.readTextFile("/etc/busrt/server.key"),
 *   ca: await Deno.readTextFile("/etc/busrt/clients-ca.crt"),
 *   requireClientCert: true,
 * });
 * ```
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { parseAddress, TLS_SCHEME } from "../transport/address.ts";
import { listenTls, type TlsOptions } from "../transport/tls_acceptor.ts";
import type { AccessPolicy, ClientAcl, PeerInfo } from "./access_policy.ts";
import type { Acceptor } from "../transport/acceptor.ts";
import { type ListenerOptions, resolveListenerOptions } from "./listener_options.ts";
import type { WebSocketServeOptions } from "./ws_listener.ts";

export { TLS_SCHEME };
export { type TlsOptions } from "../transport/tls_acceptor.ts";
export {
  type CertificateIdentity,
  type CertificateReader,
  loadCertificateReader,
} from "../transport/client_certificate.ts";

/** Settings of a TLS listener: the usual {@linkcode ListenerOptions} plus {@linkcode TlsOptions}. */
export type TlsListenerOptions = ListenerOptions & TlsOptions;

/**
 * Settings of `broker.serve(bind, options)`: the {@linkcode ListenerOptions}
 * of every bind, plus the {@linkcode TlsOptions} that `tls://` and `wss://`
 * binds need (`cert` and `key` required there; ignored by unix and TCP
 * binds), and the token of `ws://` and `wss://` binds.
 */
export type ServeOptions = ListenerOptions & Partial<TlsOptions> & WebSocketServeOptions;

/** A TLS acceptor ready to be served, and the access policy its listener must use. */
export interface TlsAcceptorPlan {
  /** The bound TLS server. */
  acceptor: Acceptor;
  /** The listener options, with the policy bound to client certificates when they are required. */
  config: ListenerOptions;
}

/**
 * Binds a TLS server for `tls://host:port` (or `host:port`) and works out
 * the listener options the broker must serve it with. Used by
 * `broker.serveTls` and `broker.serve`.
 *
 * @param address `tls://host:port` or `host:port`
 * @param config listener and TLS settings
 * @param queueSize the broker's default queue size
 * @param log where TLS handshake failures are logged
 * @returns the acceptor and the options to serve it with
 * @throws {TypeError} for a bad address or `requireClientCert` without `ca`
 */
export async function openTlsAcceptor(
  address: string,
  config: TlsListenerOptions,
  queueSize: number,
  log: Logger,
): Promise<TlsAcceptorPlan> {
  const addr = parseAddress(address);
  if (addr.transport !== "tls" && addr.transport !== "tcp") {
    throw new TypeError(`Cannot listen on "${address}": not ${TLS_SCHEME}host:port`);
  }
  // checked before binding anything
  const resolved = resolveListenerOptions(config, queueSize);
  const requireCert = config.requireClientCert ?? false;
  const policy = requireCert ? certificateBoundPolicy(config.policy ?? null, log) : config.policy ?? null;
  const acceptor = await listenTls({
    hostname: addr.hostname,
    port: addr.port,
    cert: config.cert,
    key: config.key,
    ca: config.ca,
    requireClientCert: requireCert,
    handshakeTimeout: resolved.timeout,
    highWaterMark: Math.max(resolved.bufSize * 4, 256 * 1024),
    log,
  });
  return { acceptor, config: { ...config, policy } };
}

/**
 * Wraps a policy so that a client is admitted only when the names proven by
 * its TLS certificate include its primary name; then `inner` (if any) decides.
 *
 * @example Admit a name only with its certificate
 * ```ts
 * import assert from "node:assert/strict";
 * import { certificateBoundPolicy } from "./tls_listener.ts";
 * const policy = certificateBoundPolicy(null);
 * assert.ok(policy.authorize("app", { ip: "127.0.0.1", certNames: ["app"] }) !== null);
 * assert.equal(policy.authorize("app", { ip: "127.0.0.1", certNames: ["other"] }), null);
 * ```
 *
 * @param inner the policy that decides next (e.g. an AAA map), or `null` to allow all
 * @param log where refusals are logged
 * @returns the wrapping policy
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
