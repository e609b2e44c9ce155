// Random well-formed cells, compiled to WGSL and executed on the WebGPU
// adapter, agree with the interpreter forward and backward (f32), on both
// kernel paths. The library specs use a few shapes of cell; this reaches
// scalar parameters, every function, concatenations, next-state references,
// reductions and slices.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../src/gpu/node-device.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule } from "../src/run/wgsl-engine.ts";
import { arbitraryCell } from "./helpers/arbitrary-cell.ts";
import { tameCell } from "./helpers/tame-cell.ts";

/** Each new cell compiles new shaders, which software Vulkan does slowly: few runs, more with LSTMC_PROPERTY_RUNS. */
const NUM_RUNS = Number(process.env["LSTMC_PROPERTY_RUNS"] ?? 8);
const TOLERANCE = 1e-4;

type Tensors = Record<string, ArrayLike<number>>;

/** max |got − want| / max(1, max |want|) over a group: f32 error relative to the tensor's scale. */
function worstError(got: Tensors, want: Tensors): number {
  let worst = 0;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g || g.length !== w.length) return Infinity;
    const scale = Math.max(1, ...Array.from(w, Math.abs));
    for (let i = 0; i < w.length; i++) {
      const e = Math.abs(g[i]! - w[i]!) / scale;
      worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
    }
  }
  return worst;
}

let gpu: NodeGpu | null = null;
let missing: Error | null = null;
try {
  gpu = await requestNodeDevice();
} catch (e) {
  missing = e as Error;
}

describe("random cells on the WGSL target", () => {
  if (!gpu) {
    const skip = !process.env.CI && missing instanceof NoGpuAdapterError;
    (skip ? it.skip : it)("need a WebGPU adapter (bash scripts/install-webgpu-cpu.sh)", () => {
      throw missing;
    });
    return;
  }
  const device = gpu.device;
  it("agree with the interpreter, forward and backward, on both kernel paths", async () => {
    const runs = fc.record({
      cell: arbitraryCell({ reductions: true, staticInputs: true }).map(tameCell),
      I: fc.integer({ min: 1, max: 4 }),
      H: fc.integer({ min: 1, max: 5 }),
      batch: fc.integer({ min: 1, max: 2 }),
      steps: fc.integer({ min: 1, max: 3 }),
      seed: fc.nat(),
      path: fc.constantFrom("sequence" as const, "step" as const),
    });
    await fc.assert(
      fc.asyncProperty(runs, async (run) => {
        const ir = buildCell(run.cell).ir!;
        const sizes = bindSizes(ir, Object.fromEntries(ir.sizes.map((s) => [s.name, s.name === "I" ? run.I : run.H])));
        const request = randomRequest(ir, { sizes, batch: run.batch, steps: run.steps, seed: run.seed, uniformParams: true });
        const module = await loadWebGpuModule(ir, sizes, { path: run.path });
        const cell = module.createCell(device);
        try {
          const { params, inputs, initial } = request.sequence;
          const result = await cell.forward(params, inputs, initial, { batch: run.batch });
          const grads = await cell.backward(params, result.saved, request.upstream);
          const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
          const worst = Math.max(
            worstError(result.outputs, want.outputs),
            worstError(result.final, want.final),
            worstError(grads.params, want.grads.params),
            worstError(grads.inputs, want.grads.inputs),
            worstError(grads.initial, want.grads.initial),
          );
          expect(worst, `${run.path} path, I=${run.I} H=${run.H} batch=${run.batch} steps=${run.steps}\n${printDsl(run.cell)}`).toBeLessThan(TOLERANCE);
        } finally {
          cell.destroy();
        }
      }),
      { numRuns: NUM_RUNS, seed: Number(process.env["LSTMC_PROPERTY_SEED"] ?? 20261127) },
    );
  });
});
