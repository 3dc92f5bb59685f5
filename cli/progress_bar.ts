/**
 * The benchmark's progress line: `stage [#####.....]  45%  450_000/1_000_000`
 * redrawn in place, fitted to the terminal's width so that it never wraps
 * (a wrapped line leaves a line behind at every redraw).
 *
 * @module
 */
import { printErrorText } from "./output.ts";
import { formatCount } from "./table.ts";

/** Columns assumed when the terminal's width cannot be read. */
export const FALLBACK_COLUMNS = 80;

const STAGE_WIDTH = 24;
const MAX_BAR = 30;
const MIN_BAR = 5;

/**
 * One progress line, at most `columns - 1` characters (a line that fills the
 * last column wraps on some terminals): the stage padded to 24 columns, a bar
 * of up to 30, the percentage and the counts. What does not fit goes, in this
 * order: the stage's padding, the counts, the bar.
 *
 * @example On an 80-column terminal, and on a 40-column one
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressLine } from "./progress_bar.ts";
 * const wide = progressLine("send.qos.no", 500_000, 1_000_000, 80);
 * assert.equal(wide, `send.qos.no              [${"#".repeat(13)}${".".repeat(13)}]  50%    500_000/1_000_000`);
 * assert.equal(wide.length, 79);
 * const narrow = progressLine("send+recv.qos.processed", 500_000, 1_000_000, 40);
 * assert.equal(narrow, "send+recv.qos.processed [####....]  50%");
 * ```
 *
 * @param stage the stage name
 * @param done iterations done
 * @param total iterations of the stage
 * @param columns the terminal's width
 * @returns the line, without control characters
 */
export function progressLine(stage: string, done: number, total: number, columns: number): string {
  const room = Math.max(1, Math.floor(columns) - 1);
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const totalText = formatCount(total);
  const counts = `  ${formatCount(done).padStart(totalText.length)}/${totalText}`;
  const layouts: [string, string][] = [[stage.padEnd(STAGE_WIDTH), counts], [stage, counts], [stage, ""]];
  for (const [name, tail] of layouts) {
    const width = Math.min(MAX_BAR, room - name.length - ` [] ${pct}`.length - tail.length);
    if (width < MIN_BAR) continue;
    const filled = Math.round(ratio * width);
    return `${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${pct}${tail}`;
  }
  return `${stage} ${pct}`.slice(0, room);
}

/**
 * The terminal's width in columns ({@linkcode FALLBACK_COLUMNS} when it
 * cannot be read).
 *
 * @returns the number of columns
 */
export function terminalColumns(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : FALLBACK_COLUMNS;
  } catch {
    return FALLBACK_COLUMNS;
  }
}

/**
 * Draws {@linkcode progressLine} in place on stderr, at most every 100 ms,
 * fitted to the width the terminal has at each redraw.
 */
export class ProgressBar {
  #last = 0;
  #shown = false;
  readonly #columns: () => number;

  /**
   * Creates a bar; nothing is drawn before the first update.
   *
   * @param columns reads the terminal's width (default {@linkcode terminalColumns})
   */
  constructor(columns: () => number = terminalColumns) {
    this.#columns = columns;
  }

  /**
   * Redraws the line, unless the last redraw was less than 100 ms ago and the stage is not done.
   *
   * @param stage the stage name
   * @param done iterations done
   * @param total iterations of the stage
   */
  update(stage: string, done: number, total: number): void {
    const now = performance.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    printErrorText(`\r\x1b[2K${progressLine(stage, done, total, this.#columns())}`);
    this.#shown = true;
  }

  /** Erases the line, if one was drawn. */
  clear(): void {
    if (this.#shown) printErrorText("\r\x1b[2K");
    this.#shown = false;
  }
}
