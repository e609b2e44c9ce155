// parse(print(ast)) == ast for both syntaxes, over random well-formed cells.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildCell } from "../src/ir/build.ts";
import { hasErrors } from "../src/diagnostics/diagnostic.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { parseJsonSpec } from "../src/parse/json.ts";
import { printJson } from "../src/parse/print-json.ts";
import type { SpecAst } from "../src/parse/ast.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";
import { stripSpans } from "./helpers/ir.ts";

const RUNS = { numRuns: 200 };
/** The front end takes every form, the interpreter's own included. */
const cells = () => arbitraryCell({ pointwiseForms: true, reductions: true });

function builtIr(spec: SpecAst) {
  const built = buildCell(spec);
  expect(built.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(built.ir).not.toBeNull();
  return built.ir!;
}

/** Prints a cell, parses the text back, and checks that nothing but positions changed. */
function expectRoundTrip(spec: SpecAst, print: (s: SpecAst) => string, parse: (text: string, file: string) => { value: SpecAst | null; diagnostics: readonly unknown[] }, file: string) {
  const text = print(spec);
  const parsed = parse(text, file);
  expect(parsed.diagnostics, text).toEqual([]);
  expect(stripSpans(parsed.value)).toEqual(stripSpans(spec));
  expect(stripSpans(builtIr(parsed.value!))).toEqual(stripSpans(builtIr(spec)));
}

describe("random well-formed cells", () => {
  it("all build without errors", () => {
    fc.assert(
      fc.property(cells(), (spec) => {
        const built = buildCell(spec);
        expect(hasErrors(built.diagnostics), JSON.stringify(built.diagnostics)).toBe(false);
        expect(built.ir).not.toBeNull();
      }),
      RUNS,
    );
  });

  it("survive printDsl then parseDsl with the same AST and IR", () => {
    fc.assert(fc.property(cells(), (spec) => expectRoundTrip(spec, printDsl, parseDsl, "random.lstm")), RUNS);
  });

  it("survive printJson then parseJsonSpec with the same AST and IR", () => {
    fc.assert(fc.property(cells(), (spec) => expectRoundTrip(spec, printJson, parseJsonSpec, "random.json")), RUNS);
  });

  // The generator must reach every construct, or the round trips above prove little.
  it("use every operator, every function, concatenation and next-state references", () => {
    const seen = new Set<string>();
    const visit = (e: SpecAst["outputs"][number]["value"]): void => {
      seen.add(e.kind === "binary" ? e.op : e.kind === "call" ? e.fn : e.kind === "ref" && e.next ? "next" : e.kind);
      if (e.kind === "neg") visit(e.operand);
      if (e.kind === "binary") [e.left, e.right].forEach(visit);
      if (e.kind === "concat") e.items.forEach(visit);
      if (e.kind === "call") e.args.forEach(visit);
    };
    for (const spec of fc.sample(cells(), { numRuns: 200, seed: 1 })) {
      [...spec.equations.map((e) => e.value), ...spec.outputs.map((o) => o.value)].forEach(visit);
    }
    const expected = ["+", "-", "*", "/", "@", "neg", "number", "concat", "next", "sigmoid", "tanh", "relu", "exp", "log", "softsign", "softplus", "hard_sigmoid", "identity", "sqrt", "rsqrt", "abs",
      "^", "<", "<=", ">", ">=", "==", "!=", "min", "max", "mod", "where"];
    expect(expected.filter((k) => !seen.has(k))).toEqual([]);
  });
});
