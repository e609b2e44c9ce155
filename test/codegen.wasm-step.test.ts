// The fused step loops (src/codegen/wasm/step.ts): f32 modules of specs whose
// forms its table covers run every forward step, and every backward step, in
// one WebAssembly call each. Forward must write what the JavaScript step loop
// writes (outputs, final state, the saved history and tapes backward reads)
// within float32 rounding and agree with the interpreter; backward must give
// the JavaScript loop's gradients within float32 rounding; a spec with a form
// outside the table keeps the JavaScript loops, decided at compile time.
import { describe, expect, it } from "vitest";
import { planCell } from "../src/codegen/compile.ts";
import { renderModule } from "../src/codegen/ts/render.ts";
import { forwardStepModule } from "../src/codegen/wasm/step.ts";
import { bindSizes, freeSizes, type SizeBinding } from "../src/ir/bind.ts";
import type { CellIR } from "../src/ir/types.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { importOnce } from "../src/run/ts-engine.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";

type Tensors = Record<string, Float32Array>;
interface Saved {
  readonly hist: Tensors;
  readonly tape: readonly Float32Array[];
}
interface Module {
  forward(params: Tensors, inputs: Tensors, initial: Tensors, options: { batch: number; lengths?: number[] }): { outputs: Tensors; final: Tensors; saved: Saved };
  backward(params: Tensors, saved: Saved, upstream: { outputs: Tensors; final: Tensors }): { params: Tensors; inputs: Tensors; initial: Tensors };
  step(params: Tensors, inputs: Tensors, state: Tensors): Tensors;
  /** Which code runs the module here: its step loops in WebAssembly or JavaScript. */
  readonly kernels: { readonly forwardLoop: "wasm" | "js"; readonly backwardLoop: "wasm" | "js" };
}

/** A spec's f32 module (fused step on or off). Unformatted (prettier changes no expression) to keep the file's hundred-odd modules quick. */
function load(ir: CellIR, sizes: SizeBinding, fusedStep: boolean): Promise<Module> {
  return importOnce(JSON.stringify(["wasm-step", ir, sizes, fusedStep]), async () => {
    const plan = planCell(ir, { target: "ts", dims: sizes });
    const text = renderModule(plan, { target: "ts", precision: "f32", specFile: "spec.lstm", compilerVersion: "test", adapters: null, fusedStep });
    return { fileName: "cell.ts", text };
  });
}

const f32 = (t: Record<string, ArrayLike<number>>): Tensors => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float32Array.from(v)]));

/** The worst error over every tensor of a group, relative to max(1, |want|). */
function worst(got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>): number {
  let error = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g || g.length !== w.length) return Infinity;
    for (let i = 0; i < w.length; i++) {
      const e = Math.abs(g[i]! - w[i]!) / Math.max(1, Math.abs(w[i]!));
      error = Math.max(error, Number.isNaN(e) ? Infinity : e);
    }
  }
  return error;
}

const tapes = (saved: Saved): Tensors => Object.fromEntries(saved.tape.map((t, i) => [`tape ${i}`, t]));

/** Float32 rounding, compounded over a few steps: the fused step rounds every operation to float32 where JavaScript rounds at stores. */
const ROUNDING = 1e-5;
/** The interpreter runs in float64: the tolerance every f32 module is held to (test/codegen.test.ts). */
const ORACLE = 1e-4;

const plans = specFiles().map((file) => {
  const ir = loadSpec(file);
  return { file, ir, covered: forwardStepModule(planCell(ir, { target: "ts", dims: freeSizes(ir, { I: 3, H: 6 }) })) !== null };
});

describe.each(plans.filter((p) => p.covered).map((p) => [p.file, p.ir] as const))("the fused forward step of %s", (_file, ir) => {
  for (const dims of [{ I: 1, H: 1 }, { I: 3, H: 6 }]) {
    it(`writes what the JavaScript loop writes, agrees with the interpreter, and backward gives the JavaScript loop's gradients (I=${dims.I}, H=${dims.H}, batch 1 and 3)`, async () => {
      const sizes = bindSizes(ir, freeSizes(ir, dims));
      const fused = await load(ir, sizes, true);
      const plain = await load(ir, sizes, false);
      expect(fused.kernels.forwardLoop).toBe("wasm");
      expect(fused.kernels.backwardLoop).toBe("wasm");
      expect(plain.kernels.forwardLoop).toBe("js");
      expect(plain.kernels.backwardLoop).toBe("js");
      for (const batch of [1, 3]) {
        // An odd and an even number of steps: the fused backward trades the carried gradients' buffers every step.
        const request = randomRequest(ir, { sizes, batch, steps: batch === 1 ? 5 : 4, seed: 11 + batch, uniformParams: true });
        const { params, inputs, initial } = request.sequence;
        const upstream = { outputs: f32(request.upstream.outputs), final: f32(request.upstream.final) };
        const [p, x, h0] = [f32(params), f32(inputs), f32(initial)];
        const a = fused.forward(p, x, h0, { batch });
        const b = plain.forward(p, x, h0, { batch });
        const where = `batch=${batch}`;
        expect(worst(a.outputs, b.outputs), `outputs ${where}`).toBeLessThan(ROUNDING);
        expect(worst(a.final, b.final), `final ${where}`).toBeLessThan(ROUNDING);
        expect(worst(a.saved.hist, b.saved.hist), `saved history ${where}`).toBeLessThan(ROUNDING);
        expect(worst(tapes(a.saved), tapes(b.saved)), `saved tapes ${where}`).toBeLessThan(ROUNDING);
        const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
        expect(worst(a.outputs, want.outputs), `outputs vs interpreter ${where}`).toBeLessThan(ORACLE);
        expect(worst(a.final, want.final), `final vs interpreter ${where}`).toBeLessThan(ORACLE);
        const ga = fused.backward(p, a.saved, upstream);
        const gb = plain.backward(p, b.saved, upstream);
        for (const group of ["params", "inputs", "initial"] as const) {
          expect(worst(ga[group], gb[group]), `${group} gradients ${where}`).toBeLessThan(ROUNDING);
          expect(worst(ga[group], want.grads[group]), `${group} gradients vs interpreter ${where}`).toBeLessThan(ORACLE);
        }
      }
    });
  }

  it("step() run T times equals forward() over T steps exactly (batch 1 and 3)", async () => {
    const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 6 }));
    const fused = await load(ir, sizes, true);
    for (const batch of [1, 3]) {
      const steps = 4;
      const request = randomRequest(ir, { sizes, batch, steps, seed: 5 });
      const [p, x, h0] = [f32(request.sequence.params), f32(request.sequence.inputs), f32(request.sequence.initial)];
      const whole = fused.forward(p, x, h0, { batch });
      const state = f32(h0);
      for (let t = 0; t < steps; t++) {
        const xt = Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.subarray((t * v.length) / steps, ((t + 1) * v.length) / steps)]));
        const out = fused.step(p, xt, state);
        for (const [name, v] of Object.entries(out)) expect(v, `${name} at step ${t}, batch ${batch}`).toEqual(whole.outputs[name]!.subarray(t * v.length, (t + 1) * v.length));
      }
      for (const [name, v] of Object.entries(whole.final)) expect(state[name], `final ${name}, batch ${batch}`).toEqual(v);
    }
  });
});

describe("specs outside the fused step's table", () => {
  const uncovered = plans.filter((p) => !p.covered);

  it("include a form the table lacks (clockwork_rnn reads the step index and takes where; layernorm_lstm reduces)", () => {
    expect(uncovered.map((p) => p.file)).toEqual(expect.arrayContaining(["specs/clockwork_rnn.lstm", "specs/layernorm_lstm.lstm"]));
  });

  it.each(uncovered.map((p) => [p.file, p.ir] as const))("%s compiles to the JavaScript step loop and agrees with the interpreter", async (_file, ir) => {
    const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 6 }));
    const module = await load(ir, sizes, true);
    expect(module.kernels).toMatchObject({ forwardLoop: "js", backwardLoop: "js" });
    const request = randomRequest(ir, { sizes, batch: 3, steps: 5, seed: 2, uniformParams: true });
    const result = module.forward(f32(request.sequence.params), f32(request.sequence.inputs), f32(request.sequence.initial), { batch: 3 });
    const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
    expect(worst(result.outputs, want.outputs)).toBeLessThan(ORACLE);
    expect(worst(result.final, want.final)).toBeLessThan(ORACLE);
  });
});

describe("sequences that end early", () => {
  it.each(plans.filter((p) => p.covered && p.ir.states.length > 0).map((p) => [p.file, p.ir] as const))(
    "%s runs them in the fused loops: what the JavaScript loops write, and the interpreter's answer, forward and backward",
    async (_file, ir) => {
      const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 6 }));
      const fused = await load(ir, sizes, true);
      const plain = await load(ir, sizes, false);
      expect(fused.kernels.forwardLoop).toBe("wasm");
      const batch = 4;
      // Mixed lengths: the whole sequence, one step, the shortest first and last, so a frozen row sits beside running ones.
      const lengths = [5, 1, 3, 1];
      const request = randomRequest(ir, { sizes, batch, steps: 5, seed: 9, uniformParams: true });
      const sequence = { ...request.sequence, lengths };
      const [p, x, h0] = [f32(sequence.params), f32(sequence.inputs), f32(sequence.initial)];
      const upstream = { outputs: f32(request.upstream.outputs), final: f32(request.upstream.final) };
      const a = fused.forward(p, x, h0, { batch, lengths });
      const b = plain.forward(p, x, h0, { batch, lengths });
      expect(worst(a.outputs, b.outputs), "outputs").toBeLessThan(ROUNDING);
      expect(worst(a.final, b.final), "final").toBeLessThan(ROUNDING);
      expect(worst(a.saved.hist, b.saved.hist), "saved history").toBeLessThan(ROUNDING);
      expect(worst(tapes(a.saved), tapes(b.saved)), "saved tapes").toBeLessThan(ROUNDING);
      const want = forwardBackward(ir, sizes, sequence, request.upstream);
      expect(worst(a.outputs, want.outputs), "outputs vs interpreter").toBeLessThan(ORACLE);
      expect(worst(a.final, want.final), "final vs interpreter").toBeLessThan(ORACLE);
      expect(fused.kernels.backwardLoop).toBe("wasm");
      const ga = fused.backward(p, a.saved, upstream);
      const gb = plain.backward(p, b.saved, upstream);
      for (const group of ["params", "inputs", "initial"] as const) {
        expect(worst(ga[group], gb[group]), `${group} gradients`).toBeLessThan(ROUNDING);
        expect(worst(ga[group], want.grads[group]), `${group} gradients vs interpreter`).toBeLessThan(ORACLE);
      }
    },
  );

  it("leave an ended row's outputs 0 and its final state the state after its last step (lstm, bit for bit against the same rows run alone)", async () => {
    const ir = loadSpec("specs/lstm.lstm");
    const sizes = bindSizes(ir, { I: 3, H: 6 });
    const fused = await load(ir, sizes, true);
    const request = randomRequest(ir, { sizes, batch: 1, steps: 5, seed: 4 });
    const [p, x, h0] = [f32(request.sequence.params), f32(request.sequence.inputs), f32(request.sequence.initial)];
    // The same row twice: once running all 5 steps, once ending after 2; the second is the first's first 2 steps.
    const twice = (v: Float32Array, width: number) => Float32Array.from({ length: 2 * v.length }, (_, i) => v[Math.floor(i / (2 * width)) * width + (i % width)]!);
    const whole = fused.forward(p, x, h0, { batch: 1 });
    const short = fused.forward(p, { x: x.x!.subarray(0, 2 * 3) }, h0, { batch: 1 });
    const both = fused.forward(p, { x: twice(x.x!, 3) }, { h: twice(h0.h!, 6), c: twice(h0.c!, 6) }, { batch: 2, lengths: [5, 2] });
    for (let t = 0; t < 5; t++) {
      expect(both.outputs.h!.subarray((2 * t) * 6, (2 * t + 1) * 6), `row 0, step ${t}`).toEqual(whole.outputs.h!.subarray(t * 6, (t + 1) * 6));
      const want = t < 2 ? short.outputs.h!.subarray(t * 6, (t + 1) * 6) : new Float32Array(6);
      expect(both.outputs.h!.subarray((2 * t + 1) * 6, (2 * t + 2) * 6), `row 1, step ${t}`).toEqual(want);
    }
    expect(both.final.h!.subarray(6, 12)).toEqual(short.final.h);
    expect(both.final.c!.subarray(6, 12)).toEqual(short.final.c);
  });
});
