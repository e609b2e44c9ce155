// Models in the interpreter against the advanced PyTorch float64 reference
// data: the bidirectional LSTM (specs/bilstm.lstm) and Yao et al.'s 2-layer
// depth-gated LSTM (specs/depth_gated_lstm.lstm), forward values and every
// gradient, through the model run contract (issue 9 §4).
import path from "node:path";
import { describe, expect, test } from "vitest";
import { formatDiagnostic } from "../src/diagnostics/diagnostic.ts";
import { buildModel } from "../src/ir/build-model.ts";
import type { ModelIR } from "../src/ir/model-types.ts";
import { forwardBackwardModel } from "../src/interp/model.ts";
import { loadModelFile } from "../src/parse/load-model.ts";
import { readModelRunRequest, writeModelRunResponse } from "../src/run/model-contract.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, REPO_ROOT } from "./helpers/torch-oracle.ts";

const TOLERANCE = 1e-9;

export function loadLibraryModel(specFile: string): ModelIR {
  const loaded = loadModelFile(path.join(REPO_ROOT, specFile));
  const built = loaded.model ? buildModel(loaded.model, loaded.cells) : { ir: null, diagnostics: [] };
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
  if (!built.ir) throw new Error(`${specFile} does not build:\n${diagnostics.map((d) => formatDiagnostic(d, loaded.text ?? "")).join("\n")}`);
  return built.ir;
}

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
