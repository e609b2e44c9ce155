// src/runtime/init.ts is shipped twice: imported by the interpreter and copied
// as text into generated modules. These tests pin that the copied text stands
// alone under a consumer's strictest settings, computes the same numbers as the
// imported module, and that every initializer means what the docs say.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { INIT_HELPERS } from "../src/codegen/runtime/embedded.ts";
import { _initialValues, _makeRandom, _normalSample, _parameterSeed, type _InitializerKind } from "../src/runtime/init.ts";

const KINDS: readonly [_InitializerKind, number, number][] = [
  ["zeros", 0, 0], ["ones", 0, 0], ["constant", 0.3, 0], ["uniform", -0.2, 0.7], ["normal", 0.05, 0], ["glorot", 0, 0], ["orthogonal", 0, 0],
];
const SHAPES: readonly [number, number][] = [[1, 1], [5, 1], [3, 3], [4, 7], [9, 2], [300, 300], [310, 700]];

/** Where two arrays first differ (by Object.is, so -0 and NaN count), or -1; vitest's toEqual is slow on big arrays. */
function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length || Object.getPrototypeOf(got) !== Object.getPrototypeOf(want)) return 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) return i;
  return -1;
}

/** A consumer module: the embedded text, then a use of it (so noUnusedLocals has nothing to report). */
function consumerModule(): string {
  return `${INIT_HELPERS}\nexport function values(kind: _InitializerKind, a: number, b: number, rows: number, cols: number, seed: number, f32: boolean): Float32Array | Float64Array {\n  const size = rows * cols;\n  return f32 ? _initialValues(kind, a, b, rows, cols, _parameterSeed(seed, "U"), new Float32Array(size)) : _initialValues(kind, a, b, rows, cols, _parameterSeed(seed, "U"), new Float64Array(size));\n}\n`;
}

describe("the embedded part of init.ts (INIT_HELPERS, see src/codegen/runtime/embed.ts)", () => {
  it("holds the initialisers with no import and no export", () => {
    expect(INIT_HELPERS).toContain("function _initialValues");
    expect(INIT_HELPERS).not.toMatch(/^\s*(import|export)\b/m);
  });
});

describe("the embedded initialisers in a generated module", () => {
  it("type-check alone under strict, noUncheckedIndexedAccess, noUnused*, exactOptionalPropertyTypes, verbatimModuleSyntax", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-init-"));
    const file = join(dir, "consumer.ts");
    writeFileSync(file, consumerModule());
    const program = ts.createProgram([file], {
      strict: true, noUncheckedIndexedAccess: true, noUnusedLocals: true, noUnusedParameters: true, exactOptionalPropertyTypes: true,
      noImplicitOverride: true, noImplicitReturns: true, verbatimModuleSyntax: true, isolatedModules: true,
      target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ES2020, lib: ["lib.es2020.d.ts"], types: [], noEmit: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  });

  it("give, once transpiled to plain JavaScript, exactly the numbers of the imported module, in f32 and f64", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-init-"));
    const file = join(dir, "consumer.mjs");
    writeFileSync(file, ts.transpileModule(consumerModule(), { compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ES2020 } }).outputText);
    const embedded = (await import(pathToFileURL(file).href)) as { values: (...args: [_InitializerKind, number, number, number, number, number, boolean]) => Float32Array | Float64Array };
    for (const [kind, a, b] of KINDS) {
      for (const [rows, cols] of SHAPES) {
        const seed = _parameterSeed(7, "U");
        expect(firstDifference(embedded.values(kind, a, b, rows, cols, 7, false), _initialValues(kind, a, b, rows, cols, seed, new Float64Array(rows * cols))), `${kind} ${rows}×${cols} f64`).toBe(-1);
        expect(firstDifference(embedded.values(kind, a, b, rows, cols, 7, true), _initialValues(kind, a, b, rows, cols, seed, new Float32Array(rows * cols))), `${kind} ${rows}×${cols} f32`).toBe(-1);
      }
    }
  });
});

describe("_initialValues", () => {
  it("gives in a Float32Array exactly the float64 values rounded once to f32, for every kind", () => {
    for (const [kind, a, b] of KINDS) {
      for (const [rows, cols] of SHAPES) {
        const f64 = _initialValues(kind, a, b, rows, cols, 11, new Float64Array(rows * cols));
        const f32 = _initialValues(kind, a, b, rows, cols, 11, new Float32Array(rows * cols));
        expect(firstDifference(f32, Float32Array.from(f64)), `${kind} ${rows}×${cols}`).toBe(-1);
      }
    }
  });

  it("draws uniform, normal and glorot values from the seed's mulberry32 stream by their textbook formulas", () => {
    const stream = (seed: number) => _makeRandom(seed);
    const uniform = stream(5);
    expect(_initialValues("uniform", -1, 3, 4, 6, 5, new Float64Array(24))).toEqual(Float64Array.from({ length: 24 }, () => -1 + 4 * uniform()));
    const normal = stream(5);
    expect(_initialValues("normal", 0.5, 0, 24, 1, 5, new Float64Array(24))).toEqual(Float64Array.from({ length: 24 }, () => 0.5 * _normalSample(normal)));
    const glorot = stream(5);
    const limit = Math.sqrt(6 / (4 + 6));
    expect(_initialValues("glorot", 0, 0, 4, 6, 5, new Float64Array(24))).toEqual(Float64Array.from({ length: 24 }, () => (2 * glorot() - 1) * limit));
  });

  it("fills zeros, ones and constants whatever the array held before", () => {
    expect(_initialValues("zeros", 0, 0, 2, 2, 1, new Float64Array(4).fill(9))).toEqual(new Float64Array(4));
    expect(_initialValues("ones", 0, 0, 2, 2, 1, new Float64Array(4))).toEqual(new Float64Array(4).fill(1));
    expect(_initialValues("constant", -2.5, 0, 2, 2, 1, new Float32Array(4))).toEqual(new Float32Array(4).fill(-2.5));
  });

  it("refuses a result array of the wrong length", () => {
    expect(() => _initialValues("ones", 0, 0, 3, 2, 1, new Float64Array(5))).toThrow(/5 values, not 3 × 2/);
  });

  it("gives each parameter name its own stream, the same for the same seed", () => {
    expect(_parameterSeed(42, "W_f")).toBe(_parameterSeed(42, "W_f"));
    expect(_parameterSeed(42, "W_f")).not.toBe(_parameterSeed(42, "W_i"));
    expect(_parameterSeed(42, "W_f")).not.toBe(_parameterSeed(43, "W_f"));
  });
});
