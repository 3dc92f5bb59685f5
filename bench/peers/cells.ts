/**
 * The rows of the comparison (workloads) and how one cell (row × target) is
 * measured: fresh connections, a warm-up, then the timed run with the
 * server's CPU time and peak RSS taken around it.
 *
 * @module
 */
import { cpuMicros, memory, resetPeakRss } from "./proc_stats.ts";
import type { BenchConnection, Target } from "./target.ts";
import { percentile, runConnects, runRequests, runStream } from "./workloads.ts";

/** A workload of the comparison. */
export type Row =
  | {
    kind: "stream";
    id: string;
    title: string;
    senders: number;
    receivers: number;
    mode: "direct" | "topic";
    payloadSize: number;
    /** Part of the payload sweep (1→1 at other sizes). */
    sweep: boolean;
  }
  | { kind: "request"; id: string; title: string; concurrency: number; payloadSize: number; sweep: false }
  | { kind: "connect"; id: string; title: string; concurrency: number; payloadSize: 0; sweep: false };

/** Payload sizes of the 1→1 sweep (100 B is the main 1→1 row). */
export const SWEEP_SIZES: readonly number[] = [10, 1024, 10 * 1024, 100 * 1024, 1024 * 1024];

/**
 * Formats a byte size: 10 → "10 B", 1024 → "1 KiB".
 *
 * @example
 * ```ts
 * import { formatSize } from "./cells.ts";
 * console.assert(formatSize(1048576) === "1 MiB");
 * ```
 */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}

/**
 * The 1→1 pipelined row of one payload size (the size sweep).
 *
 * @param size the payload size in bytes
 * @returns the row, id `1to1-<size>`
 */
export function sweepRow(size: number): Row {
  return {
    kind: "stream",
    id: `1to1-${size}`,
    title: `1→1 pipelined, ${formatSize(size)}`,
    senders: 1,
    receivers: 1,
    mode: "direct",
    payloadSize: size,
    sweep: true,
  };
}

/** Every row, in report order. */
export const ROWS: readonly Row[] = [
  {
    kind: "stream",
    id: "1to1",
    title: "1→1 pipelined",
    senders: 1,
    receivers: 1,
    mode: "direct",
    payloadSize: 100,
    sweep: false,
  },
  {
    kind: "stream",
    id: "fanout",
    title: "fan-out 1→8, one topic",
    senders: 1,
    receivers: 8,
    mode: "topic",
    payloadSize: 100,
    sweep: false,
  },
  {
    kind: "request",
    id: "reqrep1",
    title: "request/reply, sequential",
    concurrency: 1,
    payloadSize: 100,
    sweep: false,
  },
  {
    kind: "request",
    id: "reqrep32",
    title: "request/reply, 32 in flight",
    concurrency: 32,
    payloadSize: 100,
    sweep: false,
  },
  {
    kind: "stream",
    id: "8to1",
    title: "8 senders → 1 receiver",
    senders: 8,
    receivers: 1,
    mode: "direct",
    payloadSize: 100,
    sweep: false,
  },
  ...SWEEP_SIZES.map(sweepRow),
  {
    kind: "connect",
    id: "connect",
    title: "connection set-up (connect + handshake + close)",
    concurrency: 8,
    payloadSize: 0,
    sweep: false,
  },
];

/** Counts and time caps of a run. */
export interface Budget {
  /** Time cap of a timed run in ms. */
  capMs: number;
  /** Time cap of the warm-up in ms. */
  warmupMs: number;
  /** Most messages per timed stream run. */
  streamTotal: number;
  /** Most round trips per timed request run. */
  requestTotal: number;
  /** Most connections per connection set-up run. */
  connectTotal: number;
  /** Flow-control window in messages (capped by `windowBytes`). */
  window: number;
  /** Flow-control window in bytes. */
  windowBytes: number;
}

/** The measured figures of one cell. */
export interface CellResult {
  /** Row id. */
  row: string;
  /** Target id. */
  target: string;
  /** Round number (0-based). */
  round: number;
  /** Error text when the cell failed. */
  error: string | null;
  /** Messages delivered per second (streams), round trips per second (requests), connections per second. */
  rate: number;
  /** Messages delivered, round trips or connections. */
  count: number;
  /** Timed duration. */
  seconds: number;
  /** Median round trip in µs (requests). */
  p50Us: number | null;
  /** 99th percentile round trip in µs (requests). */
  p99Us: number | null;
  /** Messages the server routed (deliveries; request + reply per round trip; 1 per connection). */
  routed: number;
  /** Server CPU (user + system) per routed message, µs. */
  serverCpuUsPerMsg: number;
  /** Server peak RSS during the timed run, bytes. */
  serverPeakRss: number;
  /** Load-generator CPU per routed message, µs. */
  clientCpuUsPerMsg: number;
  /** Deliveries, replies or handshakes checked (a cell with a bad one fails instead). */
  verified?: number;
}

const DRAIN_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;

/** Whether a target can run a row. */
export function supports(target: Target, row: Row): boolean {
  if (row.kind === "stream" && row.mode === "topic") return target.supportsTopics;
  return true;
}

/**
 * Measures one cell. Never throws: failures come back in `error`.
 *
 * @example
 * ```ts ignore
 * const r = await runCell(target, ROWS[0], budget, 0, "c1");
 * console.log(r.rate);
 * ```
 */
export async function runCell(
  target: Target,
  row: Row,
  budget: Budget,
  round: number,
  tag: string,
): Promise<CellResult> {
  const result: CellResult = {
    row: row.id,
    target: target.id,
    round,
    error: null,
    rate: 0,
    count: 0,
    seconds: 0,
    p50Us: null,
    p99Us: null,
    routed: 0,
    serverCpuUsPerMsg: NaN,
    serverPeakRss: NaN,
    clientCpuUsPerMsg: NaN,
  };
  const closers: (() => Promise<void>)[] = [];
  try {
    let timed: () => Promise<
      { count: number; seconds: number; routed: number; verified: number; latencies?: Float64Array }
    >;
    let warm: () => Promise<unknown>;
    if (row.kind === "stream") {
      const senders: BenchConnection[] = [];
      const receivers: BenchConnection[] = [];
      for (let i = 0; i < row.receivers; i++) {
        const c = await target.open(`${tag}.r${i}`);
        closers.push(() => c.close());
        receivers.push(c);
      }
      for (let i = 0; i < row.senders; i++) {
        const c = await target.open(`${tag}.s${i}`);
        closers.push(() => c.close());
        senders.push(c);
      }
      const topic = `fan.${tag}`;
      for (const r of receivers) await (row.mode === "topic" ? r.subscribe(topic) : r.listen());
      // at least 4 in flight, or 2 for payloads of 4 MiB and more (4 × 16 MiB would fill a 64 MiB queue)
      const floor = row.payloadSize >= 4 << 20 ? 2 : 4;
      const window = Math.max(
        floor,
        Math.min(budget.window, Math.floor(budget.windowBytes / row.payloadSize)),
      );
      const spec = {
        senders,
        receivers,
        mode: row.mode,
        topic,
        payloadSize: row.payloadSize,
        window,
        batch: 256,
        drainTimeoutMs: DRAIN_TIMEOUT_MS,
      };
      warm = () => runStream({ ...spec, total: budget.streamTotal, capMs: budget.warmupMs });
      timed = async () => {
        const r = await runStream({ ...spec, total: budget.streamTotal, capMs: budget.capMs });
        return { count: r.delivered, seconds: r.seconds, routed: r.delivered, verified: r.verified };
      };
    } else if (row.kind === "request") {
      const requester = await target.openRequestReply(tag, row.payloadSize);
      closers.push(() => requester.close());
      warm = () =>
        runRequests(requester, row.concurrency, budget.requestTotal, budget.warmupMs, DRAIN_TIMEOUT_MS);
      timed = async () => {
        const r = await runRequests(
          requester,
          row.concurrency,
          budget.requestTotal,
          budget.capMs,
          DRAIN_TIMEOUT_MS,
        );
        // every reply was compared with its request (runRequests fails on a wrong echo)
        return {
          count: r.count,
          seconds: r.seconds,
          routed: 2 * r.count,
          verified: r.count,
          latencies: r.latenciesUs,
        };
      };
    } else {
      warm = () => runConnects(target, row.concurrency, 50, budget.warmupMs, `${tag}w`);
      timed = async () => {
        const r = await runConnects(target, row.concurrency, budget.connectTotal, budget.capMs, tag);
        return { count: r.count, seconds: r.seconds, routed: r.count, verified: r.count };
      };
    }
    await warm();
    resetPeakRss(target.pid);
    const server0 = cpuMicros(target.pid);
    const self0 = cpuMicros(Deno.pid);
    const r = await timed();
    const self1 = cpuMicros(Deno.pid);
    const server1 = cpuMicros(target.pid);
    result.serverPeakRss = memory(target.pid).peak;
    result.count = r.count;
    result.seconds = r.seconds;
    result.rate = r.count / r.seconds;
    result.routed = r.routed;
    result.verified = r.verified;
    result.serverCpuUsPerMsg = (server1 - server0) / r.routed;
    result.clientCpuUsPerMsg = (self1 - self0) / r.routed;
    if (r.latencies !== undefined) {
      result.p50Us = percentile(r.latencies, 0.5);
      result.p99Us = percentile(r.latencies, 0.99);
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    for (const close of closers.reverse()) await closeWithin(close);
  }
  return result;
}

async function closeWithin(close: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([close(), new Promise((r) => timer = setTimeout(r, CLOSE_TIMEOUT_MS))]);
  } catch {
    // a broken connection: nothing left to close
  } finally {
    clearTimeout(timer);
  }
}
