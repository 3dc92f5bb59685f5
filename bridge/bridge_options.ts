/**
 * The settings of a bridge, their defaults and their validation.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { DropPolicy } from "./outbound_buffer.ts";
import { isValidPrefix } from "./subject_map.ts";

/** How a broker joins the others through NATS (docs/CLUSTER.md). */
export interface BridgeOptions {
  /** NATS servers (`nats://host:port`), tried in turn and on every reconnect. */
  servers: readonly string[];
  /** This broker's node name: letters, digits, `_` and `-`; unique in the cluster. */
  node: string;
  /** Topic patterns whose local publications go to NATS. Default `["#"]`. */
  exports?: readonly string[];
  /** Topic patterns whose publications from other nodes are published here. Default `["#"]`. */
  imports?: readonly string[];
  /** Subject prefix: publications under `PREFIX.pub.`, messages `PREFIX.msg.NODE`. Default `busrt`. */
  prefix?: string;
  /** Whether broadcasts to `@NODE/mask` and `@*` + `/mask` reach other nodes. Default false. */
  broadcast?: boolean;
  /** Seconds a message to another node waits for its ACK (keep it below the listeners' timeout). Default 0.5. */
  requestTimeout?: number;
  /** Bytes of publications and broadcasts kept while NATS is unreachable. Default 8 MiB. */
  bufferBytes?: number;
  /** What goes when that buffer is full: the `oldest` frames or the `newest`. Default `oldest`. */
  dropPolicy?: DropPolicy;
  /** Where the bridge logs. Default: the broker's logger. */
  logger?: Logger;
}

/** {@linkcode BridgeOptions} with every default applied. */
export interface ResolvedBridgeOptions {
  /** NATS servers. */
  servers: string[];
  /** This node's name. */
  node: string;
  /** Exported topic patterns. */
  exports: string[];
  /** Imported topic patterns. */
  imports: string[];
  /** Subject prefix. */
  prefix: string;
  /** Whether broadcasts span nodes. */
  broadcast: boolean;
  /** ACK wait of messages to other nodes, ms. */
  requestTimeoutMs: number;
  /** Outbound buffer bound, bytes. */
  bufferBytes: number;
  /** Outbound drop policy. */
  dropPolicy: DropPolicy;
}

const NODE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Splits a `--bridge` value (`nats://h1:4222,nats://h2:4222`) into server URLs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServerList } from "./bridge_options.ts";
 * assert.deepEqual(parseServerList("nats://127.0.0.1:4222, 127.0.0.1:4223"), [
 *   "nats://127.0.0.1:4222",
 *   "nats://127.0.0.1:4223",
 * ]);
 * assert.throws(() => parseServerList("http://127.0.0.1:80"), TypeError);
 * ```
 *
 * @param list comma-separated servers, `nats://` optional
 * @returns the server URLs
 * @throws {TypeError} for an empty list or a server that is not `nats://host:port`
 */
export function parseServerList(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(",")) {
    const s = raw.trim();
    if (s === "") continue;
    const url = s.includes("://") ? s : `nats://${s}`;
    if (
      !/^(nats|tls):\/\/[^\s/:]+(:\d{1,5})?\/?$/.test(url) &&
      !/^(nats|tls):\/\/\[[0-9a-fA-F:]+\](:\d{1,5})?\/?$/.test(url)
    ) {
      throw new TypeError(`Bad NATS server "${s}": expected nats://host:port`);
    }
    out.push(url);
  }
  if (out.length === 0) throw new TypeError(`Bad NATS server list "${list}": no server`);
  return out;
}

/**
 * Applies the defaults and checks every field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveBridgeOptions } from "./bridge_options.ts";
 * const o = resolveBridgeOptions({ servers: ["nats://127.0.0.1:4222"], node: "h1" });
 * assert.deepEqual(o.exports, ["#"]);
 * assert.equal(o.requestTimeoutMs, 500);
 * assert.throws(() => resolveBridgeOptions({ servers: [], node: "h1" }), TypeError);
 * assert.throws(() => resolveBridgeOptions({ servers: ["nats://127.0.0.1:4222"], node: "a.b" }), TypeError);
 * ```
 *
 * @param options the settings
 * @returns the settings with defaults
 * @throws {TypeError} naming the bad field
 * @throws {RangeError} for a number out of range
 */
export function resolveBridgeOptions(options: BridgeOptions): ResolvedBridgeOptions {
  if (options.servers.length === 0) {
    throw new TypeError("Bad bridge servers: at least one NATS server is needed");
  }
  const servers = options.servers.flatMap((s) => parseServerList(s));
  if (!NODE_NAME.test(options.node)) {
    throw new TypeError(`Bad bridge node name "${options.node}": use 1-64 letters, digits, _ and -`);
  }
  const prefix = options.prefix ?? "busrt";
  if (!isValidPrefix(prefix)) throw new TypeError(`Bad bridge prefix "${prefix}": tokens joined by "."`);
  const exports = [...(options.exports ?? ["#"])];
  const imports = [...(options.imports ?? ["#"])];
  for (const p of [...exports, ...imports]) {
    if (typeof p !== "string") throw new TypeError(`Bad bridge topic pattern ${JSON.stringify(p)}`);
  }
  const requestTimeout = options.requestTimeout ?? 0.5;
  if (!(requestTimeout > 0 && requestTimeout <= 3600)) {
    throw new RangeError(`Bad bridge requestTimeout ${requestTimeout}: must be > 0 seconds`);
  }
  const bufferBytes = options.bufferBytes ?? 8 * 1024 * 1024;
  if (!Number.isSafeInteger(bufferBytes) || bufferBytes < 0) {
    throw new RangeError(`Bad bridge bufferBytes ${bufferBytes}: must be a whole number of bytes`);
  }
  const dropPolicy = options.dropPolicy ?? "oldest";
  if (dropPolicy !== "oldest" && dropPolicy !== "newest") {
    throw new TypeError(`Bad bridge dropPolicy "${dropPolicy}": "oldest" or "newest"`);
  }
  return {
    servers,
    node: options.node,
    exports,
    imports,
    prefix,
    broadcast: options.broadcast ?? false,
    requestTimeoutMs: Math.round(requestTimeout * 1000),
    bufferBytes,
    dropPolicy,
  };
}
