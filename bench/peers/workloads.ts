/**
 * The measured loops, written once against {@linkcode BenchConnection} and
 * {@linkcode Requester} so every target gets exactly the same load.
 *
 * @module
 */
import { ReceiveProgress } from "./flow_control.ts";
import { DeliveryCheck, PayloadRing } from "./payload_check.ts";
import type { BenchConnection, Requester, Target } from "./target.ts";

/** A pipelined one-way workload. */
export interface StreamSpec {
  /** Connections that send. */
  senders: BenchConnection[];
  /** Connections that receive every message sent. */
  receivers: BenchConnection[];
  /** `direct`: to the single receiver's inbox; `topic`: published on `topic`, all receivers subscribed. */
  mode: "direct" | "topic";
  /** Topic for `topic` mode. */
  topic: string;
  /** Payload size of every message (at least 6 bytes: each carries a sequence stamp, see payload_check.ts). */
  payloadSize: number;
  /** Most messages to send (all senders together). */
  total: number;
  /** Sending stops after this many milliseconds. */
  capMs: number;
  /** Most messages sent but not yet received by the slowest receiver. */
  window: number;
  /** Messages sent between flushes. */
  batch: number;
  /** How long to wait for the last messages before calling them lost. */
  drainTimeoutMs: number;
}

/** Outcome of a stream run. */
export interface StreamResult {
  /** Messages sent. */
  sent: number;
  /** Messages delivered (sent × receivers). */
  delivered: number;
  /** From the first send to the last delivery. */
  seconds: number;
  /** Deliveries whose sequence, length and content sample were checked (all of them). */
  verified: number;
}

/**
 * Runs a pipelined workload: senders keep at most `window` messages ahead of
 * the slowest receiver, until `total` or the time cap. Every delivery is
 * checked (sequence per sender, length, a sample of the bytes): a lost,
 * repeated, reordered or damaged message fails the run.
 *
 * @example
 * ```ts ignore
 * const r = await runStream({ senders: [a], receivers: [b], mode: "direct", topic: "", payloadSize: 100,
 *   total: 1e6, capMs: 1000, window: 4096, batch: 256, drainTimeoutMs: 10_000 });
 * console.log(r.delivered / r.seconds, "msg/s");
 * ```
 */
export async function runStream(spec: StreamSpec): Promise<StreamResult> {
  const { senders, receivers, window } = spec;
  const batch = Math.max(1, Math.min(spec.batch, Math.floor(window / 2)));
  const progress = new ReceiveProgress(receivers.length);
  const check = new DeliveryCheck(receivers.length, senders.length, spec.payloadSize);
  receivers.forEach((r, i) =>
    r.onMessage((payload) => {
      check.check(i, payload);
      progress.received(i);
    })
  );
  let sent = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + spec.capMs;
  const runSender = async (conn: BenchConnection, index: number): Promise<void> => {
    // a sender never has more than `window` messages undelivered: a slot is free again when reused
    const ring = new PayloadRing(index, spec.payloadSize, window + 1);
    const direct = spec.mode === "direct";
    const dest = direct ? receivers[0].inbox : spec.topic;
    while (!stop) {
      if (sent - progress.min() > window - batch) {
        await progress.waitForAll(sent - window + batch);
        continue;
      }
      const n = Math.min(batch, spec.total - sent);
      if (n <= 0) {
        stop = true;
        break;
      }
      if (direct) { for (let i = 0; i < n; i++) conn.send(dest, ring.next()); }
      else for (let i = 0; i < n; i++) conn.publish(dest, ring.next());
      sent += n;
      if (sent >= spec.total || performance.now() >= deadline) stop = true;
      await conn.flush();
    }
  };
  await withTimeout(
    Promise.all(senders.map((conn, i) => runSender(conn, i))),
    spec.capMs + spec.drainTimeoutMs,
    () => `senders stalled: the slowest receiver got ${progress.min()} of ${sent}`,
  );
  await withTimeout(
    progress.waitForAll(sent),
    spec.drainTimeoutMs,
    () => `lost messages: the slowest receiver got ${progress.min()} of ${sent}`,
  );
  const seconds = (performance.now() - started) / 1000;
  for (const r of receivers) r.onMessage(() => {});
  if (check.error !== null) throw new Error(`bad delivery: ${check.error}`);
  const delivered = sent * receivers.length;
  if (check.verified !== delivered) {
    throw new Error(`bad delivery: ${check.verified} messages arrived where ${delivered} were sent`);
  }
  return { sent, delivered, seconds, verified: check.verified };
}

/** Outcome of a request/reply run. */
export interface RequestResult {
  /** Round trips completed. */
  count: number;
  /** Wall time. */
  seconds: number;
  /** Round-trip times in microseconds, sorted ascending. */
  latenciesUs: Float64Array;
}

/**
 * Runs `concurrency` request loops (each waits for its reply before the next
 * request) until `total` round trips or the time cap.
 *
 * @example
 * ```ts ignore
 * const r = await runRequests(requester, 32, 100_000, 1000, 10_000);
 * console.log(percentile(r.latenciesUs, 0.5), "µs p50");
 * ```
 */
export async function runRequests(
  requester: Requester,
  concurrency: number,
  total: number,
  capMs: number,
  stallTimeoutMs: number,
): Promise<RequestResult> {
  const latencies = new Float64Array(total);
  let issued = 0;
  let done = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + capMs;
  const loop = async (): Promise<void> => {
    while (!stop && issued < total) {
      issued++;
      const t0 = performance.now();
      await requester.request();
      const t1 = performance.now();
      latencies[done++] = (t1 - t0) * 1000;
      if (t1 >= deadline) stop = true;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await withTimeout(
    Promise.all(loops),
    capMs + stallTimeoutMs,
    () => `replies stalled: ${done} of ${issued} requests answered`,
  );
  const seconds = (performance.now() - started) / 1000;
  return { count: done, seconds, latenciesUs: latencies.subarray(0, done).sort() };
}

/** Outcome of a connection set-up run. */
export interface ConnectResult {
  /** Connections opened, handshaken and closed. */
  count: number;
  /** Wall time. */
  seconds: number;
}

/**
 * Opens, handshakes and closes connections, `concurrency` at a time, until
 * `total` or the time cap.
 *
 * @example
 * ```ts ignore
 * const r = await runConnects(target, 8, 2000, 1000, "conn");
 * console.log(r.count / r.seconds, "connections/s");
 * ```
 */
export async function runConnects(
  target: Target,
  concurrency: number,
  total: number,
  capMs: number,
  prefix: string,
): Promise<ConnectResult> {
  let issued = 0;
  let done = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + capMs;
  const loop = async (): Promise<void> => {
    while (!stop && issued < total) {
      const id = issued++;
      await target.connectOnce(`${prefix}.${id}`);
      done++;
      if (performance.now() >= deadline) stop = true;
    }
  };
  await withTimeout(
    Promise.all(Array.from({ length: concurrency }, loop)),
    capMs + 30_000,
    () => `connections stalled after ${done}`,
  );
  return { count: done, seconds: (performance.now() - started) / 1000 };
}

/**
 * The value at quantile `q` (0..1) of ascending `sorted` values (nearest rank).
 *
 * @example
 * ```ts
 * import { percentile } from "./workloads.ts";
 * console.assert(percentile(new Float64Array([1, 2, 3, 4]), 0.5) === 2);
 * ```
 */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

async function withTimeout<T>(work: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(describe())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
