/**
 * A small dependency-free SVG bar chart: a grid of panels, each with its own
 * scale (workloads differ by orders of magnitude), horizontal bars with
 * value labels.
 *
 * @module
 */

/** One bar. */
export interface Bar {
  /** Label left of the bar. */
  label: string;
  /** Value; `null` draws "n/a". */
  value: number | null;
  /** Fill colour (CSS colour). */
  color: string;
  /** Text after the value, e.g. a ratio. */
  note?: string;
}

/** One panel of bars sharing a scale. */
export interface ChartPanel {
  /** Panel title. */
  title: string;
  /** Unit appended to values. */
  unit: string;
  /** Bars, top to bottom. */
  bars: Bar[];
}

/** Layout options. */
export interface ChartOptions {
  /** Title above all panels. */
  title?: string;
  /** A smaller line under the title. */
  subtitle?: string;
  /** Panels per row. Default 2. */
  columns?: number;
  /** Width of one panel in pixels. Default 480. */
  panelWidth?: number;
}

const BAR_HEIGHT = 14;
const BAR_GAP = 5;
const PANEL_HEAD = 26;
const PANEL_PAD = 14;
const LABEL_WIDTH = 128;
const VALUE_WIDTH = 170;
const FONT = "font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif";

/**
 * Escapes text for SVG content and attributes.
 *
 * @example
 * ```ts
 * import { escapeXml } from "./chart.ts";
 * console.assert(escapeXml("a<b") === "a&lt;b");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);
}

const XML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Formats a value compactly: 1234567 → "1.23M", 12.3 → "12.3".
 *
 * @example
 * ```ts
 * import { formatCompact } from "./chart.ts";
 * console.assert(formatCompact(1_234_567) === "1.23M");
 * ```
 */
export function formatCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * Renders panels of horizontal bars as a standalone SVG document.
 *
 * @example
 * ```ts
 * import { barChartSvg } from "./chart.ts";
 * const svg = barChartSvg([{ title: "1→1", unit: "msg/s", bars: [
 *   { label: "ours", value: 900_000, color: "#2563eb" },
 *   { label: "peer", value: 600_000, color: "#9ca3af" },
 * ] }]);
 * console.assert(svg.startsWith("<svg"));
 * ```
 */
export function barChartSvg(panels: ChartPanel[], options: ChartOptions = {}): string {
  const columns = Math.max(1, options.columns ?? 2);
  const panelWidth = options.panelWidth ?? 480;
  const head = (options.title ? 30 : 8) + (options.subtitle ? 18 : 0);
  const heights = panels.map((p) => PANEL_HEAD + p.bars.length * (BAR_HEIGHT + BAR_GAP) + PANEL_PAD);
  const rows: number[] = [];
  for (let i = 0; i < panels.length; i += columns) rows.push(Math.max(...heights.slice(i, i + columns)));
  const width = columns * panelWidth + 20;
  const height = head + rows.reduce((a, b) => a + b, 0) + 10;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" style="${FONT}">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) {
    out.push(
      `<text x="10" y="22" font-size="16" font-weight="600" fill="#111827">${
        escapeXml(options.title)
      }</text>`,
    );
  }
  if (options.subtitle) {
    out.push(
      `<text x="10" y="${options.title ? 40 : 18}" font-size="11" fill="#4b5563">${
        escapeXml(options.subtitle)
      }</text>`,
    );
  }
  let y = head;
  panels.forEach((panel, i) => {
    const col = i % columns;
    if (col === 0 && i > 0) y += rows[Math.floor(i / columns) - 1];
    out.push(renderPanel(panel, 10 + col * panelWidth, y, panelWidth - 10));
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function renderPanel(panel: ChartPanel, x: number, y: number, width: number): string {
  const parts: string[] = [];
  parts.push(
    `<text x="${x}" y="${y + 16}" font-size="12.5" font-weight="600" fill="#111827">${
      escapeXml(panel.title)
    }</text>`,
  );
  const max = Math.max(0, ...panel.bars.map((b) => b.value ?? 0));
  const barMax = width - LABEL_WIDTH - VALUE_WIDTH;
  panel.bars.forEach((bar, j) => {
    const by = y + PANEL_HEAD + j * (BAR_HEIGHT + BAR_GAP);
    parts.push(
      `<text x="${x + LABEL_WIDTH - 6}" y="${
        by + BAR_HEIGHT - 3
      }" font-size="11" text-anchor="end" fill="#374151">${escapeXml(bar.label)}</text>`,
    );
    if (bar.value === null || !Number.isFinite(bar.value)) {
      parts.push(
        `<text x="${x + LABEL_WIDTH}" y="${by + BAR_HEIGHT - 3}" font-size="11" fill="#9ca3af">n/a</text>`,
      );
      return;
    }
    const w = max > 0 ? Math.max(1, (bar.value / max) * barMax) : 1;
    parts.push(
      `<rect x="${x + LABEL_WIDTH}" y="${by}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" rx="2" fill="${
        escapeXml(bar.color)
      }"/>`,
    );
    const text = `${formatCompact(bar.value)} ${panel.unit}${bar.note ? `  ${bar.note}` : ""}`;
    parts.push(
      `<text x="${x + LABEL_WIDTH + w + 5}" y="${by + BAR_HEIGHT - 3}" font-size="11" fill="#111827">${
        escapeXml(text)
      }</text>`,
    );
  });
  return parts.join("\n");
}
