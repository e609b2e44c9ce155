// The page's training loop: the cell on WebGPU (the generated host module) or
// on the CPU (the generated TS module), the readout, loss and Adam from
// lstmc/train, one step per animation frame so the loss plot stays live.
// The cell modules are loaded at run time from ./cells/ (build.ts puts them there).
import { scatterLast, gatherLast } from "../../src/train/batch.ts";
import { cellBackward, cellForward, type CellModule } from "../../src/train/cell-module.ts";
import { clipByGlobalNorm } from "../../src/train/clip.ts";
import { initLinear, linearBackward, linearForward } from "../../src/train/linear.ts";
import { softmaxCrossEntropy } from "../../src/train/loss.ts";
import { initOptimizerState, optimizerStep } from "../../src/train/optim.ts";
import { seededRandom } from "../../src/train/random.ts";
import type { ReadoutBatch } from "../../src/train/readout-model.ts";
import { groupOf, joinGroups, type Tensors } from "../../src/train/tensors.ts";
import { longGapBatch, TARGETS, VOCAB } from "../../experiments/long-gap/task.ts";

const BATCH = 32;
// Paths, not literals in import(): they are served beside main.js, not bundled into it.
const CPU_MODULE = "./cells/lstm.js";
const GPU_MODULE = "./cells/lstm.webgpu.js";
const OPTIMIZER = { kind: "adam", lr: 0.01 } as const;

/** The cell's forward and backward, whatever runs them. */
interface Engine {
  readonly name: "webgpu" | "cpu";
  forward(params: Tensors, x: Float32Array): Promise<{ h: Float32Array; saved: unknown }>;
  backward(params: Tensors, saved: unknown, dh: Float32Array): Promise<Tensors>;
}

/** The part of a generated WebGPU host module this page uses. */
interface GpuCell {
  uploadParams(params: Tensors, into?: unknown): unknown;
  forward(params: unknown, inputs: Tensors, initial: Tensors, options: { batch: number }): Promise<{ outputs: Tensors; saved: unknown }>;
  backward(params: unknown, saved: unknown, upstream: { outputs: Tensors }): Promise<{ params: Tensors }>;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<{ requestDevice(): Promise<unknown> } | null> };
}

function cpuEngine(cell: CellModule): Engine {
  return {
    name: "cpu",
    forward: async (params, x) => {
      const r = cellForward(cell, params, { x }, BATCH);
      return { h: r.outputs.h as Float32Array, saved: r.saved };
    },
    backward: async (params, saved, dh) => cellBackward(cell, params, saved, { outputs: { h: dh } }).params,
  };
}

async function gpuEngine(): Promise<Engine | null> {
  const adapter = await (navigator as GpuNavigator).gpu?.requestAdapter();
  if (!adapter) return null;
  const device = await adapter.requestDevice();
  const module = (await import(/* @vite-ignore */ GPU_MODULE)) as { createCell(device: unknown): GpuCell };
  const cell = module.createCell(device);
  let onGpu: unknown = null;
  return {
    name: "webgpu",
    forward: async (params, x) => {
      // Adam ran on the CPU: refresh the GPU's copy (in place after the first upload).
      onGpu = cell.uploadParams(params, onGpu ?? undefined);
      const r = await cell.forward(onGpu, { x }, {}, { batch: BATCH });
      return { h: r.outputs.h as Float32Array, saved: r.saved };
    },
    backward: async (_params, saved, dh) => (await cell.backward(onGpu, saved, { outputs: { h: dh } })).params,
  };
}

/** Loss and gradients of the cell with a readout at the last step. */
async function lossAndGrads(engine: Engine, params: Tensors, batch: ReadoutBatch): Promise<{ loss: number; grads: Tensors }> {
  const cellP = groupOf(params, "cell");
  const head = groupOf(params, "head");
  const { h, saved } = await engine.forward(cellP, batch.inputs);
  const hidden = h.length / (batch.steps * batch.batch);
  const lengths = new Int32Array(batch.batch).fill(batch.steps);
  const last = gatherLast(h, lengths, hidden);
  const { loss, grad } = softmaxCrossEntropy(linearForward(head, last, batch.batch), batch.targets, TARGETS);
  const back = linearBackward(head, last, grad, batch.batch);
  const cellGrads = await engine.backward(cellP, saved, scatterLast(back.input, lengths, batch.steps, hidden));
  return { loss, grads: joinGroups({ cell: cellGrads, head: back.params }) };
}

function plot(losses: readonly number[], total: number): void {
  const points = losses.map((l, k) => `${(40 + (590 * k) / Math.max(1, total - 1)).toFixed(1)},${(220 - (210 * Math.min(l, 2)) / 2).toFixed(1)}`);
  document.getElementById("curve")!.setAttribute("points", points.join(" "));
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/** Trains for `steps` steps from seed 1 and returns the engine used and every step's loss. */
async function train(options: { steps: number; gap: number; forceCpu?: boolean }): Promise<{ engine: string; losses: number[] }> {
  const cpu = (await import(/* @vite-ignore */ CPU_MODULE)) as CellModule;
  const engine = (!options.forceCpu && (await gpuEngine())) || cpuEngine(cpu);
  const params = joinGroups({ cell: cpu.initParams(1) as Tensors, head: initLinear(16, TARGETS, 2) });
  const state = initOptimizerState(OPTIMIZER, params);
  const random = seededRandom(1);
  const status = document.getElementById("status")!;
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const { loss, grads } = await lossAndGrads(engine, params, longGapBatch(random, options.gap, BATCH, VOCAB));
    clipByGlobalNorm(grads, 1);
    optimizerStep(OPTIMIZER, state, params, grads);
    losses.push(loss);
    plot(losses, options.steps);
    status.textContent = `${engine.name}: step ${step + 1}/${options.steps}, loss ${loss.toFixed(4)}`;
    await nextFrame();
  }
  return { engine: engine.name, losses };
}

(window as unknown as { lstmcTrain: typeof train }).lstmcTrain = train;
document.getElementById("start")!.addEventListener("click", () => {
  const value = (id: string) => Number((document.getElementById(id) as HTMLInputElement).value);
  void train({ steps: value("steps"), gap: value("gap"), forceCpu: (document.getElementById("cpu") as HTMLInputElement).checked });
});
