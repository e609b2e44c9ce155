// Cells that check accepts at the edges of the language compile and agree on
// every engine: one without states (a feed-forward layer per step) and one
// without inputs (it runs for options.steps steps). Both used to exit 70.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { typescriptEngine, webgpuEngine } from "../src/run/engines.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";

const load = (file: string) => buildCell(parseDsl(readFileSync(file, "utf8"), file).value!).ir!;
const worst = (got: Record<string, ArrayLike<number>>, want: Record<string, Float64Array>) =>
  Math.max(0, ...Object.entries(want).map(([k, w]) => Math.max(0, ...Array.from(w, (x, i) => Math.abs(got[k]![i]! - x) / Math.max(1, Math.abs(x))))));

describe.each(["test/fixtures/specs/stateless.lstm", "test/fixtures/specs/no_input.lstm"])("%s", (file) => {
  const ir = load(file);
  const sizes = bindSizes(ir, {});
  const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 5, uniformParams: true });
  const want = forwardBackward(ir, sizes, request.sequence, request.upstream);

  it("the TS module (f64) and the WGSL kernels agree with the interpreter, forward and backward", async () => {
    for (const [engine, tolerance] of [[typescriptEngine, 1e-10], [webgpuEngine, 1e-4]] as const) {
      const got = await engine.run(ir, request, true);
      expect(worst(got.outputs, want.outputs), engine.name).toBeLessThan(tolerance);
      expect(worst(got.grads!.params, want.grads.params), engine.name).toBeLessThan(tolerance);
    }
  });

  it("step() runs one step", async () => {
    const module = await loadGeneratedModule(ir, sizes, "f64");
    const inputs = Object.fromEntries(ir.inputs.map((i) => [i.name, new Float64Array(2 * sizes[(i.shape[0]!.terms[0]![0])]!)]));
    const state = module.createState(ir.states.length > 0 ? 2 : 1);
    const out = module.step(module.initParams(1), inputs, state);
    for (const o of ir.outputs) expect(out[o.name]!.length).toBeGreaterThan(0);
  });
});
