/**
 * The broker's read-only HTTP monitoring endpoint (`Broker.serveHttp`):
 * `/healthz`, `/api/stats`, `/api/clients`, `/api/subscriptions` and
 * `/metrics` on `Deno.serve`, with an optional bearer token. It reads the
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
  #closed: Promise<void> | null = null;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, sampler: RateSampler) {
    this.#server = server;
    this.#sampler = sampler;
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
        return await routes.handle(request);
      });
    } catch (err) {
      sampler.stop();
      throw err;
    }
    return new HttpMonitor(server, sampler);
  }

  /** Stops listening (open requests are answered first). Idempotent. */
  close(): Promise<void> {
    if (this.#closed === null) {
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
      case "/healthz":
        return this.healthy ? text(200, "ok\n") : text(503, "shutting down\n");
      case "/api/stats":
        return json(monitorStats(source, this.#sampler));
      case "/api/clients":
        return await this.#clients(url);
      case "/api/subscriptions":
        return json({ subscriptions: monitorSubscriptions(source) });
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
    return json({ clients: rows });
  }
}
