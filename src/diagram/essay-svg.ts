// Draws an essay-style diagram (essay.ts): yellow layer boxes, pink pointwise
// circles, heavy conveyor lines, values entering on the left and leaving on
// the right, placed by ELK (place.ts).
import type { EssayDiagram, EssayNode } from "./essay.ts";
import type { PlaceGraph, Placed, PlacedNode } from "./place.ts";
import { arrowMarker, escapeXml, pathData, svgDocument, textWidth } from "./svg-parts.ts";

export const LAYER_FILL = "#f7d44c";
export const POINTWISE_FILL = "#f4a7b9";

const LABEL_SIZE = 15;
const NOTE_SIZE = 10;
const LINE = "#333";

function sizeOf(node: EssayNode): { width: number; height: number } {
  switch (node.kind) {
    case "layer":
      return { width: Math.max(44, textWidth(node.label, LABEL_SIZE) + textWidth(node.note, NOTE_SIZE) + 22), height: 32 };
    case "pointwise":
      return { width: Math.max(30, textWidth(node.label, LABEL_SIZE) + 14), height: 30 };
    case "merge":
      return { width: 8, height: 8 };
    case "enter":
    case "leave":
      return { width: textWidth(node.label, LABEL_SIZE) + textWidth(node.note, NOTE_SIZE) + 10, height: 24 };
  }
}

export function essayPlacement(diagram: EssayDiagram): PlaceGraph {
  const band = (n: EssayNode) => (n.kind === "enter" ? "first" : n.kind === "leave" ? "last" : undefined);
  return {
    nodes: diagram.nodes.map((n) => ({ id: n.id, ...sizeOf(n), ...(band(n) ? { band: band(n) } : {}) })),
    edges: diagram.edges.map((e, i) => ({ id: `e${i}`, from: e.from, to: e.to, ...(e.conveyor ? { straight: true } : {}) })),
    spacing: { node: 22, layer: 34 },
  };
}

/** A label with its small note beside it, lowered like a subscript: c_{t−1}, σ with its gate's name. */
function labelled(node: EssayNode, box: PlacedNode, weight: string): string {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2 + LABEL_SIZE * 0.35;
  const note = node.note === "" ? "" : `<tspan font-size="${NOTE_SIZE}" dy="4" font-style="italic">${escapeXml(node.note)}</tspan>`;
  return `<text x="${cx}" y="${cy}" font-size="${LABEL_SIZE}" font-weight="${weight}" text-anchor="middle">${escapeXml(node.label)}${note}</text>`;
}

function shape(node: EssayNode, box: PlacedNode): string {
  const { x, y, width, height } = box;
  switch (node.kind) {
    case "layer":
      return `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="${LAYER_FILL}" stroke="#9a7d0a" stroke-width="1.4"/>${labelled(node, box, "bold")}`;
    case "pointwise":
      return `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${height / 2}" fill="${POINTWISE_FILL}" stroke="#b03a5b" stroke-width="1.4"/>${labelled({ ...node, note: "" }, box, "bold")}`;
    case "merge":
      return `<circle cx="${x + width / 2}" cy="${y + height / 2}" r="3" fill="${LINE}"/>`;
    case "enter":
    case "leave":
      return labelled(node, box, "normal");
  }
}

export function renderEssaySvg(diagram: EssayDiagram, placed: Placed): string {
  const at = new Map(placed.nodes.map((n) => [n.id, n]));
  const kindOf = new Map(diagram.nodes.map((n) => [n.id, n.kind]));
  const edges = placed.edges.map((e) => {
    const arrow = kindOf.get(e.to) === "merge" ? "" : ` marker-end="url(#arrow)"`;
    return `<path d="${pathData(e.points)}" fill="none" stroke="${LINE}" stroke-width="${e.straight ? 3.5 : 1.6}"${arrow}/>`;
  });
  const nodes = diagram.nodes.map((n) => `<g><title>${escapeXml(n.detail)}</title>${shape(n, at.get(n.id)!)}</g>`);
  const conveyors = diagram.conveyors.length === 0 ? "" : ` (conveyor: ${diagram.conveyors.join(", ")})`;
  return svgDocument(placed, `cell ${diagram.cell}: one time step${conveyors}`, arrowMarker("arrow", LINE), [...edges, ...nodes]);
}
