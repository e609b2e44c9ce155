// Maps PyTorch's single-layer torch.nn.RNN / LSTM / GRU weights (state_dict
// names weight_ih_l0 [G·H, I], weight_hh_l0 [G·H, H], bias_ih_l0, bias_hh_l0
// [G·H]) onto the spec library's named parameters, and back. Gate block orders:
// LSTM i,f,g,o; GRU r,z,n. Only the sum of the two biases matters, except for
// the GRU's n gate, whose recurrent bias sits inside the reset product.
// fromTorch takes a whole state_dict (several layers, _reverse directions,
// proj_size's weight_hr) onto per-layer parameter sets.
import { AdapterError, addVectors, requireParam, splitGateBlocks, stackGateBlocks, type NamedParams } from "./onnx.ts";

/** A single-layer, single-direction PyTorch recurrent module's state_dict, flat and row-major. Missing biases mean bias=False. */
export interface TorchRecurrentWeights {
  readonly weight_ih_l0: ArrayLike<number>;
  readonly weight_hh_l0: ArrayLike<number>;
  readonly bias_ih_l0?: ArrayLike<number>;
  readonly bias_hh_l0?: ArrayLike<number>;
}

interface TorchBlocks {
  readonly ih: Float64Array[];
  readonly hh: Float64Array[];
  readonly biasIh: Float64Array[];
  readonly biasHh: Float64Array[];
}

function torchBlocks(weights: TorchRecurrentWeights, gateCount: number, hiddenSize: number): TorchBlocks {
  const bias = (value: ArrayLike<number> | undefined, field: string) =>
    value ? splitGateBlocks(value, gateCount, hiddenSize, field) : Array.from({ length: gateCount }, () => new Float64Array(hiddenSize));
  return {
    ih: splitGateBlocks(weights.weight_ih_l0, gateCount, hiddenSize, "weight_ih_l0"),
    hh: splitGateBlocks(weights.weight_hh_l0, gateCount, hiddenSize, "weight_hh_l0"),
    biasIh: bias(weights.bias_ih_l0, "bias_ih_l0"),
    biasHh: bias(weights.bias_hh_l0, "bias_hh_l0"),
  };
}

/** Names gate g's blocks W<suffix>, U<suffix> and b<suffix> = bias_ih + bias_hh, for suffixes[g] in PyTorch's order. */
function summedBiasParams(blocks: TorchBlocks, suffixes: readonly string[]): NamedParams {
  return Object.fromEntries(
    suffixes.flatMap((suffix, g) => [
      [`W${suffix}`, blocks.ih[g]!],
      [`U${suffix}`, blocks.hh[g]!],
      [`b${suffix}`, addVectors(blocks.biasIh[g]!, blocks.biasHh[g]!)],
    ]),
  );
}

/** Stacks named parameters into a state_dict; the whole bias goes to bias_ih_l0 except `recurrentBias` (per gate, or zeros). */
function torchWeightsFrom(
  params: NamedParams,
  names: { readonly ih: readonly string[]; readonly hh: readonly string[]; readonly bias: readonly string[] },
  recurrentBias: (gate: number) => Float64Array,
): Required<TorchRecurrentWeights> {
  const stack = (list: readonly string[]) => stackGateBlocks(list.map((name) => requireParam(params, name)));
  return {
    weight_ih_l0: stack(names.ih),
    weight_hh_l0: stack(names.hh),
    bias_ih_l0: stack(names.bias),
    bias_hh_l0: stackGateBlocks(names.bias.map((_, g) => recurrentBias(g))),
  };
}

const LSTM_SUFFIXES = ["_i", "_f", "_g", "_o"] as const;
const GRU_SUFFIXES = ["_r", "_z", "_n"] as const;
/** The GRU's candidate gate, whose recurrent bias is a parameter of its own (b_hn). */
const GRU_CANDIDATE = 2;

/** torch.nn.LSTM weights (gates i, f, g, o) -> lstm.lstm's parameters. */
export function lstmParamsFromTorch(weights: TorchRecurrentWeights, hiddenSize: number): NamedParams {
  return summedBiasParams(torchBlocks(weights, 4, hiddenSize), LSTM_SUFFIXES);
}

/** lstm.lstm's parameters -> torch.nn.LSTM weights (bias_hh_l0 = 0). */
export function lstmParamsToTorch(params: NamedParams, hiddenSize: number): Required<TorchRecurrentWeights> {
  const names = (prefix: string) => LSTM_SUFFIXES.map((suffix) => prefix + suffix);
  return torchWeightsFrom(params, { ih: names("W"), hh: names("U"), bias: names("b") }, () => new Float64Array(hiddenSize));
}

/** torch.nn.GRU weights (gates r, z, n) -> gru_cudnn.lstm's parameters (b_n = bias_ih_n, b_hn = bias_hh_n). */
export function gruParamsFromTorch(weights: TorchRecurrentWeights, hiddenSize: number): NamedParams {
  const blocks = torchBlocks(weights, 3, hiddenSize);
  return {
    ...summedBiasParams(blocks, GRU_SUFFIXES.slice(0, GRU_CANDIDATE)),
    W_n: blocks.ih[GRU_CANDIDATE]!,
    U_n: blocks.hh[GRU_CANDIDATE]!,
    b_n: blocks.biasIh[GRU_CANDIDATE]!,
    b_hn: blocks.biasHh[GRU_CANDIDATE]!,
  };
}

/** gru_cudnn.lstm's parameters -> torch.nn.GRU weights (bias_hh_l0 holds only b_hn). */
export function gruParamsToTorch(params: NamedParams, hiddenSize: number): Required<TorchRecurrentWeights> {
  const names = (prefix: string) => GRU_SUFFIXES.map((suffix) => prefix + suffix);
  const zeros = new Float64Array(hiddenSize);
  return torchWeightsFrom(params, { ih: names("W"), hh: names("U"), bias: names("b") }, (g) => (g === GRU_CANDIDATE ? requireParam(params, "b_hn") : zeros));
}

/** torch.nn.RNN weights (nonlinearity='tanh') -> rnn.lstm's parameters. */
export function rnnParamsFromTorch(weights: TorchRecurrentWeights, hiddenSize: number): NamedParams {
  return summedBiasParams(torchBlocks(weights, 1, hiddenSize), [""]);
}

/** rnn.lstm's parameters -> torch.nn.RNN weights (bias_hh_l0 = 0). */
export function rnnParamsToTorch(params: NamedParams, hiddenSize: number): Required<TorchRecurrentWeights> {
  return torchWeightsFrom(params, { ih: ["W"], hh: ["U"], bias: ["b"] }, () => new Float64Array(hiddenSize));
}

// --- Whole state dicts: layers, directions, proj_size ------------------------

/** A torch.nn.RNN / LSTM / GRU state_dict, flat and row-major: any number of layers, either direction, proj_size. */
export type TorchStateDict = Readonly<Record<string, ArrayLike<number>>>;

/** The torch module a state dict comes from, which fixes its gates and the spec it maps onto. */
export type TorchModuleKind = "rnn" | "lstm" | "gru";

const FROM_TORCH: Readonly<Record<TorchModuleKind, (weights: TorchRecurrentWeights, hiddenSize: number) => NamedParams>> = {
  rnn: rnnParamsFromTorch,
  lstm: lstmParamsFromTorch,
  gru: gruParamsFromTorch,
};

const TENSOR_NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"] as const;
type TensorName = (typeof TENSOR_NAMES)[number];
const STATE_DICT_KEY = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(0|[1-9][0-9]*)(_reverse)?$/;

/** One layer's weights in one direction, keyed by tensor name, with the suffix its state_dict keys carry. */
interface TorchSubLayer {
  readonly layer: number;
  readonly reverse: boolean;
  readonly suffix: string;
  readonly tensors: Partial<Record<TensorName, ArrayLike<number>>>;
}

/** Sorts a state dict's keys into layers and directions; an unknown key is an AdapterError. */
function subLayersOf(stateDict: TorchStateDict): Map<string, TorchSubLayer> {
  const subLayers = new Map<string, TorchSubLayer>();
  for (const [key, value] of Object.entries(stateDict)) {
    const match = STATE_DICT_KEY.exec(key);
    if (!match) {
      throw new AdapterError(
        `unknown state_dict key '${key}': expected weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k> or weight_hr_l<k>, each optionally ending in _reverse`,
      );
    }
    const [, tensor, layer, reverse] = match as unknown as [string, TensorName, string, string | undefined];
    const suffix = `_l${layer}${reverse ?? ""}`;
    const subLayer = subLayers.get(suffix) ?? { layer: Number(layer), reverse: reverse !== undefined, suffix, tensors: {} };
    subLayer.tensors[tensor] = value;
    subLayers.set(suffix, subLayer);
  }
  return subLayers;
}

/** Every layer 0..L-1 in every direction the dict has must be there: the first missing key, or null. */
function missingSubLayer(subLayers: Map<string, TorchSubLayer>): string | null {
  const layerCount = Math.max(...[...subLayers.values()].map((s) => s.layer)) + 1;
  const directions = [...subLayers.values()].some((s) => s.reverse) ? ["", "_reverse"] : [""];
  for (let layer = 0; layer < layerCount; layer++) {
    for (const direction of directions) if (!subLayers.has(`_l${layer}${direction}`)) return `weight_ih_l${layer}${direction}`;
  }
  return null;
}

/**
 * The tensors one layer in one direction must have: both weights; both biases or neither (bias=False);
 * weight_hr (proj_size) exactly when the dict has it anywhere, and only for an LSTM.
 */
function checkSubLayer(subLayer: TorchSubLayer, kind: TorchModuleKind, projected: boolean): void {
  const { tensors, suffix } = subLayer;
  const required: TensorName[] = ["weight_ih", "weight_hh"];
  if (tensors.bias_ih || tensors.bias_hh) required.push("bias_ih", "bias_hh");
  if (projected) required.push("weight_hr");
  for (const name of required) if (!tensors[name]) throw new AdapterError(`state_dict key '${name}${suffix}' is missing`);
  if (projected && kind !== "lstm") throw new AdapterError(`state_dict key 'weight_hr${suffix}': only torch.nn.LSTM has proj_size, not torch.nn.${kind.toUpperCase()}`);
}

/** One layer in one direction -> its cell's parameters (lstm_proj's W_hr [P, H] when projected). */
function subLayerParams(subLayer: TorchSubLayer, kind: TorchModuleKind, hiddenSize: number): NamedParams {
  const { tensors, suffix } = subLayer;
  const weights: TorchRecurrentWeights = {
    weight_ih_l0: tensors.weight_ih!,
    weight_hh_l0: tensors.weight_hh!,
    ...(tensors.bias_ih ? { bias_ih_l0: tensors.bias_ih, bias_hh_l0: tensors.bias_hh! } : {}),
  };
  const params = FROM_TORCH[kind](weights, hiddenSize);
  if (!tensors.weight_hr) return params;
  // weight_hh is [4H, P] and weight_hr [P, H]: both hold 4·H·P numbers between them in a 4:1 ratio.
  const projectionLength = tensors.weight_hh!.length / 4;
  if (tensors.weight_hr.length !== projectionLength) {
    throw new AdapterError(`weight_hr${suffix} has ${tensors.weight_hr.length} numbers, expected proj_size·hidden_size (${projectionLength}) from weight_hh${suffix}`);
  }
  return { ...params, W_hr: Float64Array.from(tensors.weight_hr) };
}

/** The run contract's layer names: L1, L2, … by depth; fwd and bwd for the directions of one layer; L1_fwd, … for both. */
function layerName(subLayer: TorchSubLayer, layerCount: number, bidirectional: boolean): string {
  const direction = subLayer.reverse ? "bwd" : "fwd";
  if (layerCount === 1) return direction;
  return bidirectional ? `L${subLayer.layer + 1}_${direction}` : `L${subLayer.layer + 1}`;
}

/**
 * A whole torch.nn.RNN / LSTM / GRU state_dict -> named parameters. One layer in one direction maps onto the
 * library spec's names (rnn.lstm, lstm.lstm, gru_cudnn.lstm; lstm_proj.lstm when the dict has weight_hr_l0);
 * several onto "<layer>.<param>" keys, as in the run contract of models: "L1.W_i", "L2.U_o" for stacked layers,
 * "fwd.W_i", "bwd.W_i" for a bidirectional layer, "L1_fwd.W_i", "L2_bwd.W_i" for stacked bidirectional ones.
 * An unknown or missing key is an AdapterError naming it.
 */
export function fromTorch(stateDict: TorchStateDict, kind: TorchModuleKind, hiddenSize: number): NamedParams {
  const subLayers = subLayersOf(stateDict);
  if (subLayers.size === 0) throw new AdapterError("the state_dict is empty: expected weight_ih_l0, weight_hh_l0, …");
  const missing = missingSubLayer(subLayers);
  if (missing) throw new AdapterError(`state_dict key '${missing}' is missing`);
  const projected = Object.keys(stateDict).some((key) => key.startsWith("weight_hr_"));
  for (const subLayer of subLayers.values()) checkSubLayer(subLayer, kind, projected);
  if (subLayers.size === 1) return subLayerParams(subLayers.get("_l0")!, kind, hiddenSize);
  const layerCount = Math.max(...[...subLayers.values()].map((s) => s.layer)) + 1;
  const bidirectional = subLayers.has("_l0_reverse");
  return Object.fromEntries(
    [...subLayers.values()].flatMap((subLayer) => {
      const prefix = layerName(subLayer, layerCount, bidirectional);
      return Object.entries(subLayerParams(subLayer, kind, hiddenSize)).map(([name, value]) => [`${prefix}.${name}`, value]);
    }),
  );
}
