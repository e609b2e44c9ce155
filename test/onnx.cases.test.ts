// Every ONNX reference case (test/fixtures/onnx-cases/, built and run through
// onnxruntime-node by scripts/make-onnx-cases.ts) through `lstmc run
// MODEL.onnx` on the interpreter and on generated TypeScript: each output must
// have onnxruntime's shape and agree within 1e-5. The agreement table prints at the end.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runOnnxFile } from "../src/cli/onnx.ts";
import { ENGINES } from "../src/run/engines.ts";
import { REPO_ROOT } from "./helpers/torch-oracle.ts";
import { LSTMC } from "./helpers/cli.ts";

const TOLERANCE = 1e-5;
const CASES_DIR = path.join(REPO_ROOT, "test/fixtures/onnx-cases");
const ENGINE_NAMES = ["interp", "ts"] as const;

type Outputs = Record<string, { dims: number[]; data: number[] }>;

const manifest = JSON.parse(readFileSync(path.join(CASES_DIR, "cases.json"), "utf8")) as Record<string, { op: string }>;

function caseFile(name: string, suffix: string): string {
  return path.join(CASES_DIR, `${name}${suffix}`);
}

/** The largest absolute difference per output; every expected output must be there with its shape. */
function worstErrors(got: Outputs, expected: Outputs): Record<string, number> {
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  return Object.fromEntries(
    Object.entries(expected).map(([name, want]) => {
      expect(got[name]!.dims, `${name} dims`).toEqual(want.dims);
      return [name, want.data.reduce((worst, x, i) => Math.max(worst, Math.abs(x - got[name]!.data[i]!)), 0)];
    }),
  );
}

const table: string[] = [];
afterAll(() => {
  if (table.length === 0) return;
  console.log(`ONNX cases against onnxruntime-node 1.30.0 (worst |difference| per output, tolerance ${TOLERANCE}):`);
  console.log(`${"case".padEnd(40)} ${"engine".padEnd(7)} outputs`);
  for (const line of table.sort()) console.log(line);
});

describe.each(Object.keys(manifest))("ONNX case %s", (name) => {
  test.each(ENGINE_NAMES)(`lstmc run ${name}.onnx --engine %s agrees with onnxruntime`, async (engine) => {
    const feeds = JSON.parse(readFileSync(caseFile(name, ".feeds.json"), "utf8")) as unknown;
    const expected = JSON.parse(readFileSync(caseFile(name, ".expected.json"), "utf8")) as Outputs;
    const errors = worstErrors(await runOnnxFile(caseFile(name, ".onnx"), feeds, ENGINES[engine]!), expected);
    table.push(`${name.padEnd(40)} ${engine.padEnd(7)} ${Object.entries(errors).map(([k, e]) => `${k} ${e.toExponential(1)}`).join("  ")}`);
    for (const [output, error] of Object.entries(errors)) expect(error, output).toBeLessThan(TOLERANCE);
  });
});

test("the lstmc command runs an .onnx file on its feeds and prints onnxruntime's outputs as JSON", () => {
  const name = "lstm_layout1";
  const child = spawnSync(process.execPath, [LSTMC, "run", caseFile(name, ".onnx"), "--data", caseFile(name, ".feeds.json")], { encoding: "utf8" });
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  const expected = JSON.parse(readFileSync(caseFile(name, ".expected.json"), "utf8")) as Outputs;
  for (const error of Object.values(worstErrors(JSON.parse(child.stdout) as Outputs, expected))) expect(error).toBeLessThan(TOLERANCE);
});
