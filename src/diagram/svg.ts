// Draws a cell layout as a standalone SVG: columns left to right in the order
// values are computed, one box per input, state and equation.
import type { Box, BoxKind, Layout } from "./layout.ts";

const BOX_WIDTH = 300;
const BOX_HEIGHT = 70;
const COLUMN_GAP = 90;
const ROW_GAP = 26;
const MARGIN = 30;
const TITLE_HEIGHT = 40;

const COLOURS: Record<BoxKind, { fill: string; stroke: string }> = {
  input: { fill: "#e8f5e9", stroke: "#2e7d32" },
  state: { fill: "#e3f2fd", stroke: "#1565c0" },
  const: { fill: "#f5f5f5", stroke: "#616161" },
  intermediate: { fill: "#fff8e1", stroke: "#f9a825" },
  next: { fill: "#e3f2fd", stroke: "#1565c0" },
  output: { fill: "#fce4ec", stroke: "#ad1457" },
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const LINE_CHARS = 44;

/** Up to two lines broken at spaces; anything longer is shortened, the full text is in the tooltip. */
function wrap(text: string): string[] {
  if (text.length <= LINE_CHARS) return [text];
  const cut = text.lastIndexOf(" ", LINE_CHARS);
  const at = cut > LINE_CHARS / 2 ? cut : LINE_CHARS;
  const rest = text.slice(at).trimStart();
  return [text.slice(0, at), rest.length <= LINE_CHARS ? rest : `${rest.slice(0, LINE_CHARS - 1)}…`];
}

function position(box: Box): { x: number; y: number } {
  return { x: MARGIN + box.column * (BOX_WIDTH + COLUMN_GAP), y: MARGIN + TITLE_HEIGHT + box.row * (BOX_HEIGHT + ROW_GAP) };
}

export function renderSvg(layout: Layout): string {
  const width = 2 * MARGIN + layout.columns * BOX_WIDTH + (layout.columns - 1) * COLUMN_GAP;
  const height = 2 * MARGIN + TITLE_HEIGHT + layout.rows * BOX_HEIGHT + (layout.rows - 1) * ROW_GAP;
  const byKey = new Map(layout.boxes.map((b) => [b.key, b]));
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 16}" font-size="20" font-weight="bold">cell ${escapeXml(layout.cell)}: one time step</text>`,
  ];
  for (const edge of layout.edges) {
    const from = byKey.get(edge.from)!;
    const to = byKey.get(edge.to)!;
    const a = position(from);
    const b = position(to);
    const [x1, y1, x2, y2] = [a.x + BOX_WIDTH, a.y + BOX_HEIGHT / 2, b.x, b.y + BOX_HEIGHT / 2];
    const bend = Math.max(40, (x2 - x1) / 2);
    lines.push(`<path d="M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}" fill="none" stroke="#888" stroke-width="1.3" marker-end="url(#arrow)"/>`);
  }
  for (const box of layout.boxes) {
    const { x, y } = position(box);
    const colour = COLOURS[box.kind];
    lines.push(
      `<g><title>${escapeXml(box.detail)}</title>`,
      `<rect x="${x}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="8" fill="${colour.fill}" stroke="${colour.stroke}" stroke-width="1.6"/>`,
      `<text x="${x + 10}" y="${y + 21}" font-size="15" font-weight="bold">${escapeXml(box.title)}</text>`,
      ...wrap(box.detail).map(
        (line, i) => `<text x="${x + 10}" y="${y + 42 + 16 * i}" font-size="11.5" font-family="DejaVu Sans Mono, monospace" fill="#333">${escapeXml(line)}</text>`,
      ),
      `</g>`,
    );
  }
  lines.push("</svg>");
  return `${lines.join("\n")}\n`;
}
