// Variable-length batches in generated modules (issue 9 §2): `forward(..., { lengths })`
// with pack_padded_sequence semantics, and backward from valid steps only.
// Checked against PyTorch's packed sequences (lstm_seq_lens_*), and against
// the interpreter (the reference) on random lengths for every compiled spec.
import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { forwardBackward } from "../src/interp/interpret.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { isModelFile } from "../src/parse/load-model.ts";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { typescriptEngine } from "../src/run/engines.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { NOT_COMPILED_YET } from "../scripts/generate.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { ORACLE_ENGINES } from "./helpers/oracle-engines.ts";
import { compareRunResponse, loadLibraryCell } from "./helpers/torch-oracle.ts";
import { LENGTHS_REFUSALS } from "./helpers/lengths.ts";

const CPU_ENGINES = ORACLE_ENGINES.filter((e) => e.name !== "interp" && !e.gpu);

describe("generated modules with lengths match PyTorch's packed sequences", () => {
  test("the engines under test are ts f64, js f64 and ts f32", () => expect(CPU_ENGINES.map((e) => e.name)).toEqual(["ts f64", "js f64", "ts f32"]));
  // lstm_seq_lens_0 is one row of length 1 (T = 1); 1 and 2 have rows ending before the last step.
  test("the reference data has rows that end early", () => {
    const short = [1, 2].map((seed) => advancedOracleCase(readAdvancedOracle(`lstm_seq_lens_${seed}`), []).data).map((d) => d.lengths!.some((l: number) => l < d.steps));
    expect(short).toEqual([true, true]);
  });
  test.each(CPU_ENGINES.flatMap((e) => [0, 1, 2].map((seed) => [e.name, seed] as const)))("%s on lstm_seq_lens_%i", async (name, seed) => {
    const engine = CPU_ENGINES.find((e) => e.name === name)!;
    const { data, expected } = advancedOracleCase(readAdvancedOracle(`lstm_seq_lens_${seed}`), []);
    const ir = loadLibraryCell("specs/lstm.lstm");
    const request = readRunRequest(ir, data);
    expect(request.sequence.lengths).toBeDefined();
    const comparison = compareRunResponse(await engine.run(ir, request), expected, engine.tolerance, engine.measure);
    expect(comparison.failures).toEqual([]);
  });
});

// Every cell the code generators compile; the rest are named here, never skipped silently.
const SPECS = readdirSync("specs").filter((f) => f.endsWith(".lstm") && !isModelFile(`specs/${f}`)).sort();
const COMPILED = SPECS.filter((f) => !NOT_COMPILED_YET.includes(f));

describe("generated modules with lengths agree with the interpreter on every compiled spec", () => {
  test("the specs not compiled are exactly NOT_COMPILED_YET", () => expect(SPECS.filter((f) => !COMPILED.includes(f))).toEqual([...NOT_COMPILED_YET].sort()));
  // Rows ending at the first step, in the middle, and at the last, so ended rows sit beside running ones.
  const lengths = [1, 4, 2, 5];
  test.each(COMPILED)("%s: forward and every gradient within 1e-9, lengths [1, 4, 2, 5]", async (file) => {
    const ir = loadLibraryCell(`specs/${file}`);
    const sizes = bindSizes(ir, {});
    const request = { ...randomRequest(ir, { sizes, batch: lengths.length, steps: 5, seed: 3, uniformParams: true }) };
    const withLengths = { ...request, sequence: { ...request.sequence, lengths } };
    const want = forwardBackward(ir, sizes, withLengths.sequence, withLengths.upstream);
    const got = await typescriptEngine.run(ir, withLengths, true);
    const comparison = compareRunResponse(writeRunResponse(got, got.grads), writeRunResponse(want, want.grads), 1e-9);
    expect(comparison.failures).toEqual([]);
  });
});

describe("a generated module checks lengths like every other argument", () => {
  const ir = loadLibraryCell("specs/lstm.lstm");
  const sizes = bindSizes(ir, { I: 2, H: 3 });
  const { params, inputs } = randomRequest(ir, { sizes, batch: 3, steps: 4, seed: 1 }).sequence;
  test.each(LENGTHS_REFUSALS)("lengths = %j is refused", async (lengths, message) => {
    const module = await loadGeneratedModule(ir, sizes);
    expect(() => module.forward(params, inputs, {}, { batch: 3, lengths: lengths as never })).toThrow(message);
  });

  test("full lengths give exactly the results of no lengths", async () => {
    const module = await loadGeneratedModule(ir, sizes);
    const plain = module.forward(params, inputs, {}, { batch: 3 });
    const full = module.forward(params, inputs, {}, { batch: 3, lengths: [4, 4, 4] });
    expect(full.outputs).toEqual(plain.outputs);
    expect(full.final).toEqual(plain.final);
    expect(module.backward(params, full.saved)).toEqual(module.backward(params, plain.saved));
  });
});
