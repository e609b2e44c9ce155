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
  fromTorch,
  gruParamsFromTorch,
  gruParamsToTorch,
  lstmParamsFromTorch,
  lstmParamsToTorch,
  rnnParamsFromTorch,
  rnnParamsToTorch,
  type TorchModuleKind,
  type TorchRecurrentWeights,
  type TorchStateDict,
} from "../src/adapters/torch.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { ADVANCED_ORACLE_DIR, compareRunResponse, loadLibraryCell, torchOracleCase, torchOracleFiles, type TorchOracleCase } from "./helpers/torch-oracle.ts";

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

/** The shape of a synthetic torch state dict: what torch.nn.LSTM(I, H, num_layers, bidirectional, proj_size) would hold. */
interface TorchModuleShape {
  readonly kind: TorchModuleKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly bidirectional: boolean;
  readonly projSize?: number;
}

const GATE_COUNT: Readonly<Record<TorchModuleKind, number>> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * A state dict whose every number says where it sits: key number k (in insertion order) holds 1000·(k+1) + i.
 * Layer l ≥ 1 reads the previous layer's output, (proj_size or H) per direction.
 */
function syntheticStateDict(shape: TorchModuleShape): Record<string, Float64Array> {
  const { kind, inputSize, hiddenSize, layers, bidirectional, projSize } = shape;
  const rows = GATE_COUNT[kind] * hiddenSize;
  const stateSize = projSize ?? hiddenSize;
  const directions = bidirectional ? ["", "_reverse"] : [""];
  const sizes: [string, number][] = [];
  for (let l = 0; l < layers; l++) {
    const layerInput = l === 0 ? inputSize : stateSize * directions.length;
    for (const d of directions) {
      sizes.push([`weight_ih_l${l}${d}`, rows * layerInput], [`weight_hh_l${l}${d}`, rows * stateSize], [`bias_ih_l${l}${d}`, rows], [`bias_hh_l${l}${d}`, rows]);
      if (projSize !== undefined) sizes.push([`weight_hr_l${l}${d}`, projSize * hiddenSize]);
    }
  }
  return Object.fromEntries(sizes.map(([key, length], k) => [key, Float64Array.from({ length }, (_, i) => 1000 * (k + 1) + i)]));
}

/** Row block g of a [G·H, n] tensor, with G blocks. */
function rowBlock(tensor: Float64Array, gateCount: number, g: number): number[] {
  const length = tensor.length / gateCount;
  return Array.from(tensor.subarray(g * length, (g + 1) * length));
}

const sumOf = (a: number[], b: number[]) => a.map((v, i) => v + b[i]!);

describe("PyTorch adapter: whole state dicts (fromTorch)", () => {
  const lstmProjCases = torchOracleFiles(ADVANCED_ORACLE_DIR)
    .filter((f) => f.includes("lstm_proj_"))
    .map(torchOracleCase);

  test("there is LSTMP reference data to check", () => expect(lstmProjCases.map((c) => c.name)).toEqual(["lstm_proj_0", "lstm_proj_1", "lstm_proj_2"]));

  test.each(lstmProjCases.map((c) => [c.name, c] as const))("%s: a proj_size state dict (weight_hr_l0) maps onto lstm_proj.lstm and matches PyTorch", (_name, oracleCase) => {
    const hiddenSize = oracleCase.data.dims.H;
    const adapter = TORCH_ADAPTERS["lstm"]!;
    const packed = splitBiasRandomly(packForTorch(adapter, oracleCase.data.params, hiddenSize), adapter, hiddenSize, oracleCase.oracle.seed + 1);
    const stateDict: TorchStateDict = { ...packed, weight_hr_l0: oracleCase.data.params["W_hr"]! };
    const params = fromTorch(stateDict, "lstm", hiddenSize);
    expect(Object.keys(params).sort()).toEqual(loadLibraryCell("specs/lstm_proj.lstm").params.map((p) => p.name).sort());
    expect(runWithParams(oracleCase, params).failures).toEqual([]);
  });

  test("lstm_proj_2: swapping the gate blocks of weight_hh_l0 breaks the match", () => {
    const oracleCase = lstmProjCases.find((c) => c.name === "lstm_proj_2")!;
    const hiddenSize = oracleCase.data.dims.H;
    const packed = packForTorch(TORCH_ADAPTERS["lstm"]!, oracleCase.data.params, hiddenSize);
    const swapped = swapInputBlocks({ ...packed, weight_ih_l0: packed.weight_hh_l0 }, 4, 1, 2).weight_ih_l0;
    const params = fromTorch({ ...packed, weight_hh_l0: swapped, weight_hr_l0: oracleCase.data.params["W_hr"]! }, "lstm", hiddenSize);
    expect(runWithParams(oracleCase, params).failures).not.toEqual([]);
  });

  test("a 2-layer LSTM maps onto L1.* and L2.*; layer 2 reads layer 1's H-sized output", () => {
    const dict = syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 2, layers: 2, bidirectional: false });
    const params = fromTorch(dict, "lstm", 2);
    const names = ["W", "U", "b"].flatMap((p) => ["_i", "_f", "_g", "_o"].map((g) => p + g));
    expect(Object.keys(params).sort()).toEqual(["L1", "L2"].flatMap((layer) => names.map((n) => `${layer}.${n}`)).sort());
    expect(Array.from(params["L2.W_f"]!)).toEqual(rowBlock(dict["weight_ih_l1"]!, 4, 1));
    expect(params["L2.W_f"]).toHaveLength(2 * 2);
    expect(Array.from(params["L1.U_o"]!)).toEqual(rowBlock(dict["weight_hh_l0"]!, 4, 3));
    expect(Array.from(params["L2.b_g"]!)).toEqual(sumOf(rowBlock(dict["bias_ih_l1"]!, 4, 2), rowBlock(dict["bias_hh_l1"]!, 4, 2)));
  });

  test("a bidirectional GRU maps its _reverse weights onto bwd.*, keeping b_hn apart", () => {
    const dict = syntheticStateDict({ kind: "gru", inputSize: 2, hiddenSize: 3, layers: 1, bidirectional: true });
    const params = fromTorch(dict, "gru", 3);
    const names = loadLibraryCell("specs/gru_cudnn.lstm").params.map((p) => p.name);
    expect(Object.keys(params).sort()).toEqual(["fwd", "bwd"].flatMap((d) => names.map((n) => `${d}.${n}`)).sort());
    expect(Array.from(params["bwd.W_z"]!)).toEqual(rowBlock(dict["weight_ih_l0_reverse"]!, 3, 1));
    expect(Array.from(params["fwd.W_z"]!)).toEqual(rowBlock(dict["weight_ih_l0"]!, 3, 1));
    expect(Array.from(params["bwd.b_hn"]!)).toEqual(rowBlock(dict["bias_hh_l0_reverse"]!, 3, 2));
    expect(Array.from(params["bwd.b_n"]!)).toEqual(rowBlock(dict["bias_ih_l0_reverse"]!, 3, 2));
  });

  test("a 2-layer bidirectional LSTM with proj_size maps onto L1_fwd, L1_bwd, L2_fwd, L2_bwd, each with its W_hr", () => {
    const dict = syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 4, layers: 2, bidirectional: true, projSize: 2 });
    const params = fromTorch(dict, "lstm", 4);
    expect(new Set(Object.keys(params).map((k) => k.split(".")[0]))).toEqual(new Set(["L1_fwd", "L1_bwd", "L2_fwd", "L2_bwd"]));
    expect(Array.from(params["L2_bwd.W_hr"]!)).toEqual(Array.from(dict["weight_hr_l1_reverse"]!));
    // Layer 2 reads both directions' projected outputs: [H, 2·P] per gate.
    expect(Array.from(params["L2_bwd.W_i"]!)).toEqual(rowBlock(dict["weight_ih_l1_reverse"]!, 4, 0));
    expect(params["L2_bwd.W_i"]).toHaveLength(4 * 2 * 2);
    expect(params["L1_fwd.U_g"]).toHaveLength(4 * 2);
  });

  test("bias=False state dicts give zero biases", () => {
    const { bias_ih_l0: _ih, bias_hh_l0: _hh, ...dict } = syntheticStateDict({ kind: "rnn", inputSize: 2, hiddenSize: 2, layers: 1, bidirectional: false });
    expect(Array.from(fromTorch(dict, "rnn", 2)["b"]!)).toEqual([0, 0]);
  });

  const lstm2 = () => syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 2, layers: 2, bidirectional: false });
  const without = (dict: Record<string, Float64Array>, key: string) => Object.fromEntries(Object.entries(dict).filter(([k]) => k !== key));
  test.each([
    ["an unknown key", { ...lstm2(), weight_ih_l0_reversed: new Float64Array(24) }, "lstm", /unknown state_dict key 'weight_ih_l0_reversed'/],
    ["a key with a leading zero in its layer", { ...lstm2(), weight_hh_l01: new Float64Array(16) }, "lstm", /unknown state_dict key 'weight_hh_l01'/],
    ["a missing weight", without(lstm2(), "weight_hh_l1"), "lstm", /'weight_hh_l1' is missing/],
    ["one bias without the other", without(lstm2(), "bias_hh_l0"), "lstm", /'bias_hh_l0' is missing/],
    [
      "a missing layer",
      Object.fromEntries(Object.entries(syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 2, layers: 3, bidirectional: false })).filter(([k]) => !k.endsWith("_l1"))),
      "lstm",
      /'weight_ih_l1' is missing/,
    ],
    [
      "a reverse direction in one layer only",
      without(without(without(without(syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 2, layers: 2, bidirectional: true }), "weight_ih_l1_reverse"), "weight_hh_l1_reverse"), "bias_ih_l1_reverse"), "bias_hh_l1_reverse"),
      "lstm",
      /'weight_ih_l1_reverse' is missing/,
    ],
    ["weight_hr in one layer only", { ...lstm2(), weight_hr_l0: new Float64Array(4) }, "lstm", /'weight_hr_l1' is missing/],
    ["weight_hr in a GRU", { ...syntheticStateDict({ kind: "gru", inputSize: 2, hiddenSize: 2, layers: 1, bidirectional: false }), weight_hr_l0: new Float64Array(4) }, "gru", /only torch.nn.LSTM has proj_size/],
    ["a weight_hr of the wrong size", { ...syntheticStateDict({ kind: "lstm", inputSize: 3, hiddenSize: 2, layers: 1, bidirectional: false, projSize: 1 }), weight_hr_l0: new Float64Array(3) }, "lstm", /weight_hr_l0 has 3 numbers, expected proj_size·hidden_size \(2\)/],
    ["an empty state dict", {}, "lstm", /empty/],
  ] as const)("refuses %s with an AdapterError naming it", (_what, dict, kind, message) => {
    expect(() => fromTorch(dict, kind, 2)).toThrow(AdapterError);
    expect(() => fromTorch(dict, kind, 2)).toThrow(message);
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
