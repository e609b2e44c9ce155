// The page's training loop: the cell on WebGPU (the generated host module) or
// on the CPU (the generated TS module), the readout, loss and Adam from
// lstmc/train, one step per animation frame so the loss plot stays live.
// The cell modules are loaded at run time from ./cells/ (build.ts puts them there).
//
// On WebGPU the cell's parameters, gradients and Adam's moments stay on the
// GPU (lstmc/train's GPU optimiser): a step reads back only the hidden states
// the readout needs and the gradients' norm. The readout is tiny and trains
// on the CPU. So each part clips its own gradients to norm 1, where the CPU
// path clips all of them together.
import { scatterLast, gatherLast } from "../../src/train/batch.ts";
import { cellBackward, cellForward, type CellModule } from "../../src/train/cell-module.ts";
import { clipByGlobalNorm } from "../../src/train/clip.ts";
import { createGpuOptimizer, type GpuBufferRef, type GpuDeviceLike, type GpuParamLayout } from "../../src/train/gpu-optim.ts";
import { initLinear, linearBackward, linearForward } from "../../src/train/linear.ts";
import { softmaxCrossEntropy } from "../../src/train/loss.ts";
import { initOptimizerState, optimizerStep } from "../../src/train/optim.ts";
import { seededRandom } from "../../src/train/random.ts";
import type { ReadoutBatch } from "../../src/train/readout-model.ts";
import { groupOf, joinGroups, type Tensors } from "../../src/train/tensors.ts";
import { longGapBatch, TARGETS, VOCAB } from "../../experiments/long-gap/task.ts";

const BATCH = 32;
const HIDDEN = 16;
// Paths, not literals in import(): they are served beside main.js, not bundled into it.
const CPU_MODULE = "./cells/lstm.js";
const GPU_MODULE = "./cells/lstm.webgpu.js";
const OPTIMIZER = { kind: "adam", lr: 0.01 } as const;
const CLIP_NORM = 1;

/** One training step on a batch, wherever it runs; resolves to the batch's loss. */
interface Engine {
  readonly name: "webgpu" | "cpu";
  trainStep(batch: ReadoutBatch): Promise<number>;
}

/** The part of a generated WebGPU host module this page uses. */
interface GpuCell {
  readonly layout: GpuParamLayout;
  uploadParams(params: Tensors): GpuBufferRef;
  forward(params: GpuBufferRef, inputs: Tensors, initial: Tensors, options: { batch: number }): Promise<{ outputs: Tensors; saved: unknown }>;
  backwardOnGpu(params: GpuBufferRef, saved: unknown, upstream: { outputs: Tensors }): GpuBufferRef;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<{ requestDevice(): Promise<GpuDeviceLike> } | null> };
}

/** The readout at the last step: its loss, its gradients and the gradient it sends into the cell's outputs. */
function readout(head: Tensors, h: Float32Array, batch: ReadoutBatch) {
  const lengths = new Int32Array(batch.batch).fill(batch.steps);
  const last = gatherLast(h, lengths, HIDDEN);
  const { loss, grad } = softmaxCrossEntropy(linearForward(head, last, batch.batch), batch.targets, TARGETS);
  const back = linearBackward(head, last, grad, batch.batch);
  return { loss, grads: back.params, dh: scatterLast(back.input, lengths, batch.steps, HIDDEN) as Float32Array };
}

function cpuEngine(cell: CellModule, cellParams: Tensors, head: Tensors): Engine {
  const params = joinGroups({ cell: cellParams, head });
  const state = initOptimizerState(OPTIMIZER, params);
  return {
    name: "cpu",
    trainStep: async (batch) => {
      const cellP = groupOf(params, "cell");
      const forward = cellForward(cell, cellP, { x: batch.inputs }, BATCH);
      const out = readout(groupOf(params, "head"), forward.outputs.h as Float32Array, batch);
      const cellGrads = cellBackward(cell, cellP, forward.saved, { outputs: { h: out.dh } }).params;
      const grads = joinGroups({ cell: cellGrads, head: out.grads });
      clipByGlobalNorm(grads, CLIP_NORM);
      optimizerStep(OPTIMIZER, state, params, grads);
      return out.loss;
    },
  };
}

async function gpuEngine(cellParams: Tensors, head: Tensors): Promise<Engine | null> {
  const adapter = await (navigator as GpuNavigator).gpu?.requestAdapter();
  if (!adapter) return null;
  const device = await adapter.requestDevice();
  const module = (await import(/* @vite-ignore */ GPU_MODULE)) as { createCell(device: GpuDeviceLike): GpuCell };
  const cell = module.createCell(device);
  const onGpu = cell.uploadParams(cellParams);
  const cellOptimizer = await createGpuOptimizer(device, cell.layout, OPTIMIZER, { clipNorm: CLIP_NORM });
  const headState = initOptimizerState(OPTIMIZER, head);
  return {
    name: "webgpu",
    trainStep: async (batch) => {
      const forward = await cell.forward(onGpu, { x: batch.inputs }, {}, { batch: BATCH });
      const out = readout(head, forward.outputs.h as Float32Array, batch);
      await cellOptimizer.step(onGpu, cell.backwardOnGpu(onGpu, forward.saved, { outputs: { h: out.dh } }));
      clipByGlobalNorm(out.grads, CLIP_NORM);
      optimizerStep(OPTIMIZER, headState, head, out.grads);
      return out.loss;
    },
  };
}

function plot(losses: readonly number[], total: number): void {
  const points = losses.map((l, k) => `${(40 + (590 * k) / Math.max(1, total - 1)).toFixed(1)},${(220 - (210 * Math.min(l, 2)) / 2).toFixed(1)}`);
  document.getElementById("curve")!.setAttribute("points", points.join(" "));
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/** Which code the CPU module runs on in this browser (the generated module's `kernels`). */
type Kernels = { readonly products: string; readonly forwardLoop: string; readonly backwardLoop: string };

/** Trains for `steps` steps from seed 1 and returns the engine used, every step's loss, and the CPU module's kernels. */
async function train(options: { steps: number; gap: number; forceCpu?: boolean }): Promise<{ engine: string; losses: number[]; kernels: Kernels }> {
  const cpu = (await import(/* @vite-ignore */ CPU_MODULE)) as CellModule & { readonly kernels: Kernels };
  const [cellParams, head] = [cpu.initParams(1) as Tensors, initLinear(HIDDEN, TARGETS, 2)];
  const engine = (!options.forceCpu && (await gpuEngine(cellParams, head))) || cpuEngine(cpu, cellParams, head);
  const random = seededRandom(1);
  const status = document.getElementById("status")!;
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const loss = await engine.trainStep(longGapBatch(random, options.gap, BATCH, VOCAB));
    losses.push(loss);
    plot(losses, options.steps);
    status.textContent = `${engine.name}: step ${step + 1}/${options.steps}, loss ${loss.toFixed(4)}`;
    await nextFrame();
  }
  return { engine: engine.name, losses, kernels: cpu.kernels };
}

(window as unknown as { lstmcTrain: typeof train }).lstmcTrain = train;
document.getElementById("start")!.addEventListener("click", () => {
  const value = (id: string) => Number((document.getElementById(id) as HTMLInputElement).value);
  void train({ steps: value("steps"), gap: value("gap"), forceCpu: (document.getElementById("cpu") as HTMLInputElement).checked });
});
