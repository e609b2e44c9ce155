// Random run requests, for `lstmc run --example` and `lstmc gradcheck`.
import { inputBufferLength, type SizeBinding } from "../ir/bind.ts";
import { evaluateDim } from "../ir/dims.ts";
import { initParams, makeRandom } from "../ir/initialize.ts";
import type { CellIR } from "../ir/types.ts";
import type { ModelIR } from "../ir/model-types.ts";
import { layerSizes } from "../interp/model.ts";
import { checkRunBuffers, type RunRequest } from "./contract.ts";
import { modelTensors, readModelRunRequest, type ModelRunRequest } from "./model-contract.ts";

export interface RandomOptions {
  readonly sizes: SizeBinding;
  readonly batch: number;
  readonly steps: number;
  readonly seed: number;
  /** Draw parameters uniformly in [-0.5, 0.5] instead of from the spec's initializers (so zero biases are exercised too). */
  readonly uniformParams?: boolean;
}

export function randomRequest(ir: CellIR, options: RandomOptions): RunRequest {
  const { sizes, batch, steps, seed } = options;
  checkRunBuffers(ir, sizes, steps, batch);
  const random = makeRandom(seed ^ 0x5bd1e995);
  const uniform = (length: number, scale: number) => Float64Array.from({ length }, () => scale * (2 * random() - 1));
  const vector = (shape: readonly { constant: number; terms: readonly (readonly [string, number])[] }[]) => evaluateDim(shape[0]!, sizes);
  const params = options.uniformParams
    ? Object.fromEntries(ir.params.map((p) => [p.name, uniform(p.shape.reduce((n, d) => n * evaluateDim(d, sizes), 1), 0.5)]))
    : initParams(ir, sizes, seed);
  return {
    sizes,
    sequence: {
      batch,
      steps,
      params,
      inputs: Object.fromEntries(ir.inputs.map((i) => [i.name, uniform(inputBufferLength(i, sizes, steps, batch), 1)])),
      initial: Object.fromEntries(ir.states.map((s) => [s.name, uniform(batch * vector(s.shape), 0.5)])),
    },
    upstream: {
      outputs: Object.fromEntries(ir.outputs.map((o) => [o.name, uniform(steps * batch * vector(o.shape), 1)])),
      final: Object.fromEntries(ir.states.map((s) => [s.name, uniform(batch * vector(s.shape), 1)])),
    },
  };
}

/**
 * A random request for a model, for `lstmc run --example`, `lstmc gradcheck`
 * and tests: each layer's parameters from its cell's initializers (or
 * uniform), the head's uniform, random class or value targets for a loss.
 */
export function randomModelRequest(ir: ModelIR, options: RandomOptions & { readonly lengths?: readonly number[] }): ModelRunRequest {
  const { sizes, batch, steps, seed } = options;
  const random = makeRandom(seed ^ 0x5bd1e995);
  const uniform = (length: number, scale: number) => Array.from({ length }, () => scale * (2 * random() - 1));
  const expected = modelTensors(ir, sizes, batch, steps);
  const layerParams = ir.layers.map((layer, i) =>
    options.uniformParams ? {} : Object.fromEntries(Object.entries(initParams(layer.cell, layerSizes(layer, sizes), seed + i)).map(([k, v]) => [`${layer.name}.${k}`, Array.from(v)])),
  );
  const params = Object.assign(Object.fromEntries(expected.params.map((p) => [p.name, uniform(p.length, 0.5)])), ...layerParams);
  const head = ir.head;
  const headRows = head ? (head.at === "step" ? steps * batch : batch) : 0;
  const classes = head ? evaluateDim(head.size, sizes) : 0;
  const targets = !ir.loss ? undefined : ir.loss.kind === "softmax_cross_entropy" ? Array.from({ length: headRows }, () => Math.floor(random() * classes)) : Array.from({ length: headRows * classes }, () => random());
  return readModelRunRequest(ir, {
    dims: sizes,
    batch,
    steps,
    params,
    inputs: Object.fromEntries(expected.inputs.map((i) => [i.name, uniform(i.length, 1)])),
    initial: Object.fromEntries(expected.states.map((s) => [s.name, uniform(s.length, 0.5)])),
    ...(options.lengths && { lengths: options.lengths }),
    ...(targets && { targets }),
    upstream: {
      outputs: Object.fromEntries(expected.outputs.map((o) => [o.name, uniform(o.length, 1)])),
      final: Object.fromEntries(expected.states.map((s) => [s.name, uniform(s.length, 1)])),
    },
  });
}
