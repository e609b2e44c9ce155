// Backpropagation through every layer of a model (both directions, with
// per-row lengths, through the head and the loss) against central finite
// differences, for every model in specs/ and for each loss.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel } from "../src/ir/build-model.ts";
import type { ModelIR } from "../src/ir/model-types.ts";
import { isModelFile, loadModelFile, loadModelText } from "../src/parse/load-model.ts";
import { bindModelSizes } from "../src/run/model-contract.ts";
import { gradcheckModel } from "../src/run/model-gradcheck.ts";
import { randomModelRequest } from "../src/run/random-data.ts";

const SPECS = join(import.meta.dirname, "..", "specs");
const TOLERANCE = 1e-6;

function built(loaded: ReturnType<typeof loadModelText>): ModelIR {
  const result = buildModel(loaded.model!, loaded.cells);
  expect(result.diagnostics).toEqual([]);
  return result.ir!;
}

function expectGradientsAgree(ir: ModelIR, dims: Record<string, number>, lengths?: readonly number[]): void {
  const request = randomModelRequest(ir, { sizes: bindModelSizes(ir, dims), batch: lengths?.length ?? 2, steps: 3, seed: 5, uniformParams: true, ...(lengths && { lengths }) });
  const checks = gradcheckModel(ir, request);
  const expectedTensors = [...Object.keys(request.sequence.params).map((k) => `params.${k}`), ...ir.inputs.map((i) => `inputs.${i.name}`), ...Object.keys(request.sequence.initial).map((k) => `initial.${k}`)];
  expect(checks.map((c) => c.tensor)).toEqual(expectedTensors);
  for (const c of checks) expect(c.worstRelativeError, c.tensor).toBeLessThan(TOLERANCE);
}

const models = readdirSync(SPECS).filter((f) => f.endsWith(".lstm") && isModelFile(join(SPECS, f)));

describe.each(models)("gradcheck %s", (file) => {
  const ir = built(loadModelFile(join(SPECS, file)));
  const dims = Object.fromEntries(ir.sizes.map((s) => [s.name, s.name === "I" ? 3 : 2]));
  it("every tensor within 1e-6, all rows full length", () => expectGradientsAgree(ir, dims));
  it("every tensor within 1e-6, rows of lengths 3, 1 and 2", () => expectGradientsAgree(ir, dims, [3, 1, 2]));
});

it("the library has the four models of issue 9", () => {
  expect(models).toEqual(["bilstm.lstm", "classifier.lstm", "depth_gated_lstm.lstm", "lstm2.lstm"]);
});

describe.each(["mse", "bce_with_logits", "softmax_cross_entropy"])("a per-step head with loss %s", (loss) => {
  it("gradchecks through the loss, the head and a reverse layer of a different size", () => {
    const text = `model m {
  size I = 3, H = 2, K = 3
  input x[I]
  layer a = ../specs/gru.lstm(x)
  layer b = reverse ../specs/rnn.lstm([a.h, x]) { H = K }
  head y[K] = linear([a.h, b.h])
  loss ${loss}(y)
}`;
    const ir = built(loadModelText(text, join(import.meta.dirname, "model.lstm")));
    expectGradientsAgree(ir, {}, [2, 3]);
  });
});
