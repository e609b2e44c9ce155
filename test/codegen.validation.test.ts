// Generated modules check what they are given at every entry point, and never
// compute with stale or wrong-sized data: the cases a careless or hostile
// caller hits first, against the f32 module of specs/lstm.lstm.
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { loadSpec } from "../scripts/generate.ts";

const ir = loadSpec("specs/lstm.lstm");
const sizes = bindSizes(ir, { I: 3, H: 4 });
/** The module as a caller from plain JavaScript sees it: anything may be passed. */
interface LooseModule {
  initParams(seed: number): Record<string, Float32Array>;
  forward(...args: unknown[]): { saved: unknown; outputs: Record<string, Float32Array> };
  backward(...args: unknown[]): { params: Record<string, Float32Array> };
  step(...args: unknown[]): unknown;
  createState(batch?: number): Record<string, Float32Array>;
}
const module = (await loadGeneratedModule(ir, sizes, "f32")) as unknown as LooseModule;
const x = (steps: number, batch = 1) => ({ x: new Float32Array(steps * batch * 3).map((_, i) => Math.sin(i)) });

describe("the generated module's entry points", () => {
  it("step() checks parameters again once an array of the same params object is replaced", () => {
    const params = module.initParams(1);
    module.step(params, x(1), module.createState(1));
    params.W_i = new Float32Array(5);
    expect(() => module.step(params, x(1), module.createState(1))).toThrow(/params\.W_i has 5 numbers, expected 12/);
  });

  it("step() refuses a state that is not a whole number of rows, naming it", () => {
    const state = module.createState(1);
    state.h = new Float32Array(6);
    expect(() => module.step(module.initParams(1), x(1), state)).toThrow(/state\.h has 6 numbers: not a whole number of rows of 4/);
  });

  it("createState() takes whole numbers of rows only", () => {
    for (const bad of [0, 1.5, -1, Number.NaN, Infinity, 2 ** 32]) expect(() => module.createState(bad)).toThrow(/batch/);
  });

  it("backward() takes only the saved object forward() made, unchanged", async () => {
    const params = module.initParams(1);
    const { saved } = module.forward(params, x(5), {}, { batch: 1 });
    expect(() => module.backward(params, { ...(saved as object) })).toThrow(/saved must be the saved object/);
    (saved as { steps: number }).steps = 4;
    expect(() => module.backward(params, saved)).toThrow(/saved was changed after forward/);
    const other = (await loadGeneratedModule(ir, bindSizes(ir, { I: 3, H: 4 }), "f64")) as unknown as LooseModule;
    expect(() => other.backward(params, module.forward(params, x(5)).saved)).toThrow(/saved must be the saved object/);
  });

  // Batch 1 replays its steps from saved's inputs in backward; batch 2 keeps every step's values.
  it.each([1, 2])("backward() is not fooled by inputs the caller reuses after forward() (batch %i)", (batch) => {
    const params = module.initParams(1);
    const inputs = x(5, batch);
    const upstream = { final: { h: new Float32Array(4 * batch).fill(1) } };
    const clean = module.backward(params, module.forward(params, x(5, batch), {}, { batch }).saved, upstream);
    const { saved } = module.forward(params, inputs, {}, { batch });
    inputs.x.fill(7);
    const got = module.backward(params, saved, upstream);
    expect(Array.from(got.params.W_i!)).toEqual(Array.from(clean.params.W_i!));
  });

  // A value the cell outputs and backward needs is saved where it is output: saved keeps its own copy.
  it.each([1, 2])("backward() is not fooled by outputs the caller edits after forward() (batch %i)", async (batch) => {
    const text = "cell out_read {\n size I = 2, H = 3\n input x[I]\n state h[H]\n param W[H, I] ~ glorot\n y = tanh(W @ x)\n h' = y * h + y\n output y = y\n}";
    const cell = buildCell(parseDsl(text, "out_read.lstm").value!).ir!;
    const m = (await loadGeneratedModule(cell, bindSizes(cell, {}), "f32")) as unknown as LooseModule;
    const p = m.initParams(1);
    const input = { x: new Float32Array(4 * batch * 2).map((_, i) => Math.cos(i)) };
    const upstream = { final: { h: new Float32Array(3 * batch).fill(1) } };
    const clean = m.backward(p, m.forward(p, input, {}, { batch }).saved, upstream);
    const { saved, outputs } = m.forward(p, input, {}, { batch });
    outputs.y!.fill(7);
    expect(Array.from(m.backward(p, saved, upstream).params.W!)).toEqual(Array.from(clean.params.W!));
  });

  it("refuses names that are not the cell's (a typo is an error, not a silently missing array)", () => {
    const params = module.initParams(1);
    expect(() => module.forward(params, x(2), { hh: new Float32Array(4) } as never)).toThrow(/initial\.hh is not one of this cell's names/);
    expect(() => module.forward({ ...params, W_ii: new Float32Array(12) } as never, x(2))).toThrow(/params\.W_ii/);
  });
});
