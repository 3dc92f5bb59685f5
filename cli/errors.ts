/**
 * Errors of the command line and how each kind is reported: one line on
 * stderr, never a stack trace for something the user can fix.
 *
 * @module
 */
import { BusError } from "../protocol/errors.ts";

/** Exit status of a command that failed at run time (broker unreachable, RPC error …). */
export const EXIT_FAILURE = 1;
/** Exit status of a command line that could not be understood. */
export const EXIT_USAGE = 2;

/**
 * A command line that cannot be understood: unknown command or flag, missing
 * or malformed argument. Reported with a pointer to `--help`.
 *
 * @example Point at the help of `listen`
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./errors.ts";
 * const err = new UsageError('Unknown option "--colour"', "listen");
 * assert.equal(err.command, "listen");
 * assert.equal(err.name, "UsageError");
 * ```
 */
export class UsageError extends Error {
  /** The command whose help explains the correct usage (empty for the top level). */
  readonly command: string;

  /**
   * Creates a usage error for `command`.
   *
   * @param message what is wrong with the command line
   * @param command the command whose help to point at (empty: the top level)
   */
  constructor(message: string, command = "") {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/**
 * A failure the user should read as is (the message is complete), with the
 * exit status to use.
 *
 * @example A failure with the default exit status
 * ```ts
 * import assert from "node:assert/strict";
 * import { CliError, EXIT_FAILURE } from "./errors.ts";
 * const err = new CliError("RPC error -32601: method not found");
 * assert.equal(err.exitCode, EXIT_FAILURE);
 * ```
 */
export class CliError extends Error {
  /** Process exit status. */
  readonly exitCode: number;

  /**
   * Creates an error reported as `message`, exiting with `exitCode`.
   *
   * @param message the complete message
   * @param exitCode the process exit status
   * @param options the error options (`cause`)
   */
  constructor(message: string, exitCode = EXIT_FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * The one line shown for an error, and the exit status. Unknown errors keep
 * their message; only the name of an unexpected error class is added.
 *
 * @example Describe a usage error
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeFailure, EXIT_USAGE, UsageError } from "./errors.ts";
 * const { line, exitCode } = describeFailure(new UsageError("Missing TARGET", "send"));
 * assert.equal(exitCode, EXIT_USAGE);
 * assert.match(line, /busrt send --help/);
 * ```
 *
 * @param err the error
 * @returns the line to print and the exit status
 */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof UsageError) {
    const help = err.command === "" ? "busrt --help" : `busrt ${err.command} --help`;
    return { line: `${err.message} (see "${help}")`, exitCode: EXIT_USAGE };
  }
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  if (err instanceof BusError) return { line: busErrorText(err), exitCode: EXIT_FAILURE };
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return { line: `Permission denied: ${firstLine(err.message)}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof Deno.errors.BrokenPipe) return { line: "Output closed", exitCode: EXIT_FAILURE };
  if (err instanceof Error) {
    const known = err instanceof TypeError || err instanceof RangeError || err.name in Deno.errors;
    const text = firstLine(err.message);
    return { line: known ? text : `${err.name}: ${text}`, exitCode: EXIT_FAILURE };
  }
  return { line: String(err), exitCode: EXIT_FAILURE };
}

function busErrorText(err: BusError): string {
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message)
    ? `: ${firstLine(err.cause.message)}`
    : "";
  return `${firstLine(err.message)}${cause}`;
}

function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i === -1 ? text : text.slice(0, i);
}
