/**
 * Stream errors that work in Deno and in a browser: in Deno they are the
 * usual `Deno.errors.*` classes (so callers keep telling them apart with
 * `instanceof`); where there is no `Deno` namespace (the browser build) they
 * are plain `Error`s with the same `name`. The modules a browser loads reach
 * `Deno.errors` only through these functions.
 *
 * @example The same error in Deno and elsewhere
 * ```ts
 * import assert from "node:assert/strict";
 * import { brokenPipe, unexpectedEof } from "./portable_errors.ts";
 * assert.ok(brokenPipe("closed") instanceof Deno.errors.BrokenPipe);
 * const eof = unexpectedEof("closed during handshake");
 * assert.equal(eof.name, "UnexpectedEof");
 * assert.equal(eof.message, "closed during handshake");
 * ```
 *
 * @module
 */

/** The `Deno.errors` classes, or null outside Deno. Looked up on use, never at load. */
function denoErrors(): typeof Deno.errors | null {
  const deno = (globalThis as { Deno?: { errors?: typeof Deno.errors } }).Deno;
  return deno?.errors ?? null;
}

function named(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/**
 * A write to a closed stream: `Deno.errors.BrokenPipe` in Deno.
 *
 * @param message what failed
 * @returns the error
 */
export function brokenPipe(message: string): Error {
  const errors = denoErrors();
  return errors === null ? named("BrokenPipe", message) : new errors.BrokenPipe(message);
}

/**
 * A stream that ended too early: `Deno.errors.UnexpectedEof` in Deno.
 *
 * @param message what was cut short
 * @returns the error
 */
export function unexpectedEof(message: string): Error {
  const errors = denoErrors();
  return errors === null ? named("UnexpectedEof", message) : new errors.UnexpectedEof(message);
}
