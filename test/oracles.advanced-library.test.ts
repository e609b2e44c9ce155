// The library's Greff vanilla, Greff FGR and LSTMP specs against independent
// PyTorch float64 data (test/fixtures/oracles/advanced), on every engine:
// forward values and every gradient, every seed. The interpreter and the f64
// TypeScript and JavaScript modules agree within 1e-9, f32 TypeScript and WGSL
// within 1e-4 relative. Without a WebGPU adapter the WGSL cases are skipped,
// unless CI is set, where they fail.
import { afterAll, describe, expect, test } from "vitest";
import { readRunRequest } from "../src/run/contract.ts";
import { ORACLE_ENGINES } from "./helpers/oracle-engines.ts";
import { ADVANCED_ORACLE_DIR, compareRunResponse, loadLibraryCell, torchOracleCase, torchOracleFiles } from "./helpers/torch-oracle.ts";
import { skipWithoutGpu } from "./helpers/webgpu.ts";

// The folder also holds the newer cells' and the models' reference data, tested elsewhere: this file takes the
// library cells that follow the torch oracle's format.
const LIBRARY_CELLS = ["greff_vanilla", "greff_fgr", "lstm_proj"];
const cases = torchOracleFiles(ADVANCED_ORACLE_DIR)
  .filter((f) => LIBRARY_CELLS.some((cell) => new RegExp(`/${cell}_\\d+\\.json$`).test(f)))
  .map(torchOracleCase);

const skipGpu = await skipWithoutGpu();

/** The worst error per spec and engine, split into forward values and gradients, for the summary. */
const worst = new Map<string, { forward: number; grads: number }>();

function record(specFile: string, engine: string, worstByField: Record<string, number>): void {
  const key = `${specFile}\t${engine}`;
  const entry = worst.get(key) ?? { forward: 0, grads: 0 };
  for (const [field, error] of Object.entries(worstByField)) {
    if (field.startsWith("grads.")) entry.grads = Math.max(entry.grads, error);
    else entry.forward = Math.max(entry.forward, error);
  }
  worst.set(key, entry);
}

afterAll(() => {
  const lines = [...worst].map(([key, { forward, grads }]) => {
    const [specFile, engine] = key.split("\t");
    return `| ${specFile} | ${engine} | ${forward.toExponential(2)} | ${grads.toExponential(2)} |`;
  });
  console.log(["[oracles.advanced-library] worst error per spec per engine", "| spec | engine | outputs/final | gradients |", "|---|---|---|---|", ...lines].join("\n"));
});

test("there are three seeds of each of the three cells", () => {
  expect(cases.map((c) => c.name)).toEqual(["greff_fgr", "greff_vanilla", "lstm_proj"].flatMap((cell) => [0, 1, 2].map((seed) => `${cell}_${seed}`)));
});

describe.each(ORACLE_ENGINES.map((engine) => [engine.name, engine] as const))("%s against PyTorch float64", (_name, engine) => {
  const run = engine.gpu && skipGpu ? test.skip : test;
  run.each(cases.map((c) => [c.name, c.specFile, c] as const))(
    `%s through %s: outputs, final states and every gradient within ${engine.tolerance} (${engine.measure})`,
    async (_caseName, specFile, oracleCase) => {
      const ir = loadLibraryCell(specFile);
      const response = await engine.run(ir, readRunRequest(ir, oracleCase.data));
      const { worstByField, failures } = compareRunResponse(response, oracleCase.expected, engine.tolerance, engine.measure);
      record(specFile, engine.name, worstByField);
      expect(failures).toEqual([]);
      // Every state of the spec is checked, the FGR's gate states included.
      expect(Object.keys(oracleCase.expected.grads.initial).sort()).toEqual(ir.states.map((s) => s.name).sort());
    },
  );
});
