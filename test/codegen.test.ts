// The generated TypeScript against the interpreter (the oracle), for every
// spec at sizes that hit each code path: H=I=1; sizes that are not multiples
// of the kernels' 4×4 blocks or of the one-row products' 32-wide chunks; sizes
// big enough for full blocks and tiles; batches under 4 (one-row products)
// and over (blocked GEMM with leftover rows).
import { describe, expect, it } from "vitest";
import { bindSizes, freeSizes } from "../src/ir/bind.ts";
import { initParams } from "../src/ir/initialize.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";
import { stepInputs } from "./helpers/ir.ts";

const SIZES = [{ I: 1, H: 1 }, { I: 3, H: 5 }, { I: 40, H: 72 }];
const SHAPES = [{ batch: 1, steps: 1 }, { batch: 3, steps: 5 }, { batch: 1, steps: 5 }, { batch: 3, steps: 1 }, { batch: 6, steps: 2 }];

type Tensors = Record<string, ArrayLike<number>>;

/** The worst error over every tensor of a group: absolute, or relative to max(1, |want|). */
function worstError(got: Tensors, want: Tensors, relative: boolean): number {
  let worst = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g || g.length !== w.length) return Infinity;
    for (let i = 0; i < w.length; i++) {
      const e = Math.abs(g[i]! - w[i]!) / (relative ? Math.max(1, Math.abs(w[i]!)) : 1);
      worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
    }
  }
  return worst;
}

const toPrecision = (t: Record<string, Float64Array>, f32: boolean) => (f32 ? Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float32Array.from(v)])) : t);

describe.each(specFiles())("generated module of %s", (file) => {
  const ir = loadSpec(file);
  for (const dims of SIZES) {
    for (const precision of ["f64", "f32"] as const) {
      const tolerance = precision === "f64" ? 1e-10 : 1e-4;
      it(`agrees with the interpreter, forward and backward (${precision}, I=${dims.I}, H=${dims.H}, batch and steps 1/3 × 1/5, and 6 × 2)`, async () => {
        const sizes = bindSizes(ir, freeSizes(ir, dims));
        const module = await loadGeneratedModule(ir, sizes, precision);
        for (const { batch, steps } of SHAPES) {
          const request = randomRequest(ir, { sizes, batch, steps, seed: 7 + batch * 10 + steps, uniformParams: true });
          const { params, inputs, initial } = request.sequence;
          const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
          const f32 = precision === "f32";
          const p = toPrecision(params, f32);
          const result = module.forward(p as never, toPrecision(inputs, f32) as never, toPrecision(initial, f32) as never, { batch });
          const grads = module.backward(p as never, result.saved, { outputs: toPrecision(request.upstream.outputs, f32), final: toPrecision(request.upstream.final, f32) } as never);
          const where = `${precision} batch=${batch} steps=${steps}`;
          expect(worstError(result.outputs, want.outputs, f32), `outputs ${where}`).toBeLessThan(tolerance);
          expect(worstError(result.final, want.final, f32), `final ${where}`).toBeLessThan(tolerance);
          expect(worstError(grads.params, want.grads.params, f32), `param grads ${where}`).toBeLessThan(tolerance);
          expect(worstError(grads.inputs, want.grads.inputs, f32), `input grads ${where}`).toBeLessThan(tolerance);
          expect(worstError(grads.initial, want.grads.initial, f32), `initial-state grads ${where}`).toBeLessThan(tolerance);
        }
      });
    }
  }

  it("step() run T times equals forward() over T steps, with state carried in place", async () => {
    const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 5 }));
    const module = await loadGeneratedModule(ir, sizes, "f64");
    const [batch, steps] = [2, 4];
    const request = randomRequest(ir, { sizes, batch, steps, seed: 3 });
    const { params, inputs, initial } = request.sequence;
    const whole = module.forward(params, inputs, initial, { batch });
    const state = Object.fromEntries(Object.entries(initial).map(([k, v]) => [k, Float64Array.from(v)]));
    for (let t = 0; t < steps; t++) {
      const x = stepInputs(ir, inputs, t, steps);
      const out = module.step(params, x, state, t);
      for (const [name, v] of Object.entries(out)) {
        const n = v.length;
        expect(Array.from(v)).toEqual(Array.from(whole.outputs[name]!.subarray(t * n, (t + 1) * n)));
      }
    }
    for (const [name, v] of Object.entries(whole.final)) expect(Array.from(state[name]!)).toEqual(Array.from(v));
  });

  it("initParams(seed) gives exactly the numbers of src/ir/initialize.ts (f64)", async () => {
    const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 5 }));
    const module = await loadGeneratedModule(ir, sizes, "f64");
    for (const seed of [0, 1, 12345]) {
      const want = initParams(ir, sizes, seed);
      const got = module.initParams(seed);
      for (const [name, values] of Object.entries(want)) expect(Array.from(got[name]!), `${name} seed ${seed}`).toEqual(Array.from(values));
    }
  });

  it("missing upstream gradients count as zeros", async () => {
    const sizes = bindSizes(ir, freeSizes(ir, { I: 2, H: 3 }));
    const module = await loadGeneratedModule(ir, sizes, "f64");
    const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 5 });
    const { params, inputs, initial } = request.sequence;
    const result = module.forward(params, inputs, initial, { batch: 2 });
    const onlyOutputs = module.backward(params, result.saved, { outputs: request.upstream.outputs });
    const zeros = Object.fromEntries(Object.entries(request.upstream.final).map(([k, v]) => [k, new Float64Array(v.length)]));
    const want = forwardBackward(ir, sizes, request.sequence, { outputs: request.upstream.outputs, final: zeros });
    expect(worstError(onlyOutputs.params, want.grads.params, false)).toBeLessThan(1e-10);
  });
});
