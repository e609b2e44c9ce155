// Every random well-formed cell compiles with --target ts, type-checks under
// tsc --strict, and agrees with the interpreter forward and backward (f64).
// The library specs use a few shapes of cell; this reaches the rest: products
// with parameter vectors or unused results, scalar parameters inside scalar
// expressions, every function, concatenations, next-state references, and the
// pointwise forms, reductions and slices.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { compileCell, writeAtomically } from "../src/codegen/compile.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { randomRequest } from "../src/run/random-data.ts";
import type { GeneratedModule } from "../src/run/ts-engine.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";
import { tameCell } from "./helpers/tame-cell.ts";

/** Runs per test run; set LSTMC_PROPERTY_RUNS for a deeper search. */
const NUM_RUNS = Number(process.env["LSTMC_PROPERTY_RUNS"] ?? 30);
const TOLERANCE = 1e-10;

const runShape = fc.record({
  cell: arbitraryCell({ pointwiseForms: true, reductions: true, staticInputs: true }).map(tameCell),
  I: fc.integer({ min: 1, max: 5 }),
  H: fc.integer({ min: 1, max: 5 }),
  batch: fc.integer({ min: 1, max: 3 }),
  steps: fc.integer({ min: 1, max: 3 }),
  seed: fc.nat(),
}).map((run) => Object.assign(run, { [fc.toStringMethod]: () => `I=${run.I} H=${run.H} batch=${run.batch} steps=${run.steps} seed=${run.seed}\n${printDsl(run.cell)}` }));

type Tensors = Record<string, ArrayLike<number>>;

/** The worst error over every tensor of a group: absolute, or relative to |want| where |want| > 1. */
function worstError(got: Tensors, want: Tensors): number {
  let worst = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g || g.length !== w.length) return Infinity;
    for (let i = 0; i < w.length; i++) {
      const e = Math.abs(g[i]! - w[i]!) / Math.max(1, Math.abs(w[i]!));
      worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
    }
  }
  return worst;
}

/** tsc --strict's diagnostics for the files ("" when they type-check). */
function typeErrors(files: readonly string[]): string {
  try {
    execFileSync("npx", ["tsc", "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--skipLibCheck", ...files], { encoding: "utf8", stdio: "pipe" });
    return "";
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ""}${stderr ?? ""}` || String(error);
  }
}

describe("random well-formed cells through --target ts (f64)", () => {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-property-"));
  writeAtomically(dir, "package.json", '{ "type": "module" }\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`every one compiles, type-checks under tsc --strict and matches the interpreter forward and backward within ${TOLERANCE} (${NUM_RUNS} cells)`, async () => {
    const written: string[] = [];
    await fc.assert(
      fc.asyncProperty(runShape, async ({ cell, I, H, batch, steps, seed }) => {
        const built = buildCell(cell);
        expect(built.ir, printDsl(cell)).not.toBeNull();
        const ir = built.ir!;
        const sizes = bindSizes(ir, { I, H });
        const compiled = await compileCell(ir, { target: "ts", precision: "f64", dims: sizes });
        // One file per run: the import cache is keyed by path.
        const file = writeAtomically(dir, `cell_${written.length}.ts`, compiled.text);
        written.push(file);
        const module = (await import(pathToFileURL(file).href)) as GeneratedModule;

        const request = randomRequest(ir, { sizes, batch, steps, seed, uniformParams: true });
        const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
        const { params, inputs, initial } = request.sequence;
        const result = module.forward(params, inputs, initial, { batch });
        const grads = module.backward(params, result.saved, request.upstream);
        const where = `I=${I} H=${H} batch=${batch} steps=${steps} seed=${seed}`;
        expect(worstError(result.outputs, want.outputs), `outputs ${where}`).toBeLessThan(TOLERANCE);
        expect(worstError(result.final, want.final), `final states ${where}`).toBeLessThan(TOLERANCE);
        expect(worstError(grads.params, want.grads.params), `parameter gradients ${where}`).toBeLessThan(TOLERANCE);
        expect(worstError(grads.inputs, want.grads.inputs), `input gradients ${where}`).toBeLessThan(TOLERANCE);
        expect(worstError(grads.initial, want.grads.initial), `initial-state gradients ${where}`).toBeLessThan(TOLERANCE);
      }),
      { numRuns: NUM_RUNS },
    );
    // One tsc for every module: starting the compiler costs more than checking one file.
    expect(typeErrors(written)).toBe("");
  }, 60_000 + NUM_RUNS * 1_000);
});
