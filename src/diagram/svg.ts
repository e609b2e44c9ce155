// The `--style graph` picture: one box per input, state and equation, with an
// arrow for each value an equation reads, placed by ELK (place.ts) so arrows
// run between boxes, never through them.
import type { Box, BoxKind, Layout } from "./layout.ts";
import type { PlaceGraph, Placed } from "./place.ts";
import { arrowMarker, escapeXml, pathData, svgDocument } from "./svg-parts.ts";

const BOX_WIDTH = 300;
const BOX_HEIGHT = 70;

const COLOURS: Record<BoxKind, { fill: string; stroke: string }> = {
  input: { fill: "#e8f5e9", stroke: "#2e7d32" },
  state: { fill: "#e3f2fd", stroke: "#1565c0" },
  const: { fill: "#f5f5f5", stroke: "#616161" },
  intermediate: { fill: "#fff8e1", stroke: "#f9a825" },
  next: { fill: "#e3f2fd", stroke: "#1565c0" },
  output: { fill: "#fce4ec", stroke: "#ad1457" },
};

const LINE_CHARS = 44;

/** Up to two lines broken at spaces; anything longer is shortened, the full text is in the tooltip. */
function wrap(text: string): string[] {
  if (text.length <= LINE_CHARS) return [text];
  const cut = text.lastIndexOf(" ", LINE_CHARS);
  const at = cut > LINE_CHARS / 2 ? cut : LINE_CHARS;
  const rest = text.slice(at).trimStart();
  return [text.slice(0, at), rest.length <= LINE_CHARS ? rest : `${rest.slice(0, LINE_CHARS - 1)}…`];
}

/** Inputs and states enter in the first layer, outputs leave from the last; equations fall between. */
export function graphPlacement(layout: Layout): PlaceGraph {
  const band = (b: Box) => (b.kind === "input" || b.kind === "state" ? "first" : b.kind === "output" ? "last" : undefined);
  return {
    nodes: layout.boxes.map((b) => ({ id: b.key, width: BOX_WIDTH, height: BOX_HEIGHT, ...(band(b) ? { band: band(b) } : {}) })),
    edges: layout.edges.map((e, i) => ({ id: `e${i}`, from: e.from, to: e.to })),
    spacing: { node: 26, layer: 90 },
  };
}

export function renderGraphSvg(layout: Layout, placed: Placed): string {
  const at = new Map(placed.nodes.map((n) => [n.id, n]));
  const body = [
    ...placed.edges.map((e) => `<path d="${pathData(e.points)}" fill="none" stroke="#888" stroke-width="1.3" marker-end="url(#arrow)"/>`),
    ...layout.boxes.flatMap((box) => {
      const { x, y } = at.get(box.key)!;
      const colour = COLOURS[box.kind];
      return [
        `<g><title>${escapeXml(box.detail)}</title>`,
        `<rect x="${x}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="8" fill="${colour.fill}" stroke="${colour.stroke}" stroke-width="1.6"/>`,
        `<text x="${x + 10}" y="${y + 21}" font-size="15" font-weight="bold">${escapeXml(box.title)}</text>`,
        ...wrap(box.detail).map(
          (line, i) => `<text x="${x + 10}" y="${y + 42 + 16 * i}" font-size="11.5" font-family="DejaVu Sans Mono, monospace" fill="#333">${escapeXml(line)}</text>`,
        ),
        `</g>`,
      ];
    }),
  ];
  return svgDocument(placed, `cell ${layout.cell}: one time step`, arrowMarker("arrow", "#555"), body);
}
