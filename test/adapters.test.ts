// The weight-layout adapters: PyTorch state_dicts and ONNX tensors onto the
// spec library's named parameters. The PyTorch direction is checked against
// the PyTorch reference files; the ONNX cases themselves are in
// oracles.onnx.test.ts.
import { describe, expect, test } from "vitest";
import {
  AdapterError,
  adaptOnnxRecurrentNode,
  gruParamsFromOnnx,
  gruParamsToOnnx,
  lstmParamsFromOnnx,
  lstmParamsToOnnx,
  onnxYFromTimeMajor,
  rnnParamsFromOnnx,
  rnnParamsToOnnx,
  timeMajorFromOnnxX,
  type NamedParams,
  type OnnxRecurrentNode,
} from "../src/adapters/onnx.ts";
import {
  gruParamsFromTorch,
  gruParamsToTorch,
  lstmParamsFromTorch,
  lstmParamsToTorch,
  rnnParamsFromTorch,
  rnnParamsToTorch,
  type TorchRecurrentWeights,
} from "../src/adapters/torch.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { compareRunResponse, loadLibraryCell, torchOracleCase, torchOracleFiles, type TorchOracleCase } from "./helpers/torch-oracle.ts";

const TOLERANCE = 1e-9;

/** A small seeded generator (mulberry32), so a failing split can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toParams(data: Record<string, number[]>): NamedParams {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Float64Array.from(v)]));
}

interface TorchAdapter {
  /** The spec's gate suffixes in PyTorch's block order, written here independently of the adapter. */
  readonly gates: readonly string[];
  /** The GRU's n gate keeps its recurrent bias apart as b_hn; for the other gates only bias_ih + bias_hh matters. */
  readonly recurrentBias: Readonly<Record<string, string>>;
  readonly toTorch: (params: NamedParams, hiddenSize: number) => Required<TorchRecurrentWeights>;
  readonly fromTorch: (weights: TorchRecurrentWeights, hiddenSize: number) => NamedParams;
}

const TORCH_ADAPTERS: Readonly<Record<string, TorchAdapter>> = {
  rnn_tanh: { gates: [""], recurrentBias: {}, toTorch: rnnParamsToTorch, fromTorch: rnnParamsFromTorch },
  lstm: { gates: ["_i", "_f", "_g", "_o"], recurrentBias: {}, toTorch: lstmParamsToTorch, fromTorch: lstmParamsFromTorch },
  gru_torch: { gates: ["_r", "_z", "_n"], recurrentBias: { _n: "b_hn" }, toTorch: gruParamsToTorch, fromTorch: gruParamsFromTorch },
};

/** Named parameters -> a PyTorch state_dict, by hand: the whole bias in bias_ih_l0 except the recurrent ones. */
function packForTorch(adapter: TorchAdapter, params: Record<string, number[]>, hiddenSize: number): Required<TorchRecurrentWeights> {
  const { gates, recurrentBias } = adapter;
  return {
    weight_ih_l0: Float64Array.from(gates.flatMap((k) => params[`W${k}`]!)),
    weight_hh_l0: Float64Array.from(gates.flatMap((k) => params[`U${k}`]!)),
    bias_ih_l0: Float64Array.from(gates.flatMap((k) => params[`b${k}`]!)),
    bias_hh_l0: Float64Array.from(gates.flatMap((k) => (recurrentBias[k] ? params[recurrentBias[k]]! : new Array<number>(hiddenSize).fill(0)))),
  };
}

/** Moves a random share of bias_ih_l0 into bias_hh_l0 for the gates where only the sum matters. */
function splitBiasRandomly(weights: Required<TorchRecurrentWeights>, adapter: TorchAdapter, hiddenSize: number, seed: number): Required<TorchRecurrentWeights> {
  const random = seededRandom(seed);
  const biasIh = Float64Array.from(weights.bias_ih_l0);
  const biasHh = Float64Array.from(weights.bias_hh_l0);
  adapter.gates.forEach((gate, g) => {
    if (adapter.recurrentBias[gate]) return;
    for (let i = g * hiddenSize; i < (g + 1) * hiddenSize; i++) {
      const share = 4 * random() - 2;
      biasIh[i] = biasIh[i]! - share;
      biasHh[i] = biasHh[i]! + share;
    }
  });
  return { ...weights, bias_ih_l0: biasIh, bias_hh_l0: biasHh };
}

/** Swaps gate blocks a and b of weight_ih_l0. */
function swapInputBlocks(weights: Required<TorchRecurrentWeights>, gateCount: number, a: number, b: number): Required<TorchRecurrentWeights> {
  const data = Float64Array.from(weights.weight_ih_l0);
  const blockLength = data.length / gateCount;
  const blockA = data.slice(a * blockLength, (a + 1) * blockLength);
  data.copyWithin(a * blockLength, b * blockLength, (b + 1) * blockLength);
  data.set(blockA, b * blockLength);
  return { ...weights, weight_ih_l0: data };
}

/** Runs a reference case with the given parameters in place of its own; the comparison with PyTorch. */
function runWithParams(oracleCase: TorchOracleCase, params: NamedParams) {
  const ir = loadLibraryCell(oracleCase.specFile);
  const plainParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v)]));
  const request = readRunRequest(ir, { ...oracleCase.data, params: plainParams });
  const result = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
  return compareRunResponse(writeRunResponse(result, result.grads), oracleCase.expected, TOLERANCE);
}

const torchLayoutCases = torchOracleFiles()
  .map(torchOracleCase)
  .filter((c) => c.oracle.cell in TORCH_ADAPTERS);

describe("PyTorch adapter", () => {
  test.each(torchLayoutCases.map((c) => [c.name, c] as const))(
    "%s: packed as a PyTorch state_dict with a random bias split, mapped back, matches PyTorch",
    (_name, oracleCase) => {
      const adapter = TORCH_ADAPTERS[oracleCase.oracle.cell]!;
      const hiddenSize = oracleCase.data.dims.H;
      const packed = packForTorch(adapter, oracleCase.data.params, hiddenSize);
      const split = splitBiasRandomly(packed, adapter, hiddenSize, oracleCase.oracle.seed + 1);
      expect(Array.from(split.bias_hh_l0).slice(0, hiddenSize)).not.toEqual(new Array(hiddenSize).fill(0));
      expect(runWithParams(oracleCase, adapter.fromTorch(split, hiddenSize)).failures).toEqual([]);
    },
  );

  test.each(torchLayoutCases.map((c) => [c.name, c] as const))("%s: named -> PyTorch packs the gates in PyTorch's order", (_name, oracleCase) => {
    const adapter = TORCH_ADAPTERS[oracleCase.oracle.cell]!;
    const hiddenSize = oracleCase.data.dims.H;
    expect(adapter.toTorch(toParams(oracleCase.data.params), hiddenSize)).toEqual(packForTorch(adapter, oracleCase.data.params, hiddenSize));
  });

  // Without this the tests above could pass for an adapter that ignores gate order.
  test.each([
    ["lstm_4", 0, 1],
    ["gru_torch_4", 0, 1],
  ] as const)("%s: swapping gate blocks %i and %i of weight_ih_l0 breaks the match", (name, a, b) => {
    const oracleCase = torchLayoutCases.find((c) => c.name === name)!;
    const adapter = TORCH_ADAPTERS[oracleCase.oracle.cell]!;
    const hiddenSize = oracleCase.data.dims.H;
    const swapped = swapInputBlocks(packForTorch(adapter, oracleCase.data.params, hiddenSize), adapter.gates.length, a, b);
    expect(runWithParams(oracleCase, adapter.fromTorch(swapped, hiddenSize)).failures).not.toEqual([]);
  });

  test("the GRU's recurrent candidate bias stays apart as b_hn", () => {
    const hiddenSize = 2;
    const weights: TorchRecurrentWeights = {
      weight_ih_l0: new Float64Array(6 * 3),
      weight_hh_l0: new Float64Array(6 * 2),
      bias_ih_l0: [1, 2, 3, 4, 5, 6],
      bias_hh_l0: [10, 20, 30, 40, 50, 60],
    };
    const params = gruParamsFromTorch(weights, hiddenSize);
    expect(Array.from(params["b_r"]!)).toEqual([11, 22]);
    expect(Array.from(params["b_z"]!)).toEqual([33, 44]);
    expect(Array.from(params["b_n"]!)).toEqual([5, 6]);
    expect(Array.from(params["b_hn"]!)).toEqual([50, 60]);
  });
});

describe("ONNX adapter", () => {
  const byCell = (cell: string) => torchOracleCase(torchOracleFiles().find((f) => f.endsWith(`/${cell}_4.json`))!);

  test.each([
    ["lstm", (p: NamedParams, h: number, i: number) => lstmParamsFromOnnx(lstmParamsToOnnx(p, h, i), h)],
    ["lstm_peephole", (p: NamedParams, h: number, i: number) => lstmParamsFromOnnx(lstmParamsToOnnx(p, h, i), h)],
    ["gru_torch", (p: NamedParams, h: number, i: number) => gruParamsFromOnnx(gruParamsToOnnx(p, h, i, true), h, true)],
    ["rnn_tanh", (p: NamedParams, h: number, i: number) => rnnParamsFromOnnx(rnnParamsToOnnx(p, h, i), h)],
  ] as const)("%s parameters survive named -> ONNX -> named", (cell, roundTrip) => {
    const { data } = byCell(cell);
    const params = toParams(data.params);
    expect(roundTrip(params, data.dims.H, data.dims.I)).toEqual(params);
  });

  test("gru.lstm parameters survive named -> ONNX (linear_before_reset = 0) -> named, with z's sign flipped in ONNX", () => {
    const [hiddenSize, inputSize] = [2, 3];
    const random = seededRandom(7);
    const lengthOf = (name: string) => (name.startsWith("W_") ? hiddenSize * inputSize : name.startsWith("U_") ? hiddenSize * hiddenSize : hiddenSize);
    const names = loadLibraryCell("specs/gru.lstm").params.map((p) => p.name);
    const params: NamedParams = Object.fromEntries(names.map((name) => [name, Float64Array.from({ length: lengthOf(name) }, () => random() - 0.5)]));
    const onnx = gruParamsToOnnx(params, hiddenSize, inputSize, false);
    expect(onnx.W.data[0]).toBe(-params["W_z"]![0]!);
    expect(gruParamsFromOnnx(onnx, hiddenSize, false)).toEqual(params);
  });

  test("layout 1 X [B, T, I] becomes time-major [T, B, I], and Y goes back to [B, T, 1, H]", () => {
    // batch 2, steps 3, one feature: X[b][t] = 10·b + t
    const x = timeMajorFromOnnxX({ shape: [2, 3, 1], data: [0, 1, 2, 10, 11, 12] }, 1);
    expect(x).toMatchObject({ steps: 3, batch: 2, inputSize: 1 });
    expect(Array.from(x.data)).toEqual([0, 10, 1, 11, 2, 12]);
    const y = onnxYFromTimeMajor(x.data, 3, 2, 1, 1);
    expect(y.shape).toEqual([2, 3, 1, 1]);
    expect(Array.from(y.data)).toEqual([0, 1, 2, 10, 11, 12]);
    expect(onnxYFromTimeMajor(x.data, 3, 2, 1, 0).shape).toEqual([3, 1, 2, 1]);
  });

  const baseNode: OnnxRecurrentNode = {
    op: "LSTM",
    attributes: { hidden_size: 1 },
    inputs: {
      X: { shape: [2, 1, 1], data: [1, 2] },
      W: { shape: [1, 4, 1], data: [0.1, 0.2, 0.3, 0.4] },
      R: { shape: [1, 4, 1], data: [0.1, 0.2, 0.3, 0.4] },
    },
  };

  test("a plain forward LSTM node is accepted", () => {
    expect(adaptOnnxRecurrentNode(baseNode).specFile).toBe("lstm.lstm");
  });

  test.each([
    ["bidirectional", { ...baseNode, attributes: { hidden_size: 1, direction: "bidirectional" } }, /direction 'bidirectional'/],
    ["reverse", { ...baseNode, attributes: { hidden_size: 1, direction: "reverse" } }, /direction 'reverse'/],
    ["clip", { ...baseNode, attributes: { hidden_size: 1, clip: 0.5 } }, /clip/],
    ["other activations", { ...baseNode, attributes: { hidden_size: 1, activations: ["HardSigmoid", "Tanh", "Tanh"] } }, /activations/],
    ["input_forget", { ...baseNode, attributes: { hidden_size: 1, input_forget: 1 } }, /input_forget/],
    ["short sequence_lens", { ...baseNode, inputs: { ...baseNode.inputs, sequence_lens: { shape: [1], data: [1] } } }, /sequence_lens \[1\]/],
    ["W rows that disagree with hidden_size", { ...baseNode, attributes: { hidden_size: 2 } }, /W has 4 rows, but LSTM with hidden_size 2 needs 8/],
    ["two directions of W", { ...baseNode, inputs: { ...baseNode.inputs, W: { shape: [2, 4, 1], data: new Array(8).fill(0) } } }, /W has 2 directions/],
  ] as const)("rejects %s with a clear error", (_what, node, message) => {
    expect(() => adaptOnnxRecurrentNode(node as OnnxRecurrentNode)).toThrow(AdapterError);
    expect(() => adaptOnnxRecurrentNode(node as OnnxRecurrentNode)).toThrow(message);
  });
});
