// The `wgsl` engine: compiles the spec (a cell or a model) to WGSL + its WebGPU
// host module for the request's sizes, imports the module (its types stripped,
// as the ts engine does) and runs it on a Dawn device (f32). With no WebGPU
// adapter it says what to install.
import { CodegenError } from "../codegen/compile.ts";
import { importOnce } from "./ts-engine.ts";
import { compileWgslModel } from "../codegen/model-wgsl.ts";
import type { ModelIR } from "../ir/model-types.ts";
import type { ModelForwardResult } from "../interp/model.ts";
import type { ModelRunRequest } from "./model-contract.ts";
import { compileWgslCell, type WgslCompileOptions } from "../codegen/wgsl/compile.ts";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../gpu/node-device.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { CellIR } from "../ir/types.ts";
import type { ForwardResult, Gradients } from "../interp/interpret.ts";
import type { RunRequest } from "./contract.ts";

type Tensors = Record<string, ArrayLike<number>>;

/** The shape of every generated `<cell>.webgpu.ts` module, as the engine uses it. */
export interface WebGpuModule {
  initParams(seed: number): Tensors;
  createCell(device: GPUDevice): WebGpuCell;
}

export interface WebGpuCell {
  uploadParams(params: Tensors): { buffer: GPUBuffer };
  forward(params: Tensors | { buffer: GPUBuffer }, inputs: Tensors, initial?: Tensors, options?: { batch?: number; steps?: number; lengths?: ArrayLike<number> }): Promise<{ outputs: Tensors; final: Tensors; saved: unknown }>;
  backward(params: Tensors | { buffer: GPUBuffer }, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): Promise<{ params: Tensors; inputs: Tensors; initial: Tensors }>;
  /** `t`, this step's index counted from 0: required by a cell that reads it, ignored by the others. */
  step(params: Tensors | { buffer: GPUBuffer }, inputs: Tensors, state: Tensors, t?: number): Promise<Tensors>;
  createState(batch?: number): Tensors;
  destroy(): void;
}

/** No WebGPU adapter: the message says what to install (main prints it without a stack trace). */
export class NoWebGpuError extends CodegenError {}

let device: Promise<NodeGpu> | null = null;

/** One Dawn device per process. */
export function nodeDevice(): Promise<NodeGpu> {
  device ??= requestNodeDevice().catch((e: unknown) => {
    device = null;
    if (e instanceof NoGpuAdapterError) throw new NoWebGpuError(`the wgsl engine needs a WebGPU adapter.\n${e.message}`);
    throw e;
  });
  return device;
}

/** The shape of a generated `<model>.webgpu.ts` module, as the engine uses it. */
export interface WebGpuModelModule {
  initParams(seed: number): Tensors;
  createModel(device: GPUDevice): WebGpuModel;
}

export interface WebGpuModel {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number; lengths?: ArrayLike<number>; targets?: ArrayLike<number> }): Promise<{ outputs: Tensors; final: Tensors; loss: number | null; saved: unknown }>;
  backward(params: Tensors, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): Promise<{ params: Tensors; inputs: Tensors; initial: Tensors }>;
  /** `t`, the step index counted from 0, is required by models whose cells read it and ignored by the others. */
  step(params: Tensors, inputs: Tensors, state: Tensors, t?: number): Promise<Tensors>;
  createState(batch?: number): Tensors;
  destroy(): void;
}

/** Compiles and imports a cell's host module once per process for each size binding and kernel option. */
export function loadWebGpuModule(ir: CellIR, sizes: SizeBinding, options: Omit<WgslCompileOptions, "dims"> = {}): Promise<WebGpuModule> {
  // The whole IR (plain data), as the ts engine keys its modules: two cells with the same name and node count must not share one.
  const key = JSON.stringify(["wgsl", ir, sizes, options]);
  return importOnce(key, async () => (await compileWgslCell(ir, { ...options, dims: sizes })).host);
}

/** Compiles and imports a model's WebGPU module once per process for each size binding. */
export function loadWebGpuModel(ir: ModelIR, sizes: SizeBinding): Promise<WebGpuModelModule> {
  // The whole IR (plain data): two models with the same name must not share a module.
  return importOnce(JSON.stringify(["wgsl-model", ir, sizes]), () => compileWgslModel(ir, { sizes }));
}

const f64 = (tensors: Tensors) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float64Array.from(v)]));

/** A model on the wgsl engine. */
export async function runWebGpuModel(ir: ModelIR, request: ModelRunRequest, withGrads: boolean): Promise<ModelForwardResult & { grads: Gradients | null }> {
  const gpu = await nodeDevice();
  const model = (await loadWebGpuModel(ir, request.sizes)).createModel(gpu.device);
  try {
    const { params, inputs, initial, batch, lengths, targets } = request.sequence;
    const result = await model.forward(params, inputs, initial, { batch, ...(lengths && { lengths }), ...(targets && { targets }) });
    const grads = withGrads ? await model.backward(params, result.saved, request.upstream) : null;
    return {
      outputs: f64(result.outputs),
      final: f64(result.final),
      loss: result.loss,
      grads: grads && { params: f64(grads.params), inputs: f64(grads.inputs), initial: f64(grads.initial) },
    };
  } finally {
    model.destroy();
    void gpu.keepAlive;
  }
}

export async function runWebGpu(ir: CellIR, request: RunRequest, withGrads: boolean): Promise<ForwardResult & { grads: Gradients | null }> {
  const gpu = await nodeDevice();
  const module = await loadWebGpuModule(ir, request.sizes);
  const cell = module.createCell(gpu.device);
  try {
    const { params, inputs, initial, batch, steps, lengths } = request.sequence;
    const result = await cell.forward(params, inputs, initial, { batch, steps, ...(lengths && { lengths }) });
    const grads = withGrads ? await cell.backward(params, result.saved, request.upstream) : null;
    return {
      outputs: f64(result.outputs),
      final: f64(result.final),
      grads: grads && { params: f64(grads.params), inputs: f64(grads.inputs), initial: f64(grads.initial) },
    };
  } finally {
    cell.destroy();
    void gpu.keepAlive;
  }
}
