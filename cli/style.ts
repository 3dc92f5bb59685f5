/**
 * Terminal styling: ANSI colours when stdout is a terminal and `NO_COLOR` is
 * not set, plain text otherwise.
 *
 * @module
 */

/** Text decorations used by the CLI output. */
export interface Style {
  /** Whether decorations are applied. */
  readonly enabled: boolean;
  /**
   * Bold text.
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  bold(text: string): string;
  /**
   * Dimmed text.
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  dim(text: string): string;
  /**
   * Red text (errors).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  red(text: string): string;
  /**
   * Green text (success).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  green(text: string): string;
  /**
   * Yellow text (kinds, warnings).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  yellow(text: string): string;
  /**
   * Blue text (values).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  blue(text: string): string;
  /**
   * Magenta text (topics).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  magenta(text: string): string;
  /**
   * Cyan text (names).
   *
   * @param text the text to decorate
   * @returns the decorated text
   */
  cyan(text: string): string;
}

function wrap(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const identity = (text: string): string => text;

/**
 * A style that colours when `enabled`.
 *
 * @example Plain and coloured
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeStyle } from "./style.ts";
 * assert.equal(makeStyle(false).bold("x"), "x");
 * assert.equal(makeStyle(true).bold("x"), "\x1b[1mx\x1b[22m");
 * ```
 *
 * @param enabled whether to apply ANSI decorations
 * @returns the style
 */
export function makeStyle(enabled: boolean): Style {
  if (!enabled) {
    return {
      enabled,
      bold: identity,
      dim: identity,
      red: identity,
      green: identity,
      yellow: identity,
      blue: identity,
      magenta: identity,
      cyan: identity,
    };
  }
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    blue: wrap(34, 39),
    magenta: wrap(35, 39),
    cyan: wrap(36, 39),
  };
}

/** Whether stdout is an interactive terminal. */
export function stdoutIsTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** Whether stderr is an interactive terminal. */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** The style for stdout: colours only on a terminal and without `NO_COLOR`. */
export function stdoutStyle(): Style {
  return makeStyle(stdoutIsTerminal() && !Deno.noColor);
}

/** The style for stderr: colours only on a terminal and without `NO_COLOR`. */
export function stderrStyle(): Style {
  return makeStyle(stderrIsTerminal() && !Deno.noColor);
}
