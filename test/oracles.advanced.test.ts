// The interpreter against the advanced PyTorch float64 reference data:
// variable-length batches (pack_padded_sequence) on specs/lstm.lstm, fed
// through the `lstmc run` JSON contract as the CLI reads it.
import { describe, expect, test } from "vitest";
import { forwardBackward } from "../src/interp/interpret.ts";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, loadLibraryCell } from "./helpers/torch-oracle.ts";

const TOLERANCE = 1e-9;
const SEEDS = [0, 1, 2];

describe("a cell with per-row lengths matches PyTorch's packed sequences", () => {
  test.each(SEEDS)("lstm_seq_lens_%i through specs/lstm.lstm", (seed) => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle(`lstm_seq_lens_${seed}`), []);
    const ir = loadLibraryCell("specs/lstm.lstm");
    const request = readRunRequest(ir, data);
    const result = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
    expect(compareRunResponse(writeRunResponse(result, result.grads), expected, TOLERANCE).failures).toEqual([]);
  });

  test("a row shorter than the batch has outputs of exactly 0 and inputs with zero gradient past its end", () => {
    const { data } = advancedOracleCase(readAdvancedOracle("lstm_seq_lens_1"), []);
    const ir = loadLibraryCell("specs/lstm.lstm");
    const request = readRunRequest(ir, data);
    const { outputs, grads } = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
    const [I, H, B] = [data.dims.I, data.dims.H, data.batch];
    // Row 0 has length 2 (constants.lengths = [2, 3, 5]): steps 2.. are padding.
    expect(data.lengths).toEqual([2, 3, 5]);
    for (let t = 2; t < data.steps; t++) {
      expect(Array.from(outputs.h!.subarray((t * B) * H, (t * B + 1) * H))).toEqual(new Array(H).fill(0));
      expect(Array.from(grads.inputs.x!.subarray((t * B) * I, (t * B + 1) * I))).toEqual(new Array(I).fill(0));
    }
  });
});

describe("lengths in the run data are checked", () => {
  const { data } = advancedOracleCase(readAdvancedOracle("lstm_seq_lens_1"), []);
  const ir = loadLibraryCell("specs/lstm.lstm");
  test.each([
    [[2, 3], /lengths must be an array of 3 whole numbers/],
    ["5", /lengths must be an array of 3 whole numbers/],
    [[2, 0, 5], /lengths\[1\] must be a whole number from 1 to steps = 5, got 0/],
    [[2, 6, 5], /lengths\[1\] must be a whole number from 1 to steps = 5, got 6/],
    [[2, 2.5, 5], /lengths\[1\] must be a whole number from 1 to steps = 5, got 2.5/],
    [[2, "3", 5], /lengths\[1\] must be a whole number from 1 to steps = 5, got "3"/],
  ])("lengths = %j is refused", (lengths, message) => {
    expect(() => readRunRequest(ir, { ...data, lengths })).toThrow(message);
  });
});
