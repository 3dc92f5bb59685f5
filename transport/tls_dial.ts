/**
 * TLS for the IPC client: a `dial` factory for {@linkcode connect} that opens
 * a TLS connection, with a client certificate for brokers that require one.
 *
 * @example Connect to a broker that requires a client certificate
 * ```ts ignore
 * import { connect, tlsDial } from "../client/mod.ts";
 * const client = await connect("tls://broker.example:7777", {
 *   name: "app",
 *   dial: tlsDial({
 *     caCerts: [await Deno.readTextFile("ca.crt")],
 *     cert: await Deno.readTextFile("app.crt"),
 *     key: await Deno.readTextFile("app.key"),
 *   }),
 * });
 * ```
 *
 * @module
 */

import type { Link } from "./link.ts";
import { AddressError, parseAddress, TLS_SCHEME } from "./address.ts";
import { NodeSocketLink } from "./node_socket_link.ts";

/** Options of {@linkcode tlsDial}. */
export interface TlsDialOptions {
  /** CA certificates (PEM) trusted for the broker's certificate, in addition to the system roots. */
  caCerts?: readonly string[];
  /** Client certificate chain (PEM), for brokers that require one. Needs `key`. */
  cert?: string;
  /** Client private key (PEM). Needs `cert`. */
  key?: string;
  /**
   * Name the broker's certificate must carry, when it differs from the
   * address's host (e.g. connecting to an IP address whose certificate
   * names a DNS host). Default: the address's host.
   */
  hostname?: string;
}

/**
 * Creates a `dial` function for {@linkcode connect}: the address is
 * `tls://host:port` or `host:port`. The broker's certificate is verified
 * against `caCerts` (and the system roots) and the host name; the client
 * certificate, if given, is presented. The client's secondaries
 * (`client.registerSecondary()`) dial the same way.
 *
 * @example Refuse a half client certificate and a unix address
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsDial } from "./tls_dial.ts";
 * assert.throws(() => tlsDial({ cert: "-----BEGIN CERTIFICATE-----" }), TypeError);
 * const dial = tlsDial({});
 * await assert.rejects(dial("/run/busrt.sock"), TypeError);
 * ```
 *
 * @param options trusted CAs, the client certificate and the name to verify
 * @returns the dial function; it rejects with an `AddressError` (a `TypeError`)
 *   for an address that is not `tls://host:port` or `host:port`
 * @throws {TypeError} when only one of `cert` and `key` is given
 */
export function tlsDial(options: TlsDialOptions = {}): (address: string) => Promise<Link> {
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("Invalid TLS options: cert and key must be given together");
  }
  const caCerts = options.caCerts === undefined ? undefined : [...options.caCerts];
  return async (address: string): Promise<Link> => {
    const addr = parseAddress(address);
    if (addr.transport !== "tls" && addr.transport !== "tcp") {
      throw new AddressError(address, `cannot dial TLS: not ${TLS_SCHEME}host:port or host:port`);
    }
    const verifyName = options.hostname ?? addr.hostname;
    if (verifyName === addr.hostname) {
      // Deno's native TLS: the fast path
      const certified = options.cert === undefined ? {} : { cert: options.cert, key: options.key! };
      return await Deno.connectTls({ hostname: addr.hostname, port: addr.port, caCerts, ...certified });
    }
    // Deno.connectTls verifies against the host it connects to; node:tls can
    // connect to one host and verify another name
    return await dialNodeTls(addr.hostname, addr.port, verifyName, caCerts, options.cert, options.key);
  };
}

function dialNodeTls(
  host: string,
  port: number,
  servername: string,
  ca: string[] | undefined,
  cert: string | undefined,
  key: string | undefined,
): Promise<Link> {
  return import("node:tls").then((tls) =>
    new Promise<Link>((resolve, reject) => {
      const socket = tls.connect({ host, port, servername, ca, cert, key }, () => {
        socket.off("error", reject);
        socket.setNoDelay(true);
        resolve(new NodeSocketLink(socket));
      });
      socket.once("error", reject);
    })
  );
}
