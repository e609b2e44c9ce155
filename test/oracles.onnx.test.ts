// The library's specs against the official ONNX v1.12.0 backend node tests for
// RNN, GRU and LSTM: each case's weights go through src/adapters/onnx.ts, the
// interpreter runs the chosen spec, and Y / Y_h must match the stored float32
// values. Most cases have one step and constant weights (see the fixtures'
// README); test_gru_seq_length is the one that pins the GRU gate order and the
// z sign flip onto gru.lstm, so it also gets negative checks.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  adaptOnnxRecurrentNode,
  onnxOutputsFromRun,
  type OnnxRecurrentAttributes,
  type OnnxRecurrentNode,
  type Tensor,
} from "../src/adapters/onnx.ts";
import { forward } from "../src/interp/interpret.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { loadLibraryCell, REPO_ROOT, TORCH_ORACLE_DIR, torchOracleCase } from "./helpers/torch-oracle.ts";

const TOLERANCE = 1e-6;
const ONNX_ORACLE_DIR = path.join(REPO_ROOT, "test/fixtures/oracles/onnx");

interface OnnxCase {
  readonly case: string;
  readonly op: OnnxRecurrentNode["op"];
  readonly attributes_effective: OnnxRecurrentNode["attributes"];
  readonly inputs: Record<string, Tensor>;
  readonly outputs: Record<string, Tensor>;
}

const cases: OnnxCase[] = readdirSync(ONNX_ORACLE_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(ONNX_ORACLE_DIR, f), "utf8")) as OnnxCase);

function nodeOf(onnxCase: OnnxCase): OnnxRecurrentNode {
  return { op: onnxCase.op, attributes: onnxCase.attributes_effective, inputs: onnxCase.inputs };
}

/** Runs a node through the library spec the adapter picks; ONNX's outputs by name. */
function runThroughLibrary(node: OnnxRecurrentNode): { specFile: string; outputs: Record<string, Tensor> } {
  const adapted = adaptOnnxRecurrentNode(node);
  const ir = loadLibraryCell(`specs/${adapted.specFile}`);
  const result = forward(ir, bindSizes(ir, adapted.dims), adapted);
  return { specFile: adapted.specFile, outputs: onnxOutputsFromRun(adapted, result.outputs["h"]!, result.final) };
}

/** The largest absolute difference over every output the case stores; shapes must agree. */
function worstAbsoluteError(outputs: Record<string, Tensor>, expected: Record<string, Tensor>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(expected).map(([name, want]) => {
      const got = outputs[name];
      expect(got?.shape, `${name} shape`).toEqual(want.shape);
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got!.data[i]! - want.data[i]!));
      return [name, worst];
    }),
  );
}

const SPEC_OF_CASE: Readonly<Record<string, string>> = {
  test_simple_rnn_defaults: "rnn.lstm",
  test_simple_rnn_with_initial_bias: "rnn.lstm",
  test_simple_rnn_batchwise: "rnn.lstm",
  test_rnn_seq_length: "rnn.lstm",
  test_gru_defaults: "gru.lstm",
  test_gru_with_initial_bias: "gru.lstm",
  test_gru_seq_length: "gru.lstm",
  test_gru_batchwise: "gru.lstm",
  test_lstm_defaults: "lstm.lstm",
  test_lstm_with_initial_bias: "lstm.lstm",
  test_lstm_with_peepholes: "peephole.lstm",
  test_lstm_batchwise: "lstm.lstm",
};

const summary: string[] = [];
afterAll(() => {
  for (const line of summary) console.log(`[oracles.onnx] ${line}`);
});

describe("library specs match the ONNX backend node tests", () => {
  test("all 12 official recurrent cases are present", () => {
    expect(cases.map((c) => c.case).sort()).toEqual(Object.keys(SPEC_OF_CASE).sort());
  });

  test.each(cases.map((c) => [c.case, c] as const))("%s", (name, onnxCase) => {
    const { specFile, outputs } = runThroughLibrary(nodeOf(onnxCase));
    expect(specFile).toBe(SPEC_OF_CASE[name]);
    const worst = worstAbsoluteError(outputs, onnxCase.outputs);
    summary.push(`${name} -> ${specFile}: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ")}`);
    for (const [output, error] of Object.entries(worst)) expect(error, output).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe("test_gru_seq_length pins the GRU mapping", () => {
  const onnxCase = cases.find((c) => c.case === "test_gru_seq_length")!;
  const hiddenSize = onnxCase.attributes_effective.hidden_size;

  /** Swaps the z and r blocks of W, R and both halves of B. */
  function swapZR(tensor: Tensor, blockLength: number): Tensor {
    const data = Array.from(tensor.data);
    for (let start = 0; start < data.length; start += 3 * blockLength) {
      const z = data.slice(start, start + blockLength);
      const r = data.slice(start + blockLength, start + 2 * blockLength);
      data.splice(start, 2 * blockLength, ...r, ...z);
    }
    return { shape: tensor.shape, data };
  }

  test("a z/r block swap no longer matches Y_h", () => {
    const { W, R, B } = onnxCase.inputs as Record<"W" | "R" | "B", Tensor>;
    const inputSize = W.shape[2]!;
    const swapped = { ...onnxCase.inputs, W: swapZR(W, hiddenSize * inputSize), R: swapZR(R, hiddenSize * hiddenSize), B: swapZR(B, hiddenSize) };
    const { outputs } = runThroughLibrary({ ...nodeOf(onnxCase), inputs: swapped });
    expect(worstAbsoluteError(outputs, onnxCase.outputs)["Y_h"]).toBeGreaterThan(1e-3);
  });

  test("reading the weights as linear_before_reset = 1 no longer matches Y_h", () => {
    const node = nodeOf(onnxCase);
    const { specFile, outputs } = runThroughLibrary({ ...node, attributes: { ...node.attributes, linear_before_reset: 1 } });
    expect(specFile).toBe("gru_cudnn.lstm");
    expect(worstAbsoluteError(outputs, onnxCase.outputs)["Y_h"]).toBeGreaterThan(1e-5);
  });
});

// The official cases have T ≤ 2, zero initial states, constant LSTM weights
// and, with layout 1, T = 1: they pin neither the LSTM gate order nor the
// transpositions nor initial_h / initial_c. These tests pack the PyTorch
// reference sequences (T > 1, B > 1, nonzero initial states, random weights)
// into ONNX tensors by hand, in ONNX's block orders, independently of the adapter.
describe("ONNX adapter on the PyTorch reference sequences, in both layouts", () => {
  /** [a, b, n] -> [b, a, n] */
  function transposed(data: readonly number[], a: number, b: number, n: number): number[] {
    const out: number[] = [];
    for (let j = 0; j < b; j++) for (let i = 0; i < a; i++) out.push(...data.slice((i * b + j) * n, (i * b + j + 1) * n));
    return out;
  }

  interface OnnxPacking {
    readonly op: OnnxRecurrentNode["op"];
    readonly attributes: Omit<OnnxRecurrentAttributes, "hidden_size">;
    /** The spec's gate suffixes in ONNX's block order. */
    readonly gates: readonly string[];
    /** Parameters that form Rb, by gate suffix (the rest of Rb is zero). */
    readonly recurrentBias: Readonly<Record<string, string>>;
    readonly peepholes?: readonly string[];
  }

  const PACKINGS: Readonly<Record<string, OnnxPacking>> = {
    rnn_tanh: { op: "RNN", attributes: {}, gates: [""], recurrentBias: {} },
    lstm: { op: "LSTM", attributes: {}, gates: ["_i", "_o", "_f", "_g"], recurrentBias: {} },
    lstm_peephole: { op: "LSTM", attributes: {}, gates: ["_i", "_o", "_f", "_g"], recurrentBias: {}, peepholes: ["p_i", "p_o", "p_f"] },
    gru_torch: { op: "GRU", attributes: { linear_before_reset: 1 }, gates: ["_z", "_r", "_n"], recurrentBias: { _n: "b_hn" } },
  };

  function packWeights(packing: OnnxPacking, params: Record<string, number[]>, dims: { I: number; H: number }): Record<string, Tensor> {
    const { gates } = packing;
    const G = gates.length;
    const weights: Record<string, Tensor> = {
      W: { shape: [1, G * dims.H, dims.I], data: gates.flatMap((k) => params[`W${k}`]!) },
      R: { shape: [1, G * dims.H, dims.H], data: gates.flatMap((k) => params[`U${k}`]!) },
      B: {
        shape: [1, 2 * G * dims.H],
        data: [...gates.flatMap((k) => params[`b${k}`]!), ...gates.flatMap((k) => (packing.recurrentBias[k] ? params[packing.recurrentBias[k]]! : new Array(dims.H).fill(0)))],
      },
    };
    if (packing.peepholes) weights["P"] = { shape: [1, 3 * dims.H], data: packing.peepholes.flatMap((name) => params[name]!) };
    return weights;
  }

  const referenceCases = ["rnn_tanh_4", "lstm_1", "lstm_3", "lstm_peephole_1", "lstm_peephole_3", "gru_torch_4"].map((name) =>
    torchOracleCase(path.join(TORCH_ORACLE_DIR, `${name}.json`)),
  );

  test.each(referenceCases.flatMap((c) => [0, 1].map((layout) => [c.name, layout, c] as const)))("%s, layout %i", (_name, layout, oracleCase) => {
    const { dims, batch, steps, params, inputs, initial } = oracleCase.data;
    const packing = PACKINGS[oracleCase.oracle.cell]!;
    const X = layout === 0 ? { shape: [steps, batch, dims.I], data: inputs.x } : { shape: [batch, steps, dims.I], data: transposed(inputs.x, steps, batch, dims.I) };
    const stateShape = layout === 0 ? [1, batch, dims.H] : [batch, 1, dims.H];
    const node: OnnxRecurrentNode = {
      op: packing.op,
      attributes: { ...packing.attributes, hidden_size: dims.H, layout },
      inputs: {
        X,
        ...packWeights(packing, params, dims),
        initial_h: { shape: stateShape, data: initial["h"]! },
        ...(initial["c"] ? { initial_c: { shape: stateShape, data: initial["c"] } } : {}),
      },
    };
    const { specFile, outputs } = runThroughLibrary(node);
    expect(`specs/${specFile}`).toBe(oracleCase.specFile);
    const hSeq = oracleCase.expected.outputs["h"]!;
    const finalC = oracleCase.expected.final["c"];
    const expected: Record<string, Tensor> = {
      Y: layout === 0 ? { shape: [steps, 1, batch, dims.H], data: hSeq } : { shape: [batch, steps, 1, dims.H], data: transposed(hSeq, steps, batch, dims.H) },
      Y_h: { shape: stateShape, data: oracleCase.expected.final["h"]! },
      ...(finalC ? { Y_c: { shape: stateShape, data: finalC } } : {}),
    };
    for (const [output, error] of Object.entries(worstAbsoluteError(outputs, expected))) expect(error, output).toBeLessThanOrEqual(1e-12);
  });
});
