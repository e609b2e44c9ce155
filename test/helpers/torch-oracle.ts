// The PyTorch reference files (test/fixtures/oracles/torch) in `lstmc run`'s
// terms: each file becomes a spec from specs/, a run request and the response
// every engine must give. Shared by the tests of every engine.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "../../src/diagnostics/diagnostic.ts";
import { buildCell } from "../../src/ir/build.ts";
import type { CellIR } from "../../src/ir/types.ts";
import { parseDsl } from "../../src/parse/dsl.ts";
import type { RunResponse } from "../../src/run/contract.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TORCH_ORACLE_DIR = path.join(REPO_ROOT, "test/fixtures/oracles/torch");

/** The library spec that follows each reference file's equations. */
export const SPEC_OF_TORCH_CELL: Readonly<Record<string, string>> = {
  rnn_tanh: "specs/rnn.lstm",
  lstm: "specs/lstm.lstm",
  lstm_peephole: "specs/peephole.lstm",
  gru_torch: "specs/gru_cudnn.lstm",
};

interface OracleTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** The parts of a reference file that the tests read (see test/fixtures/oracles/README.md). */
export interface TorchOracleFile {
  readonly cell: string;
  readonly seed: number;
  readonly sizes: { readonly input_size: number; readonly hidden_size: number; readonly batch: number; readonly seq_len: number };
  readonly params: Readonly<Record<string, OracleTensor>>;
  readonly inputs: { readonly x: OracleTensor };
  readonly initial_state: { readonly h0: OracleTensor; readonly c0?: OracleTensor };
  readonly loss_weights: { readonly Wy: OracleTensor; readonly Wc?: OracleTensor };
  readonly outputs: { readonly h_seq: OracleTensor; readonly h_T: OracleTensor; readonly c_T?: OracleTensor };
  readonly grads: {
    readonly params: Readonly<Record<string, OracleTensor>>;
    readonly x: OracleTensor;
    readonly h0: OracleTensor;
    readonly c0?: OracleTensor;
  };
}

/** The data of `lstmc run SPEC --data FILE`, as plain JSON. */
export interface RunData {
  readonly dims: { readonly I: number; readonly H: number };
  readonly batch: number;
  readonly steps: number;
  readonly params: Record<string, number[]>;
  readonly inputs: { readonly x: number[] };
  readonly initial: Record<string, number[]>;
  readonly upstream: { readonly outputs: { readonly h: number[] }; readonly final: Record<string, number[]> };
}

export interface TorchOracleCase {
  /** The file's name without extension, e.g. "lstm_3". */
  readonly name: string;
  readonly oracle: TorchOracleFile;
  /** The spec, relative to the repository root. */
  readonly specFile: string;
  readonly data: RunData;
  /** What `lstmc run --grad` must answer. */
  readonly expected: Required<RunResponse>;
}

/** Every reference file, sorted by name. */
export function torchOracleFiles(): string[] {
  return readdirSync(TORCH_ORACLE_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(TORCH_ORACLE_DIR, f));
}

const flat = (tensor: OracleTensor): number[] => [...tensor.data];

/** Only the states the cell has: c for the LSTMs. */
function statesOf<T>(h: T, c: T | undefined): Record<string, T> {
  return c === undefined ? { h } : { h, c };
}

/** One reference file -> the spec that follows its equations, the run request and the expected response. */
export function torchOracleCase(file: string): TorchOracleCase {
  const oracle = JSON.parse(readFileSync(file, "utf8")) as TorchOracleFile;
  const specFile = SPEC_OF_TORCH_CELL[oracle.cell];
  if (!specFile) throw new Error(`${file}: no library spec for cell '${oracle.cell}'`);
  const { sizes, params, initial_state, loss_weights, outputs, grads } = oracle;
  const withCell = initial_state.c0 !== undefined;
  const mapTensors = (tensors: Readonly<Record<string, OracleTensor>>) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, flat(v)]));
  const data: RunData = {
    dims: { I: sizes.input_size, H: sizes.hidden_size },
    batch: sizes.batch,
    steps: sizes.seq_len,
    params: mapTensors(params),
    inputs: { x: flat(oracle.inputs.x) },
    initial: statesOf(flat(initial_state.h0), withCell ? flat(initial_state.c0!) : undefined),
    upstream: { outputs: { h: flat(loss_weights.Wy) }, final: withCell ? { c: flat(loss_weights.Wc!) } : {} },
  };
  const expected: Required<RunResponse> = {
    outputs: { h: flat(outputs.h_seq) },
    final: statesOf(flat(outputs.h_T), withCell ? flat(outputs.c_T!) : undefined),
    grads: {
      params: mapTensors(grads.params),
      inputs: { x: flat(grads.x) },
      initial: statesOf(flat(grads.h0), withCell ? flat(grads.c0!) : undefined),
    },
  };
  return { name: path.basename(file, ".json"), oracle, specFile, data, expected };
}

/** Parses and builds a spec of the library (path relative to the repository root), failing with its diagnostics. */
export function loadLibraryCell(specFile: string): CellIR {
  const text = readFileSync(path.join(REPO_ROOT, specFile), "utf8");
  const parsed = parseDsl(text, specFile);
  const built = parsed.value ? buildCell(parsed.value) : { ir: null, diagnostics: [] };
  const diagnostics = [...parsed.diagnostics, ...built.diagnostics];
  if (!built.ir) throw new Error(`${specFile} does not build:\n${diagnostics.map((d) => formatDiagnostic(d, text)).join("\n")}`);
  return built.ir;
}

/** |got - want|, relative to |want| where |want| > 1; Infinity when either is not a number. */
export function scaledError(got: number, want: number): number {
  const error = Math.abs(got - want) / Math.max(1, Math.abs(want));
  return Number.isNaN(error) ? Infinity : error;
}

export interface RunComparison {
  /** The worst scaledError of each field ("outputs.h", "grads.params.W_i", …); Infinity if missing or of the wrong length. */
  readonly worstByField: Record<string, number>;
  /** One line per field whose worst error exceeds the tolerance. */
  readonly failures: string[];
}

function groupsOf(response: RunResponse): [string, Record<string, number[]> | undefined][] {
  return [
    ["outputs", response.outputs],
    ["final", response.final],
    ["grads.params", response.grads?.params],
    ["grads.inputs", response.grads?.inputs],
    ["grads.initial", response.grads?.initial],
  ];
}

function expectedFields(expected: RunResponse): [string, number[]][] {
  return groupsOf(expected).flatMap(([group, tensors]) => Object.entries(tensors ?? {}).map(([name, data]) => [`${group}.${name}`, data] as [string, number[]]));
}

/** A field such as "grads.params.W_i"; a model's tensor names hold a dot themselves ("grads.params.L1.W_i"). */
function fieldOf(response: RunResponse, field: string): number[] | undefined {
  const [group, tensors] = groupsOf(response).find(([g]) => field.startsWith(`${g}.`)) ?? [];
  return group === undefined ? undefined : tensors?.[field.slice(group.length + 1)];
}

/** Compares every field of `expected` with `response`: the worst error per field, and the fields beyond `tolerance`. */
export function compareRunResponse(response: RunResponse, expected: RunResponse, tolerance: number): RunComparison {
  const worstByField: Record<string, number> = {};
  const failures: string[] = [];
  for (const [field, want] of expectedFields(expected)) {
    const got = fieldOf(response, field);
    if (!got || got.length !== want.length) {
      worstByField[field] = Infinity;
      failures.push(`${field}: ${got ? `${got.length} numbers, expected ${want.length}` : "missing"}`);
      continue;
    }
    let worst = 0;
    let worstIndex = 0;
    want.forEach((w, i) => {
      const error = scaledError(got[i]!, w);
      if (error > worst) [worst, worstIndex] = [error, i];
    });
    worstByField[field] = worst;
    if (worst > tolerance) failures.push(`${field}[${worstIndex}]: got ${got[worstIndex]}, expected ${want[worstIndex]} (error ${worst.toExponential(2)} > ${tolerance})`);
  }
  return { worstByField, failures };
}
