// Each optimiser against updates worked out by hand from PyTorch's documented
// rules (torch.optim, single-tensor path): two parameters, three steps with the
// gradients below, float64 so only the rules can differ. The expected numbers
// were computed step by step from the formulas in the comments, independently
// of src/train/optim.ts.
import { describe, expect, it } from "vitest";
import { initOptimizerState, optimizerStep, resolveConfig, type OptimizerConfig } from "../src/train/optim.ts";

const START = [1.0, -2.0];
const GRADS = [
  [0.5, -1.0],
  [-0.25, 2.0],
  [0.125, 0.5],
];

function run(config: OptimizerConfig, steps = GRADS.length): number[] {
  const params = { w: Float64Array.from(START) };
  const state = initOptimizerState(config, params);
  for (const g of GRADS.slice(0, steps)) optimizerStep(config, state, params, { w: Float64Array.from(g) });
  return Array.from(params.w);
}

function expectClose(got: number[], want: number[]): void {
  got.forEach((g, k) => expect(g).toBeCloseTo(want[k]!, 12));
}

describe("optimisers follow PyTorch's update rules", () => {
  it("uses PyTorch's defaults", () => {
    expect(resolveConfig({ kind: "sgd" })).toEqual({ kind: "sgd", lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false });
    expect(resolveConfig({ kind: "adam" })).toEqual({ kind: "adam", lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(resolveConfig({ kind: "adamw" })).toEqual({ kind: "adamw", lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
    expect(resolveConfig({ kind: "rmsprop" })).toEqual({ kind: "rmsprop", lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
  });

  it("SGD: p -= lr·g (1 − 0.1·(0.5 − 0.25 + 0.125) = 0.9625)", () => {
    expectClose(run({ kind: "sgd", lr: 0.1 }), [0.9625, -2.15]);
  });

  it("SGD with momentum, dampening and weight decay: the first step copies d = g + wd·p into the buffer undampened", () => {
    // step 1: d = 0.5 + 0.01·1 = 0.51, buf = 0.51, p = 1 − 0.051 = 0.949
    expectClose(run({ kind: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, 1), [0.949, -2.0 + 0.1 * 1.02]);
    // then buf = 0.9·buf + 0.9·d each step
    expectClose(run({ kind: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }), [0.89083493869, -2.10554837738]);
  });

  it("SGD with Nesterov momentum steps along d + momentum·buf", () => {
    // step 1: d = 0.51, buf = 0.51, p = 1 − 0.1·(0.51 + 0.459) = 0.9031
    expectClose(run({ kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }, 1), [0.9031, -2.0 + 0.1 * (1.02 + 0.9 * 1.02)]);
    expectClose(run({ kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true }), [0.864439208191, -2.277336916382]);
    expect(() => run({ kind: "sgd", nesterov: true })).toThrow(/Nesterov/);
  });

  it("Adam: the first step moves each weight by lr·g/(|g| + eps/√(1−β2)·…) ≈ lr·sign(g); three steps as worked out", () => {
    // m̂ = g and √v̂ = |g| after one step: the update is lr·g/(|g| + 1e-8).
    expectClose(run({ kind: "adam", lr: 0.1 }, 1), [1 - (0.1 * 0.5) / (0.5 + 1e-8), -2 + (0.1 * 1) / (1 + 1e-8)]);
    expectClose(run({ kind: "adam", lr: 0.1 }), [0.8393233849166541, -1.9781754731467738]);
  });

  it("Adam adds weight decay to the gradient; AdamW shrinks the weights by (1 − lr·wd) first", () => {
    expectClose(run({ kind: "adam", lr: 0.1, weightDecay: 0.1 }), [0.8005694720858495, -1.953127270691488]);
    // AdamW step 1: p = 1·(1 − 0.01) = 0.99, then − 0.1·0.5/(0.5 + 1e-8)
    expectClose(run({ kind: "adamw", lr: 0.1, weightDecay: 0.1 }, 1), [0.99 - (0.1 * 0.5) / (0.5 + 1e-8), -1.98 + (0.1 * 1) / (1 + 1e-8)]);
    expectClose(run({ kind: "adamw", lr: 0.1, weightDecay: 0.1 }), [0.8118787219097756, -1.920397369602153]);
  });

  it("RMSprop: square_avg = α·s + (1−α)·g², p -= lr·g/(√s + eps)", () => {
    // step 1: s = 0.01·0.25 = 0.0025, √s = 0.05, p = 1 − 0.01·0.5/0.05 = 0.9 (up to eps)
    expectClose(run({ kind: "rmsprop" }, 1), [1 - (0.01 * 0.5) / (0.05 + 1e-8), -2 + (0.01 * 1) / (0.1 + 1e-8)]);
    expectClose(run({ kind: "rmsprop" }), [0.9228909217602068, -2.011479653863255]);
  });

  it("RMSprop centered, with momentum and weight decay", () => {
    expectClose(run({ kind: "rmsprop", lr: 0.01, alpha: 0.9, weightDecay: 0.1, momentum: 0.5, centered: true }), [0.9421067729451864, -1.9867346665804893]);
  });

  it("keeps its buffers in the parameters' element type and counts steps", () => {
    const params = { w: new Float32Array(3) };
    const state = initOptimizerState({ kind: "adam" }, params);
    expect(state.slots.exp_avg!.w).toBeInstanceOf(Float32Array);
    optimizerStep({ kind: "adam" }, state, params, { w: new Float32Array([1, 2, 3]) });
    expect(state.step).toBe(1);
  });

  it("rejects gradients that do not match the parameters", () => {
    const params = { w: new Float64Array(2) };
    const state = initOptimizerState({ kind: "sgd" }, params);
    expect(() => optimizerStep({ kind: "sgd" }, state, params, { w: new Float64Array(3) })).toThrow(/'w' has 3 numbers, expected 2/);
    expect(() => optimizerStep({ kind: "sgd" }, state, params, { v: new Float64Array(2) })).toThrow(/'w' is missing/);
  });
});
