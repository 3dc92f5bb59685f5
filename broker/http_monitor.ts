/**
 * The broker's read-only HTTP monitoring endpoint (`Broker.serveHttp`):
 * `/healthz`, `/api/stats`, `/api/clients`, `/api/subscriptions`,
 * `/metrics`, `/api/events` and the dashboard (`/`) on `Deno.serve`, with
 * an optional bearer token. It reads the
 * counters the broker keeps anyway; while no endpoint is open nothing of
 * it runs at all. docs/MONITORING.md describes every route.
 *
 * @module
 */
import { TokenCheck } from "../transport/ws_token.ts";
import { AddressError, formatHostPort, parseAddress } from "../transport/address.ts";
import type { Logger } from "../log/logger.ts";
import { WarningLimiter } from "../log/warning_limiter.ts";
import { FilterTooCostlyError, NameFilter, selectByName } from "./name_filter.ts";
import {
  type MonitorClient,
  monitorClients,
  type MonitorSource,
  monitorStats,
  monitorSubscriptions,
  RateSampler,
} from "./monitor_snapshot.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./prometheus.ts";
import { DASHBOARD_HTML } from "./dashboard_page.ts";

/** Event streams (`/api/events`) one endpoint serves at once; more get 503. */
export const MAX_EVENT_STREAMS = 32;

/** Most rows one `/api/clients` page holds (`?limit=`). */
export const MAX_PAGE = 10_000;

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
};

/** Options of {@linkcode Broker.serveHttp}. */
export interface HttpMonitorOptions {
  /** Address to listen on. Default `127.0.0.1` (keep it on loopback or behind a proxy). */
  hostname?: string;
  /** Port; 0 picks a free one (read `endpoint.port`). Default 0. */
  port?: number;
  /**
   * Bearer token every request must present (`Authorization: Bearer …`, or
   * `?token=` where no header can be set); 401 without it. Default: none.
   */
  token?: string;
  /**
   * Adds per-client series (label `client`) to `/metrics`. Off by default:
   * the number of series then grows with the number of clients.
   */
  clientMetrics?: boolean;
}

/**
 * Parses the `host:port` of an HTTP endpoint (`[v6]:port` for IPv6).
 *
 * @example Where `--http` listens
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHttpBind } from "./http_monitor.ts";
 * assert.deepEqual(parseHttpBind("127.0.0.1:9100"), { hostname: "127.0.0.1", port: 9100 });
 * assert.deepEqual(parseHttpBind("[::1]:0"), { hostname: "::1", port: 0 });
 * assert.throws(() => parseHttpBind("/tmp/x.sock"), TypeError);
 * ```
 *
 * @param bind `host:port`
 * @returns the hostname and port
 * @throws {TypeError} (an `AddressError`) for anything else
 */
export function parseHttpBind(bind: string): { hostname: string; port: number } {
  const addr = parseAddress(bind);
  if (addr.transport !== "tcp") {
    throw new AddressError(bind, "an HTTP endpoint listens on host:port", { unsupported: true });
  }
  return { hostname: addr.hostname, port: addr.port };
}

/** Most work one `?filter=` may spend (as `client.list`). */
export const HTTP_FILTER_MAX_WORK = 20_000_000;

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const JSON_TYPE = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...TEXT, ...headers } });
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), { headers: JSON_TYPE });
}

/** A running monitoring endpoint. */
export class HttpMonitor {
  /** The address it listens on (`host:port`). */
  readonly bind: string;
  /** The actual port. */
  readonly port: number;
  /** The hostname it listens on. */
  readonly hostname: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sampler: RateSampler;
  readonly #streams: EventStreams;
  #closed: Promise<void> | null = null;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, sampler: RateSampler, streams: EventStreams) {
    this.#server = server;
    this.#sampler = sampler;
    this.#streams = streams;
    this.hostname = server.addr.hostname;
    this.port = server.addr.port;
    this.bind = formatHostPort(this.hostname, this.port);
  }

  /** The base URL, e.g. `http://127.0.0.1:9100`. */
  get url(): string {
    return `http://${this.bind}`;
  }

  /**
   * Starts an endpoint. @internal (use `Broker.serveHttp`)
   *
   * @param source the broker's state
   * @param options where to listen, the token
   * @param log where refused requests are logged (rate-limited)
   * @returns the running endpoint
   */
  static async open(source: MonitorSource, options: HttpMonitorOptions, log: Logger): Promise<HttpMonitor> {
    if (options.token !== undefined && (typeof options.token !== "string" || options.token === "")) {
      throw new TypeError("Invalid HTTP token: must be a non-empty string");
    }
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(`Invalid HTTP port ${port}: expected an integer from 0 to 65535`);
    }
    const tokenCheck = options.token === undefined ? null : await TokenCheck.of(options.token);
    const warnings = new WarningLimiter(log);
    const sampler = new RateSampler(source);
    const routes = new Routes(source, sampler, options.clientMetrics === true);
    const streams = new EventStreams(source, sampler);
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: options.hostname ?? "127.0.0.1",
        port,
        onListen() {},
        onError(err) {
          log.debug(`HTTP monitor: request failed: ${err}`);
          return text(500, "Internal Server Error\n");
        },
      }, async (request, info) => {
        if (tokenCheck !== null && !(await tokenCheck.admits(request))) {
          const peer = formatHostPort(info.remoteAddr.hostname, info.remoteAddr.port);
          warnings.warn("http token", `HTTP monitor: request from ${peer} refused: wrong or missing token`);
          return text(401, "Unauthorized: a bearer token is required\n", {
            "www-authenticate": 'Bearer realm="busrt"',
          });
        }
        if (new URL(request.url).pathname === "/api/events" && request.method === "GET") {
          return streams.open();
        }
        return await routes.handle(request);
      });
    } catch (err) {
      sampler.stop();
      throw err;
    }
    return new HttpMonitor(server, sampler, streams);
  }

  /** Stops listening (open requests are answered first). Idempotent. */
  close(): Promise<void> {
    if (this.#closed === null) {
      this.#streams.closeAll();
      this.#sampler.stop();
      this.#closed = this.#server.shutdown();
    }
    return this.#closed;
  }

  /** Resolves when the server has stopped. */
  get finished(): Promise<void> {
    return this.#server.finished;
  }
}

/** The routes: every answer is built from a fresh snapshot. */
class Routes {
  readonly #source: MonitorSource;
  readonly #sampler: RateSampler;
  readonly #clientMetrics: boolean;

  constructor(source: MonitorSource, sampler: RateSampler, clientMetrics: boolean) {
    this.#source = source;
    this.#sampler = sampler;
    this.#clientMetrics = clientMetrics;
  }

  /** Whether `/healthz` answers 200: listeners are up and no shutdown has begun. */
  get healthy(): boolean {
    return !this.#source.closing && this.#source.listeners.length > 0;
  }

  async handle(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Method Not Allowed: this endpoint is read-only\n", { allow: "GET, HEAD" });
    }
    const url = new URL(request.url);
    const source = this.#source;
    switch (url.pathname) {
      case "/":
        return new Response(DASHBOARD_HTML, { headers: PAGE_HEADERS });
      case "/healthz":
        return this.healthy ? text(200, "ok\n") : text(503, "shutting down\n");
      case "/api/stats":
        return json(monitorStats(source, this.#sampler));
      case "/api/clients":
        return await this.#clients(url);
      case "/api/subscriptions": {
        const limit = count(url, "limit", Infinity);
        if (limit === null) return text(400, "Bad Request: limit must be a whole number\n");
        return json({ subscriptions: monitorSubscriptions(source).slice(0, limit) });
      }
      case "/metrics": {
        const stats = monitorStats(source, this.#sampler);
        const clients = this.#clientMetrics ? monitorClients(source, this.#sampler) : null;
        return new Response(renderMetrics(stats, this.healthy, clients), {
          headers: { "content-type": METRICS_CONTENT_TYPE },
        });
      }
      default:
        return text(404, "Not Found\n");
    }
  }

  async #clients(url: URL): Promise<Response> {
    const offset = count(url, "offset", 0);
    const limit = count(url, "limit", MAX_PAGE);
    if (offset === null || limit === null) {
      return text(400, "Bad Request: offset and limit must be whole numbers\n");
    }
    const filterText = url.searchParams.get("filter");
    let rows: MonitorClient[] = monitorClients(this.#source, this.#sampler);
    if (filterText !== null && filterText !== "") {
      let filter: NameFilter;
      try {
        filter = NameFilter.parse(filterText);
      } catch (err) {
        return text(400, `Bad Request: invalid filter: ${err instanceof Error ? err.message : err}\n`);
      }
      try {
        rows = await selectByName(filter, rows, (c) => c.name, { maxWork: HTTP_FILTER_MAX_WORK });
      } catch (err) {
        if (err instanceof FilterTooCostlyError) return text(400, `Bad Request: ${err.message}\n`);
        throw err;
      }
    }
    return json({ clients: rows.slice(offset, offset + Math.min(limit, MAX_PAGE)), total: rows.length });
  }
}

/** A whole-number query parameter; `fallback` when absent, null when malformed. */
function count(url: URL, name: string, fallback: number): number | null {
  const value = url.searchParams.get(name);
  if (value === null || value === "") return fallback;
  return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

const encoder = new TextEncoder();

/**
 * `/api/events`: Server-Sent Events, `history` (the rate points so far)
 * once, then `stats` (`{stats, point}`) after every sample of the rates.
 */
class EventStreams {
  readonly #source: MonitorSource;
  readonly #sampler: RateSampler;
  readonly #open = new Set<() => void>();

  constructor(source: MonitorSource, sampler: RateSampler) {
    this.#source = source;
    this.#sampler = sampler;
  }

  open(): Response {
    if (this.#open.size >= MAX_EVENT_STREAMS) {
      return text(503, "Service Unavailable: too many event streams\n", { "retry-after": "5" });
    }
    let end: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (event: string, data: unknown) =>
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        send("history", this.#sampler.history);
        const stop = this.#sampler.listen((point) => {
          // a reader that does not keep up is dropped rather than buffered for
          if ((controller.desiredSize ?? 0) < -(1 << 20)) return end();
          send("stats", { stats: monitorStats(this.#source, this.#sampler), point });
        });
        end = () => {
          if (!this.#open.delete(end)) return;
          stop();
          try {
            controller.close();
          } catch {
            // cancelled already
          }
        };
        this.#open.add(end);
      },
      cancel: () => end(),
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  closeAll(): void {
    for (const end of [...this.#open]) end();
  }
}
