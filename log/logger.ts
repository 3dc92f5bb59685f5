/**
 * The small logging interface the broker and clients write to.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** The levels a line can have (every level but `silent`). */
export type LineLevel = Exclude<LogLevel, "silent">;

/** How {@linkcode consoleLogger} writes lines: `text` (time, level, message) or `json` (one object a line). */
export type LogFormat = "text" | "json";

/** The log formats, for option parsing. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** The value of one field of a structured log event. */
export type LogFieldValue = string | number | boolean | null;

/** The fields of a structured log event. */
export type LogFields = Readonly<Record<string, LogFieldValue>>;

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
  /**
   * A structured event (optional): a logger without it gets `message` at
   * `level` (see {@linkcode logEvent}).
   *
   * @param level the line's level
   * @param event the event's name, e.g. `client.registered`
   * @param message the line, as text
   * @param fields the event's fields
   */
  event?(level: LineLevel, event: string, message: string, fields: LogFields): void;
}

/**
 * Logs a structured event: as an event where the logger takes them (the
 * JSON format of {@linkcode consoleLogger}), else as the plain `message`.
 *
 * @example An event on a logger without structured output
 * ```ts
 * import assert from "node:assert/strict";
 * import { logEvent, memoryLogger } from "./logger.ts";
 * const log = memoryLogger();
 * logEvent(log, "info", "client.registered", 'client "a" registered', { name: "a" });
 * assert.deepEqual(log.lines, ['INFO client "a" registered']);
 * ```
 *
 * @param log where to log
 * @param level the line's level
 * @param event the event's name
 * @param message the line, as text
 * @param fields the event's fields
 */
export function logEvent(
  log: Logger,
  level: LineLevel,
  event: string,
  message: string,
  fields: LogFields,
): void {
  if (log.event !== undefined) log.event(level, event, message, fields);
  else log[level](message);
}

/** The event name of a line logged as plain text. */
export const PLAIN_EVENT = "log";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/**
 * A logger writing timestamped lines to stderr, at or above `level`. In
 * the `json` format each line is one JSON object: `time` (ISO 8601),
 * `level`, `event` (`log` for a plain line), `message` and `fields`.
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
 * @example One JSON object a line
 * ```ts
 * import assert from "node:assert/strict";
 * import { consoleLogger, logEvent } from "./logger.ts";
 * const written: string[] = [];
 * const stderr = console.error;
 * console.error = (line: string) => written.push(line);
 * try {
 *   const log = consoleLogger("info", "json");
 *   log.info("listening on /tmp/busrt.sock");
 *   logEvent(log, "info", "client.registered", 'client "a" registered', { name: "a", kind: "tcp" });
 * } finally {
 *   console.error = stderr;
 * }
 * const [plain, event] = written.map((line) => JSON.parse(line));
 * assert.deepEqual([plain.level, plain.event, plain.message], ["info", "log", "listening on /tmp/busrt.sock"]);
 * assert.deepEqual(event.fields, { name: "a", kind: "tcp" });
 * assert.ok(!Number.isNaN(Date.parse(event.time)));
 * ```
 *
 * @param level the least severe level written (default `info`)
 * @param format `text` (default) or `json`
 * @returns the logger
 */
export function consoleLogger(level: LogLevel = "info", format: LogFormat = "text"): Logger {
  const min = ORDER[level];
  if (format === "json") {
    const event = (lvl: LineLevel, name: string, message: string, fields: LogFields) => {
      if (ORDER[lvl] < min) return;
      const time = new Date().toISOString();
      console.error(JSON.stringify({ time, level: lvl, event: name, message, fields }));
    };
    return {
      debug: (m) => event("debug", PLAIN_EVENT, m, {}),
      info: (m) => event("info", PLAIN_EVENT, m, {}),
      warn: (m) => event("warn", PLAIN_EVENT, m, {}),
      error: (m) => event("error", PLAIN_EVENT, m, {}),
      event,
    };
  }
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
