// A model's backward pass (through every layer, both directions, the head and
// the loss) against central finite differences of
// L = Σ upstream.outputs ⊙ outputs + Σ upstream.final ⊙ final + loss.
import type { ModelIR } from "../ir/model-types.ts";
import { forwardBackwardModel, forwardModel } from "../interp/model.ts";
import { compareWithDifferences, type TensorCheck } from "./gradcheck.ts";
import type { ModelRunRequest } from "./model-contract.ts";

function modelLoss(ir: ModelIR, request: ModelRunRequest): number {
  const result = forwardModel(ir, request.sizes, request.sequence);
  let sum = result.loss ?? 0;
  for (const [name, values] of Object.entries(result.outputs)) values.forEach((v, i) => (sum += v * request.upstream.outputs[name]![i]!));
  for (const [name, values] of Object.entries(result.final)) values.forEach((v, i) => (sum += v * request.upstream.final[name]![i]!));
  return sum;
}

export function gradcheckModel(ir: ModelIR, request: ModelRunRequest, onTensor: (check: TensorCheck) => void = () => {}): TensorCheck[] {
  const { grads } = forwardBackwardModel(ir, request.sizes, request.sequence, request.upstream);
  const { params, inputs, initial } = request.sequence;
  const groups = [
    ["params", params, grads.params],
    ["inputs", inputs, grads.inputs],
    ["initial", initial, grads.initial],
  ] as const;
  return compareWithDifferences(groups, () => modelLoss(ir, request), onTensor);
}
