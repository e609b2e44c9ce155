// Named weights (a safetensors file's tensors) onto a spec's parameters: by
// exact name, or from a single-layer PyTorch state_dict (weight_ih_l0, …)
// through src/adapters/torch.ts. Every missing, extra or misshapen tensor is a
// WeightsError naming it.
import { gruParamsFromTorch, lstmParamsFromTorch, rnnParamsFromTorch, type TorchRecurrentWeights } from "../adapters/torch.ts";
import { AdapterError, type NamedParams } from "../adapters/onnx.ts";
import type { SizeBinding } from "../ir/bind.ts";
import { evaluateDim } from "../ir/dims.ts";
import type { CellIR } from "../ir/types.ts";
import { stored, type StoredTensor } from "../runtime/safetensors.ts";
import { paramShapeByName } from "./cell.ts";

export class WeightsError extends Error {}

const TORCH_NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"] as const;

/** Each parameter's shape at these sizes. */
function paramShapes(ir: CellIR, sizes: SizeBinding): Map<string, number[]> {
  return new Map(ir.params.map((p) => [p.name, p.shape.map((d) => evaluateDim(d, sizes))]));
}

/** The tensors renamed and checked against the spec, and a line saying how they were matched. */
export function mapWeights(ir: CellIR, sizes: SizeBinding, tensors: Readonly<Record<string, StoredTensor>>): { tensors: Record<string, StoredTensor>; how: string } {
  const shapes = paramShapes(ir, sizes);
  const names = Object.keys(tensors);
  const torchStyle = names.some((n) => /^(weight|bias)_(ih|hh|hr)_l\d+/.test(n));
  const params = torchStyle ? fromTorch(tensors, sizes) : Object.fromEntries(names.map((n) => [n, tensors[n]!]));
  const extra = Object.keys(params).filter((n) => !shapes.has(n));
  if (extra.length > 0) throw new WeightsError(`${extra.map((n) => `'${n}'`).join(", ")} ${extra.length === 1 ? "is not a parameter" : "are not parameters"} of cell ${ir.name} (its parameters: ${[...shapes.keys()].join(", ")})`);
  const missing = [...shapes.keys()].filter((n) => !Object.hasOwn(params, n));
  if (missing.length > 0) throw new WeightsError(`no tensor for parameter${missing.length === 1 ? "" : "s"} ${missing.join(", ")} of cell ${ir.name}`);
  for (const [name, shape] of shapes) {
    const got = params[name]!.shape;
    if (got.join() !== shape.join()) throw new WeightsError(`'${name}' has shape [${got.join(", ")}], but cell ${ir.name} needs [${shape.join(", ")}]`);
  }
  return { tensors: params, how: torchStyle ? `mapped a PyTorch state_dict (${names.join(", ")}) onto ${shapes.size} parameters` : `matched ${shapes.size} parameters by name` };
}

/** A single-layer torch.nn.RNN / GRU / LSTM state_dict -> the library's parameter names (the gate count tells the module). */
function fromTorch(tensors: Readonly<Record<string, StoredTensor>>, sizes: SizeBinding): Record<string, StoredTensor> {
  const unknown = Object.keys(tensors).filter((n) => !(TORCH_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new WeightsError(`${unknown.map((n) => `'${n}'`).join(", ")}: only single-layer, single-direction state_dicts (${TORCH_NAMES.join(", ")}) are mapped`);
  const ih = tensors["weight_ih_l0"];
  const hh = tensors["weight_hh_l0"];
  if (!ih || !hh) throw new WeightsError("a PyTorch state_dict needs weight_ih_l0 and weight_hh_l0");
  const hiddenSize = hh.shape[1];
  if (hh.shape.length !== 2 || hiddenSize === undefined || hh.shape[0]! % hiddenSize !== 0) throw new WeightsError(`weight_hh_l0 has shape [${hh.shape.join(", ")}], not [G·H, H]`);
  if (sizes["H"] !== undefined && sizes["H"] !== hiddenSize) throw new WeightsError(`weight_hh_l0 is for hidden size ${hiddenSize}, but the spec's H is ${sizes["H"]}`);
  const weights: TorchRecurrentWeights = { weight_ih_l0: ih.data, weight_hh_l0: hh.data, bias_ih_l0: tensors["bias_ih_l0"]?.data, bias_hh_l0: tensors["bias_hh_l0"]?.data };
  const gates = hh.shape[0]! / hiddenSize;
  const fromTorchModule: Record<number, (w: TorchRecurrentWeights, h: number) => NamedParams> = { 1: rnnParamsFromTorch, 3: gruParamsFromTorch, 4: lstmParamsFromTorch };
  const convert = fromTorchModule[gates];
  if (!convert) throw new WeightsError(`weight_hh_l0 has ${gates}·H rows: not an RNN (1), GRU (3) or LSTM (4)`);
  let params: NamedParams;
  try {
    params = convert(weights, hiddenSize);
  } catch (e) {
    if (e instanceof AdapterError) throw new WeightsError(e.message);
    throw e;
  }
  const inputSize = ih.shape[1]!;
  return Object.fromEntries(Object.entries(params).map(([name, data]) => [name, stored(data, paramShapeByName(name, inputSize, hiddenSize))]));
}
