// parse(print(model)) == model for both syntaxes, over random model trees:
// what `lstmc convert` relies on. Syntax only: the models need not build.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { DimAst, SpecAst } from "../src/parse/ast.ts";
import { parseDimText } from "../src/parse/dsl.ts";
import { parseModelDsl } from "../src/parse/model.ts";
import { parseModelJson } from "../src/parse/model-json.ts";
import { LOSSES, type CellRefAst, type LayerAst, type ModelAst, type WireAst } from "../src/parse/model-ast.ts";
import { printModelDsl, printModelJson } from "../src/parse/print-model.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";
import { stripSpans } from "./helpers/ir.ts";

const RUNS = { numRuns: 150 };
const AT = { file: "random.lstm", line: 1, column: 1, endLine: 1, endColumn: 1 };

function dim(text: string): DimAst {
  return parseDimText(text, { file: AT.file, line: 1, column: 1 }).value!;
}

const dims = fc.constantFrom("I", "H", "2*H", "H + 1", "3", "2*(H - 1)").map(dim);
const wire: fc.Arbitrary<WireAst> = fc.oneof(
  fc.constantFrom("x", "y").map((name) => ({ kind: "input" as const, name, span: AT })),
  fc.record({ layer: fc.constantFrom("L1", "fwd", "enc"), output: fc.constantFrom("h", "c", "c'", "out") }).map((w) => ({ kind: "layer" as const, ...w, span: AT })),
);
const wires = fc.array(wire, { minLength: 1, maxLength: 3 });
// Paths the lexer reads bare, and one it must read as a string.
const cellFile = fc.constantFrom("lstm.lstm", "cells/gru.lstm", "../x-y/peep.json", "my cells/a b.lstm").map((path): CellRefAst => ({ kind: "file", path, span: AT }));

/** Layers with distinct names; `inline` the cells of the model's own file they may use; `positional` whether an input may go unnamed (not in JSON). */
function layers(inline: readonly string[], positional: boolean): fc.Arbitrary<LayerAst[]> {
  const cell = inline.length === 0 ? cellFile : fc.oneof(cellFile, fc.constantFrom(...inline).map((name): CellRefAst => ({ kind: "inline", name, span: AT })));
  const inputs = fc.uniqueArray(fc.constantFrom("x", "c_below", "z"), { maxLength: 2 }).chain((names) =>
    fc.tuple(...names.map((name) => fc.record({ name: positional && names.length === 1 ? fc.constantFrom(name, null) : fc.constant(name), parts: wires }))),
  );
  const sizes = fc.uniqueArray(fc.constantFrom("H", "I", "P"), { maxLength: 2 }).chain((names) => fc.tuple(...names.map((name) => dims.map((value) => ({ name, value, span: AT })))));
  const layer = fc.record({ direction: fc.constantFrom("forward" as const, "reverse" as const), cell, inputs, sizes });
  const named = fc.uniqueArray(fc.constantFrom("L1", "L2", "fwd", "bwd", "enc"), { minLength: 1, maxLength: 4 }).chain((names) =>
    fc.tuple(...names.map((name) => layer.map((l) => ({ name, nameSpan: AT, ...l, inputs: l.inputs.map((i) => ({ ...i, span: AT })), span: AT })))),
  );
  // Some forward layers get a reverse twin after them: the pair the DSL writes as one bidirectional layer.
  return fc.tuple(named, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })).map(([all, twins]) =>
    all.map((l, i) => {
      const before = all[i - 1];
      return before && twins[i] && before.direction === "forward" ? { ...before, name: l.name, direction: "reverse" as const } : l;
    }),
  );
}

function models(syntax: "dsl" | "json"): fc.Arbitrary<ModelAst> {
  // A cell in the model's file keeps no doc comment: the model parser reads only the model's.
  const ownCells: fc.Arbitrary<SpecAst[]> = syntax === "json" ? fc.constant([]) : fc.option(arbitraryCell().map((c) => ({ ...c, doc: [] })), { nil: undefined }).map((c) => (c ? [c] : []));
  return ownCells.chain((cells) =>
    fc.record({
      name: fc.constantFrom("m", "bilstm", "stack_2"),
      doc: fc.array(fc.stringMatching(/^[ -~]{0,30}$/), { maxLength: 2 }),
      sizes: fc.uniqueArray(fc.constantFrom("I", "H", "K"), { maxLength: 3 }).chain((names) => fc.tuple(...names.map((name) => fc.option(fc.integer({ min: 1, max: 64 }), { nil: null }).map((d) => ({ name, default: d, formula: null, span: AT }))))),
      inputs: fc.uniqueArray(fc.constantFrom("x", "y"), { maxLength: 2 }).chain((names) => fc.tuple(...names.map((name) => dims.map((d) => ({ name, static: false, shape: [d], span: AT }))))),
      layers: layers(cells.map((c) => c.name), syntax === "dsl"),
      outputs: fc.uniqueArray(fc.constantFrom("h", "c", "out"), { maxLength: 2 }).chain((names) => fc.tuple(...names.map((name) => wires.map((parts) => ({ name, parts, span: AT }))))),
      head: fc.option(fc.record({ name: fc.constantFrom("logits", "y"), size: dims, parts: wires, at: fc.constantFrom("step" as const, "last" as const), span: fc.constant(AT) }), { nil: null }),
      loss: fc.option(fc.record({ kind: fc.constantFrom(...LOSSES), head: fc.constantFrom("logits", "y"), span: fc.constant(AT) }), { nil: null }),
    }).map((m) => ({ file: AT.file, nameSpan: AT, ...m, cells })),
  );
}

function expectRoundTrip(model: ModelAst, print: (m: ModelAst) => string, parse: (text: string, file: string) => { value: ModelAst | null; diagnostics: readonly unknown[] }) {
  const text = print(model);
  const parsed = parse(text, AT.file);
  expect(parsed.diagnostics, text).toEqual([]);
  expect(stripSpans(parsed.value), text).toEqual(stripSpans(model));
}

describe("random model trees", () => {
  it("survive printModelDsl then parseModelDsl unchanged", () => {
    fc.assert(fc.property(models("dsl"), (model) => expectRoundTrip(model, printModelDsl, parseModelDsl)), RUNS);
  });

  it("survive printModelJson then parseModelJson unchanged", () => {
    fc.assert(fc.property(models("json"), (model) => expectRoundTrip(model, printModelJson, parseModelJson)), RUNS);
  });

  // The pair the DSL printer merges must come back as the same two layers.
  it("include bidirectional pairs, positional inputs and the model's own cells", () => {
    const sample = fc.sample(models("dsl"), { numRuns: 150, seed: 1 });
    const pairs = sample.filter((m) => printModelDsl(m).includes("bidirectional"));
    expect(pairs.length).toBeGreaterThan(0);
    expect(sample.some((m) => m.layers.some((l) => l.inputs.some((i) => i.name === null)))).toBe(true);
    expect(sample.some((m) => m.layers.some((l) => l.cell.kind === "inline"))).toBe(true);
  });
});
