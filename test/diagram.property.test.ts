// Any cell the language can express can be drawn, in both styles: random
// well-formed cells never crash the diagram, every state leaves on the right,
// and no routed line passes through a node.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildCell } from "../src/ir/build.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { DIAGRAM_STYLES, drawDiagram } from "../src/diagram/draw.ts";
import { essayDiagram } from "../src/diagram/essay.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";
import { crossings } from "./helpers/diagram-geometry.ts";

const NUM_RUNS = Number(process.env["LSTMC_PROPERTY_RUNS"] ?? 25);

describe("diagrams of random well-formed cells", () => {
  it(`draw every state's new value and every output, with no edge through a node, in both styles (${NUM_RUNS} cells)`, async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryCell(), async (cell) => {
        const ir = buildCell(cell).ir;
        expect(ir, printDsl(cell)).not.toBeNull();
        const diagram = essayDiagram(ir!);
        const leaving = diagram.nodes.filter((n) => n.kind === "leave").map((n) => n.id);
        expect(leaving.sort()).toEqual([...ir!.states.map((s) => `next:${s.name}`), ...ir!.outputs.map((o) => `output:${o.name}`)].sort());
        for (const style of DIAGRAM_STYLES) expect(crossings((await drawDiagram(ir!, style)).placed), `${style}\n${printDsl(cell)}`).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
