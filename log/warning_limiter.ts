/**
 * Rate limiting of repeated warnings: what any peer can trigger (a malformed
 * frame, a refused name) must not let it flood the log. Each kind of warning
 * gets a burst of lines per interval; the rest are counted and reported in
 * one summary line when the interval ends.
 *
 * @module
 */
import { logEvent, type LogFields, type Logger, PLAIN_EVENT } from "./logger.ts";

/** Options of a {@linkcode WarningLimiter}. */
export interface WarningLimiterOptions {
  /** Lines of one kind written per interval. Default 10. */
  burst?: number;
  /** Length of the interval in milliseconds. Default 10000. */
  intervalMs?: number;
  /** The level of the lines (and of the summaries). Default `warn`. */
  level?: "info" | "warn";
}

interface Window {
  startedAt: number;
  written: number;
  suppressed: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Writes warnings to a logger, at most `burst` lines of one kind per
 * interval. Suppressed lines are counted; when the interval ends (or on
 * {@linkcode WarningLimiter.flush}) one line says how many of that kind
 * were left out.
 *
 * @example Eleven warnings of one kind: ten lines and a summary
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryLogger } from "./logger.ts";
 * import { WarningLimiter } from "./warning_limiter.ts";
 * const log = memoryLogger();
 * const limiter = new WarningLimiter(log, { burst: 10, intervalMs: 60_000 });
 * for (let i = 0; i < 11; i++) limiter.warn("protocol violation", `peer ${i}: broken frame`);
 * limiter.flush();
 * assert.equal(log.lines.length, 11);
 * assert.equal(log.lines[9], "WARN peer 9: broken frame");
 * assert.match(log.lines[10], /^WARN 1 more "protocol violation" warning suppressed/);
 * ```
 */
export class WarningLimiter {
  readonly #log: Logger;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #level: "info" | "warn";
  readonly #windows = new Map<string, Window>();

  /**
   * Creates a limiter writing to `log`.
   *
   * @param log where lines go
   * @param options the burst and the interval
   */
  constructor(log: Logger, options: WarningLimiterOptions = {}) {
    this.#log = log;
    this.#burst = options.burst ?? 10;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#level = options.level ?? "warn";
  }

  /**
   * Writes a warning unless its kind used up its burst in this interval.
   *
   * @param kind what the warnings that are limited together have in common
   * @param message the line
   */
  warn(kind: string, message: string): void {
    this.event(kind, PLAIN_EVENT, message, {});
  }

  /**
   * Logs a structured event (see `logEvent`) unless its kind used up its
   * burst in this interval.
   *
   * @param kind what the lines that are limited together have in common
   * @param event the event's name, e.g. `client.disconnected`
   * @param message the line, as text
   * @param fields the event's fields
   */
  event(kind: string, event: string, message: string, fields: LogFields): void {
    const now = performance.now();
    let w = this.#windows.get(kind);
    if (w !== undefined && now - w.startedAt >= this.#intervalMs) {
      this.#report(kind, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { startedAt: now, written: 0, suppressed: 0, timer: undefined };
      this.#windows.set(kind, w);
    }
    if (w.written < this.#burst) {
      w.written++;
      logEvent(this.#log, this.#level, event, message, fields);
      return;
    }
    w.suppressed++;
    if (w.timer === undefined) {
      const window = w;
      w.timer = setTimeout(() => {
        window.timer = undefined;
        if (this.#windows.get(kind) === window) this.#report(kind, window);
      }, Math.max(1, window.startedAt + this.#intervalMs - now));
      Deno.unrefTimer(w.timer);
    }
  }

  /** Reports every pending suppressed count now and starts afresh (broker shutdown). */
  flush(): void {
    for (const [kind, w] of [...this.#windows]) this.#report(kind, w);
  }

  #report(kind: string, w: Window): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    this.#windows.delete(kind);
    if (w.suppressed === 0) return;
    const seconds = ((performance.now() - w.startedAt) / 1000).toFixed(1);
    const what = this.#level === "info"
      ? (w.suppressed === 1 ? "line" : "lines")
      : (w.suppressed === 1 ? "warning" : "warnings");
    logEvent(
      this.#log,
      this.#level,
      "log.suppressed",
      `${w.suppressed} more "${kind}" ${what} suppressed in the last ${seconds} s`,
      { kind, suppressed: w.suppressed, seconds: Number(seconds) },
    );
  }
}
