// A model drawn as its layers: model inputs in the bottom row, each layer one
// row above the highest layer it reads (stacking reads upward), the model's
// outputs and head at the top; an arrow for every wire, labelled with what it
// carries. Layout is plain data; drawing is a separate function.
import type { ModelIR, Wire } from "../ir/model-types.ts";
import { formatDim } from "../ir/dims.ts";

export type ModelBoxKind = "input" | "layer" | "output";

export interface ModelBox {
  readonly id: string;
  readonly kind: ModelBoxKind;
  readonly title: string;
  readonly detail: string;
  readonly row: number;
  readonly column: number;
}

export interface ModelEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

export interface ModelLayout {
  readonly name: string;
  readonly boxes: readonly ModelBox[];
  readonly edges: readonly ModelEdge[];
  readonly rows: number;
  readonly columns: number;
}

function source(w: Wire): { id: string; label: string } {
  return w.kind === "input" ? { id: `input:${w.name}`, label: w.name } : { id: `layer:${w.layer}`, label: w.output };
}

export function layoutModel(ir: ModelIR): ModelLayout {
  const rowOf = new Map<string, number>(ir.inputs.map((i) => [`input:${i.name}`, 0]));
  const readRow = (wires: readonly Wire[]) => 1 + Math.max(0, ...wires.map((w) => rowOf.get(source(w).id)!));
  const pending: Omit<ModelBox, "column">[] = ir.inputs.map((i) => ({ id: `input:${i.name}`, kind: "input", title: i.name, detail: `input [${formatDim(i.shape[0]!)}]`, row: 0 }));
  const edges: ModelEdge[] = [];
  const wire = (to: string, wires: readonly Wire[]) => wires.forEach((w) => edges.push({ from: source(w).id, to, label: source(w).label }));
  for (const layer of ir.layers) {
    const wires = Object.values(layer.inputs).flatMap((i) => i.parts);
    const id = `layer:${layer.name}`;
    rowOf.set(id, readRow(wires));
    pending.push({ id, kind: "layer", title: layer.name, detail: `${layer.cell.name}${layer.direction === "reverse" ? ", reverse" : ""}`, row: rowOf.get(id)! });
    wire(id, wires);
  }
  const top = 1 + Math.max(0, ...rowOf.values());
  for (const o of ir.outputs) {
    pending.push({ id: `output:${o.name}`, kind: "output", title: o.name, detail: `output [${formatDim(o.width)}]`, row: top });
    wire(`output:${o.name}`, o.parts);
  }
  if (ir.head) {
    const detail = `linear [${formatDim(ir.head.size)}]${ir.head.at === "last" ? " at last step" : ""}${ir.loss ? `, ${ir.loss.kind}` : ""}`;
    pending.push({ id: `output:${ir.head.name}`, kind: "output", title: ir.head.name, detail, row: top });
    wire(`output:${ir.head.name}`, ir.head.input.parts);
  }
  const used = new Map<number, number>();
  const boxes = pending.map((b) => {
    const column = used.get(b.row) ?? 0;
    used.set(b.row, column + 1);
    return { ...b, column };
  });
  return { name: ir.name, boxes, edges, rows: top + 1, columns: Math.max(...used.values()) };
}

const BOX = { width: 200, height: 56, columnGap: 60, rowGap: 70, margin: 30, title: 36 };
const COLOURS: Record<ModelBoxKind, { fill: string; stroke: string }> = {
  input: { fill: "#e8f5e9", stroke: "#2e7d32" },
  layer: { fill: "#e3f2fd", stroke: "#1565c0" },
  output: { fill: "#fce4ec", stroke: "#ad1457" },
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The layout as a standalone SVG; row 0 (the inputs) at the bottom. */
export function renderModelSvg(layout: ModelLayout): string {
  const width = 2 * BOX.margin + layout.columns * BOX.width + (layout.columns - 1) * BOX.columnGap;
  const height = 2 * BOX.margin + BOX.title + layout.rows * BOX.height + (layout.rows - 1) * BOX.rowGap;
  const at = (b: ModelBox) => ({ x: BOX.margin + b.column * (BOX.width + BOX.columnGap), y: height - BOX.margin - (b.row + 1) * BOX.height - b.row * BOX.rowGap });
  const byId = new Map(layout.boxes.map((b) => [b.id, b]));
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`,
    `<text x="${BOX.margin}" y="${BOX.margin + 18}" font-size="18" font-weight="bold">model ${escapeXml(layout.name)}</text>`,
  ];
  for (const e of layout.edges) {
    const [from, to] = [at(byId.get(e.from)!), at(byId.get(e.to)!)];
    const [x1, y1, x2, y2] = [from.x + BOX.width / 2, from.y, to.x + BOX.width / 2, to.y + BOX.height];
    lines.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#555" marker-end="url(#arrow)"/>`);
    lines.push(`<text x="${(x1 + x2) / 2 + 4}" y="${(y1 + y2) / 2}" font-size="12" fill="#555">${escapeXml(e.label)}</text>`);
  }
  for (const b of layout.boxes) {
    const { x, y } = at(b);
    const { fill, stroke } = COLOURS[b.kind];
    lines.push(`<rect x="${x}" y="${y}" width="${BOX.width}" height="${BOX.height}" rx="8" fill="${fill}" stroke="${stroke}"/>`);
    lines.push(`<text x="${x + BOX.width / 2}" y="${y + 23}" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(b.title)}</text>`);
    lines.push(`<text x="${x + BOX.width / 2}" y="${y + 43}" font-size="12" text-anchor="middle">${escapeXml(b.detail)}</text>`);
  }
  lines.push("</svg>");
  return `${lines.join("\n")}\n`;
}
