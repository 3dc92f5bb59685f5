/**
 * Worker pools: the registered clients whose names match a mask
 * (`svc.resize.*`), called as one service, with load balancing, failover
 * and phi-accrual health. Open one with `rpc.pool(mask, options)`.
 *
 * ## Members
 *
 * The pool keeps a connection of its own (a secondary client of the RPC
 * client, `<name>%%<n>`), subscribes it to `.broker/info`, then asks the
 * broker's `client.list` once; after that, members come and go with the
 * broker's `reg` and `unreg` announcements — no polling. Announcements that
 * arrive while the list is on its way are replayed over it in order, so a
 * client that registers or leaves meanwhile is neither lost nor kept. This
 * needs a broker with core RPC (`busrt serve`, `enableCoreRpc()`, or the
 * reference `busrtd`, which announces the same way). Members are primaries
 * (announcements and `client.list` name no secondaries); `.broker` never is.
 *
 * The pool closes with its connection — when it is closed, when its RPC
 * client closes, or when the connection is lost (a secondary does not
 * reconnect, even under a reconnecting client): open a new pool then.
 *
 * ## Picking a member
 *
 * `round-robin` takes members in turn, `random` uniformly, `least-in-flight`
 * the member with the fewest calls of this pool in flight (ties in turn).
 * Whatever the strategy, a suspected member is picked only when no healthy
 * one is left to try.
 *
 * ## Failover
 *
 * A failed attempt is retried on another member, within `retries` and the
 * call's deadline, when that cannot run the call twice — or when the caller
 * said it would not matter:
 *
 * | The attempt                                                  | Did it run? | Retried                  |
 * | ------------------------------------------------------------ | ----------- | ------------------------ |
 * | was refused by the broker (-32113 not registered, -32119)    | no          | always                   |
 * | was delivered, then its member left (`unreg`, kill -9)       | may have    | when `idempotent: true`  |
 * | timed out (`attemptTimeout`, or the member hung)             | may have    | when `idempotent: true`  |
 * | was in flight on a member that became suspected              | may have    | `idempotent` ones moved  |
 * | got an error reply from the handler                          | yes         | never: rejected with it  |
 *
 * Calls are sent with an acknowledged QoS, so the broker tells a refused
 * frame from a delivered one; when a member leaves, the pool waits for the
 * broker to have acknowledged every frame sent before the `unreg` (one
 * round trip) before it declares the calls still waiting on that member
 * lost. A call that cannot be retried rejects with a
 * {@linkcode PoolCallError} whose `mayHaveRun` says which case it was.
 *
 * ## Health
 *
 * Every `heartbeat.intervalMs` the pool calls `heartbeat.method` (default
 * `test`) on each member, one call at a time per member. Any reply counts —
 * a result or an error reply such as -32601 — since it proves that the
 * member's RPC loop runs: every BUS/RT RPC server, ours or the reference's,
 * answers every call. (A bus-level ping would not do: the broker, not the
 * member, acknowledges frames.) The replies feed a
 * {@linkcode PhiAccrualDetector} per member; a member whose φ reaches the
 * threshold is suspected — out of rotation while healthy members exist, its
 * idempotent calls in flight moved to another member — until it answers again.
 * Joining counts as a first sign of life, so a member that never answers
 * becomes suspected too.
 *
 * @example Round robin over two workers, and every member at once
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const worker = (name: string) =>
 *   new RpcClient(broker.registerClient(name), { handlers: { onCall: () => name } });
 * const workers = [worker("svc.resize.1"), worker("svc.resize.2")];
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const pool = await rpc.pool("svc.resize.*", { strategy: "round-robin" });
 * const served = [];
 * for (let i = 0; i < 4; i++) served.push((await pool.call("resize", { w: 100 })).unpack<string>());
 * assert.deepEqual(served.sort(), ["svc.resize.1", "svc.resize.1", "svc.resize.2", "svc.resize.2"]);
 * const all = await pool.callAll("version", undefined, { timeout: 1 });
 * assert.deepEqual(all.map((r) => [r.member, r.ok]), [["svc.resize.1", true], ["svc.resize.2", true]]);
 * await pool.close();
 * await Promise.all([rpc.close(), ...workers.map((w) => w.close())]);
 * await broker.close();
 * ```
 *
 * @example Members follow the broker's announcements
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { enableCoreRpc, PoolCallError, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const joined: string[] = [];
 * const pool = await rpc.pool("svc.?", { onChange: (e) => joined.push(`${e.type} ${e.member}`) });
 * await assert.rejects(pool.call("work"), (err: PoolCallError) => !err.mayHaveRun && err.isNotRegistered());
 * const worker = new RpcClient(broker.registerClient("svc.a"), { handlers: { onCall: () => "done" } });
 * while (pool.size === 0) await new Promise((r) => setTimeout(r, 1));
 * assert.equal((await pool.call("work", undefined, { idempotent: true })).unpack(), "done");
 * assert.deepEqual(pool.members().map((m) => [m.name, m.inFlight, m.suspected]), [["svc.a", 0, false]]);
 * await worker.close();
 * while (pool.size > 0) await new Promise((r) => setTimeout(r, 1));
 * assert.deepEqual(joined, ["join svc.a", "leave svc.a"]);
 * await pool.close();
 * await rpc.close();
 * await broker.close();
 * ```
 *
 * @module
 */
import { BROKER_INFO_TOPIC, BROKER_NAME, Op, QoS } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import type { BusClient } from "../client/bus_client.ts";
import { matchSegments } from "../broker/topics.ts";
import { unpack } from "./msgpack.ts";
import { PhiAccrualDetector, type PhiAccrualOptions } from "./phi_accrual.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";
import type { RpcReply } from "./rpc_event.ts";

/** How a pool picks the member of a call. */
export type PoolStrategy = "round-robin" | "random" | "least-in-flight";

/**
 * Heartbeats and failure detection of a pool's members. The detector's
 * defaults follow the interval: `firstIntervalMs` and `acceptablePauseMs`
 * are the interval, `minStdDevMs` a quarter of it (at least 100 ms); so with
 * the default interval of 1 s and threshold 8, a member that stops answering
 * is suspected after about 3.5 s.
 */
export interface PoolHeartbeatOptions extends PhiAccrualOptions {
  /** Time between heartbeats to each member, in ms. Default 1000. */
  intervalMs?: number;
  /** The method called as a heartbeat; any reply counts. Default `"test"`. */
  method?: string;
}

/** A change in a pool's members. */
export interface PoolEvent {
  /** `join`/`leave` from the broker's announcements, `suspect`/`recover` from the failure detector. */
  type: "join" | "leave" | "suspect" | "recover";
  /** The member's name. */
  member: string;
}

/** Options of a pool (see `RpcClient.pool`). */
export interface RpcPoolOptions {
  /** How members are picked. Default `"round-robin"`. */
  strategy?: PoolStrategy;
  /** Heartbeats and failure detection, or `false` for none (no member is ever suspected). */
  heartbeat?: PoolHeartbeatOptions | false;
  /** Default time for a whole call, retries included, in seconds; 0 or Infinity waits forever. Default 5. */
  timeout?: number;
  /** Default time for one attempt, in seconds. Default: the whole call's time. */
  attemptTimeout?: number;
  /** Default number of retries of a call after its first attempt. Default 2. */
  retries?: number;
  /** QoS of calls: one the broker acknowledges. Default {@linkcode QoS.Processed}. */
  qos?: typeof QoS.Processed | typeof QoS.RealtimeProcessed;
  /** Called on every change of the members. */
  onChange?: (event: PoolEvent) => void;
}

/** Options of one pool call. */
export interface PoolCallOptions {
  /**
   * Whether running the call twice is harmless: then a call lost after
   * delivery, or timed out, is retried on another member. Default false.
   */
  idempotent?: boolean;
  /** Time for the whole call, retries included, in seconds. Default: the pool's. */
  timeout?: number;
  /** An absolute deadline, in ms since the epoch (as `Date.now()`); the earlier of this and `timeout` holds. */
  deadline?: number;
  /** Time for one attempt, in seconds. Default: the pool's. */
  attemptTimeout?: number;
  /** Retries after the first attempt. Default: the pool's. */
  retries?: number;
  /** Aborts the call; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode RpcPool.callAll}. */
export interface PoolCallAllOptions {
  /** Time to wait for the replies, in seconds. Default: the pool's timeout. */
  timeout?: number;
  /** An absolute deadline, in ms since the epoch (as `Date.now()`). */
  deadline?: number;
  /** Aborts the calls still in flight. */
  signal?: AbortSignal;
}

/** One member's outcome of {@linkcode RpcPool.callAll}. */
export type PoolResult =
  | { member: string; ok: true; reply: RpcReply }
  | { member: string; ok: false; error: Error };

/** A snapshot of one member. */
export interface PoolMember {
  /** The member's client name. */
  name: string;
  /** Calls of this pool in flight on it (heartbeats not counted). */
  inFlight: number;
  /** Attempts made on it. */
  calls: number;
  /** Attempts that failed (error replies included). */
  failures: number;
  /** Moving average (EWMA, α = 0.2) of its successful calls' round trips in ms; `null` before the first. */
  latencyMs: number | null;
  /** The failure detector's suspicion level now. */
  phi: number;
  /** Whether φ is at or above the threshold: out of rotation while a healthy member exists. */
  suspected: boolean;
  /** Heartbeats it answered. */
  heartbeats: number;
}

/** One failed attempt of a pool call. */
export interface PoolAttempt {
  /** The member tried. */
  member: string;
  /** What went wrong. */
  error: Error;
  /** Whether the member may have run the call. */
  mayHaveRun: boolean;
}

/**
 * A pool call that failed without an error reply from a handler: no member,
 * member gone, timed out, retries spent. `mayHaveRun` is false when no
 * member can have run it (every attempt was refused by the broker, or none
 * was made), true when one may have.
 *
 * @example Branch on whether the call may have run
 * ```ts
 * import assert from "node:assert/strict";
 * import { PoolCallError, RpcErrorCode } from "./mod.ts";
 * const err = new PoolCallError(RpcErrorCode.Timeout, "call timed out", { mayHaveRun: true, attempts: [] });
 * assert.ok(err.isTimeout() && err.mayHaveRun);
 * ```
 */
export class PoolCallError extends RpcError {
  /** Whether a member may have run the call. */
  readonly mayHaveRun: boolean;
  /** The failed attempts, in order. */
  readonly attempts: readonly PoolAttempt[];

  /**
   * Creates the error (the pool does; exported for tests and wrappers).
   *
   * @param code the RPC code of the last failure (-32113, -32120 …)
   * @param message what happened
   * @param details whether the call may have run, and the attempts
   */
  constructor(
    code: number,
    message: string,
    details: { mayHaveRun: boolean; attempts: readonly PoolAttempt[]; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.name = "PoolCallError";
    this.mayHaveRun = details.mayHaveRun;
    this.attempts = details.attempts;
  }
}

/**
 * What a pool needs of the RPC client it calls through (an `RpcClient`
 * satisfies it).
 */
export interface PoolConnection {
  /** The bus client underneath. */
  readonly client: BusClient;
  /** Calls `method` on `target`. */
  call(
    target: string,
    method: string,
    params?: unknown,
    options?: { qos?: QoS; timeout?: number; signal?: AbortSignal },
  ): Promise<RpcReply>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** Opens the pool's connection, handing its non-RPC frames to `onFrame`. */
export type PoolConnector = (onFrame: (frame: Frame) => void) => Promise<PoolConnection>;

const BARRIER_TOPIC = ".busrt-pool/barrier";
const EWMA_ALPHA = 0.2;

/** Why an attempt was aborted by the pool. */
class AttemptLost extends RpcError {
  constructor(member: string, why: "left" | "suspected") {
    super(
      RpcErrorCode.Io,
      why === "left"
        ? `member "${member}" left while the call was in flight`
        : `member "${member}" became suspected while the call was in flight`,
    );
  }
}

class Member {
  readonly name: string;
  readonly detector: PhiAccrualDetector;
  /**
   * Aborts the calls on this member when it leaves. One signal per member,
   * not per call: an AbortController per call costs more than the call.
   */
  readonly lost = new AbortController();
  /** Aborts its idempotent calls when it leaves or becomes suspected (then replaced). */
  moved = new AbortController();
  inFlight = 0;
  calls = 0;
  failures = 0;
  latency = NaN;
  heartbeats = 0;
  heartbeatPending = false;
  suspected = false;
  gone = false;
  /** Scratch fields of one pick. */
  pickable = false;
  healthy = false;

  constructor(name: string, detector: PhiAccrualDetector) {
    this.name = name;
    this.detector = detector;
  }
}

/**
 * How an attempt ended: a reply; a failure to rethrow as it is (an error
 * reply, the caller's abort); or a failure of the pool's own, retried on
 * another member when `retryable` and safe.
 */
type Outcome =
  | { reply: RpcReply }
  | { reply: null; error: Error; rethrow: true }
  | { reply: null; error: Error; rethrow: false; mayHaveRun: boolean; retryable: boolean };

/**
 * A pool of the clients whose names match a mask. Create it with
 * `RpcClient.pool()`; see the module docs.
 */
export class RpcPool {
  /** The name mask of the members. */
  readonly mask: string;
  readonly #maskSegments: string[];
  readonly #strategy: PoolStrategy;
  readonly #timeoutMs: number;
  readonly #attemptMs: number;
  readonly #retries: number;
  readonly #qos: QoS;
  readonly #heartbeat: Required<Pick<PoolHeartbeatOptions, "intervalMs" | "method">> | null;
  readonly #detectorOptions: PhiAccrualOptions;
  readonly #onChange: ((event: PoolEvent) => void) | undefined;
  readonly #members = new Map<string, Member>();
  #list: Member[] = [];
  #turn = 0;
  #conn: PoolConnection | null = null;
  #early: [string, string][] | null = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(mask: string, options: RpcPoolOptions) {
    if (typeof mask !== "string" || mask.length === 0) throw new TypeError(`Invalid pool mask "${mask}"`);
    this.mask = mask;
    this.#maskSegments = mask.split(".");
    const strategy = options.strategy ?? "round-robin";
    if (strategy !== "round-robin" && strategy !== "random" && strategy !== "least-in-flight") {
      throw new RangeError(
        `Invalid strategy "${strategy}": expected "round-robin", "random" or "least-in-flight"`,
      );
    }
    this.#strategy = strategy;
    this.#timeoutMs = secondsToMs(options.timeout ?? 5, "timeout");
    this.#attemptMs = options.attemptTimeout === undefined
      ? Infinity
      : secondsToMs(options.attemptTimeout, "attemptTimeout");
    this.#retries = retryCount(options.retries ?? 2);
    const qos = options.qos ?? QoS.Processed;
    if (qos !== QoS.Processed && qos !== QoS.RealtimeProcessed) {
      throw new RangeError(`Invalid pool QoS "${qos}": must be acknowledged (1 or 3)`);
    }
    this.#qos = qos;
    const hb = options.heartbeat;
    if (hb === false) {
      this.#heartbeat = null;
      this.#detectorOptions = {};
    } else {
      const intervalMs = hb?.intervalMs ?? 1000;
      if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
        throw new RangeError(`Invalid heartbeat interval "${intervalMs}": must be a number of ms > 0`);
      }
      this.#heartbeat = { intervalMs, method: hb?.method ?? "test" };
      this.#detectorOptions = {
        firstIntervalMs: intervalMs,
        acceptablePauseMs: intervalMs,
        minStdDevMs: Math.max(100, intervalMs / 4),
        ...hb,
      };
      new PhiAccrualDetector(this.#detectorOptions); // validates the options now
    }
    this.#onChange = options.onChange;
  }

  /**
   * Opens a pool over the connection `connect` makes: subscribes it to the
   * broker's announcements, lists the members, starts the heartbeats.
   * `RpcClient.pool()` calls it with a secondary client.
   *
   * @param mask the name mask of the members (`?` one segment, `*` the rest)
   * @param options strategy, heartbeats, timeouts, retries
   * @param connect opens the pool's connection
   * @returns the pool, with the members registered now
   * @throws {RpcError} (as a rejection) when the broker has no core RPC (-32113) or the list fails
   */
  static async open(
    mask: string,
    options: RpcPoolOptions | undefined,
    connect: PoolConnector,
  ): Promise<RpcPool> {
    const pool = new RpcPool(mask, options ?? {});
    const conn = await connect((frame) => pool.#onFrame(frame));
    pool.#conn = conn;
    try {
      // subscribe first, then list: nothing that happens in between is missed
      await conn.client.subscribe(BROKER_INFO_TOPIC, QoS.Processed);
      const reply = await conn.call(BROKER_NAME, "client.list", undefined, {
        timeout: pool.#timeoutMs / 1000,
        qos: pool.#qos,
      });
      const listed = reply.unpack<{ clients?: { name?: unknown }[] }>().clients ?? [];
      for (const c of listed) if (typeof c.name === "string") pool.#join(c.name);
      const early = pool.#early ?? [];
      pool.#early = null;
      for (const [subject, name] of early) pool.#announced(subject, name, false);
    } catch (err) {
      await conn.close();
      throw err;
    }
    conn.client.closed.then(() => pool.close());
    if (pool.#heartbeat !== null) {
      pool.#timer = setInterval(pool.#tick, pool.#heartbeat.intervalMs);
      for (const m of pool.#list) pool.#sendHeartbeat(m);
    }
    return pool;
  }

  /** The number of members. */
  get size(): number {
    return this.#list.length;
  }

  /** Whether the pool is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The members now, sorted by name, with their load, latency and health.
   *
   * @returns one snapshot per member
   */
  members(): PoolMember[] {
    const now = performance.now();
    return [...this.#list].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0).map((m) => {
      const phi = this.#heartbeat === null ? 0 : m.detector.phi(now);
      return {
        name: m.name,
        inFlight: m.inFlight,
        calls: m.calls,
        failures: m.failures,
        latencyMs: Number.isNaN(m.latency) ? null : m.latency,
        phi,
        suspected: phi >= m.detector.threshold,
        heartbeats: m.heartbeats,
      };
    });
  }

  /**
   * Calls `method` on one member (see the module docs for how it is picked
   * and when the call is retried on another).
   *
   * @param method the method name
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options idempotence, timeouts, deadline, retries, abort signal
   * @returns the reply of the member that ran the call (`reply.sender` names it)
   * @throws {PoolCallError} (as a rejection) when no member ran it, with `mayHaveRun`
   * @throws {RpcError} (as a rejection) the error reply of the member's handler, as it came
   */
  async call(method: string, params?: unknown, options: PoolCallOptions = {}): Promise<RpcReply> {
    const idempotent = options.idempotent ?? false;
    const start = performance.now();
    const end = this.#endOf(start, options.timeout, options.deadline);
    const attemptMs = options.attemptTimeout === undefined
      ? this.#attemptMs
      : secondsToMs(options.attemptTimeout, "attemptTimeout");
    const retries = options.retries === undefined ? this.#retries : retryCount(options.retries);
    const signal = options.signal;
    // made on the first failure only: most calls need neither
    let tried: Set<string> | null = null;
    const attempts: PoolAttempt[] = [];
    for (let now = start;; now = performance.now()) {
      signal?.throwIfAborted();
      if (this.#closed) {
        throw this.#failure(method, attempts, RpcErrorCode.Eof, `pool "${this.mask}" is closed`);
      }
      const member = this.#pick(tried, now);
      if (member === null) {
        const why = tried === null
          ? `no member of pool "${this.mask}" is registered`
          : `no other member of pool "${this.mask}" to try`;
        throw this.#failure(method, attempts, RpcErrorCode.NotRegistered, why);
      }
      const left = end - now;
      if (left <= 0) {
        throw this.#failure(method, attempts, RpcErrorCode.Timeout, "the call's time ran out");
      }
      const outcome = await this.#attempt(
        now,
        member,
        method,
        params,
        Math.min(left, attemptMs),
        signal,
        idempotent,
      );
      if (outcome.reply !== null) return outcome.reply;
      if (outcome.rethrow) throw outcome.error;
      attempts.push({ member: member.name, error: outcome.error, mayHaveRun: outcome.mayHaveRun });
      (tried ??= new Set()).add(member.name);
      if (!outcome.retryable || (outcome.mayHaveRun && !idempotent) || attempts.length > retries) {
        throw this.#failure(method, attempts, codeOf(outcome.error), null);
      }
    }
  }

  /**
   * Calls `method` on every member at once and waits for all of them.
   * Nothing is retried; a member that does not answer in time gets a
   * timeout error.
   *
   * @param method the method name
   * @param params the params: bytes as they are, `undefined` for none, else MessagePack
   * @param options timeout or deadline, abort signal
   * @returns one result per member, sorted by member name
   */
  async callAll(method: string, params?: unknown, options: PoolCallAllOptions = {}): Promise<PoolResult[]> {
    const start = performance.now();
    const end = this.#endOf(start, options.timeout, options.deadline);
    const members = [...this.#list].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return await Promise.all(members.map(async (m): Promise<PoolResult> => {
      const o = await this.#attempt(start, m, method, params, end - start, options.signal, false);
      return o.reply !== null ? { member: m.name, ok: true, reply: o.reply } : {
        member: m.name,
        ok: false,
        error: o.error,
      };
    }));
  }

  /** Stops the heartbeats and closes the pool's connection; calls in flight fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#conn?.close();
  }

  // ---------------------------------------------------------------- members

  #onFrame(frame: Frame): void {
    if (frame.kind !== Op.Publish || frame.topic !== BROKER_INFO_TOPIC || frame.sender !== BROKER_NAME) {
      return;
    }
    let event: { s?: unknown; d?: unknown };
    try {
      event = unpack(frame.payload) as { s?: unknown; d?: unknown };
    } catch {
      return;
    }
    if (event === null || typeof event !== "object") return;
    const { s, d } = event;
    if (typeof s !== "string" || typeof d !== "string") return;
    if (this.#early !== null) this.#early.push([s, d]);
    else this.#announced(s, d, true);
  }

  /**
   * Applies an announcement. Live, a `reg` of a member is a new process
   * under its name (a forced registration replaces a client without
   * `unreg`); replayed over the list, it is the one listed.
   */
  #announced(subject: string, name: string, live: boolean): void {
    if (subject === "reg") {
      if (live) this.#leave(name);
      this.#join(name);
      const m = this.#members.get(name);
      if (m !== undefined && this.#timer !== undefined) this.#sendHeartbeat(m);
    } else if (subject === "unreg") {
      this.#leave(name);
    }
  }

  #matches(name: string): boolean {
    return name !== BROKER_NAME && !name.includes("%%") &&
      matchSegments(this.#maskSegments, name.split("."), "*", "?");
  }

  #join(name: string): void {
    if (this.#closed || this.#members.has(name) || !this.#matches(name)) return;
    const m = new Member(name, new PhiAccrualDetector(this.#detectorOptions));
    // joining is a sign of life: a member that never answers becomes suspected too
    if (this.#heartbeat !== null) m.detector.heartbeat(performance.now());
    this.#members.set(name, m);
    this.#list.push(m);
    this.#emit("join", name);
  }

  #leave(name: string): void {
    const m = this.#members.get(name);
    if (m === undefined) return;
    this.#members.delete(name);
    this.#list = this.#list.filter((x) => x !== m);
    m.gone = true;
    this.#emit("leave", name);
    if (m.inFlight > 0) this.#abortLost(m);
  }

  /**
   * Fails the calls still waiting on a member that left — once the broker
   * has acknowledged everything sent before: a call it refused has been
   * rejected by then as not delivered (did not run), one still waiting was
   * delivered (may have run).
   */
  async #abortLost(m: Member): Promise<void> {
    try {
      await this.#conn?.client.unsubscribe(BARRIER_TOPIC, QoS.Processed);
    } catch {
      // the connection is gone: the calls fail with it
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    const reason = new AttemptLost(m.name, "left");
    m.moved.abort(reason);
    m.lost.abort(reason);
  }

  #emit(type: PoolEvent["type"], member: string): void {
    if (this.#onChange === undefined) return;
    try {
      this.#onChange({ type, member });
    } catch {
      // a listener's failure is its own
    }
  }

  // ---------------------------------------------------------------- picking

  /**
   * Picks a member not in `tried` by the strategy: a healthy one while any
   * is left, else a suspected one, else none.
   */
  #pick(tried: Set<string> | null, now: number): Member | null {
    const list = this.#list;
    const n = list.length;
    if (n === 0) return null;
    const checked = this.#heartbeat !== null;
    let healthy = 0;
    for (let i = 0; i < n; i++) {
      const m = list[i];
      m.pickable = tried === null || !tried.has(m.name);
      m.healthy = !checked || !m.detector.isSuspected(now);
      if (m.pickable && m.healthy) healthy++;
    }
    // only healthy members while one is left to try
    if (healthy > 0) { for (let i = 0; i < n; i++) list[i].pickable &&= list[i].healthy; }
    const start = this.#turn % n;
    let best = -1;
    if (this.#strategy === "random") {
      let count = 0;
      for (let i = 0; i < n; i++) if (list[i].pickable) count++;
      let k = Math.floor(Math.random() * count);
      for (let i = 0; i < n && best === -1; i++) if (list[i].pickable && k-- === 0) best = i;
    } else {
      const fewest = this.#strategy === "least-in-flight";
      for (let j = 0; j < n; j++) {
        const i = (start + j) % n;
        if (!list[i].pickable) continue;
        if (!fewest) {
          best = i;
          break;
        }
        if (best === -1 || list[i].inFlight < list[best].inFlight) best = i;
      }
    }
    if (best === -1) return null;
    this.#turn = best + 1;
    return list[best];
  }

  // ---------------------------------------------------------------- calling

  async #attempt(
    started: number,
    m: Member,
    method: string,
    params: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    idempotent: boolean,
  ): Promise<Outcome> {
    const conn = this.#conn;
    if (conn === null || this.#closed) {
      const error = new RpcError(RpcErrorCode.Eof, `pool "${this.mask}" is closed`);
      return { reply: null, error, rethrow: false, mayHaveRun: false, retryable: false };
    }
    const memberSignal = idempotent ? m.moved.signal : m.lost.signal;
    const own = signal === undefined ? memberSignal : AbortSignal.any([signal, memberSignal]);
    m.inFlight++;
    m.calls++;

    try {
      const reply = await conn.call(m.name, method, params, {
        timeout: timeoutMs === Infinity ? 0 : Math.max(timeoutMs, 1) / 1000,
        qos: this.#qos,
        signal: own,
      });
      const took = performance.now() - started;
      m.latency = Number.isNaN(m.latency) ? took : m.latency + EWMA_ALPHA * (took - m.latency);
      return { reply };
    } catch (err) {
      m.failures++;
      return classify(err, own, signal);
    } finally {
      m.inFlight--;
    }
  }

  #endOf(now: number, timeout: number | undefined, deadline: number | undefined): number {
    let end = now + (timeout === undefined ? this.#timeoutMs : secondsToMs(timeout, "timeout"));
    if (deadline !== undefined) end = Math.min(end, now + (deadline - Date.now()));
    return end;
  }

  #failure(method: string, attempts: PoolAttempt[], code: number, why: string | null): PoolCallError {
    const mayHaveRun = attempts.some((a) => a.mayHaveRun);
    const last = attempts.at(-1);
    const parts = [`Call "${method}" to pool "${this.mask}" failed`];
    if (last !== undefined) parts.push(`on "${last.member}": ${last.error.message}`);
    if (why !== null) parts.push(why);
    if (attempts.length > 1) parts.push(`after ${attempts.length} attempts`);
    const message = `${parts.join(": ")}; it ${mayHaveRun ? "may have run" : "did not run"}`;
    return new PoolCallError(code, message, { mayHaveRun, attempts, cause: last?.error });
  }

  // ---------------------------------------------------------------- health

  readonly #tick = (): void => {
    const now = performance.now();
    for (const m of this.#list) {
      this.#checkHealth(m, now);
      if (!m.heartbeatPending) this.#sendHeartbeat(m);
    }
  };

  #checkHealth(m: Member, now: number): void {
    const suspected = m.detector.isSuspected(now);
    if (suspected === m.suspected) return;
    m.suspected = suspected;
    if (!suspected) {
      this.#emit("recover", m.name);
      return;
    }
    this.#emit("suspect", m.name);
    const moved = m.moved;
    m.moved = new AbortController();
    moved.abort(new AttemptLost(m.name, "suspected"));
  }

  #sendHeartbeat(m: Member): void {
    const hb = this.#heartbeat;
    const conn = this.#conn;
    if (hb === null || conn === null || this.#closed || m.heartbeatPending) return;
    m.heartbeatPending = true;
    const answered = () => {
      if (m.gone) return;
      m.heartbeats++;
      const now = performance.now();
      m.detector.heartbeat(now);
      this.#checkHealth(m, now);
    };
    conn.call(m.name, hb.method, undefined, {
      timeout: Math.max(hb.intervalMs * 10, 5000) / 1000,
      qos: this.#qos,
    }).then(answered, (err) => {
      // an error reply is an answer too: the member's RPC loop runs
      if (err instanceof RpcError && err.remote) answered();
    }).finally(() => m.heartbeatPending = false);
  }
}

/** Sorts out a failed attempt: did it run, may it be retried elsewhere. */
function classify(err: unknown, own: AbortSignal, caller: AbortSignal | undefined): Outcome {
  if (
    caller?.aborted || !(err instanceof RpcError || own.aborted) || (err instanceof RpcError && err.remote)
  ) {
    return { reply: null, error: err instanceof Error ? err : new Error(String(err)), rethrow: true };
  }
  if (own.aborted && own.reason instanceof AttemptLost) {
    return { reply: null, error: own.reason, rethrow: false, mayHaveRun: true, retryable: true };
  }
  const error = err as RpcError;
  switch (error.code) {
    case RpcErrorCode.NotRegistered:
    case RpcErrorCode.NotDelivered:
    case RpcErrorCode.Access:
      return { reply: null, error, rethrow: false, mayHaveRun: false, retryable: true };
    case RpcErrorCode.Eof:
      return { reply: null, error, rethrow: false, mayHaveRun: true, retryable: false };
    default:
      return { reply: null, error, rethrow: false, mayHaveRun: true, retryable: true };
  }
}

function codeOf(err: Error): number {
  return err instanceof RpcError ? err.code : RpcErrorCode.Internal;
}

function secondsToMs(seconds: number, what: string): number {
  if (!(seconds >= 0)) throw new RangeError(`Invalid ${what} "${seconds}": must be a number of seconds ≥ 0`);
  return seconds === 0 ? Infinity : seconds * 1000;
}

function retryCount(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`Invalid retries "${n}": must be an integer ≥ 0`);
  return n;
}
