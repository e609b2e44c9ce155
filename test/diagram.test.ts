// `lstmc diagram`: one box per input, state and equation, arrows for what
// each equation reads, as a deterministic standalone SVG.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import { layoutCell } from "../src/diagram/layout.ts";
import { renderSvg } from "../src/diagram/svg.ts";
import { isModelFile } from "../src/parse/load-model.ts";

function cell(file: string) {
  return buildCell(parseDsl(readFileSync(join(import.meta.dirname, "..", "specs", file), "utf8"), file).value!).ir!;
}

describe("the cell diagram", () => {
  it("draws the peephole LSTM's output gate after the new cell state it reads", () => {
    const layout = layoutCell(cell("peephole.lstm"));
    const box = (key: string) => layout.boxes.find((b) => b.key === key)!;
    expect(layout.boxes.map((b) => b.key).sort()).toEqual(
      ["input:x", "state:h", "state:c", "intermediate:i", "intermediate:f", "intermediate:g", "intermediate:o", "next:c", "next:h", "output:h"].sort(),
    );
    expect(layout.edges).toContainEqual({ from: "next:c", to: "intermediate:o" });
    expect(layout.edges).toContainEqual({ from: "state:c", to: "intermediate:i" });
    expect(box("intermediate:o").column).toBeGreaterThan(box("next:c").column);
    for (const edge of layout.edges) expect(box(edge.to).column).toBeGreaterThan(box(edge.from).column);
  });

  it("gives byte-identical SVG for the same spec", () => {
    expect(renderSvg(layoutCell(cell("gru.lstm")))).toBe(renderSvg(layoutCell(cell("gru.lstm"))));
  });

  it("escapes equation text as XML and keeps every equation readable", () => {
    const svg = renderSvg(layoutCell(cell("cifg.lstm")));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("c' = f * c + (1 - f) * g");
    expect(svg).not.toMatch(/<text[^>]*>[^<]*&(?!amp;|lt;|gt;|quot;)/);
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + layoutCell(cell("cifg.lstm")).boxes.length);
  });
});

describe("docs/diagrams", () => {
  it("holds a current diagram of every spec (regenerate: for f in specs/*.lstm; do npx lstmc diagram $f --out docs/diagrams/$(basename $f .lstm).svg; done)", () => {
    // Cells only: a model's picture (its layers) is tested in test/models.cli.test.ts.
    const specs = readdirSync(join(import.meta.dirname, "..", "specs")).filter((f) => f.endsWith(".lstm") && !isModelFile(join(import.meta.dirname, "..", "specs", f)));
    for (const file of specs) {
      const committed = readFileSync(join(import.meta.dirname, "..", "docs", "diagrams", file.replace(/\.lstm$/, ".svg")), "utf8");
      expect(committed, file).toBe(renderSvg(layoutCell(cell(file))));
    }
  });
});
