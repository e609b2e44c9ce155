// The interpreter against PyTorch 1.13 float64 autograd: forward values and
// every gradient of the library's rnn, lstm, peephole and gru_cudnn specs, fed
// through the `lstmc run` JSON contract exactly as the CLI would read them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { forwardBackward } from "../src/interp/interpret.ts";
import { readRunRequest, writeRunResponse, type RunResponse } from "../src/run/contract.ts";
import { compareRunResponse, loadLibraryCell, REPO_ROOT, torchOracleCase, torchOracleFiles } from "./helpers/torch-oracle.ts";
import { LSTMC } from "./helpers/cli.ts";

const TOLERANCE = 1e-9;
const cases = torchOracleFiles().map(torchOracleCase);

/** The worst error seen per spec, split into forward values and gradients, for the summary. */
const worstBySpec = new Map<string, { forward: number; grads: number; files: number }>();

function record(specFile: string, worstByField: Record<string, number>): void {
  const entry = worstBySpec.get(specFile) ?? { forward: 0, grads: 0, files: 0 };
  for (const [field, error] of Object.entries(worstByField)) {
    if (field.startsWith("grads.")) entry.grads = Math.max(entry.grads, error);
    else entry.forward = Math.max(entry.forward, error);
  }
  entry.files += 1;
  worstBySpec.set(specFile, entry);
}

afterAll(() => {
  for (const [specFile, { forward, grads, files }] of worstBySpec) {
    console.log(`[oracles.torch] ${specFile}: ${files} files, worst error outputs/final ${forward.toExponential(2)}, gradients ${grads.toExponential(2)} (tolerance ${TOLERANCE})`);
  }
});

describe("interpreter matches PyTorch float64 outputs and gradients", () => {
  test("there is a reference file for every cell and seed", () => {
    expect(cases.map((c) => c.name)).toHaveLength(20);
  });

  test.each(cases.map((c) => [c.name, c.specFile, c] as const))("%s through %s", (_name, specFile, oracleCase) => {
    const ir = loadLibraryCell(specFile);
    const request = readRunRequest(ir, oracleCase.data);
    const result = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
    const { worstByField, failures } = compareRunResponse(writeRunResponse(result, result.grads), oracleCase.expected, TOLERANCE);
    record(specFile, worstByField);
    expect(failures).toEqual([]);
    expect(Object.keys(worstByField)).toContain("grads.initial.h");
  });
});

// Pins the contract end to end: the same JSON file through the real command line.
test("lstmc run --data --grad answers a reference file as PyTorch does", () => {
  const oracleCase = cases.find((c) => c.name === "lstm_peephole_3")!;
  const dir = mkdtempSync(path.join(tmpdir(), "lstmc-oracle-"));
  try {
    const dataFile = path.join(dir, "data.json");
    writeFileSync(dataFile, JSON.stringify(oracleCase.data));
    const child = spawnSync(process.execPath, [LSTMC, "run", oracleCase.specFile, "--data", dataFile, "--grad"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    const response = JSON.parse(child.stdout) as RunResponse;
    expect(compareRunResponse(response, oracleCase.expected, TOLERANCE).failures).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
