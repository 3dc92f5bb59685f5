/**
 * The AAA model of BUS/RT: a per-listener map of primary client names to
 * their permissions. Only listed names may connect; each can be limited to
 * host networks and to the peers, topics and masks it may use.
 *
 * @example Restrict one client, refuse everyone else
 * ```ts
 * import assert from "node:assert/strict";
 * import { AaaMap, Broker, BusError, ClientAaa, connect, QoS } from "../mod.ts";
 * const aaa = new AaaMap();
 * aaa.set("sensor", new ClientAaa().allowHosts(["127.0.0.1"]).allowPublishTo(["sensors/#"]).denySubscribe());
 * const broker = new Broker();
 * const { bind } = await broker.serveTcp("127.0.0.1:0", { policy: aaa });
 * const sensor = await connect(bind, { name: "sensor" });
 * await sensor.publish("sensors/t1", "21.5", QoS.Processed);
 * const denied = (err: BusError) => err.isAccessDenied();
 * await assert.rejects(sensor.publish("config/t1", "0", QoS.Processed), denied);
 * await assert.rejects(connect(bind, { name: "intruder" }), denied);
 * await sensor.close();
 * await broker.close();
 * ```
 *
 * @module
 */
import { ErrorCode } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { primaryName } from "../protocol/names.ts";
import type { AccessPolicy, ClientAcl, PeerInfo } from "./access_policy.ts";
import type { Broker } from "./broker.ts";
import { IpNetwork } from "./ip_network.ts";
import { matchSegments } from "./topics.ts";

/**
 * How one permission is written in a {@linkcode ClientAaaSpec}: a list of
 * patterns, `true`/`"any"` for everything, `false`/`"deny"` for nothing.
 */
export type PermissionSpec = readonly string[] | boolean | "any" | "deny";

/** Plain-data form of a {@linkcode ClientAaa}, as used by config files. Absent fields keep the defaults. */
export interface ClientAaaSpec {
  /** Networks the client may connect from (TCP/TLS only). Default `["0.0.0.0/0"]`. */
  hosts?: readonly string[];
  /** Names it may send direct messages to (`.`, `?`, `*`). */
  p2p?: PermissionSpec;
  /** Topics it may publish to (`/`, `+`, `#`). */
  publish?: PermissionSpec;
  /** Topic patterns it may subscribe to (`/`, `+`, `#`). */
  subscribe?: PermissionSpec;
  /** Masks it may broadcast to (`.`, `?`, `*`). */
  broadcast?: PermissionSpec;
}

/**
 * Whether a permission pattern covers a checked pattern or mask, whose own
 * wildcards reach further than literal segments: a rest-wildcard (`#`, `*`)
 * in the checked string is covered only by a rest-wildcard of the permission
 * at that level or above, a one-segment wildcard (`+`, `?`) by a one-segment
 * wildcard at that level or a rest-wildcard at or above it. Literal segments
 * match as in {@linkcode matchSegments}.
 *
 * @example `+` does not cover `#`; `dev/#` covers `dev/+/x`
 * ```ts
 * import assert from "node:assert/strict";
 * import { coversSegments } from "./aaa.ts";
 * const covers = (p: string, c: string) => coversSegments(p.split("/"), c.split("/"), "#", "+");
 * assert.ok(!covers("+", "#"));
 * assert.ok(!covers("dev/+/status", "dev/#/status"));
 * assert.ok(covers("dev/+/status", "dev/+/status"));
 * assert.ok(covers("dev/#", "dev/+/x"));
 * assert.ok(covers("dev/#", "dev/a/#"));
 * ```
 *
 * @param permission the permission's segments
 * @param checked the segments of the pattern or mask under check
 * @param any the rest-wildcard (`#` or `*`)
 * @param one the one-segment wildcard (`+` or `?`)
 * @returns true when every string the checked pattern reaches is allowed by the permission
 */
export function coversSegments(
  permission: readonly string[],
  checked: readonly string[],
  any: string,
  one: string,
): boolean {
  const n = permission.length;
  for (let i = 0; i < n; i++) {
    const p = permission[i];
    if (p === any) return checked.length > i;
    if (i >= checked.length) return false;
    const c = checked[i];
    if (c === any) return false; // reaches further than anything but a rest-wildcard at or above this level
    if (p === one) continue;
    if (c === one || c !== p) return false;
  }
  return checked.length === n;
}

/** One permission category: "any", or a set of patterns matched as the reference does. */
class PatternSet {
  readonly separator: string;
  readonly any: string;
  readonly one: string;
  /** Whether the checked strings are patterns or masks whose wildcards must be covered (subscribe, broadcast). */
  readonly checksWildcards: boolean;
  allowAny = true;
  patterns: string[] = [];
  #split: string[][] = [];
  // one-entry cache: a client usually repeats its target or topic
  #lastInput: string | null = null;
  #lastResult = false;

  constructor(separator: string, any: string, one: string, checksWildcards: boolean) {
    this.separator = separator;
    this.any = any;
    this.one = one;
    this.checksWildcards = checksWildcards;
  }

  allow(patterns: readonly string[]): void {
    this.allowAny = false;
    for (const p of patterns) {
      if (typeof p !== "string") throw new TypeError(`Invalid pattern "${p}": must be a string`);
      if (p === this.any) this.allowAny = true;
      if (this.patterns.includes(p)) continue;
      this.patterns.push(p);
      this.#split.push(p.split(this.separator));
    }
    this.#lastInput = null;
  }

  deny(): void {
    this.allowAny = false;
    this.patterns = [];
    this.#split = [];
    this.#lastInput = null;
  }

  matches(input: string): boolean {
    if (this.allowAny) return true;
    if (input === this.#lastInput) return this.#lastResult;
    // a target or topic is a plain name (its wildcards are literal); a pattern or mask reaches further
    const segs = input.split(this.separator);
    const match = this.checksWildcards ? coversSegments : matchSegments;
    let ok = false;
    for (const p of this.#split) {
      if (match(p, segs, this.any, this.one)) {
        ok = true;
        break;
      }
    }
    this.#lastInput = input;
    this.#lastResult = ok;
    return ok;
  }

  copyFrom(other: PatternSet): void {
    this.allowAny = other.allowAny;
    this.patterns = [...other.patterns];
    this.#split = other.#split.map((s) => [...s]);
    this.#lastInput = null;
  }

  spec(): PermissionSpec {
    if (this.allowAny) return true;
    return this.patterns.length === 0 ? false : [...this.patterns];
  }
}

const ANY_V4 = IpNetwork.parse("0.0.0.0/0");

/**
 * The permissions of one primary client (and of all its secondaries).
 * Builder methods change it in place and return it, for chaining.
 *
 * Defaults: connect from any IPv4 address (`0.0.0.0/0`, so IPv6 peers are
 * refused), and every operation allowed. `allow*To(list)` restricts a
 * category to the listed patterns (adding to earlier ones); the full
 * wildcard (`*` for names, `#` for topics) makes it "any" again;
 * `deny*()` allows nothing.
 *
 * @example Direct messages to one group only, no broadcasts
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientAaa } from "./mod.ts";
 * const aaa = new ClientAaa().allowP2pTo(["svc.*"]).denyBroadcast();
 * assert.ok(aaa.allowP2p("svc.db"));
 * assert.ok(!aaa.allowP2p("svc"));
 * assert.ok(!aaa.allowBroadcast("svc.*"));
 * assert.ok(aaa.allowPublish("any/topic"));
 * ```
 */
export class ClientAaa implements ClientAcl {
  #hosts: IpNetwork[] = [ANY_V4];
  readonly #p2p = new PatternSet(".", "*", "?", false);
  readonly #publish = new PatternSet("/", "#", "+", false);
  readonly #subscribe = new PatternSet("/", "#", "+", true);
  readonly #broadcast = new PatternSet(".", "*", "?", true);

  /**
   * Builds an entry from plain data (see {@linkcode ClientAaaSpec}).
   *
   * @param spec the hosts and permissions, as in a configuration file
   * @returns the entry
   * @throws {TypeError} for a malformed network or permission
   */
  static fromSpec(spec: ClientAaaSpec): ClientAaa {
    const aaa = new ClientAaa();
    if (spec.hosts !== undefined) aaa.allowHosts(spec.hosts);
    applyPermission(spec.p2p, (l) => aaa.allowP2pTo(l), () => aaa.denyP2p(), "p2p");
    applyPermission(spec.publish, (l) => aaa.allowPublishTo(l), () => aaa.denyPublish(), "publish");
    applyPermission(spec.subscribe, (l) => aaa.allowSubscribeTo(l), () => aaa.denySubscribe(), "subscribe");
    applyPermission(spec.broadcast, (l) => aaa.allowBroadcastTo(l), () => aaa.denyBroadcast(), "broadcast");
    return aaa;
  }

  // ---------------------------------------------------------------- builders

  /**
   * Replaces the networks the client may connect from (CIDR, or a bare
   * address meaning a single host). An empty list allows unix sockets only.
   *
   * @param networks the networks, as text or parsed
   * @returns this entry
   * @throws {TypeError} for text that is not a network
   */
  allowHosts(networks: readonly (string | IpNetwork)[]): this {
    this.#hosts = networks.map((n) => typeof n === "string" ? IpNetwork.parse(n) : n);
    return this;
  }

  /**
   * Allows direct messages to names matching these masks (`group.*`, `group.?.x`).
   *
   * @param masks the name masks
   * @returns this entry
   */
  allowP2pTo(masks: readonly string[]): this {
    this.#p2p.allow(masks);
    return this;
  }

  /** Denies all direct messages. */
  denyP2p(): this {
    this.#p2p.deny();
    return this;
  }

  /**
   * Allows publishing to topics matching these patterns (`topic/+/#`).
   *
   * @param patterns the topic patterns
   * @returns this entry
   */
  allowPublishTo(patterns: readonly string[]): this {
    this.#publish.allow(patterns);
    return this;
  }

  /** Denies all publishing (PUBLISH and PUBLISH_FOR). */
  denyPublish(): this {
    this.#publish.deny();
    return this;
  }

  /**
   * Allows subscribing to topic patterns that these patterns match.
   *
   * @param patterns the topic patterns
   * @returns this entry
   */
  allowSubscribeTo(patterns: readonly string[]): this {
    this.#subscribe.allow(patterns);
    return this;
  }

  /** Denies all subscriptions. */
  denySubscribe(): this {
    this.#subscribe.deny();
    return this;
  }

  /**
   * Allows broadcasting to masks that these patterns match.
   *
   * @param masks the name masks
   * @returns this entry
   */
  allowBroadcastTo(masks: readonly string[]): this {
    this.#broadcast.allow(masks);
    return this;
  }

  /** Denies all broadcasts. */
  denyBroadcast(): this {
    this.#broadcast.deny();
    return this;
  }

  // ---------------------------------------------------------------- checks

  /**
   * Whether a peer address may connect; `null` (a unix socket) always may.
   *
   * @param ip the peer IP address, or `null` for a unix socket
   * @returns true when the address is in one of the hosts
   */
  allowHost(ip: string | null): boolean {
    if (ip === null) return true;
    for (const n of this.#hosts) if (n.contains(ip)) return true;
    return false;
  }

  /**
   * Whether a direct message to `target` is allowed.
   *
   * @param target the target name
   * @returns true when allowed
   */
  allowP2p(target: string): boolean {
    return this.#p2p.matches(target);
  }

  /**
   * Whether publishing to `topic` is allowed.
   *
   * @param topic the topic
   * @returns true when allowed
   */
  allowPublish(topic: string): boolean {
    return this.#publish.matches(topic);
  }

  /**
   * Whether subscribing to the pattern `topic` is allowed: its `#` must be covered by a permission `#` at
   * that level or above, its `+` by a permission `+` at that level or a `#` at or above it.
   *
   * @param topic the topic pattern
   * @returns true when allowed
   */
  allowSubscribe(topic: string): boolean {
    return this.#subscribe.matches(topic);
  }

  /**
   * Whether broadcasting to `mask` is allowed: its `*` must be covered by a permission `*` at that level or
   * above, its `?` by a permission `?` at that level or a `*` at or above it.
   *
   * @param mask the name mask
   * @returns true when allowed
   */
  allowBroadcast(mask: string): boolean {
    return this.#broadcast.matches(mask);
  }

  // ---------------------------------------------------------------- copies

  /** An independent copy: what a connecting client keeps. */
  clone(): ClientAaa {
    const c = new ClientAaa();
    c.#hosts = [...this.#hosts];
    c.#p2p.copyFrom(this.#p2p);
    c.#publish.copyFrom(this.#publish);
    c.#subscribe.copyFrom(this.#subscribe);
    c.#broadcast.copyFrom(this.#broadcast);
    return c;
  }

  /** The entry as plain data (`true` = any, `false` = deny). */
  toSpec(): Required<ClientAaaSpec> {
    return {
      hosts: this.#hosts.map((n) => n.toString()),
      p2p: this.#p2p.spec(),
      publish: this.#publish.spec(),
      subscribe: this.#subscribe.spec(),
      broadcast: this.#broadcast.spec(),
    };
  }
}

function applyPermission(
  value: PermissionSpec | undefined,
  allow: (list: readonly string[]) => void,
  deny: () => void,
  field: string,
): void {
  if (value === undefined || value === true || value === "any") return;
  if (value === false || value === "deny") deny();
  else if (Array.isArray(value)) allow(value);
  else {throw new TypeError(
      `Invalid ${field} permission "${value}": expected a list of patterns, true/"any" or false/"deny"`,
    );}
}

/**
 * A mutable map of primary client names to their {@linkcode ClientAaa}, the
 * access policy of a listener (pass it as `ListenerOptions.policy`). Several
 * listeners may share one map.
 *
 * A connecting client whose primary name is absent, or whose IP address is
 * outside the entry's hosts, is refused with ERR_ACCESS (0x79). The entry is
 * copied at connect time: changes apply to new connections only — use
 * {@linkcode AaaMap.replace} or {@linkcode AaaMap.revoke} to apply them to a
 * connected client.
 *
 * @example The rules a connecting client gets
 * ```ts
 * import assert from "node:assert/strict";
 * import { AaaMap, ClientAaa } from "./mod.ts";
 * const aaa = new AaaMap({ "app": new ClientAaa(), "viewer": new ClientAaa().denyPublish() });
 * const viewer = aaa.authorize("viewer", { ip: "127.0.0.1" });
 * assert.ok(viewer !== null && !viewer.allowPublish("news"));
 * assert.equal(aaa.authorize("stranger", { ip: "127.0.0.1" }), null);
 * assert.equal(aaa.authorize("app", { ip: "::1" }), null); // IPv6 is outside the default hosts
 * assert.ok(aaa.authorize("app", { ip: null }) !== null); // unix sockets skip the host check
 * ```
 */
export class AaaMap implements AccessPolicy {
  readonly #entries = new Map<string, ClientAaa>();

  /**
   * Creates a map, optionally filled from entries or a plain object.
   *
   * @param entries `[name, entry]` pairs or an object of entries by name
   */
  constructor(entries?: Iterable<readonly [string, ClientAaa]> | Record<string, ClientAaa>) {
    if (entries === undefined) return;
    const list = Symbol.iterator in entries
      ? entries as Iterable<readonly [string, ClientAaa]>
      : Object.entries(entries as Record<string, ClientAaa>);
    for (const [name, aaa] of list) this.set(name, aaa);
  }

  /**
   * Sets the entry of a primary name. Connected clients keep their old copy.
   *
   * @param name the primary name
   * @param aaa the entry
   * @returns this map
   * @throws {TypeError} for an empty name or a secondary name (with `%%`)
   */
  set(name: string, aaa: ClientAaa): this {
    if (typeof name !== "string" || name.length === 0 || primaryName(name) !== name) {
      throw new TypeError(`Invalid AAA name "${name}": must be a non-empty primary name (without "%%")`);
    }
    if (!(aaa instanceof ClientAaa)) {
      throw new TypeError(`Invalid AAA entry for "${name}": must be a ClientAaa`);
    }
    this.#entries.set(name, aaa);
    return this;
  }

  /**
   * The entry of a primary name (the live object, not a copy).
   *
   * @param name the primary name
   * @returns the entry, or `undefined`
   */
  get(name: string): ClientAaa | undefined {
    return this.#entries.get(name);
  }

  /**
   * Whether a primary name has an entry.
   *
   * @param name the primary name
   * @returns true when it has one
   */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Removes an entry; connected clients are not affected.
   *
   * @param name the primary name
   * @returns true when there was an entry
   */
  delete(name: string): boolean {
    return this.#entries.delete(name);
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** The names with an entry. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Iterates `[name, entry]` pairs. */
  [Symbol.iterator](): IterableIterator<[string, ClientAaa]> {
    return this.#entries.entries();
  }

  /**
   * Sets an entry and disconnects the client's live connections (the primary
   * and its secondaries) so it reconnects under the new rules. Returns the
   * number of connections closed.
   *
   * @example Apply new rules to a connected client
   * ```ts
   * import assert from "node:assert/strict";
   * import { AaaMap, Broker, ClientAaa, connect } from "../mod.ts";
   * const aaa = new AaaMap({ "viewer": new ClientAaa() });
   * const broker = new Broker();
   * const { bind } = await broker.serveTcp("127.0.0.1:0", { policy: aaa });
   * const viewer = await connect(bind, { name: "viewer" });
   * assert.equal(aaa.replace("viewer", new ClientAaa().denyPublish(), broker), 1);
   * await viewer.closed;
   * assert.ok(!viewer.isConnected());
   * await broker.close();
   * ```
   *
   * @param name the primary name
   * @param aaa the new entry
   * @param broker the broker whose connections to close
   * @returns the number of connections closed
   */
  replace(name: string, aaa: ClientAaa, broker: Broker): number {
    this.set(name, aaa);
    return disconnectPrimary(broker, name);
  }

  /**
   * Removes an entry and disconnects the client's live connections: it can
   * no longer connect through listeners using this map. Returns the number
   * of connections closed.
   *
   * @param name the primary name
   * @param broker the broker whose connections to close
   * @returns the number of connections closed
   */
  revoke(name: string, broker: Broker): number {
    this.#entries.delete(name);
    return disconnectPrimary(broker, name);
  }

  /**
   * The access policy hook: a private copy of the entry of `primary`, or null
   * when it has none or its IP address is outside the entry's hosts (unix
   * socket clients skip the host check).
   *
   * @param primary the primary name of the connecting client
   * @param peer where it connects from
   * @returns its permissions, or `null` to refuse it
   */
  authorize(primary: string, peer: PeerInfo): ClientAcl | null {
    const entry = this.#entries.get(primary);
    if (entry === undefined || !entry.allowHost(peer.ip)) return null;
    return entry.clone();
  }
}

/** Force-disconnects every socket client whose primary is `primary`; returns how many. */
function disconnectPrimary(broker: Broker, primary: string): number {
  let closed = 0;
  const names = broker.clientNames().filter((n) => primaryName(n) === primary);
  // the primary first: its secondaries go with it
  names.sort((a, b) => a === primary ? -1 : b === primary ? 1 : 0);
  for (const name of names) {
    if (!broker.isRegistered(name)) {
      if (name !== primary) closed++; // went with the primary
      continue;
    }
    try {
      broker.forceDisconnect(name);
      closed++;
    } catch (err) {
      // in-process clients are not subject to AAA and stay
      if (!(err instanceof BusError && err.code === ErrorCode.NotSupported)) throw err;
    }
  }
  return closed;
}
