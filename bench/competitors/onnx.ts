// onnxruntime-node competitor (forward only: ONNX Runtime's CPU provider has
// no training / backward in this package), on the model of ./onnx-model.ts.

import * as ort from 'onnxruntime-node';
import { type CellKind, type Sizes, type Weights } from './common.ts';
import { buildOnnxModel } from './onnx-model.ts';

// ---------------------------------------------------------------- runner

export interface OnnxCell {
  /** Forward pass; resolves to h_seq [T,B,H]. */
  forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export async function createOnnx(cell: CellKind, sizes: Sizes, weights: Weights, threads = 1): Promise<OnnxCell> {
  const { B, I, H, T } = sizes;
  const model = buildOnnxModel(cell, sizes, weights);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  async function forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      X: new ort.Tensor('float32', x, [T, B, I]),
      initial_h: new ort.Tensor('float32', h0, [1, B, H]),
    };
    if (cell === 'lstm') feeds['initial_c'] = new ort.Tensor('float32', c0, [1, B, H]);
    const out = await session.run(feeds);
    return out['Y'].data as Float32Array; // [T,1,B,H] == [T,B,H]
  }
  return { forward, dispose: () => session.release() };
}
