// Training on the GPU: lstmc/train's optimisers as WGSL kernels over a WebGPU
// cell's packed parameter buffer follow the CPU optimisers (PyTorch's rules)
// step for step, clipping included; and fitAsync trains a WebGPU cell with its
// parameters, gradients and optimiser state on the GPU along the same path as
// fit trains the CPU module.
import { describe, expect, test } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { loadWebGpuModule } from "../src/run/wgsl-engine.ts";
import { clipByGlobalNorm, clipByValue, globalNorm } from "../src/train/clip.ts";
import { fit, fitAsync } from "../src/train/fit.ts";
import { createGpuOptimizer, type GpuBufferRef } from "../src/train/gpu-optim.ts";
import { initOptimizerState, optimizerStep, type OptimizerConfig } from "../src/train/optim.ts";
import { seededRandom } from "../src/train/random.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";
import { withGpu } from "./helpers/webgpu.ts";
import type { NodeGpu } from "../src/gpu/node-device.ts";

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01;

/**
 * Agreement of f32 GPU arithmetic with the CPU's (float64 maths rounded to f32
 * per element): within `tolerance` of `scale` (for parameters, the largest move
 * the CPU optimiser made, since a parameter that crosses zero has no relative
 * error to speak of; for the optimiser's buffers, their largest element), plus
 * the rounding of the value itself: 16 half-ULPs of f32, a few roundings for
 * each of three steps, which the GPU makes in f32 and the CPU in float64.
 */
function expectClose(got: Float32Array, want: Float32Array, scale: number, tolerance: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, (Math.abs(got[k]! - want[k]!) - 16 * 2 ** -24 * Math.abs(want[k]!)) / scale);
  expect(worst).toBeLessThan(tolerance);
}

const largestMove = (from: Float32Array, to: Float32Array): number => Math.max(...to.map((v, k) => Math.abs(v - from[k]!)));
const largest = (values: Float32Array): number => Math.max(...values.map(Math.abs));

function randomArray(n: number, seed: number, scale: number): Float32Array<ArrayBuffer> {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

function upload(gpu: NodeGpu, values: Float32Array<ArrayBuffer>): GpuBufferRef & { buffer: GPUBuffer } {
  const buffer = gpu.device.createBuffer({ size: values.byteLength, usage: STORAGE | COPY_SRC | COPY_DST });
  gpu.device.queue.writeBuffer(buffer, 0, values);
  return { buffer };
}

async function download(gpu: NodeGpu, ref: { buffer: GPUBuffer }): Promise<Float32Array> {
  const readback = gpu.device.createBuffer({ size: ref.buffer.size, usage: MAP_READ | COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyBufferToBuffer(ref.buffer, 0, readback, 0, ref.buffer.size);
  gpu.device.queue.submit([encoder.finish()]);
  await readback.mapAsync(MAP_READ);
  const values = new Float32Array(readback.getMappedRange().slice(0));
  readback.unmap();
  readback.destroy();
  return values;
}

const CONFIGS: [string, OptimizerConfig][] = [
  ["plain SGD", { kind: "sgd", lr: 0.1 }],
  ["SGD with Nesterov momentum and weight decay", { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ["SGD with dampened momentum", { kind: "sgd", lr: 0.05, momentum: 0.8, dampening: 0.3 }],
  ["Adam", { kind: "adam", lr: 0.01 }],
  ["Adam with L2 weight decay", { kind: "adam", lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.95] }],
  ["AdamW", { kind: "adamw", lr: 0.01 }],
  ["RMSprop", { kind: "rmsprop", lr: 0.01 }],
  ["centered RMSprop with momentum and weight decay", { kind: "rmsprop", lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.01 }],
];

// 1000 floats: not a multiple of a workgroup, and more than one workgroup's share of the norm.
const FLOATS = 1000;

await withGpu((gpu) => {
  describe("GPU optimisers take the CPU optimisers' steps", () => {
    const clips: [string, { clipNorm?: number; clipValue?: number }][] = [
      ["", {}],
      [", clipped by global norm", { clipNorm: 0.5 }],
      [", clipped by value", { clipValue: 0.05 }],
      [", clipped by norm then value", { clipNorm: 1, clipValue: 0.02 }],
    ];
    test.each(CONFIGS.flatMap(([name, config]) => clips.map(([clipName, clip]) => [`${name}${clipName}`, config, clip] as const)))("%s: three steps", async (_name, config, clip) => {
      const initial = randomArray(FLOATS, 1, 1);
      const cpuParams = { all: Float32Array.from(initial) };
      const gpuParams = upload(gpu, cpuParams.all);
      const optimizer = await createGpuOptimizer(gpu.device, { floats: FLOATS, params: [{ name: "all", derived: false }] }, config, clip);
      const state = initOptimizerState(config, cpuParams);
      for (let s = 0; s < 3; s++) {
        const grads = randomArray(FLOATS, 10 + s, 0.2);
        const gpuGrads = upload(gpu, grads);
        const cpuGrads = { all: Float32Array.from(grads) };
        const wantNorm = clip.clipNorm !== undefined ? clipByGlobalNorm(cpuGrads, clip.clipNorm) : globalNorm(cpuGrads);
        if (clip.clipValue !== undefined) clipByValue(cpuGrads, clip.clipValue);
        optimizerStep(config, state, cpuParams, cpuGrads);
        const norm = await optimizer.step(gpuParams, gpuGrads);
        expect(Math.abs(norm - wantNorm) / wantNorm).toBeLessThan(1e-5);
        // The gradients are read, never written.
        expect(await download(gpu, gpuGrads)).toEqual(grads);
        gpuGrads.buffer.destroy();
      }
      expect(optimizer.steps).toBe(3);
      expectClose(await download(gpu, gpuParams), cpuParams.all, largestMove(initial, cpuParams.all), 1e-5);
      const slots = await optimizer.readSlots();
      expect(Object.keys(slots).sort()).toEqual(Object.keys(state.slots).sort());
      for (const [name, values] of Object.entries(slots)) expectClose(values, state.slots[name]!.all! as Float32Array, largest(state.slots[name]!.all! as Float32Array), 1e-5);
      optimizer.destroy();
      gpuParams.buffer.destroy();
    });

    test("the global norm is summed in a fixed order: the same bits on every run", async () => {
      const grads = upload(gpu, randomArray(100_000, 3, 1));
      const norms: number[] = [];
      for (let run = 0; run < 3; run++) {
        const params = upload(gpu, new Float32Array(100_000));
        const optimizer = await createGpuOptimizer(gpu.device, { floats: 100_000, params: [{ name: "all", derived: false }] }, { kind: "sgd", lr: 0 });
        norms.push(await optimizer.step(params, grads));
        optimizer.destroy();
        params.buffer.destroy();
      }
      expect(new Set(norms).size).toBe(1);
      grads.buffer.destroy();
    });
  });

  describe("GPU optimisers refuse what they cannot do", () => {
    test("a cell whose products read matrix expressions (derived on the CPU at upload) is refused by name", async () => {
      await expect(createGpuOptimizer(gpu.device, { floats: 10, params: [{ name: "W_H", derived: false }, { name: "_m0", derived: true }] }, { kind: "adam" })).rejects.toThrow(
        /products read matrix expressions \(_m0\).*train it with the CPU module/,
      );
    });
    test("bad clipping limits, learning rates and buffers are refused with their names", async () => {
      const layout = { floats: 8, params: [{ name: "w", derived: false }] };
      await expect(createGpuOptimizer(gpu.device, layout, { kind: "sgd" }, { clipNorm: -1 })).rejects.toThrow(/clipNorm must be a positive number/);
      const optimizer = await createGpuOptimizer(gpu.device, layout, { kind: "sgd" });
      const params = upload(gpu, new Float32Array(8));
      const small = upload(gpu, new Float32Array(4));
      await expect(optimizer.step(params, params, 0.1)).rejects.toThrow(/the same buffer/);
      await expect(optimizer.step(params, small, 0.1)).rejects.toThrow(/grads holds 16 bytes; the parameters need 32/);
      await expect(optimizer.step(params, upload(gpu, new Float32Array(8)), Number.NaN)).rejects.toThrow(/learning rate must be a finite number/);
      optimizer.destroy();
    });
  });

  describe("fitAsync trains a WebGPU cell on the GPU", () => {
    test("an LSTM trained with GPU Adam, clipping and a schedule follows the CPU module trained by fit, step for step", async () => {
      const ir = loadLibraryCell("specs/lstm.lstm");
      const sizes = bindSizes(ir, { I: 3, H: 4 });
      const [batch, steps] = [2, 5];
      const cpu = (await loadGeneratedModule(ir, sizes, "f32")) as unknown as {
        initParams(seed: number): Record<string, Float32Array<ArrayBuffer>>;
        forward(p: object, inputs: object, initial: object, options: { batch: number }): { outputs: { h: Float32Array }; saved: unknown };
        backward(p: object, saved: unknown, upstream: object): { params: Record<string, Float32Array> };
      };
      const webgpu = await loadWebGpuModule(ir, sizes);
      const cell = webgpu.createCell(gpu.device) as unknown as {
        layout: { floats: number; params: { name: string; derived: boolean }[] };
        uploadParams(p: object): GpuBufferRef & { buffer: GPUBuffer };
        downloadParams(p: GpuBufferRef): Promise<Record<string, Float32Array>>;
        forward(p: GpuBufferRef, inputs: object, initial: object, options: { batch: number }): Promise<{ outputs: { h: Float32Array }; saved: unknown }>;
        backwardOnGpu(p: GpuBufferRef, saved: unknown, upstream: object): GpuBufferRef;
        destroy(): void;
      };
      const init = cpu.initParams(5);
      const batches = (epoch: number) => [0, 1, 2].map((i) => ({ x: randomArray(steps * batch * 3, 100 * epoch + i, 1), target: randomArray(batch * 4, 200 + 100 * epoch + i, 0.5) }));
      type Batch = ReturnType<typeof batches>[number];
      // Mean squared error of the last step's h against the target, and its gradient.
      const lossOf = (h: Float32Array, target: Float32Array) => {
        const last = h.subarray((steps - 1) * batch * 4);
        const upstream = new Float32Array(h.length);
        let loss = 0;
        for (let k = 0; k < last.length; k++) {
          const d = last[k]! - target[k]!;
          loss += (d * d) / last.length;
          upstream[(steps - 1) * batch * 4 + k] = (2 * d) / last.length;
        }
        return { loss, upstream };
      };
      const config: OptimizerConfig = { kind: "adam", lr: 0.05 };
      const schedule = (step: number) => 0.05 * 0.9 ** step;

      const cpuParams = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, Float32Array.from(v)]));
      const cpuLosses: number[] = [];
      fit<Batch>({
        params: cpuParams,
        lossAndGrads: (params, b) => {
          const forward = cpu.forward(params, { x: b.x }, {}, { batch });
          const { loss, upstream } = lossOf(forward.outputs.h, b.target);
          return { loss, grads: cpu.backward(params, forward.saved, { outputs: { h: upstream } }).params };
        },
        batches,
        epochs: 2,
        optimizer: config,
        schedule,
        clipNorm: 0.5,
        callbacks: { onStep: ({ loss }) => void cpuLosses.push(loss) },
        progress: false,
      });

      const gpuParams = cell.uploadParams(init);
      const optimizer = await createGpuOptimizer(gpu.device, cell.layout, config, { clipNorm: 0.5 });
      const gpuLosses: number[] = [];
      const result = await fitAsync<Batch, GpuBufferRef>({
        lossAndGrads: async (b) => {
          const forward = await cell.forward(gpuParams, { x: b.x }, {}, { batch });
          const { loss, upstream } = lossOf(forward.outputs.h, b.target);
          return { loss, grads: cell.backwardOnGpu(gpuParams, forward.saved, { outputs: { h: upstream } }) };
        },
        update: (grads, lr) => optimizer.step(gpuParams, grads, lr),
        batches,
        epochs: 2,
        schedule,
        callbacks: { onStep: ({ loss }) => void gpuLosses.push(loss) },
        progress: false,
      });
      expect(result.history).toHaveLength(2);
      expect(optimizer.steps).toBe(6);
      expect(gpuLosses).toHaveLength(6);
      for (let s = 0; s < 6; s++) expect(Math.abs(gpuLosses[s]! - cpuLosses[s]!)).toBeLessThan(1e-4 * (1 + cpuLosses[s]!));
      const trained = await cell.downloadParams(gpuParams);
      for (const [name, values] of Object.entries(cpuParams)) expectClose(trained[name]!, values, largestMove(init[name]!, values), 1e-3);
      // It learned something: the parameters moved.
      expect(trained.W_i).not.toEqual(init.W_i);
      optimizer.destroy();
      cell.destroy();
    });
  });
});
