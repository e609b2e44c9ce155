/**
 * The WGSL target, executed: every spec's generated kernels run on a WebGPU
 * adapter (Dawn on Mesa lavapipe on this CPU-only machine) and must agree with
 * the float64 interpreter, forward and backward, on both kernel paths. Without
 * an adapter the tests are skipped, unless CI is set, where they fail.
 */
import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { compileWgslCell, type WgslCompileOptions } from "../src/codegen/wgsl/compile.ts";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../src/gpu/node-device.ts";
import { compileCheck } from "../src/gpu/run-kernel.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import { bindSizes, freeSizes } from "../src/ir/bind.ts";
import type { CellIR } from "../src/ir/types.ts";
import { forward, forwardBackward } from "../src/interp/interpret.ts";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule, runWebGpu } from "../src/run/wgsl-engine.ts";
import { NOT_COMPILED_YET } from "../scripts/generate.ts";
import { compareRunResponse, loadLibraryCell, torchOracleCase, torchOracleFiles } from "./helpers/torch-oracle.ts";
import { isModelFile } from "../src/parse/load-model.ts";

const IN_CI = !!process.env.CI;
// Cells only: a model file (specs/bilstm.lstm, …) has its own tests (test/models.*.test.ts; on WebGPU,
// test/codegen.models.wgsl.test.ts); nor are the forms of NOT_COMPILED_YET compiled (scripts/generate.ts).
const SPECS = readdirSync("specs").filter((f) => f.endsWith(".lstm") && !isModelFile(`specs/${f}`) && !NOT_COMPILED_YET.includes(f)).sort();
const TOLERANCE = 1e-4;

type Tensors = Record<string, ArrayLike<number>>;

/** max |got - want| / max(|want|), per tensor: relative to the tensor's scale. */
function worstRelative(got: Tensors, want: Record<string, Float64Array>, label: string, into: Record<string, number>): void {
  for (const [name, w] of Object.entries(want)) {
    const g = got[name]!;
    expect(g.length, `${label}.${name} length`).toBe(w.length);
    const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
    let worst = 0;
    for (let i = 0; i < w.length; i++) {
      const e = Math.abs(g[i]! - w[i]!) / scale;
      worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
    }
    into[`${label}.${name}`] = worst;
  }
}

async function agreement(gpu: NodeGpu, ir: CellIR, dims: Record<string, number>, batch: number, steps: number, options: WgslCompileOptions) {
  // Sizes a spec defines (H = G * K, the constraint I = H) follow from the others.
  const sizes = bindSizes(ir, freeSizes(ir, dims));
  const request = randomRequest(ir, { sizes, batch, steps, seed: 7, uniformParams: true });
  const module = await loadWebGpuModule(ir, sizes, options);
  const cell = module.createCell(gpu.device);
  try {
    const { params, inputs, initial } = request.sequence;
    const result = await cell.forward(params, inputs, initial, { batch });
    const grads = await cell.backward(params, result.saved, request.upstream);
    const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
    const errors: Record<string, number> = {};
    worstRelative(result.outputs, want.outputs, "outputs", errors);
    worstRelative(result.final, want.final, "final", errors);
    worstRelative(grads.params, want.grads.params, "grads.params", errors);
    worstRelative(grads.inputs, want.grads.inputs, "grads.inputs", errors);
    worstRelative(grads.initial, want.grads.initial, "grads.initial", errors);
    return errors;
  } finally {
    cell.destroy();
  }
}

const worstOf = (errors: Record<string, number>) => Math.max(...Object.values(errors));

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
    test("a WebGPU adapter is available for the WGSL target's tests", () => {
      throw err;
    });
  } else {
    test.skip(`WGSL tests skipped: no WebGPU adapter (run: bash scripts/install-webgpu-cpu.sh)`, () => {});
  }
} else {
  const gpu = got.gpu;
  const cells = new Map(SPECS.map((f) => [f, loadLibraryCell(`specs/${f}`)]));

  describe(`WGSL kernels on ${gpu.adapterName}`, () => {
    // Small sizes: software Vulkan is slow. "sequence" is what auto picks at
    // these sizes; "step" forces one dispatch per phase per step.
    test.each(SPECS.flatMap((f) => [[f, "sequence"], [f, "step"]] as const))("%s (%s path): forward and backward agree with the interpreter within 1e-4", async (file, path) => {
      const dims = path === "sequence" ? { I: 3, H: 5 } : { I: 4, H: 12 };
      const [batch, steps] = path === "sequence" ? [2, 4] : [3, 3];
      const errors = await agreement(gpu, cells.get(file)!, dims, batch, steps, { path });
      expect(worstOf(errors), JSON.stringify(errors)).toBeLessThan(TOLERANCE);
    });

    test("the auto path falls back to one dispatch per step above one workgroup, and still agrees", async () => {
      const ir = cells.get("lstm.lstm")!;
      const compiled = await compileWgslCell(ir, { dims: { I: 3, H: 260 } });
      expect(compiled.program.path).toBe("step");
      expect(compiled.program.forward.loop).toHaveLength(1); // one dispatch per forward step
      const errors = await agreement(gpu, ir, { I: 3, H: 260 }, 1, 2, {});
      expect(worstOf(errors), JSON.stringify(errors)).toBeLessThan(TOLERANCE);
    });

    test("auto picks the single-dispatch sequence kernel when the hidden state fits one workgroup", async () => {
      const ir = cells.get("gru.lstm")!;
      expect((await compileWgslCell(ir, { dims: { I: 3, H: 24 } })).program.path).toBe("sequence");
      expect((await compileWgslCell(ir, { dims: { I: 3, H: 24 }, maxWorkgroupSize: 16 })).program.path).toBe("step");
      const errors = await agreement(gpu, ir, { I: 3, H: 24 }, 2, 3, { maxWorkgroupSize: 16 });
      expect(worstOf(errors), JSON.stringify(errors)).toBeLessThan(TOLERANCE);
    });

    test("every function of the language, as a divisor and a dividend, agrees with the interpreter", async () => {
      // Pins operator precedence in the emitted WGSL: a function whose syntax is
      // itself a quotient (softsign) must stay one operand of a division, also
      // where a scalar's expression is inlined into a larger one.
      const text = `cell funcs {
        size I = 3, H = 4
        input x[I]
        state h[H]
        param W[H, I]
        param U[H, H]
        param s ~ constant(0.5)
        a = W @ x + U @ h
        q = 1 / (2 + softsign(a)) + relu(a) / (1 + softplus(a)) - hard_sigmoid(a) / (1 + exp(a * 0.1))
        h' = tanh(q + log(1 + a * a) / (3 + sigmoid(a)) + identity(a) / 4 - a / softsign(a + 3) + a / softsign(s + 2) - a * softsign(s) / sigmoid(s))
        output h = h'
      }`;
      const ir = buildCell(parseDsl(text, "funcs.lstm").value!).ir!;
      for (const path of ["sequence", "step"] as const) {
        const errors = await agreement(gpu, ir, { I: 3, H: 4 }, 2, 3, { path });
        expect(worstOf(errors), `${path}: ${JSON.stringify(errors)}`).toBeLessThan(TOLERANCE);
      }
    });

    test.each(SPECS)("%s: every generated shader compiles with no errors and no warnings", async (file) => {
      for (const path of ["sequence", "step"] as const) {
        const { program } = await compileWgslCell(cells.get(file)!, { dims: freeSizes(cells.get(file)!, { I: 3, H: 5 }), path });
        const entries = [
          [program.forwardWgsl, [...program.forward.before, ...program.forward.loop]],
          [program.backwardWgsl, [...program.backward.loop, ...program.backward.after]],
        ] as const;
        for (const [wgsl, dispatches] of entries) {
          for (const d of dispatches) {
            const result = await compileCheck(gpu.device, wgsl, { entryPoint: d.entry });
            expect({ errors: result.errors, warnings: result.warnings }, `${path} ${d.entry}`).toEqual({ errors: [], warnings: [] });
          }
        }
      }
    });

    test.each(["lstm.lstm", "gru.lstm", "peephole.lstm"])("%s: step() T times equals forward()", async (file) => {
      const ir = cells.get(file)!;
      const sizes = bindSizes(ir, { I: 3, H: 5 });
      const [batch, steps] = [2, 3];
      const request = randomRequest(ir, { sizes, batch, steps, seed: 11 });
      const module = await loadWebGpuModule(ir, sizes);
      const cell = module.createCell(gpu.device);
      const gpuParams = cell.uploadParams(request.sequence.params);
      const whole = await cell.forward(gpuParams, request.sequence.inputs, request.sequence.initial, { batch });
      const state = Object.fromEntries(Object.entries(request.sequence.initial).map(([k, v]) => [k, Float32Array.from(v)]));
      for (let t = 0; t < steps; t++) {
        const inputs = Object.fromEntries(ir.inputs.map((i) => {
          const n = request.sequence.inputs[i.name]!.length / (steps * batch);
          return [i.name, request.sequence.inputs[i.name]!.slice(t * batch * n, (t + 1) * batch * n)];
        }));
        const out = await cell.step(gpuParams, inputs, state);
        for (const o of ir.outputs) {
          const n = out[o.name]!.length;
          expect(Array.from(out[o.name]!)).toEqual(Array.from(whole.outputs[o.name]!).slice(t * n, (t + 1) * n));
        }
      }
      for (const s of ir.states) expect(Array.from(state[s.name]!)).toEqual(Array.from(whole.final[s.name]!));
      cell.destroy();
    });

    // A NaN is allowed only where the float64 interpreter has one too: a cell
    // whose values are unbounded (lstm_niaf's g) meets 0 · ∞ on infinite input.
    test.each(SPECS)("%s: extreme inputs (±1e30, ±inf) give no NaN in the outputs that the interpreter does not give", async (file) => {
      const ir = cells.get(file)!;
      const sizes = bindSizes(ir, freeSizes(ir, { I: 3, H: 5 }));
      const steps = 4;
      const request = randomRequest(ir, { sizes, batch: 1, steps, seed: 5 });
      const extremes = [1e30, -1e30, Infinity, -Infinity];
      // One extreme element per step: a sum of +inf and -inf would be NaN in any arithmetic.
      const inputs = Object.fromEntries(ir.inputs.map((i) => {
        const values = Float32Array.from(request.sequence.inputs[i.name]!);
        const n = values.length / steps;
        for (let t = 0; t < steps; t++) values[t * n + (t % n)] = extremes[t]!;
        return [i.name, values];
      }));
      const module = await loadWebGpuModule(ir, sizes);
      const cell = module.createCell(gpu.device);
      const result = await cell.forward(request.sequence.params, inputs, request.sequence.initial);
      const want = forward(ir, sizes, { ...request.sequence, inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, Float64Array.from(v)])) });
      const nanIndices = (values: ArrayLike<number>) => Array.from(values).flatMap((v, i) => (Number.isNaN(v) ? [i] : []));
      for (const [group, tensors] of [["outputs", result.outputs], ["final", result.final]] as const) {
        for (const [name, values] of Object.entries(tensors)) {
          const allowed = new Set(nanIndices(want[group][name]!));
          expect(nanIndices(values).filter((i) => !allowed.has(i)), `${group}.${name}`).toEqual([]);
        }
      }
      cell.destroy();
    });

    test("initParams gives the interpreter's numbers (rounded to f32)", async () => {
      const { initParams } = await import("../src/ir/initialize.ts");
      for (const file of ["lstm.lstm", "peephole.lstm", "lstm_essay.lstm"]) {
        const ir = cells.get(file)!;
        const sizes = bindSizes(ir, { I: 3, H: 5 });
        const module = await loadWebGpuModule(ir, sizes);
        const mine = module.initParams(42);
        const reference = initParams(ir, sizes, 42);
        for (const [name, values] of Object.entries(reference)) expect(Array.from(mine[name]!)).toEqual(Array.from(Float32Array.from(values)));
      }
    });

    test("compiling twice gives the same files (deterministic)", async () => {
      const ir = cells.get("gru.lstm")!;
      const [a, b] = [await compileWgslCell(ir, { dims: { I: 3, H: 5 } }), await compileWgslCell(ir, { dims: { I: 3, H: 5 } })];
      expect(a.files.map((f) => f.fileName)).toEqual(["gru.webgpu.ts", "gru.forward.wgsl", "gru.backward.wgsl"]);
      expect(a.files).toEqual(b.files);
      expect(a.host.text).not.toMatch(/^import /m);
    });
  });

  const oracleCases = torchOracleFiles().map(torchOracleCase);
  describe("the wgsl engine against PyTorch's reference files", () => {
    test.each(oracleCases.map((c) => [c.name, c] as const))("%s: lstmc run --engine wgsl --grad matches PyTorch within 1e-4", async (_name, oracleCase) => {
      const ir = loadLibraryCell(oracleCase.specFile);
      const request = readRunRequest(ir, oracleCase.data);
      const result = await runWebGpu(ir, request, true);
      const comparison = compareRunResponse(writeRunResponse(result, result.grads), oracleCase.expected, TOLERANCE);
      expect(comparison.failures).toEqual([]);
    });
  });
}
