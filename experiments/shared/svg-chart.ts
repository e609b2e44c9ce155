// Line charts as SVG text, written by hand (no plotting dependency): panels
// side by side, each with axes, ticks, lines, optional bands (min–max) and
// dashed reference lines, and one shared legend.

export interface Point {
  readonly x: number;
  readonly y: number;
  /** A band from lo to hi around the line (e.g. over seeds). */
  readonly lo?: number;
  readonly hi?: number;
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly Point[];
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly xDomain: readonly [number, number];
  readonly yDomain: readonly [number, number];
  readonly xTicks: readonly number[];
  readonly yTicks: readonly number[];
  readonly yFormat?: (y: number) => string;
  readonly series: readonly Series[];
  /** Horizontal dashed lines with a label (chance level, a baseline). */
  readonly references?: readonly { readonly y: number; readonly label: string }[];
}

const PANEL_H = 300;
const MARGIN = { left: 52, right: 14, top: 30, bottom: 44 };
const LEGEND_H = 28;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (v: number) => (Math.round(v * 100) / 100).toString();

function scales(p: Panel, panelWidth: number) {
  const w = panelWidth - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const tx = (x: number) => (p.xLog ? Math.log(x) : x);
  const [x0, x1] = p.xDomain.map(tx) as [number, number];
  const [y0, y1] = p.yDomain;
  return {
    x: (x: number) => MARGIN.left + ((tx(x) - x0) / (x1 - x0)) * w,
    y: (y: number) => MARGIN.top + h - ((y - y0) / (y1 - y0)) * h,
    w,
    h,
  };
}

function drawPanel(p: Panel, panelWidth: number): string {
  const s = scales(p, panelWidth);
  const fmt = p.yFormat ?? ((y: number) => String(y));
  const parts: string[] = [`<text x="${panelWidth / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`];
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${s.w}" height="${s.h}" fill="none" stroke="#999"/>`);
  for (const t of p.yTicks) parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + s.w}" y1="${num(s.y(t))}" y2="${num(s.y(t))}" stroke="#eee"/><text x="${MARGIN.left - 6}" y="${num(s.y(t) + 4)}" text-anchor="end">${esc(fmt(t))}</text>`);
  for (const t of p.xTicks) parts.push(`<line x1="${num(s.x(t))}" x2="${num(s.x(t))}" y1="${MARGIN.top}" y2="${MARGIN.top + s.h}" stroke="#eee"/><text x="${num(s.x(t))}" y="${MARGIN.top + s.h + 16}" text-anchor="middle">${t}</text>`);
  parts.push(`<text x="${MARGIN.left + s.w / 2}" y="${PANEL_H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${MARGIN.top + s.h / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  for (const r of p.references ?? []) parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + s.w}" y1="${num(s.y(r.y))}" y2="${num(s.y(r.y))}" stroke="#666" stroke-dasharray="4 3"/><text x="${MARGIN.left + s.w - 4}" y="${num(s.y(r.y) - 4)}" text-anchor="end" fill="#666">${esc(r.label)}</text>`);
  for (const series of p.series) {
    const banded = series.points.filter((q) => q.lo !== undefined && q.hi !== undefined);
    if (banded.length > 1) {
      const upper = banded.map((q) => `${num(s.x(q.x))},${num(s.y(q.hi!))}`);
      const lower = banded.map((q) => `${num(s.x(q.x))},${num(s.y(q.lo!))}`).reverse();
      parts.push(`<polygon points="${[...upper, ...lower].join(" ")}" fill="${series.color}" fill-opacity="0.15" stroke="none"/>`);
    }
    parts.push(`<polyline points="${series.points.map((q) => `${num(s.x(q.x))},${num(s.y(q.y))}`).join(" ")}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    if (series.points.length < 30) for (const q of series.points) parts.push(`<circle cx="${num(s.x(q.x))}" cy="${num(s.y(q.y))}" r="2.5" fill="${series.color}"/>`);
  }
  return parts.join("\n");
}

/** One row of entries, each as wide as its name needs (about 6.5 px a character at 11 px sans-serif). */
function legend(series: readonly Series[]): string {
  let x = 16;
  return series
    .map((s) => {
      const entry = `<line x1="${x}" x2="${x + 20}" y1="10" y2="10" stroke="${s.color}" stroke-width="3"/><text x="${x + 24}" y="14">${esc(s.name)}</text>`;
      x += 40 + Math.ceil(s.name.length * 6.5);
      return entry;
    })
    .join("\n");
}

/** Panels in a row, each panelWidth wide; the legend lists the first panel's series. */
export function chartSvg(panels: readonly Panel[], description: string, panelWidth = 380): string {
  const width = panelWidth * panels.length;
  const height = PANEL_H + LEGEND_H;
  const body = panels.map((p, i) => `<g transform="translate(${i * panelWidth} 0)">\n${drawPanel(p, panelWidth)}\n</g>`).join("\n");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<desc>${esc(description)}</desc>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    body,
    `<g transform="translate(0 ${PANEL_H})">\n${legend(panels[0]?.series ?? [])}\n</g>`,
    "</svg>",
    "",
  ].join("\n");
}
