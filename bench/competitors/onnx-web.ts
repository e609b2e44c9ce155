// onnxruntime-web competitor: the WebAssembly (SIMD) build of ONNX Runtime that
// JavaScript users pick for inference in a browser, run here in Node on its
// wasm backend (no WebGPU). Forward only, like onnxruntime-node, on the same
// hand-built model bytes (./onnx-model.ts).
//
// Streaming: `createOnnxWebStep` loads a T = 1 model with Y_h (and Y_c) as
// outputs, and each call runs one step and feeds the final states back, which
// is what a caller streaming one token at a time does.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-web';
import { type CellKind, type Sizes, type Weights } from './common.ts';
import { buildOnnxModel } from './onnx-model.ts';

/** Where the package's .wasm files lie: its main entry sits in dist/ beside them. */
function wasmDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + '/';
}

/** ort.env is global and read when the first session starts: every session of one process shares its thread count. */
function configure(threads: number): void {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = wasmDirectory();
  ort.env.logLevel = 'error';
}

async function session(model: Uint8Array, threads: number): Promise<ort.InferenceSession> {
  configure(threads);
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

export interface OnnxWebCell {
  /** Forward pass; resolves to h_seq [T,B,H]. */
  forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export async function createOnnxWeb(cell: CellKind, sizes: Sizes, weights: Weights, threads = 1): Promise<OnnxWebCell> {
  const { B, I, H, T } = sizes;
  const s = await session(buildOnnxModel(cell, sizes, weights), threads);
  async function forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      X: new ort.Tensor('float32', x, [T, B, I]),
      initial_h: new ort.Tensor('float32', h0, [1, B, H]),
    };
    if (cell === 'lstm') feeds['initial_c'] = new ort.Tensor('float32', c0, [1, B, H]);
    const out = await s.run(feeds);
    return out['Y'].data as Float32Array; // [T,1,B,H] == [T,B,H]
  }
  return { forward, dispose: () => s.release() };
}

export interface OnnxWebStep {
  /** One step for the B rows of `x` [B,I]; resolves to h [B,H], and the states carry over to the next call. */
  step(x: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export async function createOnnxWebStep(
  cell: CellKind,
  sizes: Sizes,
  weights: Weights,
  initial: { h: Float32Array; c: Float32Array },
  threads = 1,
): Promise<OnnxWebStep> {
  const { B, I, H } = sizes;
  const s = await session(buildOnnxModel(cell, { ...sizes, T: 1 }, weights, true), threads);
  let h: ort.Tensor = new ort.Tensor('float32', initial.h.slice(), [1, B, H]);
  let c: ort.Tensor = new ort.Tensor('float32', initial.c.slice(), [1, B, H]);
  async function step(x: Float32Array): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', x, [1, B, I]), initial_h: h };
    if (cell === 'lstm') feeds['initial_c'] = c;
    const out = await s.run(feeds);
    h = out['Y_h'];
    if (cell === 'lstm') c = out['Y_c'];
    return out['Y'].data as Float32Array;
  }
  return { step, dispose: () => s.release() };
}
