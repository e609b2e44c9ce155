// `lstmc diagram`: the essay's picture of a cell (layer boxes, pointwise
// circles, state conveyors) by default, the box-per-equation graph with
// --style graph; both placed by ELK, deterministic, with no line through a node.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR, IrNode } from "../src/ir/types.ts";
import { essayDiagram, type EssayDiagram } from "../src/diagram/essay.ts";
import { layoutCell } from "../src/diagram/layout.ts";
import { DIAGRAM_STYLES, drawDiagram } from "../src/diagram/draw.ts";
import { crossings } from "./helpers/diagram-geometry.ts";
import { DIAGRAM_DIR, generateDiagrams } from "../scripts/generate.ts";
import { isModelFile } from "../src/parse/load-model.ts";
import { LSTMC } from "./helpers/cli.ts";

// Cells only: a model's picture (its layers) is tested in test/models.cli.test.ts.
const SPECS = readdirSync(join(import.meta.dirname, "..", "specs"))
  .filter((f) => f.endsWith(".lstm") && !isModelFile(join(import.meta.dirname, "..", "specs", f)))
  .sort();

function cell(file: string): CellIR {
  return buildCell(parseDsl(readFileSync(join(import.meta.dirname, "..", "specs", file), "utf8"), file).value!).ir!;
}

const nodeById = (diagram: EssayDiagram, id: string) => diagram.nodes.find((n) => n.id === id)!;
const successors = (diagram: EssayDiagram, id: string) => diagram.edges.filter((e) => e.from === id).map((e) => nodeById(diagram, e.to));
const predecessors = (diagram: EssayDiagram, id: string) => diagram.edges.filter((e) => e.to === id).map((e) => nodeById(diagram, e.from));
const layerNamed = (diagram: EssayDiagram, gate: string) => diagram.nodes.find((n) => n.kind === "layer" && n.note === gate)!;

describe("the essay-style diagram", () => {
  it("draws a carried state as a conveyor: old value to new through pointwise operations only", () => {
    expect(essayDiagram(cell("lstm.lstm")).conveyors).toEqual(["c"]);
    expect(essayDiagram(cell("gru.lstm")).conveyors).toEqual(["h"]);
    // The plain RNN's new state is a learned layer of the old: no conveyor.
    expect(essayDiagram(cell("rnn.lstm")).conveyors).toEqual([]);
    const lstm = essayDiagram(cell("lstm.lstm"));
    const conveyor = lstm.edges.filter((e) => e.conveyor);
    expect(conveyor.map((e) => nodeById(lstm, e.to).label)).toEqual(["×", "+", "c"]);
    expect(conveyor[0]!.from).toBe("state:c");
    expect(conveyor.at(-1)!.to).toBe("next:c");
  });

  it("runs the LSTM's cell state as one straight line, entering above the hidden state and the input; the new hidden state leaves below the output", async () => {
    const { placed } = await drawDiagram(cell("lstm.lstm"), "essay");
    const conveyor = placed.edges.filter((e) => e.straight);
    expect(conveyor).toHaveLength(3);
    expect(new Set(conveyor.flatMap((e) => e.points.map((p) => p.y))).size).toBe(1);
    const y = (id: string) => placed.nodes.find((n) => n.id === id)!.y;
    expect(y("state:c")).toBeLessThan(y("state:h"));
    expect(y("state:h")).toBeLessThan(y("input:x"));
    // As in the essay, the hidden state's copy for the next step leaves along the bottom, the output above it.
    expect(y("output:h")).toBeLessThan(y("next:h"));
  });

  it("draws a gate as a layer box labelled with its nonlinearity, feeding a pointwise circle", () => {
    const lstm = essayDiagram(cell("lstm.lstm"));
    for (const [gate, label] of [["f", "σ"], ["i", "σ"], ["g", "tanh"], ["o", "σ"]]) {
      const layer = layerNamed(lstm, gate!);
      expect(layer.label).toBe(label);
      expect(successors(lstm, layer.id).map((n) => [n.kind, n.label])).toEqual([["pointwise", "×"]]);
    }
    expect(lstm.nodes.filter((n) => n.kind === "layer")).toHaveLength(4);
    expect(lstm.nodes.find((n) => n.kind === "pointwise" && n.label === "tanh")).toBeDefined();
  });

  it("merges the values a layer reads into one line, shared by every gate that reads them (concatenation)", () => {
    const lstm = essayDiagram(cell("lstm.lstm"));
    const merges = lstm.nodes.filter((n) => n.kind === "merge");
    expect(merges).toHaveLength(1);
    expect(predecessors(lstm, merges[0]!.id).map((n) => n.id)).toEqual(["input:x", "state:h"]);
    expect(successors(lstm, merges[0]!.id).map((n) => n.note).sort()).toEqual(["f", "g", "i", "o"]);
    // The essay's own LSTM concatenates explicitly, W · [h, x]: the same picture.
    const essay = essayDiagram(cell("lstm_essay.lstm"));
    expect(essay.nodes.filter((n) => n.kind === "merge")).toHaveLength(1);
  });

  it("writes constants and parameters into the operation that uses them", () => {
    const cifg = essayDiagram(cell("cifg.lstm"));
    const oneMinus = cifg.nodes.find((n) => n.label === "1−")!;
    expect(predecessors(cifg, oneMinus.id)).toEqual([layerNamed(cifg, "f")]);
    // A peephole's weights belong to the gate's layer: the gate reads c, nothing draws p_i.
    const peephole = essayDiagram(cell("peephole.lstm"));
    expect(peephole.nodes.some((n) => n.label.includes("p_i"))).toBe(false);
    expect(predecessors(peephole, predecessors(peephole, layerNamed(peephole, "i").id)[0]!.id).map((n) => n.id)).toContain("state:c");
  });

  it.each(SPECS)("enters inputs and old states on the left, inputs lowest, and leaves new states on the right: %s", async (file) => {
    const ir = cell(file);
    const { placed } = await drawDiagram(ir, "essay");
    const enter = placed.nodes.filter((n) => n.id.startsWith("input:") || n.id.startsWith("state:"));
    const leave = placed.nodes.filter((n) => n.id.startsWith("next:") || n.id.startsWith("output:"));
    expect(leave.map((n) => n.id).sort()).toEqual([...ir.states.map((s) => `next:${s.name}`), ...ir.outputs.map((o) => `output:${o.name}`)].sort());
    const inside = placed.nodes.filter((n) => !enter.includes(n) && !leave.includes(n));
    for (const n of enter) expect(n.x + n.width, n.id).toBeLessThanOrEqual(Math.min(...inside.map((m) => m.x)));
    for (const n of leave) expect(n.x, n.id).toBeGreaterThanOrEqual(Math.max(...inside.map((m) => m.x + m.width)));
    const lowestState = Math.max(...enter.filter((n) => n.id.startsWith("state:")).map((n) => n.y));
    for (const n of enter.filter((n) => n.id.startsWith("input:"))) expect(n.y, n.id).toBeGreaterThan(lowestState);
  });

  it("draws a form it has no picture for as a labelled pointwise node instead of failing", async () => {
    // A three-argument operation the diagram does not know, e.g. a future where(cond, a, b).
    const rnn = cell("rnn.lstm");
    const next = rnn.nextState[0]!.node;
    const unknown = { id: rnn.nodes.length, op: "where", args: [next, next, rnn.nodes.find((n) => n.op === "input")!.id], shape: rnn.nodes[next]!.shape, span: rnn.nodes[next]!.span };
    const ir: CellIR = { ...rnn, nodes: [...rnn.nodes, unknown as unknown as IrNode], nextState: [{ state: "h", node: unknown.id }] };
    const diagram = essayDiagram(ir);
    const where = diagram.nodes.find((n) => n.label === "where")!;
    expect(where.kind).toBe("pointwise");
    expect(predecessors(diagram, where.id).map((n) => n.kind).sort()).toEqual(["enter", "layer"]);
    expect((await drawDiagram(ir, "essay")).svg).toContain(">where<");
  });
});

describe("the graph-style diagram (--style graph)", () => {
  it("draws the peephole LSTM's output gate after the new cell state it reads", async () => {
    const ir = cell("peephole.lstm");
    const layout = layoutCell(ir);
    expect(layout.boxes.map((b) => b.key).sort()).toEqual(
      ["input:x", "state:h", "state:c", "intermediate:i", "intermediate:f", "intermediate:g", "intermediate:o", "next:c", "next:h", "output:h"].sort(),
    );
    expect(layout.edges).toContainEqual({ from: "next:c", to: "intermediate:o" });
    expect(layout.edges).toContainEqual({ from: "state:c", to: "intermediate:i" });
    expect(layout.edges.filter((e) => e.to === "output:h")).toEqual([{ from: "next:h", to: "output:h" }]);
    const { placed } = await drawDiagram(ir, "graph");
    const x = new Map(placed.nodes.map((n) => [n.id, n.x]));
    for (const edge of layout.edges) expect(x.get(edge.to)!, `${edge.from} → ${edge.to}`).toBeGreaterThan(x.get(edge.from)!);
  });

  it("escapes equation text as XML and keeps every equation readable", async () => {
    const ir = cell("cifg.lstm");
    const { svg } = await drawDiagram(ir, "graph");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("c' = f * c + (1 - f) * g");
    expect(svg).not.toMatch(/<text[^>]*>[^<]*&(?!amp;|lt;|gt;|quot;)/);
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + layoutCell(ir).boxes.length);
  });
});

describe.each(DIAGRAM_STYLES)("both styles: %s", (style) => {
  it.each(SPECS)("no edge crosses a node: %s", async (file) => {
    const { placed } = await drawDiagram(cell(file), style);
    expect(placed.edges.length).toBeGreaterThan(0);
    expect(crossings(placed)).toEqual([]);
  });

  it("is deterministic: the same spec gives byte-identical SVG, whatever was drawn before", async () => {
    const first = (await drawDiagram(cell("gru.lstm"), style)).svg;
    await drawDiagram(cell("peephole.lstm"), style);
    expect((await drawDiagram(cell("gru.lstm"), style)).svg).toBe(first);
  });
});

it("the crossing check finds a line through a node", () => {
  const node = { id: "n", x: 10, y: 10, width: 20, height: 20 };
  const edge = { id: "e", from: "a", to: "b", points: [{ x: 0, y: 20 }, { x: 50, y: 20 }] };
  expect(crossings({ width: 50, height: 50, nodes: [node], edges: [edge] })).toEqual(["a → b crosses n"]);
  expect(crossings({ width: 50, height: 50, nodes: [node], edges: [{ ...edge, points: [{ x: 0, y: 40 }, { x: 50, y: 40 }] }] })).toEqual([]);
});

describe("lstmc diagram", () => {
  const lstmc = (...args: string[]) => spawnSync(process.execPath, [LSTMC, "diagram", ...args], { encoding: "utf8" });
  const spec = join(import.meta.dirname, "..", "specs", "gru.lstm");

  it("draws the essay style by default and the box-per-equation graph with --style graph", async () => {
    expect(lstmc(spec).stdout).toBe((await drawDiagram(cell("gru.lstm"), "essay")).svg);
    expect(lstmc(spec, "--style", "graph").stdout).toBe((await drawDiagram(cell("gru.lstm"), "graph")).svg);
  });

  it("refuses an unknown style as a usage error naming the nearest", () => {
    const result = lstmc(spec, "--style", "essy");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown style 'essy'; did you mean 'essay'?");
  });
});

/** The packages a module loads when it is imported: its static imports and re-exports, followed through our own files (type-only and dynamic imports excluded). */
function packagesLoadedBy(file: string, seen = new Set<string>()): Set<string> {
  const packages = new Set<string>();
  if (seen.has(file)) return packages;
  seen.add(file);
  const source = readFileSync(file, "utf8");
  for (const [, specifier] of source.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?"([^"]+)"/gm)) {
    if (!specifier!.startsWith(".")) packages.add(specifier!);
    else for (const p of packagesLoadedBy(resolve(dirname(file), specifier!), seen)) packages.add(p);
  }
  return packages;
}

describe("start-up cost", () => {
  it("loads elkjs only in the diagram command: main.ts and the library API reach it through no static import", () => {
    const src = join(import.meta.dirname, "..", "src");
    const elk = (file: string) => [...packagesLoadedBy(join(src, file))].filter((p) => p.startsWith("elkjs"));
    expect(elk("cli/diagram.ts")).toEqual(["elkjs/lib/elk.bundled.js"]);
    expect(elk("cli/main.ts")).toEqual([]);
    expect(elk("index.ts")).toEqual([]);
  });
});

describe("docs/diagrams", () => {
  it("holds a current essay-style diagram of every spec, and nothing else (regenerate: npm run generate)", async () => {
    const fresh = await generateDiagrams();
    expect([...fresh.keys()]).toEqual(SPECS.map((f) => f.replace(/\.lstm$/, ".svg")));
    const committed = readdirSync(join(import.meta.dirname, "..", DIAGRAM_DIR)).filter((f) => f.endsWith(".svg")).sort();
    expect(committed).toEqual([...fresh.keys()]);
    for (const [file, svg] of fresh) expect(readFileSync(join(import.meta.dirname, "..", DIAGRAM_DIR, file), "utf8"), file).toBe(svg);
  });
});
