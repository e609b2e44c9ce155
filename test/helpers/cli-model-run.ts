// What `lstmc run` (the interpreter, float64) answers for a model on given
// parameters and inputs: the numbers a compiled model module from the API or
// a bundler plugin must reproduce.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LSTMC } from "./cli.ts";
import { REPO_ROOT } from "./torch-oracle.ts";

export interface ModelRunInput {
  readonly dims: Readonly<Record<string, number>>;
  readonly batch: number;
  readonly steps: number;
  readonly params: Readonly<Record<string, ArrayLike<number>>>;
  readonly inputs: Readonly<Record<string, ArrayLike<number>>>;
}

function plain(tensors: Readonly<Record<string, ArrayLike<number>>>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, Array.from(t)]));
}

/** The model's outputs from `lstmc run SPEC --data`, SPEC relative to the repository root. */
export function cliModelOutputs(spec: string, input: ModelRunInput): Record<string, number[]> {
  const file = join(mkdtempSync(join(tmpdir(), "lstmc-model-run-")), "data.json");
  writeFileSync(file, JSON.stringify({ dims: input.dims, batch: input.batch, steps: input.steps, params: plain(input.params), inputs: plain(input.inputs) }));
  const child = spawnSync(process.execPath, [LSTMC, "run", spec, "--data", file], { cwd: REPO_ROOT, encoding: "utf8" });
  if (child.status !== 0) throw new Error(`lstmc run ${spec} failed (${child.status}):\n${child.stderr}`);
  return (JSON.parse(child.stdout) as { outputs: Record<string, number[]> }).outputs;
}

/** The largest absolute difference between two equally long arrays (Infinity when their lengths differ). */
export function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  return Array.from(actual, (a, i) => Math.abs(a - expected[i]!)).reduce((m, d) => Math.max(m, d), 0);
}
