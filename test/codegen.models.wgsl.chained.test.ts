// A WebGPU model module chains its layers on the device (issue 9 §3, "fuse
// across layers"): its numbers must be, bit for bit, those of running each
// layer's own WebGPU cell module one after another with the glue on the CPU
// (what the module did before: each layer's results read back, the next
// layer's inputs built and uploaded), and it must read back once per
// forward, backward and step, however many layers. The reference here is
// built from the layers' cell modules (compileWgslCell) and the model
// driver's CPU passes, which the TypeScript model modules run. Needs a WebGPU
// adapter (Dawn on lavapipe on a CPU-only machine): without one the tests are
// skipped, unless CI is set, where they fail.
import { describe, expect, test } from "vitest";
import { layerCells, modelShape } from "../src/codegen/model.ts";
import { _checkLengths, _describe } from "../src/codegen/runtime/lengths.ts";
import { _modelBackwardPass, _modelForwardPass, _modelStepPass, type _Model, type _Pass } from "../src/codegen/runtime/model-driver.ts";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import type { ModelIR } from "../src/ir/model-types.ts";
import { bindModelSizes } from "../src/run/model-contract.ts";
import { randomModelRequest } from "../src/run/random-data.ts";
import { loadWebGpuModel } from "../src/run/wgsl-engine.ts";
import { loadLibraryModel } from "./helpers/library-model.ts";
import { importHost, withGpu } from "./helpers/webgpu.ts";

const STEPS = 4;
// One row and three; rows ending at the first step, at the last and between.
const RUNS: readonly { batch: number; lengths?: number[] }[] = [{ batch: 1 }, { batch: 1, lengths: [2] }, { batch: 3 }, { batch: 3, lengths: [1, STEPS, 2] }];
const MODELS: readonly [string, string][] = [
  ["lstm2 (two layers)", "specs/lstm2.lstm"],
  ["bilstm (a reverse layer, outputs joined)", "specs/bilstm.lstm"],
  ["depth_gated_lstm (layer 2 reads layer 1's c')", "specs/depth_gated_lstm.lstm"],
  ["classifier (bidirectional twice, a head and a loss)", "specs/classifier.lstm"],
];

// The model driver's CPU passes read what a generated module puts before them: its FloatArray (here the WebGPU
// module's, f32) and the lengths check (LENGTHS).
Object.assign(globalThis, { FloatArray: Float32Array, _checkLengths, _describe });

/** Runs a pass whose cell calls return promises. */
async function runAsync<R>(pass: _Pass<R>): Promise<R> {
  let next = pass.next();
  while (!next.done) next = pass.next(await next.value);
  return next.value;
}

/** The model as its layers ran before they were chained: each its own cell module's createCell, the glue on the CPU. */
async function layerByLayer(ir: ModelIR, sizes: Record<string, number>, device: GPUDevice): Promise<_Model & { destroy(): void }> {
  const hosts = new Map<string, { createCell(device: GPUDevice): object }>();
  const { cells } = await layerCells(ir, sizes, async (cell, own, local) => {
    const { host } = await compileWgslCell(cell, { dims: own });
    hosts.set(local, await importHost(host.fileName, host.text));
    return "";
  });
  // The product's own shape of the model (modelShape), each layer's host module by its local.
  const shape = new Function(...hosts.keys(), `return ${modelShape(ir, sizes, cells, "source")};`)(...hosts.values()) as Omit<_Model, "layers"> & { layers: (Omit<_Model["layers"][number], "cell"> & { source: { createCell(device: GPUDevice): _Model["layers"][number]["cell"] & { destroy(): void } } })[] };
  const layers = shape.layers.map(({ source, ...layer }) => ({ ...layer, cell: source.createCell(device) }));
  return { ...shape, layers, destroy: () => layers.forEach((l) => l.cell.destroy()) };
}

interface Counts {
  mapAsync: number;
  submit: number;
}

/** `device` with every queue.submit and every mapAsync (of the buffers it creates) counted. */
function counting(device: GPUDevice): { device: GPUDevice; counts: Counts } {
  const counts: Counts = { mapAsync: 0, submit: 0 };
  const bound = (target: object, key: string | symbol) => {
    const value = Reflect.get(target, key) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  const queue = new Proxy(device.queue, {
    get: (target, key) => (key === "submit" ? (buffers: GPUCommandBuffer[]) => (counts.submit++, target.submit(buffers)) : bound(target, key)),
  });
  const proxy = new Proxy(device, {
    get(target, key) {
      if (key === "queue") return queue;
      if (key !== "createBuffer") return bound(target, key);
      return (descriptor: GPUBufferDescriptor) => {
        const buffer = target.createBuffer(descriptor);
        const mapAsync = buffer.mapAsync.bind(buffer);
        buffer.mapAsync = (...args: Parameters<GPUBuffer["mapAsync"]>) => (counts.mapAsync++, mapAsync(...args));
        return buffer;
      };
    },
  });
  return { device: proxy, counts };
}

await withGpu((gpu) => {
  describe.each(MODELS)("%s: the chained WebGPU model gives the layer-by-layer numbers, bit for bit", (_title, file) => {
    const ir = loadLibraryModel(file);
    const sizes = bindModelSizes(ir, Object.fromEntries(ir.sizes.filter((s) => s.name === "I" || s.name === "H").map((s) => [s.name, s.name === "I" ? 3 : 4])));
    test.each(RUNS)("batch $batch, lengths $lengths: outputs, final states, loss and every gradient", async ({ batch, lengths }) => {
      const request = randomModelRequest(ir, { sizes, batch, steps: STEPS, seed: 7 + batch, uniformParams: true });
      const { params, inputs, initial, targets } = request.sequence;
      const options = { batch, ...(lengths && { lengths }), ...(targets && { targets }) };
      const chained = (await loadWebGpuModel(ir, sizes)).createModel(gpu.device);
      const reference = await layerByLayer(ir, sizes, gpu.device);
      try {
        const got = await chained.forward(params, inputs, initial, options);
        const gotGrads = await chained.backward(params, got.saved, request.upstream);
        const want = await runAsync(_modelForwardPass(reference, params, inputs, initial, options));
        const wantGrads = await runAsync(_modelBackwardPass(reference, params, want.saved, request.upstream));
        expect(got.outputs).toEqual(want.outputs);
        expect(got.final).toEqual(want.final);
        expect(got.loss).toBe(want.loss);
        expect(gotGrads).toEqual(wantGrads);
        // Not an agreement of zeros: every layer's first state moved, and so did its gradient.
        for (const layer of ir.layers) {
          expect(Array.from(got.final[`${layer.name}.h`]!).some((v) => v !== 0)).toBe(true);
          expect(Array.from(gotGrads.initial[`${layer.name}.h`]!).some((v) => v !== 0)).toBe(true);
        }
      } finally {
        chained.destroy();
        reference.destroy();
      }
    });
  });

  test("lstm2's step(): each streamed step's outputs and states are the layer-by-layer step()'s, bit for bit", async () => {
    const ir = loadLibraryModel("specs/lstm2.lstm");
    const sizes = bindModelSizes(ir, { I: 3, H: 4 });
    const request = randomModelRequest(ir, { sizes, batch: 3, steps: STEPS, seed: 5, uniformParams: true });
    const { params, inputs } = request.sequence;
    const chained = (await loadWebGpuModel(ir, sizes)).createModel(gpu.device);
    const reference = await layerByLayer(ir, sizes, gpu.device);
    try {
      const [state, referenceState] = [chained.createState(3), chained.createState(3)];
      const row = 3 * 3;
      for (let t = 0; t < STEPS; t++) {
        const x = { x: Float32Array.from(inputs["x"]!.subarray(t * row, (t + 1) * row)) };
        const got = await chained.step(params, x, state);
        expect(got).toEqual(await runAsync(_modelStepPass(reference, params, x, referenceState, t)));
        expect(state).toEqual(referenceState);
      }
    } finally {
      chained.destroy();
      reference.destroy();
    }
  });

  describe("a two-layer model reads back once per call (the layer-by-layer glue read back per layer)", () => {
    const ir = loadLibraryModel("specs/lstm2.lstm");
    const sizes = bindModelSizes(ir, { I: 3, H: 4 });
    const request = randomModelRequest(ir, { sizes, batch: 2, steps: STEPS, seed: 3, uniformParams: true });
    const { params, inputs, initial } = request.sequence;

    test.each([{ lengths: undefined }, { lengths: [1, STEPS] }])("lengths $lengths: one mapAsync for forward(), one for backward(), one for step()", async ({ lengths }) => {
      const { device, counts } = counting(gpu.device);
      const model = (await loadWebGpuModel(ir, sizes)).createModel(device);
      try {
        const result = await model.forward(params, inputs, initial, { batch: 2, ...(lengths && { lengths }) });
        expect(counts.mapAsync).toBe(1);
        // Every layer's kernels and the readback's copies in one submission.
        expect(counts.submit).toBe(1);
        await model.backward(params, result.saved, request.upstream);
        expect(counts.mapAsync).toBe(2);
        // Every layer's backward and the readback's copies in one submission too, with lengths as without.
        expect(counts.submit).toBe(2);
        await model.step(params, { x: inputs["x"]!.subarray(0, 2 * 3) }, model.createState(2));
        expect(counts.mapAsync).toBe(3);
      } finally {
        model.destroy();
      }
    });

    test("the layer-by-layer reference, counted the same way, reads back more than once per call", async () => {
      const { device, counts } = counting(gpu.device);
      const reference = await layerByLayer(ir, sizes, device);
      try {
        const result = await runAsync(_modelForwardPass(reference, params, inputs, initial, { batch: 2 }));
        expect(counts.mapAsync).toBe(2);
        await runAsync(_modelBackwardPass(reference, params, result.saved, request.upstream));
        expect(counts.mapAsync).toBe(4);
      } finally {
        reference.destroy();
      }
    });
  });
});
