// The `wgsl` engine: compiles the spec to WGSL + its WebGPU host module for the
// request's sizes, imports the module and runs it on a Dawn device (f32). With
// no WebGPU adapter it says what to install.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CodegenError, writeAtomically } from "../codegen/compile.ts";
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
  forward(params: Tensors | { buffer: GPUBuffer }, inputs: Tensors, initial?: Tensors, options?: { batch?: number; steps?: number }): Promise<{ outputs: Tensors; final: Tensors; saved: unknown }>;
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

const cache = new Map<string, Promise<WebGpuModule>>();

/** Compiles and imports a cell's host module once per process for each size binding and kernel option. */
export function loadWebGpuModule(ir: CellIR, sizes: SizeBinding, options: Omit<WgslCompileOptions, "dims"> = {}): Promise<WebGpuModule> {
  const key = JSON.stringify([ir.name, ir.file, ir.nodes.length, sizes, options]);
  if (!cache.has(key)) {
    cache.set(
      key,
      (async () => {
        const compiled = await compileWgslCell(ir, { ...options, dims: sizes });
        const dir = mkdtempSync(join(tmpdir(), "lstmc-wgsl-"));
        writeAtomically(dir, "package.json", '{ "type": "module" }\n');
        const file = writeAtomically(dir, compiled.host.fileName, compiled.host.text);
        return (await import(pathToFileURL(file).href)) as WebGpuModule;
      })(),
    );
  }
  return cache.get(key)!;
}

const f64 = (tensors: Tensors) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float64Array.from(v)]));

export async function runWebGpu(ir: CellIR, request: RunRequest, withGrads: boolean): Promise<ForwardResult & { grads: Gradients | null }> {
  const gpu = await nodeDevice();
  const module = await loadWebGpuModule(ir, request.sizes);
  const cell = module.createCell(gpu.device);
  try {
    const { params, inputs, initial, batch, steps } = request.sequence;
    const result = await cell.forward(params, inputs, initial, { batch, steps });
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
