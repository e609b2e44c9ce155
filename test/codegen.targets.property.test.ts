// Anything `lstmc check` accepts either compiles on every target or is refused
// by `lstmc check --target` with a located diagnostic: over random well-formed
// cells (products of matrix expressions included), lowering and rendering for
// ts, js and wgsl never throw once the target's check has passed. The specs
// that check refuses are pinned too.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { targetDiagnostics, TARGET_NAMES } from "../src/codegen/check.ts";
import { planCell } from "../src/codegen/compile.ts";
import { renderModule } from "../src/codegen/ts/render.ts";
import { buildProgram } from "../src/codegen/wgsl/kernels.ts";
import { buildCell } from "../src/ir/build.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";

const NUM_RUNS = Number(process.env["LSTMC_PROPERTY_RUNS"] ?? 60);

/** The step of `compile` that can refuse a cell, without formatting (prettier only reflows text). */
function lowerAndRender(ir: NonNullable<ReturnType<typeof buildCell>["ir"]>, target: (typeof TARGET_NAMES)[number]): void {
  const dims = Object.fromEntries(ir.sizes.map((s) => [s.name, 3]));
  const plan = planCell(ir, { target, dims });
  if (target === "wgsl") buildProgram(plan);
  else renderModule(plan, { target, precision: "f32", specFile: "random.lstm", compilerVersion: "test", adapters: null });
}

describe("every target compiles what check --target accepts", () => {
  it(`random well-formed cells (${NUM_RUNS}) compile on ts, js and wgsl, or check --target refuses them`, () => {
    fc.assert(
      fc.property(arbitraryCell().map((cell) => Object.assign(cell, { [fc.toStringMethod]: () => printDsl(cell) })), (cell) => {
        const built = buildCell(cell);
        if (!built.ir) return;
        for (const target of TARGET_NAMES) {
          if (targetDiagnostics(built.ir, target).length > 0) continue;
          expect(() => lowerAndRender(built.ir!, target), target).not.toThrow();
        }
      }),
      { numRuns: NUM_RUNS, seed: Number(process.env["LSTMC_PROPERTY_SEED"] ?? 20261130) },
    );
  });

  it("refuses, located, a number WGSL's float32 cannot hold, and accepts it for ts and js", () => {
    const text = "cell big {\n  size I = 2, H = 3\n  input x[I]\n  state h[H]\n  param W[H, I] ~ glorot\n  h' = tanh(W @ x + 1e39 * h)\n  output h = h'\n}\n";
    const ir = buildCell(parseDsl(text, "big.lstm").value!).ir!;
    const [refusal, ...rest] = targetDiagnostics(ir, "wgsl");
    expect(rest).toEqual([]);
    expect(refusal).toMatchObject({ code: "E601", span: { line: 6, column: 21 } });
    expect(targetDiagnostics(ir, "ts")).toEqual([]);
    expect(targetDiagnostics(ir, "js")).toEqual([]);
  });
});
