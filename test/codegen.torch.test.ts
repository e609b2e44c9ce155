// The PyTorch reference data through the generated code (f64, via the `ts` engine).
import { describe, expect, it } from "vitest";
import { readRunRequest, writeRunResponse } from "../src/run/contract.ts";
import { typescriptEngine } from "../src/run/engines.ts";
import { compareRunResponse, loadLibraryCell, torchOracleCase, torchOracleFiles } from "./helpers/torch-oracle.ts";

describe("torch reference data through the generated TypeScript (f64)", () => {
  const files = torchOracleFiles();
  it("there is reference data to check", () => expect(files.length).toBeGreaterThan(0));
  it.each(files.map((f) => [f.split("/").pop()!, f]))("%s: outputs and gradients agree within 1e-9", async (_, file) => {
    const c = torchOracleCase(file);
    const ir = loadLibraryCell(c.specFile);
    const result = await typescriptEngine.run(ir, readRunRequest(ir, c.data), true);
    const { failures } = compareRunResponse(writeRunResponse(result, result.grads), c.expected, 1e-9);
    expect(failures).toEqual([]);
  });
});
