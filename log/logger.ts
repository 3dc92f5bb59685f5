/**
 * The small logging interface the broker and clients write to.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Where the bus writes its log lines. */
export interface Logger {
  /**
   * Detail for debugging.
   *
   * @param message the line to log
   */
  debug(message: string): void;
  /**
   * Normal operation (listening, shutdown).
   *
   * @param message the line to log
   */
  info(message: string): void;
  /**
   * Something a client did wrong, or a recoverable failure.
   *
   * @param message the line to log
   */
  warn(message: string): void;
  /**
   * A failure of the broker itself.
   *
   * @param message the line to log
   */
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/**
 * A logger writing timestamped lines to stderr, at or above `level`.
 *
 * @example Lines below the level are dropped
 * ```ts
 * import assert from "node:assert/strict";
 * import { consoleLogger } from "./logger.ts";
 * const written: unknown[] = [];
 * const stderr = console.error;
 * console.error = (line: unknown) => written.push(line);
 * try {
 *   const log = consoleLogger("warn");
 *   log.info("not shown");
 *   log.warn("disk almost full");
 * } finally {
 *   console.error = stderr;
 * }
 * assert.equal(written.length, 1);
 * assert.match(String(written[0]), /Z WARN disk almost full$/);
 * ```
 *
 * @param level the least severe level written (default `info`)
 * @returns the logger
 */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = ORDER[level];
  const line = (lvl: LogLevel, message: string) => {
    if (ORDER[lvl] >= min) console.error(`${new Date().toISOString()} ${lvl.toUpperCase()} ${message}`);
  };
  return {
    debug: (m) => line("debug", m),
    info: (m) => line("info", m),
    warn: (m) => line("warn", m),
    error: (m) => line("error", m),
  };
}

/** A logger that discards everything. */
export const silentLogger: Logger = consoleLogger("silent");

/**
 * A logger that keeps lines in memory (for tests and diagnostics).
 *
 * @example Keep the lines of a logger
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryLogger } from "./logger.ts";
 * const log = memoryLogger();
 * log.warn("x");
 * assert.deepEqual(log.lines, ["WARN x"]);
 * ```
 *
 * @returns the logger, with the `lines` it keeps
 */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`DEBUG ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
}
