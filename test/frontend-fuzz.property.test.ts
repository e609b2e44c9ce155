// Whatever text a user feeds in, the front ends and the IR builder never throw:
// they give an IR, or at least one error located at a real line and column.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildCell } from "../src/ir/build.ts";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../src/diagnostics/diagnostic.ts";
import type { SpecAst } from "../src/parse/ast.ts";
import type { ParseResult } from "../src/parse/dsl.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { parseJsonSpec } from "../src/parse/json.ts";
import { printJson } from "../src/parse/print-json.ts";
import { isModelText } from "../src/parse/model.ts";

type FrontEnd = (text: string, file: string) => ParseResult<SpecAst>;

// Cells only: a model file (specs/bilstm.lstm, …) has its own parser and tests (test/models.*.test.ts, test/codegen.models*.test.ts).
const DSL_SPECS = readdirSync("specs")
  .filter((f) => f.endsWith(".lstm"))
  .map((f) => readFileSync(join("specs", f), "utf8"))
  .filter((text) => !isModelText(text));
const JSON_SPECS = DSL_SPECS.map((text) => printJson(parseDsl(text, "spec.lstm").value!));

function isLocated(d: Diagnostic): boolean {
  const { line, column, endLine, endColumn } = d.span;
  return [line, column, endLine, endColumn].every((n) => Number.isInteger(n) && n >= 1) && (endLine > line || (endLine === line && endColumn >= column));
}

/** Runs one front end and the IR builder; fails if either throws or an error comes back unlocated. */
function expectIrOrLocatedErrors(frontEnd: FrontEnd, text: string, file: string): void {
  const parsed = frontEnd(text, file);
  const built = parsed.value ? buildCell(parsed.value) : null;
  const diagnostics = [...parsed.diagnostics, ...(built?.diagnostics ?? [])];
  expect(diagnostics.filter((d) => !isLocated(d))).toEqual([]);
  if (built?.ir) expect(hasErrors(diagnostics)).toBe(false);
  else expect(hasErrors(diagnostics)).toBe(true);
}

/** Fragments that are meaningful to one syntax or the other, so mutations reach past the lexer. */
const TOKENS = [
  "=", "'", "@", "(", ")", "[", "]", "{", "}", ",", ":", "*", "+", "-", "/", "~", "σ", "⊙", "·", "#", "\n", " ",
  "cell", "size", "input", "state", "param", "output", "H", "I", "x", "h", "h'", "c'", "tanh", "sigmoid(", "foo", "class",
  "0", "1", "-1", "2.5", "1e999", "null", "true", '"', '\\', "\\u", '"h"', '"shape"', '"init"', '"glorot"', '{"uniform": [1]}', "[]", "{}",
  // Issue 10: line endings, a byte-order mark, numbers past the float range, division by zero, deep nesting.
  "\r", "\r\n", "\u2028", "\u2029", "\ufeff", "\u001b", "1e400", "/ 0", "/ (1 - 1)", "1e300 * 1e300",
  "(".repeat(200), "tanh(".repeat(200), "-".repeat(300), " + h".repeat(300), "[".repeat(200),
];

type Mutation = { kind: "delete"; at: number; length: number } | { kind: "insert"; at: number; text: string } | { kind: "replace"; at: number; length: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 3 })) }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }), text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 2 })) }),
);

function mutate(text: string, mutations: readonly Mutation[]): string {
  return mutations.reduce((t, m) => {
    const at = m.at % (t.length + 1);
    switch (m.kind) {
      case "delete":
        return t.slice(0, at) + t.slice(at + m.length);
      case "insert":
        return t.slice(0, at) + m.text + t.slice(at);
      case "replace":
        return t.slice(0, at) + m.text + t.slice(at + m.length);
    }
  }, text);
}

const mutatedSpec = (specs: readonly string[]) => fc.tuple(fc.constantFrom(...specs), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([text, ms]) => mutate(text, ms));

const randomBytes = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString(bytes.length % 2 === 0 ? "utf8" : "latin1"));
const randomUnicode = fc.string({ unit: "binary", maxLength: 300 });

const FRONT_ENDS: [string, FrontEnd, string][] = [
  ["parseDsl", parseDsl, "fuzz.lstm"],
  ["parseJsonSpec", parseJsonSpec, "fuzz.json"],
];

describe.each(FRONT_ENDS)("%s then buildCell", (_name, frontEnd, file) => {
  it("never throws on random bytes, and locates its errors", () => {
    fc.assert(fc.property(randomBytes, (text) => expectIrOrLocatedErrors(frontEnd, text, file)), { numRuns: 300 });
  });

  it("never throws on random unicode text, and locates its errors", () => {
    fc.assert(fc.property(randomUnicode, (text) => expectIrOrLocatedErrors(frontEnd, text, file)), { numRuns: 300 });
  });

  it("never throws on random JSON values, and locates its errors", () => {
    fc.assert(fc.property(fc.json(), (text) => expectIrOrLocatedErrors(frontEnd, text, file)), { numRuns: 200 });
  });
});

describe("mutated real specs", () => {
  it("parseDsl then buildCell never throws on a mutated .lstm spec, and locates its errors", () => {
    fc.assert(fc.property(mutatedSpec(DSL_SPECS), (text) => expectIrOrLocatedErrors(parseDsl, text, "mutant.lstm")), { numRuns: 600 });
  });

  it("parseJsonSpec then buildCell never throws on a mutated .json spec, and locates its errors", () => {
    fc.assert(fc.property(mutatedSpec(JSON_SPECS), (text) => expectIrOrLocatedErrors(parseJsonSpec, text, "mutant.json")), { numRuns: 600 });
  });

  // Issue 10: a lone CR put the caret on the wrong line. Every line ending is one line break, everywhere.
  it("give the same diagnostics, at the same lines and columns, whatever the line endings", () => {
    const plainLines = mutatedSpec(DSL_SPECS).filter((text) => !/[\r\u2028\u2029]/.test(text));
    const ending = fc.constantFrom("\r", "\r\n", "\u2028", "\u2029");
    const positions = (text: string) => {
      const parsed = parseDsl(text, "mutant.lstm");
      const diagnostics = [...parsed.diagnostics, ...(parsed.value ? buildCell(parsed.value).diagnostics : [])];
      return diagnostics.map((d) => [d.code, d.span.line, d.span.column, d.span.endLine, d.span.endColumn, formatDiagnostic(d, text).split(/\n/).slice(1)]);
    };
    fc.assert(
      fc.property(plainLines, ending, (text, newline) => {
        expect(positions(text.replaceAll("\n", newline))).toEqual(positions(text));
      }),
      { numRuns: 300 },
    );
  });

  // Most mutants must get past parsing, or the fuzzing above only tests the lexer.
  it("reach the IR builder for a good share of mutants of both syntaxes", () => {
    for (const [specs, frontEnd] of [[DSL_SPECS, parseDsl], [JSON_SPECS, parseJsonSpec]] as const) {
      const mutants = fc.sample(mutatedSpec(specs), { numRuns: 300, seed: 42 });
      const parsed = mutants.filter((text) => frontEnd(text, "mutant").value !== null).length;
      expect(parsed).toBeGreaterThan(mutants.length / 10);
    }
  });
});
