/**
 * What the HTTP monitoring endpoint shows (`Broker.serveHttp`): broker
 * statistics, client rows, subscriptions and recent rates, read from the
 * counters the broker keeps anyway. Nothing here runs per message: the
 * {@linkcode RateSampler} reads the counters once a second while an
 * endpoint is open, and a snapshot walks the client table once.
 *
 * @module
 */
import type { GatewayStats } from "./remote_gateway.ts";
import { VERSION } from "../protocol/constants.ts";
import type { BrokerListener } from "./listener.ts";
import {
  type ClientInfo,
  clientInfoOf,
  type ClientKind,
  compareNames,
  type RegisteredClient,
  type Traffic,
} from "./registered_client.ts";
import type { Router } from "./router.ts";

/** Every client kind, in the order the monitoring output lists them. */
export const CLIENT_KINDS: readonly ClientKind[] = ["internal", "local_ipc", "tcp", "websocket", "worker"];

/** Frames and bytes per second, in and out, over the last sampling interval. */
export interface TrafficRates {
  /** Frames received per second. */
  r_frames: number;
  /** Bytes received per second. */
  r_bytes: number;
  /** Frames written per second. */
  w_frames: number;
  /** Bytes written per second. */
  w_bytes: number;
}

/** One listener in {@linkcode MonitorStats}. */
export interface ListenerStats {
  /** The listener's bind (as `port` in client rows). */
  bind: string;
  /** Open connections, registered or not. */
  connections: number;
  /** Registered primary clients connected through it. */
  clients: number;
  /** Registered secondary clients connected through it. */
  secondaries: number;
}

/** `GET /api/stats`: the broker as a whole. */
export interface MonitorStats {
  /** Whole seconds since the broker was created. */
  uptime: number;
  /** This package's version. */
  version: string;
  /** Whether the broker is shutting down (or closed). */
  closing: boolean;
  /** Frames received from clients. */
  r_frames: number;
  /** Bytes received from clients. */
  r_bytes: number;
  /** Frames written to clients. */
  w_frames: number;
  /** Bytes written to clients. */
  w_bytes: number;
  /** Recent rates, per second. */
  rates: TrafficRates;
  /** Registered clients. */
  clients: {
    /** Primary clients. */
    primaries: number;
    /** Secondary clients (`name%%x`). */
    secondaries: number;
    /** Primaries and secondaries per kind. */
    by_kind: Record<ClientKind, number>;
  };
  /** Subscriptions: pairs of a client and a pattern. */
  subscriptions: number;
  /** Distinct subscribed patterns. */
  topics: number;
  /** Frames waiting in all outgoing queues. */
  queued_frames: number;
  /** Bytes waiting in all outgoing queues (socket connections). */
  queued_bytes: number;
  /** Per listener counts. */
  listeners: ListenerStats[];
  /** The bridge to other hosts, when one is attached (docs/CLUSTER.md). */
  bridge?: GatewayStats;
}

/** `GET /api/clients`: one primary client (a `client.list` row and more). */
export interface MonitorClient extends ClientInfo {
  /** Bytes waiting in its queue (0 for in-process clients). */
  queue_bytes: number;
  /** Subscribed patterns (the primary's). */
  subscriptions: number;
  /** When it registered, ISO 8601. */
  connected_since: string;
  /** Recent rates, per second. */
  rates: TrafficRates;
}

/** `GET /api/subscriptions`: one subscribed pattern. */
export interface MonitorSubscription {
  /** The pattern as subscribed (`+` and `#` wildcards). */
  topic: string;
  /** Clients subscribed to it (secondaries count on their own). */
  subscribers: number;
}

/** A broker's state as the monitoring endpoint reads it. @internal */
export interface MonitorSource {
  /** The routing engine. */
  readonly router: Router;
  /** The active listeners. */
  readonly listeners: readonly BrokerListener[];
  /** Creation time, ms since the epoch. */
  readonly startedAt: number;
  /** Whether close() was called. */
  readonly closing: boolean;
}

const ZERO_RATES: TrafficRates = Object.freeze({ r_frames: 0, r_bytes: 0, w_frames: 0, w_bytes: 0 });

const NO_TRAFFIC: Traffic = Object.freeze({ rFrames: 0, rBytes: 0, wFrames: 0, wBytes: 0 });

function copyTraffic(t: Traffic): Traffic {
  return { rFrames: t.rFrames, rBytes: t.rBytes, wFrames: t.wFrames, wBytes: t.wBytes };
}

function rates(now: Traffic, before: Traffic, seconds: number): TrafficRates {
  const per = (a: number, b: number) => Math.max(0, Math.round((a - b) / seconds));
  return {
    r_frames: per(now.rFrames, before.rFrames),
    r_bytes: per(now.rBytes, before.rBytes),
    w_frames: per(now.wFrames, before.wFrames),
    w_bytes: per(now.wBytes, before.wBytes),
  };
}

/** One point of {@linkcode RateSampler.history}. */
export interface RatePoint {
  /** Sample time, ms since the epoch. */
  t: number;
  /** Broker-wide rates over the interval that ended then. */
  rates: TrafficRates;
  /** Frames waiting in all outgoing queues then. */
  queued_frames: number;
}

/**
 * Reads the broker's counters every `intervalMs` and keeps the rates of the
 * last interval (broker-wide and per client) and a history of broker-wide
 * points. O(clients) per interval, nothing per message. @internal
 */
export class RateSampler {
  readonly #source: MonitorSource;
  readonly #intervalMs: number;
  readonly #historySize: number;
  #timer: ReturnType<typeof setInterval> | null;
  #at = performance.now();
  #totals: Traffic;
  #clients = new Map<RegisteredClient, Traffic>();
  #totalRates: TrafficRates = ZERO_RATES;
  #clientRates = new Map<RegisteredClient, TrafficRates>();
  readonly #history: RatePoint[] = [];
  readonly #listeners = new Set<(point: RatePoint) => void>();

  /**
   * Starts sampling.
   *
   * @param source the broker's state
   * @param intervalMs the sampling interval
   * @param historySize how many points {@linkcode RateSampler.history} keeps
   */
  constructor(source: MonitorSource, intervalMs = 1000, historySize = 300) {
    this.#source = source;
    this.#intervalMs = intervalMs;
    this.#historySize = historySize;
    this.#totals = copyTraffic(source.router.totals);
    for (const c of source.router.clients()) this.#clients.set(c, copyTraffic(c.traffic));
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** The sampling interval in milliseconds. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Takes a sample now (the timer does it every interval). */
  sample(): void {
    const now = performance.now();
    const seconds = Math.max((now - this.#at) / 1000, 0.001);
    this.#at = now;
    const router = this.#source.router;
    const totals = copyTraffic(router.totals);
    this.#totalRates = rates(totals, this.#totals, seconds);
    this.#totals = totals;
    const clients = new Map<RegisteredClient, Traffic>();
    const clientRates = new Map<RegisteredClient, TrafficRates>();
    let queued = 0;
    for (const c of router.clients()) {
      const t = copyTraffic(c.traffic);
      clients.set(c, t);
      // a client that registered since the last sample did all its traffic within this interval
      clientRates.set(c, rates(t, this.#clients.get(c) ?? NO_TRAFFIC, seconds));
      queued += c.sink.queueLength();
    }
    this.#clients = clients;
    this.#clientRates = clientRates;
    const point = { t: Date.now(), rates: this.#totalRates, queued_frames: queued };
    this.#history.push(point);
    if (this.#history.length > this.#historySize) this.#history.shift();
    for (const listener of this.#listeners) listener(point);
  }

  /**
   * Calls `listener` after every sample until the returned function is called.
   *
   * @param listener called with the new point
   * @returns the function that stops the calls
   */
  listen(listener: (point: RatePoint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Broker-wide rates of the last interval. */
  get totalRates(): TrafficRates {
    return this.#totalRates;
  }

  /**
   * A client's rates of the last interval (zeros before its first full interval).
   *
   * @param c the client
   * @returns its rates
   */
  rates(c: RegisteredClient): TrafficRates {
    return this.#clientRates.get(c) ?? ZERO_RATES;
  }

  /** The broker-wide points, oldest first. */
  get history(): readonly RatePoint[] {
    return this.#history;
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#clients.clear();
    this.#clientRates.clear();
    this.#listeners.clear();
  }
}

/**
 * The broker-wide statistics.
 *
 * @param source the broker's state
 * @param sampler the rates
 * @returns the statistics
 */
export function monitorStats(source: MonitorSource, sampler: RateSampler): MonitorStats {
  const router = source.router;
  const t = router.totals;
  const byKind = Object.fromEntries(CLIENT_KINDS.map((k) => [k, 0])) as Record<ClientKind, number>;
  const perListener = new Map<string, ListenerStats>();
  for (const l of source.listeners) {
    perListener.set(l.bind, { bind: l.bind, connections: l.connections, clients: 0, secondaries: 0 });
  }
  let primaries = 0;
  let secondaries = 0;
  let subscriptions = 0;
  let queuedFrames = 0;
  let queuedBytes = 0;
  const topics = new Set<string>();
  for (const c of router.clients()) {
    if (c.isSecondary) secondaries++;
    else primaries++;
    byKind[c.origin.kind]++;
    subscriptions += c.subscriptions.size;
    for (const p of c.subscriptions) topics.add(p);
    queuedFrames += c.sink.queueLength();
    queuedBytes += c.sink.queueBytes?.() ?? 0;
    const l = c.origin.port === null ? undefined : perListener.get(c.origin.port);
    if (l !== undefined) {
      if (c.isSecondary) l.secondaries++;
      else l.clients++;
    }
  }
  return {
    uptime: Math.floor((Date.now() - source.startedAt) / 1000),
    version: VERSION,
    closing: source.closing,
    r_frames: t.rFrames,
    r_bytes: t.rBytes,
    w_frames: t.wFrames,
    w_bytes: t.wBytes,
    rates: sampler.totalRates,
    clients: { primaries, secondaries, by_kind: byKind },
    subscriptions,
    topics: topics.size,
    queued_frames: queuedFrames,
    queued_bytes: queuedBytes,
    listeners: [...perListener.values()],
    ...(router.gateway === null ? {} : { bridge: router.gateway.stats() }),
  };
}

/**
 * The primary clients sorted by name (as `client.list`), with their
 * secondaries' queues added to theirs.
 *
 * @param source the broker's state
 * @param sampler the rates
 * @returns the rows
 */
export function monitorClients(source: MonitorSource, sampler: RateSampler): MonitorClient[] {
  const rows: MonitorClient[] = [];
  for (const c of source.router.clients()) {
    if (c.isSecondary) continue;
    rows.push({
      ...clientInfoOf(c),
      queue_bytes: c.sink.queueBytes?.() ?? 0,
      subscriptions: c.subscriptions.size,
      connected_since: new Date(c.since).toISOString(),
      rates: sampler.rates(c),
    });
  }
  return rows.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * The subscribed patterns with their subscriber counts, most subscribed first.
 *
 * @param source the broker's state
 * @returns the patterns
 */
export function monitorSubscriptions(source: MonitorSource): MonitorSubscription[] {
  const counts = new Map<string, number>();
  for (const c of source.router.clients()) {
    for (const p of c.subscriptions) counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return Array.from(counts, ([topic, subscribers]) => ({ topic, subscribers }))
    .sort((a, b) => b.subscribers - a.subscribers || compareNames(a.topic, b.topic));
}
