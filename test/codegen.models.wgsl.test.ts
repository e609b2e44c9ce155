// A model compiled to ONE WebGPU module (issue 9 §3): every library model on
// the wgsl engine against the interpreter (the reference) within 1e-4
// relative, forward, loss and every gradient; the bidirectional and
// depth-gated LSTMs against PyTorch, also through `lstmc run`; every model
// with per-row lengths against the interpreter, also through `lstmc run` and
// the programmatic API; step() streaming. Needs
// a WebGPU adapter (Dawn on lavapipe on a CPU-only machine): without one the
// tests are skipped, unless CI is set, where they fail.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../src/gpu/node-device.ts";
import { run } from "../src/index.ts";
import { forwardBackwardModel } from "../src/interp/model.ts";
import { isModelFile } from "../src/parse/load-model.ts";
import { bindModelSizes, readModelRunRequest, writeModelRunResponse } from "../src/run/model-contract.ts";
import { randomModelRequest } from "../src/run/random-data.ts";
import { loadWebGpuModel, runWebGpuModel } from "../src/run/wgsl-engine.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, REPO_ROOT } from "./helpers/torch-oracle.ts";
import { loadLibraryModel } from "./helpers/library-model.ts";
import { LSTMC } from "./helpers/cli.ts";
import type { RunResponse } from "../src/run/contract.ts";

const IN_CI = !!process.env.CI;
const TOLERANCE = 1e-4;
const MODELS = readdirSync(path.join(REPO_ROOT, "specs")).filter((f) => f.endsWith(".lstm") && isModelFile(path.join(REPO_ROOT, "specs", f))).sort();

async function acquire(): Promise<{ gpu?: NodeGpu; error?: Error }> {
  try {
    return { gpu: await requestNodeDevice() };
  } catch (e) {
    return { error: e as Error };
  }
}

const got = await acquire();

if (!got.gpu) {
  const err = got.error!;
  if (IN_CI || !(err instanceof NoGpuAdapterError)) {
    test("a WebGPU adapter is available for the models' WebGPU tests", () => {
      throw err;
    });
  } else {
    test.skip("WebGPU model tests skipped: no WebGPU adapter (run: bash scripts/install-webgpu-cpu.sh)", () => {});
  }
} else {
  const gpu = got.gpu;

  describe(`every library model on WebGPU (${gpu.adapterName}) agrees with the interpreter`, () => {
    test("the library models are the four of issue 9", () => expect(MODELS).toEqual(["bilstm.lstm", "classifier.lstm", "depth_gated_lstm.lstm", "lstm2.lstm"]));
    test.each(MODELS)("%s: outputs, loss, final states and every gradient within 1e-4 relative", async (file) => {
      const ir = loadLibraryModel(`specs/${file}`);
      const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, {}), batch: 3, steps: 4, seed: 11, uniformParams: true });
      const want = forwardBackwardModel(ir, request.sizes, request.sequence, request.upstream);
      const result = await runWebGpuModel(ir, request, true);
      const { failures, worstByField } = compareRunResponse(writeModelRunResponse(result, result.grads), writeModelRunResponse(want, want.grads), TOLERANCE, "relative");
      expect(failures).toEqual([]);
      expect(Object.keys(worstByField)).toContain(`grads.initial.${ir.layers[0]!.name}.c`);
      expect(result.loss === null).toBe(ir.loss === null);
      if (want.loss !== null) expect(Math.abs(result.loss! - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  // Rows ending at the first step, in the middle and at the last: a reverse layer starts at each row's own last step.
  const LENGTHS = [1, 3, 2, 4];
  describe(`every library model on WebGPU with lengths [${LENGTHS}] agrees with the interpreter`, () => {
    test.each(MODELS)("%s: outputs, loss, final states and every gradient within 1e-4 relative", async (file) => {
      const ir = loadLibraryModel(`specs/${file}`);
      const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, {}), batch: LENGTHS.length, steps: 4, seed: 12, uniformParams: true });
      const withLengths = { ...request, sequence: { ...request.sequence, lengths: LENGTHS } };
      const want = forwardBackwardModel(ir, withLengths.sizes, withLengths.sequence, withLengths.upstream);
      const result = await runWebGpuModel(ir, withLengths, true);
      const { failures, worstByField } = compareRunResponse(writeModelRunResponse(result, result.grads), writeModelRunResponse(want, want.grads), TOLERANCE, "relative");
      expect(failures).toEqual([]);
      expect(Object.keys(worstByField)).toContain(`grads.initial.${ir.layers.at(-1)!.name}.c`);
      if (want.loss !== null) expect(Math.abs(result.loss! - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  test("lstmc run MODEL --engine wgsl --grad with lengths answers as --engine interp does, within 1e-4 relative", () => {
    const { data } = advancedOracleCase(readAdvancedOracle("bidirectional_lstm_1"), ["fwd", "bwd"]);
    const lengths = Array.from({ length: data.batch }, (_, b) => Math.max(1, data.steps - 2 * b));
    expect(lengths.some((l) => l < data.steps)).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-model-wgsl-"));
    try {
      const dataFile = path.join(dir, "data.json");
      writeFileSync(dataFile, JSON.stringify({ ...data, lengths }));
      const [wgsl, interp] = ["wgsl", "interp"].map((engine) => spawnSync(process.execPath, [LSTMC, "run", "specs/bilstm.lstm", "--data", dataFile, "--grad", "--engine", engine], { cwd: REPO_ROOT, encoding: "utf8" }));
      expect(wgsl!.status, wgsl!.stderr).toBe(0);
      expect(interp!.status, interp!.stderr).toBe(0);
      expect(compareRunResponse(JSON.parse(wgsl!.stdout) as RunResponse, JSON.parse(interp!.stdout) as RunResponse, TOLERANCE, "relative").failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the programmatic API's run of a model with lengths on the wgsl engine answers as the interpreter does", async () => {
    const { data } = advancedOracleCase(readAdvancedOracle("bidirectional_lstm_2"), ["fwd", "bwd"]);
    const withLengths = { ...data, lengths: Array.from({ length: data.batch }, (_, b) => 1 + (b % data.steps)) };
    const text = readFileSync(path.join(REPO_ROOT, "specs/bilstm.lstm"), "utf8");
    const file = path.join(REPO_ROOT, "specs/bilstm.lstm");
    const [wgsl, interp] = await Promise.all(["wgsl", "interp"].map((engine) => run(text, { file, engine, data: withLengths, grad: true })));
    expect(wgsl!.diagnostics).toEqual([]);
    expect(compareRunResponse(wgsl!.response!, interp!.response!, TOLERANCE, "relative").failures).toEqual([]);
  });

  describe.each([
    ["bidirectional_lstm", "specs/bilstm.lstm", ["fwd", "bwd"]],
    ["depth_gated_lstm", "specs/depth_gated_lstm.lstm", ["L1", "L2"]],
  ])("the %s model on WebGPU matches PyTorch (%s)", (oracleName, specFile, layers) => {
    test.each([0, 1, 2])("seed %i: outputs, final states and every gradient within 1e-4 relative", async (seed) => {
      const { data, expected } = advancedOracleCase(readAdvancedOracle(`${oracleName}_${seed}`), layers);
      const ir = loadLibraryModel(specFile);
      const request = readModelRunRequest(ir, data);
      expect(request.sequence.lengths).toBeUndefined();
      const result = await runWebGpuModel(ir, request, true);
      const { failures, worstByField } = compareRunResponse(writeModelRunResponse(result, result.grads), expected, TOLERANCE, "relative");
      expect(failures).toEqual([]);
      expect(Object.keys(worstByField)).toContain(`grads.params.${layers[1]}.U_o`);
    });
  });

  test("lstmc run MODEL --engine wgsl --grad answers the bidirectional reference file as PyTorch does, within 1e-4 relative", () => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle("bidirectional_lstm_1"), ["fwd", "bwd"]);
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-model-wgsl-"));
    try {
      const dataFile = path.join(dir, "data.json");
      writeFileSync(dataFile, JSON.stringify(data));
      const child = spawnSync(process.execPath, [LSTMC, "run", "specs/bilstm.lstm", "--data", dataFile, "--grad", "--engine", "wgsl"], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(child.status, child.stderr).toBe(0);
      expect(compareRunResponse(JSON.parse(child.stdout) as RunResponse, expected, TOLERANCE, "relative").failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("the WebGPU model module's own API", () => {
    test("step() streams a forward model: step by step, the outputs and states of forward()", async () => {
      const ir = loadLibraryModel("specs/lstm2.lstm");
      const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, { I: 3, H: 4 }), batch: 2, steps: 3, seed: 2, uniformParams: true });
      const model = (await loadWebGpuModel(ir, request.sizes)).createModel(gpu.device);
      try {
        const { params, inputs } = request.sequence;
        const whole = await model.forward(params, inputs, {}, { batch: 2 });
        const state = model.createState(2);
        const rowWidth = 2 * 3;
        for (let t = 0; t < 3; t++) {
          const out = await model.step(params, { x: inputs["x"]!.slice(t * rowWidth, (t + 1) * rowWidth) }, state);
          const want = Array.from(whole.outputs["h"]!).slice(t * 2 * 4, (t + 1) * 2 * 4);
          Array.from(out["h"]!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
        }
        for (const [name, value] of Object.entries(whole.final)) Array.from(state[name]!).forEach((v, i) => expect(v, name).toBeCloseTo(value[i]!, 6));
      } finally {
        model.destroy();
      }
    });

    test("step() refuses a t its GPU cells cannot take before any layer steps (an LSTM under a Clockwork RNN)", async () => {
      const ir = loadLibraryModel("test/fixtures/models/lstm_clockwork.lstm");
      const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, {}), batch: 1, steps: 1, seed: 4, uniformParams: true });
      const model = (await loadWebGpuModel(ir, request.sizes)).createModel(gpu.device);
      try {
        const { params, inputs } = request.sequence;
        const state = model.createState(1);
        const before = Object.values(state).map((v) => Array.from(v));
        for (const bad of [undefined, -1, 2 ** 32]) {
          await expect(model.step(params, inputs, state, bad)).rejects.toThrow(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(bad)}`);
          expect(Object.values(state).map((v) => Array.from(v))).toEqual(before);
        }
        expect((await model.step(params, inputs, state, 2 ** 32 - 1))["h"]).toHaveLength(4);
      } finally {
        model.destroy();
      }
    });
  });
}
