/**
 * Aligned text tables and human-friendly numbers for the CLI output.
 *
 * @module
 */
import type { Style } from "./style.ts";

/** How a column is aligned. */
export type Align = "left" | "right";

/** One column of a {@linkcode formatTable} table. */
export interface Column {
  /** Title shown in the header. */
  title: string;
  /** Alignment. Default `left`. */
  align?: Align;
  /** Colours a (padded) cell of this column. */
  color?: (text: string) => string;
}

/**
 * Formats rows as an aligned table: bold titles, a dashed rule, cells
 * separated by two spaces, trailing spaces trimmed.
 *
 * @example A two-column table without colours
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./table.ts";
 * import { makeStyle } from "./style.ts";
 * const text = formatTable([{ title: "name" }, { title: "n", align: "right" }], [["a", "10"]], makeStyle(false));
 * assert.equal(text, "name   n\n----  --\na     10");
 * ```
 *
 * @param columns the columns: title, alignment, colour
 * @param rows the cells, one array per row
 * @param style the styling of titles and cells
 * @returns the table text, without a trailing newline
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  style: Style,
): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], color: (text: string, col: number) => string) =>
    cells.map((cell, i) => {
      const padded = columns[i].align === "right" ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      return color(padded, i);
    }).join("  ").trimEnd();
  const out = [
    line(columns.map((c) => c.title), (t) => style.bold(t)),
    style.dim(widths.map((w) => "-".repeat(w)).join("  ")),
  ];
  for (const row of rows) out.push(line(row, (t, i) => columns[i].color?.(t) ?? t));
  return out.join("\n");
}

/**
 * A whole number with `_` thousands separators, as the reference CLI.
 *
 * @example Group the thousands
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./table.ts";
 * assert.equal(formatCount(1234567), "1_234_567");
 * assert.equal(formatCount(2n ** 64n - 1n), "18_446_744_073_709_551_615");
 * ```
 *
 * @param n the number
 * @returns the number with `_` separators
 */
export function formatCount(n: number | bigint): string {
  const text = typeof n === "bigint" ? n.toString() : Math.round(n).toString();
  const negative = text.startsWith("-");
  const digits = negative ? text.slice(1) : text;
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += "_";
    out += digits[i];
  }
  return negative ? `-${out}` : out;
}
