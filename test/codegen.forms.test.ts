// The pointwise forms beside the arithmetic (where, comparisons, min, max,
// mod, powers, the step index, iota, consts by formula), and the reductions
// and slices, compile on every target and agree with the interpreter, forward
// and backward, at sizes down to 1: TS and JS f64 within 1e-10, TS f32 and
// WGSL within 1e-4 relative.
// Without a WebGPU adapter the WGSL cases are skipped, unless CI is set.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { writeRunResponse } from "../src/run/contract.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule, nodeDevice } from "../src/run/wgsl-engine.ts";
import { ORACLE_ENGINES } from "./helpers/oracle-engines.ts";
import { compareRunResponse } from "./helpers/torch-oracle.ts";
import { skipWithoutGpu } from "./helpers/webgpu.ts";

const cellOf = (text: string, file: string) => buildCell(parseDsl(text, file).value!).ir!;
const load = (file: string) => cellOf(readFileSync(file, "utf8"), file);
const ir = load("test/fixtures/specs/pointwise_forms.lstm");
const reductions = load("test/fixtures/specs/reduction_forms.lstm");

const skipGpu = await skipWithoutGpu();

/** f64 modules compute the interpreter's formulas in the same order: tighter than the reference-data tolerance. */
const tolerance = (engine: (typeof ORACLE_ENGINES)[number]) => (engine.measure === "scaled" ? 1e-10 : engine.tolerance);

describe.each(ORACLE_ENGINES.filter((e) => e.name !== "interp").map((e) => [e.name, e] as const))("%s", (_name, engine) => {
  const run = engine.gpu && skipGpu ? test.skip : test;
  run.each([
    [{ I: 1, H: 1 }, 1, 1],
    [{ I: 3, H: 4 }, 2, 5],
  ] as const)("sizes %o, batch %i, %i steps: outputs, final states and every gradient agree with the interpreter", async (dims, batch, steps) => {
    const sizes = bindSizes(ir, dims);
    const request = randomRequest(ir, { sizes, batch, steps, seed: 13, uniformParams: true });
    const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
    const response = await engine.run(ir, request);
    const { worstByField, failures } = compareRunResponse(response, writeRunResponse(want, want.grads), tolerance(engine), engine.measure);
    expect(failures).toEqual([]);
    // The exponent e of a power, and the matrix U behind the const mask, get gradients.
    expect(Object.keys(worstByField)).toEqual(expect.arrayContaining(["grads.params.e", "grads.params.U", "grads.inputs.x", "grads.initial.h"]));
  });

  // U is read through the const mask `lower` (c <= r): its gradient is exactly 0 above the diagonal.
  run("U gets exactly 0 gradient where the const mask is 0", async () => {
    const sizes = bindSizes(ir, { I: 3, H: 4 });
    const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 5, uniformParams: true });
    const grad = (await engine.run(ir, request)).grads!.params["U"]!;
    const above = grad.filter((_, k) => k % 4 > Math.floor(k / 4));
    expect(above).toHaveLength(6);
    expect(above.every((g) => g === 0)).toBe(true);
    expect(grad.some((g) => g !== 0)).toBe(true);
  });
});

describe.each(ORACLE_ENGINES.filter((e) => e.name !== "interp").map((e) => [e.name, e] as const))("%s: reductions and slices", (_name, engine) => {
  const run = engine.gpu && skipGpu ? test.skip : test;
  run.each([
    [{ I: 1, H: 1 }, 1, 1],
    [{ I: 3, H: 4 }, 2, 5],
  ] as const)("sizes %o, batch %i, %i steps: agree with the interpreter, and max's gradient goes to the first of equal elements", async (dims, batch, steps) => {
    const sizes = bindSizes(reductions, dims);
    const request = randomRequest(reductions, { sizes, batch, steps, seed: 21, uniformParams: true });
    request.sequence.params["k"]!.fill(0.3);
    const want = forwardBackward(reductions, sizes, request.sequence, request.upstream);
    const response = await engine.run(reductions, request);
    const { worstByField, failures } = compareRunResponse(response, writeRunResponse(want, want.grads), tolerance(engine), engine.measure);
    expect(failures).toEqual([]);
    expect(Object.keys(worstByField)).toEqual(expect.arrayContaining(["grads.params.v", "grads.params.gain", "grads.params.bias", "grads.params.W", "grads.inputs.x", "grads.initial.h"]));
    const k = response.grads!.params["k"]!;
    expect(k[0]).not.toBe(0);
    expect(k.slice(1).every((g) => g === 0)).toBe(true);
  });

  // One pass in element order (one GPU thread per batch row): the same data gives the same bits every run.
  run("reductions are deterministic: two runs give identical outputs and gradients", async () => {
    const sizes = bindSizes(reductions, { I: 3, H: 4 });
    const request = randomRequest(reductions, { sizes, batch: 3, steps: 2, seed: 8, uniformParams: true });
    expect(await engine.run(reductions, request)).toEqual(await engine.run(reductions, request));
  });

  // softmax subtracts the max: inputs of ±1e30 give exp(0) = 1 and exp(-2e30) = 0, never inf / inf.
  run("softmax over inputs of ±1e30 gives no NaN, forward or backward, and agrees with the interpreter", async () => {
    const wide = cellOf(["cell wide {", "  size H = 4", "  input x[H]", "  state h[H]", "  h' = softmax(x + h) * sum(softmax(x))", "  output h = h'", "}"].join("\n"), "wide.lstm");
    const sizes = bindSizes(wide, {});
    const request = randomRequest(wide, { sizes, batch: 2, steps: 3, seed: 3 });
    const x = request.sequence.inputs["x"]!;
    x.forEach((_, i) => (x[i] = [1e30, -1e30, 0.5, 1e30][i % 4]! * (i % 3 === 0 ? 1 : -1)));
    const want = forwardBackward(wide, sizes, request.sequence, request.upstream);
    const response = await engine.run(wide, request);
    const { failures } = compareRunResponse(response, writeRunResponse(want, want.grads), tolerance(engine), engine.measure);
    expect(failures).toEqual([]);
    const values = [...Object.values(response.outputs), ...Object.values(response.grads!.inputs), ...Object.values(response.grads!.initial)].flatMap((v) => [...v]);
    expect(values.length).toBeGreaterThan(0);
    expect(values.some(Number.isNaN)).toBe(false);
  });
});

// The TypeScript module's step() is told t: a missing or wrong one would silently compute another step.
test("the TypeScript module's step() for a cell that reads t refuses a t that is not a step index, before touching the state", async () => {
  const { loadGeneratedModule } = await import("../src/run/ts-engine.ts");
  const sizes = bindSizes(ir, { I: 1, H: 1 });
  const module = await loadGeneratedModule(ir, sizes);
  const request = randomRequest(ir, { sizes, batch: 1, steps: 1, seed: 1 });
  const state = { h: Float64Array.from(request.sequence.initial["h"]!) };
  for (const bad of [undefined, -1, 0.5, Number.POSITIVE_INFINITY, "3"]) {
    expect(() => module.step(request.sequence.params, request.sequence.inputs, state, bad as number)).toThrow(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(bad)}`);
    expect(Array.from(state.h)).toEqual(Array.from(request.sequence.initial["h"]!));
  }
  expect(module.step(request.sequence.params, request.sequence.inputs, state, 0)["h"]).toHaveLength(1);
});

// The WebGPU module's step() is told t as the TypeScript module's is: stepping a sequence gives forward()'s outputs.
(skipGpu ? test.skip : test)("the WebGPU module's step() streams a cell that reads t as forward() runs it, and refuses a wrong t", async () => {
  const sizes = bindSizes(ir, { I: 2, H: 3 });
  const cell = (await loadWebGpuModule(ir, sizes)).createCell((await nodeDevice()).device);
  const request = randomRequest(ir, { sizes, batch: 2, steps: 4, seed: 3, uniformParams: true });
  const f32 = (values: Float64Array) => Float32Array.from(values);
  const params = Object.fromEntries(Object.entries(request.sequence.params).map(([k, v]) => [k, f32(v)]));
  const x = f32(request.sequence.inputs["x"]!);
  const state = { h: f32(request.sequence.initial["h"]!) };
  const whole = await cell.forward(params, { x }, { h: state.h.slice() }, { batch: 2 });
  await expect(cell.step(params, { x: x.subarray(0, 4) }, state)).rejects.toThrow("step: t, the index of this step counted from 0, must be a whole number from 0 up, not undefined");
  await expect(cell.step(params, { x: x.subarray(0, 4) }, state, -1)).rejects.toThrow(/not -1$/);
  for (let t = 0; t < 4; t++) {
    const out = await cell.step(params, { x: x.subarray(t * 4, (t + 1) * 4) }, state, t);
    expect(Array.from(out["h"]!)).toEqual(Array.from(whole.outputs["h"]!).slice(t * 6, (t + 1) * 6));
  }
  expect(Array.from(state.h)).toEqual(Array.from(whole.final["h"]!));
  cell.destroy();
});

test("a pointwise form inside a product's matrix expression is refused by check --target on every target, located, not compiled wrong", async () => {
  const { targetDiagnostics } = await import("../src/codegen/check.ts");
  const text = ["cell c {", "  size I = 3, H = 4", "  input x[I]", "  state h[H]", "  param W[H, I]", "  param U[H, H]", "  h' = tanh(max(W, 0) @ x + U @ h)", "  output h = h'", "}"].join("\n");
  const ir = buildCell(parseDsl(text, "c.lstm").value!).ir!;
  for (const target of ["ts", "js", "wgsl"] as const) {
    const [refusal] = targetDiagnostics(ir, target);
    expect(refusal?.code).toBe("E601");
    expect(refusal?.message).toMatch(/'max' inside a product's matrix expression is not compiled yet/);
    expect(refusal?.span.line).toBe(7);
  }
});
