// The diagram of a cell's step in either style: the picture's structure from
// the IR, its placement by ELK, then the SVG.
import type { CellIR } from "../ir/types.ts";
import { essayDiagram } from "./essay.ts";
import { essayPlacement, renderEssaySvg } from "./essay-svg.ts";
import { layoutCell } from "./layout.ts";
import { placeGraph, type Placed } from "./place.ts";
import { graphPlacement, renderGraphSvg } from "./svg.ts";

export const DIAGRAM_STYLES = ["essay", "graph"] as const;
export type DiagramStyle = (typeof DIAGRAM_STYLES)[number];

export interface DrawnDiagram {
  readonly svg: string;
  /** Where every node and edge went, for checks on the geometry. */
  readonly placed: Placed;
}

export async function drawDiagram(ir: CellIR, style: DiagramStyle): Promise<DrawnDiagram> {
  if (style === "graph") {
    const layout = layoutCell(ir);
    const placed = await placeGraph(graphPlacement(layout));
    return { svg: renderGraphSvg(layout, placed), placed };
  }
  const diagram = essayDiagram(ir);
  const placed = await placeGraph(essayPlacement(diagram));
  return { svg: renderEssaySvg(diagram, placed), placed };
}
