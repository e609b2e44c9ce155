// Random run requests, for `lstmc run --example` and `lstmc gradcheck`.
import { inputBufferLength, type SizeBinding } from "../ir/bind.ts";
import { evaluateDim } from "../ir/dims.ts";
import { initParams, makeRandom } from "../ir/initialize.ts";
import type { CellIR } from "../ir/types.ts";
import { checkRunBuffers, type RunRequest } from "./contract.ts";

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
