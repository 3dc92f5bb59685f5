/**
 * The Prometheus text exposition (format 0.0.4) of `GET /metrics`:
 * counters end in `_total`, every metric has its `# HELP` and `# TYPE`
 * lines, labels are `listener` and `kind`. Series per client
 * (`client` label) appear only when asked for, so that the number of
 * series stays bounded by the number of listeners by default.
 *
 * @example Render a family
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsText } from "./prometheus.ts";
 * const out = new MetricsText();
 * out.family("busrt_clients", "gauge", "Registered clients.", [
 *   [{ kind: "tcp" }, 2],
 *   [{ kind: 'a"b' }, 1],
 * ]);
 * assert.equal(
 *   out.toString(),
 *   '# HELP busrt_clients Registered clients.\n# TYPE busrt_clients gauge\n' +
 *     'busrt_clients{kind="tcp"} 2\nbusrt_clients{kind="a\\"b"} 1\n',
 * );
 * ```
 *
 * @module
 */
import type { MonitorClient, MonitorStats } from "./monitor_snapshot.ts";

/** The content type of the exposition. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A metric's type. */
export type MetricType = "counter" | "gauge";

/** One sample: its labels and value. */
export type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Builds an exposition, one family at a time. */
export class MetricsText {
  readonly #lines: string[] = [];

  /**
   * Adds a metric family. Nothing is written for a family without samples.
   *
   * @param name the metric name (`_total` for counters)
   * @param type counter or gauge
   * @param help one line of help
   * @param samples the samples
   */
  family(name: string, type: MetricType, help: string, samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    const lines = this.#lines;
    lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      const set = keys.length === 0
        ? ""
        : `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
      lines.push(`${name}${set} ${formatValue(value)}`);
    }
  }

  /**
   * The exposition text.
   *
   * @returns the lines, each ended by a newline
   */
  toString(): string {
    return this.#lines.length === 0 ? "" : this.#lines.join("\n") + "\n";
  }
}

/**
 * The broker's metrics.
 *
 * @param stats the broker-wide statistics
 * @param healthy whether `/healthz` answers 200
 * @param clients the client rows, for per-client series; null for none
 * @returns the exposition
 */
export function renderMetrics(
  stats: MonitorStats,
  healthy: boolean,
  clients: readonly MonitorClient[] | null,
): string {
  const out = new MetricsText();
  const none = {};
  out.family("busrt_up", "gauge", "1 while the broker serves, 0 during shutdown.", [[none, healthy ? 1 : 0]]);
  out.family("busrt_build_info", "gauge", "The broker's version, as a label.", [[
    { version: stats.version },
    1,
  ]]);
  out.family("busrt_uptime_seconds", "gauge", "Seconds since the broker was created.", [[
    none,
    stats.uptime,
  ]]);
  out.family("busrt_received_frames_total", "counter", "Frames received from clients.", [[
    none,
    stats.r_frames,
  ]]);
  out.family("busrt_received_bytes_total", "counter", "Bytes received from clients.", [[
    none,
    stats.r_bytes,
  ]]);
  out.family("busrt_sent_frames_total", "counter", "Frames written to clients.", [[none, stats.w_frames]]);
  out.family("busrt_sent_bytes_total", "counter", "Bytes written to clients.", [[none, stats.w_bytes]]);
  const kinds = Object.entries(stats.clients.by_kind);
  out.family(
    "busrt_clients",
    "gauge",
    "Registered clients (primaries and secondaries) by connection kind.",
    kinds.map(([kind, n]) => [{ kind }, n]),
  );
  out.family("busrt_primary_clients", "gauge", "Registered primary clients.", [[
    none,
    stats.clients.primaries,
  ]]);
  out.family("busrt_secondary_clients", "gauge", "Registered secondary clients.", [[
    none,
    stats.clients.secondaries,
  ]]);
  out.family("busrt_subscriptions", "gauge", "Subscriptions (pairs of a client and a pattern).", [[
    none,
    stats.subscriptions,
  ]]);
  out.family("busrt_subscribed_topics", "gauge", "Distinct subscribed topic patterns.", [[
    none,
    stats.topics,
  ]]);
  out.family("busrt_queued_frames", "gauge", "Frames waiting in all outgoing queues.", [[
    none,
    stats.queued_frames,
  ]]);
  out.family("busrt_queued_bytes", "gauge", "Bytes waiting in the outgoing queues of socket clients.", [[
    none,
    stats.queued_bytes,
  ]]);
  const listeners = stats.listeners;
  out.family(
    "busrt_listener_connections",
    "gauge",
    "Open connections per listener, registered or not.",
    listeners.map((l) => [{ listener: l.bind }, l.connections]),
  );
  out.family(
    "busrt_listener_clients",
    "gauge",
    "Registered clients per listener (primaries and secondaries).",
    listeners.map((l) => [{ listener: l.bind }, l.clients + l.secondaries]),
  );
  if (stats.bridge !== undefined) bridgeMetrics(out, stats.bridge);
  if (clients !== null) {
    const labels = (c: MonitorClient) => ({ client: c.name, kind: c.kind, listener: c.port ?? "" });
    const each = (value: (c: MonitorClient) => number): Sample[] => clients.map((c) => [labels(c), value(c)]);
    out.family(
      "busrt_client_received_frames_total",
      "counter",
      "Frames received from the client.",
      each((c) => c.r_frames),
    );
    out.family(
      "busrt_client_received_bytes_total",
      "counter",
      "Bytes received from the client.",
      each((c) => c.r_bytes),
    );
    out.family(
      "busrt_client_sent_frames_total",
      "counter",
      "Frames written to the client.",
      each((c) => c.w_frames),
    );
    out.family(
      "busrt_client_sent_bytes_total",
      "counter",
      "Bytes written to the client.",
      each((c) => c.w_bytes),
    );
    out.family(
      "busrt_client_queued_frames",
      "gauge",
      "Frames waiting in the client's queue.",
      each((c) => c.queue),
    );
    out.family(
      "busrt_client_queued_bytes",
      "gauge",
      "Bytes waiting in the client's queue.",
      each((c) => c.queue_bytes),
    );
  }
  return out.toString();
}

/** The bridge's counters (`busrt_bridge_*_total`), buffer gauges and connection state, labelled by node. */
function bridgeMetrics(out: MetricsText, bridge: NonNullable<MonitorStats["bridge"]>): void {
  const node = { node: String(bridge.node) };
  out.family("busrt_bridge_connected", "gauge", "1 while the bridge's NATS connection is up.", [[
    node,
    bridge.state === "connected" ? 1 : 0,
  ]]);
  for (const [key, value] of Object.entries(bridge)) {
    if (typeof value !== "number") continue;
    if (key.startsWith("buffered")) {
      const name = key === "buffered" ? "busrt_bridge_buffered_frames" : `busrt_bridge_${key}`;
      out.family(name, "gauge", `Bridge outbound buffer (${key}) while NATS is unreachable.`, [[
        node,
        value,
      ]]);
    } else {
      out.family(`busrt_bridge_${key}_total`, "counter", `Bridge counter ${key} (docs/CLUSTER.md).`, [[
        node,
        value,
      ]]);
    }
  }
}
