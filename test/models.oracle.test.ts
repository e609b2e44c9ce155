// Models in the interpreter against the advanced PyTorch float64 reference
// data: the bidirectional LSTM (specs/bilstm.lstm) and Yao et al.'s 2-layer
// depth-gated LSTM (specs/depth_gated_lstm.lstm), forward values and every
// gradient, through the model run contract (issue 9 §4).
import { describe, expect, test } from "vitest";
import { forwardBackwardModel } from "../src/interp/model.ts";
import { readModelRunRequest, writeModelRunResponse } from "../src/run/model-contract.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse } from "./helpers/torch-oracle.ts";
import { loadLibraryModel } from "./helpers/library-model.ts";

const TOLERANCE = 1e-9;


describe.each([
  ["bidirectional_lstm", "specs/bilstm.lstm", ["fwd", "bwd"]],
  ["depth_gated_lstm", "specs/depth_gated_lstm.lstm", ["L1", "L2"]],
])("%s through %s", (oracleName, specFile, layers) => {
  test.each([0, 1, 2])("seed %i: outputs, final states and every gradient within 1e-9", (seed) => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle(`${oracleName}_${seed}`), layers);
    const ir = loadLibraryModel(specFile);
    const request = readModelRunRequest(ir, data);
    const result = forwardBackwardModel(ir, request.sizes, request.sequence, request.upstream);
    const { failures, worstByField } = compareRunResponse(writeModelRunResponse(result, result.grads), expected, TOLERANCE);
    expect(failures).toEqual([]);
    // Every layer's parameters and initial states were compared, not just some.
    expect(Object.keys(worstByField)).toContain(`grads.initial.${layers[1]}.c`);
    expect(Object.keys(worstByField)).toContain(`grads.params.${layers[0]}.W_i`);
  });
});

// pack_padded_sequence semantics for a reverse layer: a row shorter than the
// batch computes exactly what it computes alone, unpadded; its reverse
// direction starts at its own last valid step, not at the batch's last step.
test("a padded row of a bidirectional model computes what the row alone computes", () => {
  const { data } = advancedOracleCase(readAdvancedOracle("bidirectional_lstm_1"), ["fwd", "bwd"]);
  const ir = loadLibraryModel("specs/bilstm.lstm");
  const [B, T, I, H] = [data.batch, data.steps, data.dims.I, data.dims.H];
  const row = 1;
  const length = 3;
  const lengths = Array.from({ length: B }, (_, b) => (b === row ? length : T));
  const batched = readModelRunRequest(ir, { ...data, lengths });
  const padded = forwardBackwardModel(ir, batched.sizes, batched.sequence, batched.upstream);
  const pick = (tensor: readonly number[], width: number, steps: number) => Array.from({ length: steps }, (_, t) => tensor.slice((t * B + row) * width, (t * B + row + 1) * width)).flat();
  const alone = {
    dims: data.dims,
    batch: 1,
    steps: length,
    params: data.params,
    inputs: { x: pick(data.inputs.x, I, length) },
    initial: Object.fromEntries(Object.entries(data.initial).map(([k, v]) => [k, v.slice(row * H, (row + 1) * H)])),
    upstream: { outputs: { h: pick(data.upstream.outputs.h, 2 * H, length) }, final: Object.fromEntries(Object.entries(data.upstream.final).map(([k, v]) => [k, v.slice(row * H, (row + 1) * H)])) },
  };
  const single = readModelRunRequest(ir, alone);
  const own = forwardBackwardModel(ir, single.sizes, single.sequence, single.upstream);
  const close = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a).map((v, i) => Math.abs(v - b[i]!)).every((e) => e < 1e-12), `${Array.from(a)} vs ${Array.from(b)}`).toBe(true);
  close(pick(Array.from(padded.outputs.h!), 2 * H, length), own.outputs.h!);
  expect(pick(Array.from(padded.outputs.h!), 2 * H, T).slice(length * 2 * H).every((v) => v === 0)).toBe(true);
  close(padded.final["bwd.h"]!.slice(row * H, (row + 1) * H), own.final["bwd.h"]!);
  close(pick(Array.from(padded.grads.inputs.x!), I, length), own.grads.inputs.x!);
  close(padded.grads.initial["bwd.c"]!.slice(row * H, (row + 1) * H), own.grads.initial["bwd.c"]!);
});
