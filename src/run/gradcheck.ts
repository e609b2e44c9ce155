// Checks the interpreter's backward pass against central finite differences of
// the loss L = Σ upstream.outputs ⊙ outputs + Σ upstream.final ⊙ final.
import type { CellIR } from "../ir/types.ts";
import { forward, forwardBackward, type Sequence } from "../interp/interpret.ts";
import type { RunRequest } from "./contract.ts";

export interface TensorCheck {
  /** e.g. "params.W_f", "inputs.x", "initial.c" */
  readonly tensor: string;
  readonly worstRelativeError: number;
  readonly worstAbsoluteError: number;
}

const STEP = 1e-6;

function loss(ir: CellIR, request: RunRequest, sequence: Sequence): number {
  const result = forward(ir, request.sizes, sequence);
  let sum = 0;
  for (const [name, values] of Object.entries(result.outputs)) values.forEach((v, i) => (sum += v * request.upstream.outputs[name]![i]!));
  for (const [name, values] of Object.entries(result.final)) values.forEach((v, i) => (sum += v * request.upstream.final[name]![i]!));
  return sum;
}

/**
 * Relative error |a - n| / max(1, |a|, |n|): absolute for small gradients,
 * relative for large ones.
 */
export function relativeError(analytic: number, numeric: number): number {
  return Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
}

/** `onTensor` is called as each tensor's check completes, so long checks can show progress. */
export function gradcheck(ir: CellIR, request: RunRequest, onTensor: (check: TensorCheck) => void = () => {}): TensorCheck[] {
  const { grads } = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
  const groups = [
    ["params", request.sequence.params, grads.params],
    ["inputs", request.sequence.inputs, grads.inputs],
    ["initial", request.sequence.initial, grads.initial],
  ] as const;
  return compareWithDifferences(groups, () => loss(ir, request, request.sequence), onTensor);
}

type TensorGroup = readonly [group: string, values: Readonly<Record<string, Float64Array>>, analytic: Readonly<Record<string, Float64Array>>];

/**
 * Each tensor's analytic gradient against central differences of `lossOf`,
 * which reads the tensors in `groups` (nudged in place, then restored).
 */
export function compareWithDifferences(groups: readonly TensorGroup[], lossOf: () => number, onTensor: (check: TensorCheck) => void): TensorCheck[] {
  const checks: TensorCheck[] = [];
  for (const [group, values, analytic] of groups) {
    for (const [name, tensor] of Object.entries(values)) {
      let worstRelativeError = 0;
      let worstAbsoluteError = 0;
      for (let i = 0; i < tensor.length; i++) {
        const original = tensor[i]!;
        tensor[i] = original + STEP;
        const up = lossOf();
        tensor[i] = original - STEP;
        const down = lossOf();
        tensor[i] = original;
        const numeric = (up - down) / (2 * STEP);
        const a = analytic[name]![i]!;
        worstRelativeError = Math.max(worstRelativeError, relativeError(a, numeric));
        worstAbsoluteError = Math.max(worstAbsoluteError, Math.abs(a - numeric));
      }
      const check = { tensor: `${group}.${name}`, worstRelativeError, worstAbsoluteError };
      checks.push(check);
      onTensor(check);
    }
  }
  return checks;
}
