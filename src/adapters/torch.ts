// Maps PyTorch's single-layer torch.nn.RNN / LSTM / GRU weights (state_dict
// names weight_ih_l0 [G·H, I], weight_hh_l0 [G·H, H], bias_ih_l0, bias_hh_l0
// [G·H]) onto the spec library's named parameters, and back. Gate block orders:
// LSTM i,f,g,o; GRU r,z,n. Only the sum of the two biases matters, except for
// the GRU's n gate, whose recurrent bias sits inside the reset product.
import { addVectors, requireParam, splitGateBlocks, stackGateBlocks, type NamedParams } from "./onnx.ts";

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
