/**
 * The small logging interface the broker and clients write to.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Where the bus writes its log lines. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string): void;
  /** Normal operation (listening, shutdown). */
  info(message: string): void;
  /** Something a client did wrong, or a recoverable failure. */
  warn(message: string): void;
  /** A failure of the broker itself. */
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/**
 * A logger writing timestamped lines to stderr, at or above `level`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "../protocol/mod.ts";
 * const log = consoleLogger("warn");
 * log.info("not shown");
 * ```
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
 * @example
 * ```ts
 * import { memoryLogger } from "../protocol/mod.ts";
 * const log = memoryLogger();
 * log.warn("x");
 * console.assert(log.lines[0] === "WARN x");
 * ```
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
