// A model compiled to ONE TypeScript / JavaScript module (issue 9 §3): every
// library model through the ts engine against the interpreter (the reference)
// with and without lengths, the bidirectional and depth-gated LSTMs against
// PyTorch, the JavaScript module imported by plain node, step() streaming, and
// the module under a strict consumer's tsc.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { compileJsModel, compileModel } from "../src/codegen/model.ts";
import { compileWgslModel } from "../src/codegen/model-wgsl.ts";
import { initParams } from "../src/ir/initialize.ts";
import { forwardBackwardModel, layerSizes } from "../src/interp/model.ts";
import { isModelFile } from "../src/parse/load-model.ts";
import { bindModelSizes, readModelRunRequest, writeModelRunResponse, type ModelRunRequest } from "../src/run/model-contract.ts";
import { randomModelRequest } from "../src/run/random-data.ts";
import { loadGeneratedModel, runGeneratedModel } from "../src/run/ts-engine.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, REPO_ROOT } from "./helpers/torch-oracle.ts";
import { loadLibraryModel } from "./helpers/library-model.ts";

const TOLERANCE = 1e-9;
const MODELS = readdirSync(path.join(REPO_ROOT, "specs")).filter((f) => f.endsWith(".lstm") && isModelFile(path.join(REPO_ROOT, "specs", f))).sort();
const work = mkdtempSync(path.join(tmpdir(), "lstmc-model-module-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The module's answer and the interpreter's for one request, compared field by field. */
async function agreement(file: string, request: ModelRunRequest) {
  const ir = loadLibraryModel(`specs/${file}`);
  const want = forwardBackwardModel(ir, request.sizes, request.sequence, request.upstream);
  const got = await runGeneratedModel(ir, request, true);
  return { ...compareRunResponse(writeModelRunResponse(got, got.grads), writeModelRunResponse(want, want.grads), TOLERANCE), loss: { got: got.loss, want: want.loss } };
}

describe("every library model compiled to one module agrees with the interpreter", () => {
  test("the library models are the four of issue 9", () => expect(MODELS).toEqual(["bilstm.lstm", "classifier.lstm", "depth_gated_lstm.lstm", "lstm2.lstm"]));
  test.each(MODELS.flatMap((f) => [[f, "every row every step"], [f, "lengths [4, 1, 3]"]] as const))("%s, %s: outputs, loss, final states and every gradient within 1e-9", async (file, rows) => {
    const ir = loadLibraryModel(`specs/${file}`);
    const lengths = rows === "every row every step" ? undefined : [4, 1, 3];
    const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, {}), batch: 3, steps: 4, seed: 11, uniformParams: true, ...(lengths && { lengths }) });
    const { failures, worstByField, loss } = await agreement(file, request);
    expect(failures).toEqual([]);
    expect(loss.got === null).toBe(ir.loss === null);
    expect(loss.want === null).toBe(ir.loss === null);
    if (loss.want !== null) expect(Math.abs(loss.got! - loss.want)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(loss.want)));
    expect(Object.keys(worstByField)).toContain(`grads.initial.${ir.layers[0]!.name}.c`);
  });
});

describe.each([
  ["bidirectional_lstm", "specs/bilstm.lstm", ["fwd", "bwd"]],
  ["depth_gated_lstm", "specs/depth_gated_lstm.lstm", ["L1", "L2"]],
])("the compiled %s model matches PyTorch (%s)", (oracleName, specFile, layers) => {
  test.each([0, 1, 2])("seed %i: outputs, final states and every gradient within 1e-9", async (seed) => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle(`${oracleName}_${seed}`), layers);
    const ir = loadLibraryModel(specFile);
    const request = readModelRunRequest(ir, data);
    const got = await runGeneratedModel(ir, request, true);
    const { failures, worstByField } = compareRunResponse(writeModelRunResponse(got, got.grads), expected, TOLERANCE);
    expect(failures).toEqual([]);
    expect(Object.keys(worstByField)).toContain(`grads.params.${layers[1]}.U_o`);
  });
});

test.each([0, 1, 2])("the f32 bilstm module matches PyTorch within 1e-4 (relative), seed %i", async (seed) => {
  const { data, expected } = advancedOracleCase(readAdvancedOracle(`bidirectional_lstm_${seed}`), ["fwd", "bwd"]);
  const ir = loadLibraryModel("specs/bilstm.lstm");
  const request = readModelRunRequest(ir, data);
  const module = await loadGeneratedModel(ir, request.sizes, "f32");
  const f32 = (tensors: Record<string, Float64Array>) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float32Array.from(v)])) as never;
  const { params, inputs, initial, batch, lengths } = request.sequence;
  const result = module.forward(f32(params), f32(inputs), f32(initial), { batch, ...(lengths && { lengths }) });
  const grads = module.backward(f32(params), result.saved, { outputs: f32(request.upstream.outputs), final: f32(request.upstream.final) });
  const response = writeModelRunResponse({ outputs: result.outputs, final: result.final, loss: null }, grads);
  expect(compareRunResponse(response, expected, 1e-4, "relative").failures).toEqual([]);
});

describe("the model module's own API", () => {
  test("initParams gives layer i its cell's initializers for seed + i, as lstmc does", async () => {
    const ir = loadLibraryModel("specs/depth_gated_lstm.lstm");
    const sizes = bindModelSizes(ir, {});
    const module = await loadGeneratedModel(ir, sizes);
    const params = module.initParams(5);
    ir.layers.forEach((layer, i) => {
      for (const [name, value] of Object.entries(initParams(layer.cell, layerSizes(layer, sizes), 5 + i))) expect(params[`${layer.name}.${name}`], `${layer.name}.${name}`).toEqual(value);
    });
  });

  test("step() streams a forward model: step by step, the same outputs and states as forward()", async () => {
    const ir = loadLibraryModel("specs/lstm2.lstm");
    const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, { I: 3, H: 4 }), batch: 2, steps: 3, seed: 2, uniformParams: true });
    const module = await loadGeneratedModel(ir, request.sizes);
    const { params, inputs } = request.sequence;
    const whole = module.forward(params, inputs, {}, { batch: 2 });
    const state = module.createState(2);
    const rowWidth = 2 * 3;
    for (let t = 0; t < 3; t++) {
      const out = module.step(params, { x: inputs["x"]!.slice(t * rowWidth, (t + 1) * rowWidth) }, state);
      expect(Array.from(out["h"]!)).toEqual(Array.from(whole.outputs["h"]!.subarray(t * 2 * 4, (t + 1) * 2 * 4)));
    }
    for (const [name, value] of Object.entries(whole.final)) expect(Array.from(state[name]!), name).toEqual(Array.from(value));
  });

  test("step() takes t for a model whose cells read the step index, and refuses a wrong t before touching the state", async () => {
    const ir = loadLibraryModel("test/fixtures/models/clockwork2.lstm");
    const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, {}), batch: 2, steps: 5, seed: 4, uniformParams: true });
    const module = await loadGeneratedModel(ir, request.sizes);
    const { params, inputs } = request.sequence;
    const whole = module.forward(params, inputs, {}, { batch: 2 });
    const state = module.createState(2);
    const [rowWidth, outWidth] = [2 * 3, 2 * 6];
    for (let t = 0; t < 5; t++) {
      const x = inputs["x"]!.slice(t * rowWidth, (t + 1) * rowWidth);
      for (const bad of [undefined, -1, 1.5, Number.NaN]) {
        const before = Object.values(state).map((v) => Array.from(v));
        expect(() => module.step(params, { x }, state, bad as number)).toThrow(/step: t, the index of this step counted from 0, must be a whole number from 0 up/);
        expect(Object.values(state).map((v) => Array.from(v))).toEqual(before);
      }
      const out = module.step(params, { x }, state, t);
      expect(Array.from(out["h"]!)).toEqual(Array.from(whole.outputs["h"]!.subarray(t * outWidth, (t + 1) * outWidth)));
    }
    for (const [name, value] of Object.entries(whole.final)) expect(Array.from(state[name]!), name).toEqual(Array.from(value));
  });

  test("step() refuses a model with a reverse layer, naming it", async () => {
    const ir = loadLibraryModel("specs/bilstm.lstm");
    const sizes = bindModelSizes(ir, {});
    const module = await loadGeneratedModel(ir, sizes);
    expect(() => module.step(module.initParams(1), { x: new Float64Array(8) }, module.createState(1))).toThrow("step() streams forward layers only: layer bwd reads each sequence from its last step; use forward()");
  });

  test.each([
    [{ params: "missing", options: {} }, /params\["fwd\.W_i"\] is missing/],
    [{ params: "extra", options: {} }, /params\["fwd\.W_z"\] is not one of this model's names here/],
    [{ params: "ok", options: { lengths: [4, 0] } }, /options\.lengths\[1\] must be a whole number from 1 to steps = 4, not 0/],
    [{ params: "ok", options: { targets: [1, 2] } }, /options\.targets is given, but this model has no loss/],
  ])("forward() refuses bad arguments: %j", async (bad, message) => {
    const ir = loadLibraryModel("specs/bilstm.lstm");
    const module = await loadGeneratedModel(ir, bindModelSizes(ir, {}));
    const params = module.initParams(1);
    if (bad.params === "missing") delete params["fwd.W_i"];
    if (bad.params === "extra") params["fwd.W_z"] = new Float64Array(1);
    expect(() => module.forward(params, { x: new Float64Array(4 * 2 * 8) }, {}, { batch: 2, ...bad.options })).toThrow(message);
  });

  // Backward reads the logits for the loss's gradient: the caller's are a copy (a softmax in place must not change it).
  test("backward() is not fooled by outputs the caller edits after forward(), logits included", async () => {
    const ir = loadLibraryModel("specs/classifier.lstm");
    const module = await loadGeneratedModel(ir, bindModelSizes(ir, { I: 3, H: 4, K: 5 }));
    const params = module.initParams(3);
    const x = Float64Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.sin(i));
    const run = () => module.forward(params, { x }, {}, { batch: 2, lengths: [4, 2], targets: [1, 4] });
    const clean = module.backward(params, run().saved);
    const edited = run();
    for (const values of Object.values(edited.outputs)) values.fill(7);
    expect(module.backward(params, edited.saved)).toEqual(clean);
  });
});

describe("the JavaScript module", () => {
  test("plain node imports it and gets the TypeScript module's numbers exactly, loss and gradients included", async () => {
    const ir = loadLibraryModel("specs/classifier.lstm");
    const sizes = bindModelSizes(ir, { I: 3, H: 4, K: 5 });
    const { js, dts } = await compileJsModel(ir, { precision: "f64", sizes });
    expect(js.fileName).toBe("classifier.js");
    expect(dts.text).toContain('"f1.W_i": FloatArray;');
    writeFileSync(path.join(work, "package.json"), '{ "type": "module" }\n');
    writeFileSync(path.join(work, js.fileName), js.text);
    const script = [
      `import * as m from ${JSON.stringify(path.join(work, js.fileName))};`,
      "const params = m.initParams(3);",
      "const x = Float64Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.sin(i));",
      "const r = m.forward(params, { x }, {}, { batch: 2, lengths: [4, 2], targets: [1, 4] });",
      "const g = m.backward(params, r.saved);",
      "console.log(JSON.stringify({ loss: r.loss, logits: Array.from(r.outputs.logits), dW: Array.from(g.params['logits.W']), dx: Array.from(g.inputs.x) }));",
    ].join("\n");
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(child.stderr).toBe("");
    const fromNode = JSON.parse(child.stdout) as { loss: number; logits: number[]; dW: number[]; dx: number[] };
    const module = await loadGeneratedModel(ir, sizes);
    const params = module.initParams(3);
    const x = Float64Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.sin(i));
    const r = module.forward(params, { x }, {}, { batch: 2, lengths: [4, 2], targets: [1, 4] });
    const g = module.backward(params, r.saved);
    expect(fromNode).toEqual({ loss: r.loss, logits: Array.from(r.outputs["logits"]!), dW: Array.from(g.params["logits.W"]!), dx: Array.from(g.inputs["x"]!) });
    expect(fromNode.loss).toBeGreaterThan(0);
  });

  test("the TypeScript module type-checks under a strict consumer's settings (noUnused*, exactOptionalPropertyTypes)", async () => {
    const ir = loadLibraryModel("specs/classifier.lstm");
    const module = await compileModel(ir, { precision: "f32", sizes: bindModelSizes(ir, { I: 3, H: 4, K: 5 }) });
    const file = path.join(work, "strict", module.fileName);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, module.text);
    const tsc = path.join(REPO_ROOT, "node_modules/.bin/tsc");
    const flags = ["--noEmit", "--strict", "--noUncheckedIndexedAccess", "--noUnusedLocals", "--noUnusedParameters", "--exactOptionalPropertyTypes", "--target", "es2022", "--module", "esnext", "--skipLibCheck"];
    const child = spawnSync(tsc, [...flags, file], { encoding: "utf8" });
    expect(child.stdout + child.stderr).toBe("");
    expect(readFileSync(file, "utf8")).toContain("// Model 'classifier', its layers in the order they run:");
  });

  test("the WebGPU module type-checks under a strict consumer's settings, with the published WebGPU types", async () => {
    const ir = loadLibraryModel("specs/classifier.lstm");
    const module = await compileWgslModel(ir, { sizes: bindModelSizes(ir, { I: 3, H: 4, K: 5 }) });
    const file = path.join(work, "strict-webgpu", module.fileName);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, module.text);
    const tsc = path.join(REPO_ROOT, "node_modules/.bin/tsc");
    const flags = ["--noEmit", "--strict", "--noUncheckedIndexedAccess", "--noUnusedLocals", "--noUnusedParameters", "--exactOptionalPropertyTypes", "--target", "es2022", "--module", "esnext", "--lib", "es2022,dom", "--skipLibCheck"];
    const child = spawnSync(tsc, [...flags, createRequire(import.meta.url).resolve("@webgpu/types/dist/index.d.ts"), file], { encoding: "utf8" });
    expect(child.stdout + child.stderr).toBe("");
    expect(module.text).toContain("export function createModel(device: GPUDevice): Model");
  });

  test("the WebGPU module holds the host driver once, however many distinct cells its layers have", async () => {
    const ir = loadLibraryModel("specs/depth_gated_lstm.lstm");
    const { text } = await compileWgslModel(ir, { sizes: bindModelSizes(ir, {}) });
    const count = (pattern: RegExp) => text.match(pattern)?.length ?? 0;
    // Two distinct cells (the peephole LSTM and the depth-gated one), each with its own WGSL and program.
    expect(count(/^const _cell_\d+: _GpuCellSource = /gm)).toBe(2);
    expect(count(/\bconst PROGRAM: Program = /g)).toBe(2);
    expect(count(/\bfunction _createCell\(/g)).toBe(1);
    expect(count(/\bfunction _errorWatch\(/g)).toBe(1);
  });
});
