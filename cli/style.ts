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
  /** Bold text. */
  bold(text: string): string;
  /** Dimmed text. */
  dim(text: string): string;
  /** Red text (errors). */
  red(text: string): string;
  /** Green text (success). */
  green(text: string): string;
  /** Yellow text (kinds, warnings). */
  yellow(text: string): string;
  /** Blue text (values). */
  blue(text: string): string;
  /** Magenta text (topics). */
  magenta(text: string): string;
  /** Cyan text (names). */
  cyan(text: string): string;
}

function wrap(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const identity = (text: string): string => text;

/**
 * A style that colours when `enabled`.
 *
 * @example
 * ```ts
 * import { makeStyle } from "./style.ts";
 * console.assert(makeStyle(false).bold("x") === "x");
 * console.assert(makeStyle(true).bold("x") === "\x1b[1mx\x1b[22m");
 * ```
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
