/**
 * The Deno permissions a client command needs to reach its broker, checked
 * before connecting so that every missing flag is named in one run (Deno
 * itself stops at the first one), as `serve` does for its binds.
 *
 * @module
 */
import { formatHostPort, parseAddress } from "../transport/address.ts";
import type { GlobalOptions } from "./args.ts";
import { CliError } from "./errors.ts";

/** One permission a client command needs. */
export interface ClientPermissionNeed {
  /** The permission, as `Deno.permissions.query` takes it. */
  descriptor: Deno.PermissionDescriptor;
  /** The flag that grants it, e.g. `--allow-net=unix:/tmp/busrt.sock`. */
  flag: string;
}

/**
 * What connecting to `--socket` needs: a unix socket its net (`unix:<path>`),
 * read and write permissions; `host:port` (TCP, TLS, WebSocket) its net
 * permission; and reading the TLS files given (`--tls-ca`, and for `tls://`
 * `--tls-cert` and `--tls-key`).
 *
 * @example A unix socket, and a TLS broker with a CA file
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveGlobals } from "./args.ts";
 * import { clientPermissionNeeds } from "./client_permissions.ts";
 * const unix = resolveGlobals("send", { socket: "/run/busrt.sock", name: "x" });
 * assert.deepEqual(clientPermissionNeeds(unix).map((n) => n.flag), [
 *   "--allow-net=unix:/run/busrt.sock",
 *   "--allow-read=/run/busrt.sock",
 *   "--allow-write=/run/busrt.sock",
 * ]);
 * const tls = resolveGlobals("send", { socket: "tls://[::1]:7777", name: "x", "tls-ca": "/etc/ca.pem" });
 * assert.deepEqual(clientPermissionNeeds(tls).map((n) => n.flag), [
 *   "--allow-net=[::1]:7777",
 *   "--allow-read=/etc/ca.pem",
 * ]);
 * ```
 *
 * @param globals the global options (`--socket` and the TLS files)
 * @returns the permissions, in the order of the flags to print
 */
export function clientPermissionNeeds(globals: GlobalOptions): ClientPermissionNeed[] {
  const addr = parseAddress(globals.socket);
  const needs: ClientPermissionNeed[] = [];
  if (addr.transport === "unix" || addr.transport === "fifo") {
    const path = addr.path;
    needs.push(
      { descriptor: { name: "net", host: `unix:${path}` }, flag: `--allow-net=unix:${path}` },
      { descriptor: { name: "read", path }, flag: `--allow-read=${path}` },
      { descriptor: { name: "write", path }, flag: `--allow-write=${path}` },
    );
    return needs;
  }
  const host = formatHostPort(addr.hostname, addr.port);
  needs.push({ descriptor: { name: "net", host }, flag: `--allow-net=${host}` });
  const files = [globals.tls.ca];
  if (addr.transport !== "ws" && addr.transport !== "wss") files.push(globals.tls.cert, globals.tls.key);
  for (const path of files) {
    if (path !== undefined) needs.push({ descriptor: { name: "read", path }, flag: `--allow-read=${path}` });
  }
  return needs;
}

/**
 * Fails, naming every missing flag at once (merged per permission, e.g.
 * `--allow-read=/etc/ca.pem,/etc/cert.pem`), when the process lacks a
 * permission that connecting to `--socket` needs. Checks without prompting.
 *
 * @example Nothing is missing under `deno test -A`
 * ```ts
 * import { resolveGlobals } from "./args.ts";
 * import { requireClientPermissions } from "./client_permissions.ts";
 * await requireClientPermissions(resolveGlobals("send", { socket: "127.0.0.1:7777", name: "x" }));
 * ```
 *
 * @param globals the global options (`--socket` and the TLS files)
 * @throws {CliError} `Missing Deno permissions to connect to "…": run again with …`
 */
export async function requireClientPermissions(globals: GlobalOptions): Promise<void> {
  const missing = new Map<string, string[]>();
  for (const need of clientPermissionNeeds(globals)) {
    if ((await Deno.permissions.query(need.descriptor)).state === "granted") continue;
    const eq = need.flag.indexOf("=");
    const values = missing.get(need.flag.slice(0, eq)) ?? [];
    const value = need.flag.slice(eq + 1);
    if (!values.includes(value)) values.push(value);
    missing.set(need.flag.slice(0, eq), values);
  }
  if (missing.size === 0) return;
  const flags = [...missing].map(([name, values]) => `${name}=${values.join(",")}`);
  const s = flags.length > 1 ? "s" : "";
  throw new CliError(
    `Missing Deno permission${s} to connect to "${globals.socket}": run again with ${flags.join(" ")}`,
  );
}
