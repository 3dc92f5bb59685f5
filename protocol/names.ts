/**
 * Client names: primary/secondary rules and address classification.
 *
 * @module
 */
import { SECONDARY_SEP } from "./constants.ts";

/**
 * The primary name of a client: the part before the first `%%`, or the whole name.
 *
 * @example
 * ```ts
 * import { primaryName } from "./mod.ts";
 * console.assert(primaryName("app%%1") === "app");
 * ```
 */
export function primaryName(name: string): string {
  const i = name.indexOf(SECONDARY_SEP);
  return i === -1 ? name : name.slice(0, i);
}

/** Whether a name is a secondary (contains `%%`). */
export function isSecondaryName(name: string): boolean {
  return name.includes(SECONDARY_SEP);
}

/** A parsed bus address. */
export type BusAddress =
  | { transport: "unix"; path: string }
  | { transport: "tcp"; hostname: string; port: number };

/**
 * Classifies an address as the reference tools do: a UNIX socket path if it
 * ends with `.sock`, `.socket` or `.ipc` or starts with `/`, else TCP `host:port`.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./mod.ts";
 * console.assert(parseAddress("/tmp/busrt.sock").transport === "unix");
 * console.assert(parseAddress("127.0.0.1:7777").transport === "tcp");
 * ```
 */
export function parseAddress(address: string): BusAddress {
  if (
    address.startsWith("/") || address.endsWith(".sock") || address.endsWith(".socket") ||
    address.endsWith(".ipc")
  ) {
    return { transport: "unix", path: address };
  }
  const i = address.lastIndexOf(":");
  if (i <= 0) throw new TypeError(`Cannot parse address "${address}": expected host:port or a socket path`);
  let hostname = address.slice(0, i);
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  const portText = address.slice(i + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new TypeError(`Cannot parse address "${address}": invalid port "${portText}"`);
  }
  return { transport: "tcp", hostname, port };
}
