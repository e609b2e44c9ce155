// The PyTorch reference files (test/fixtures/oracles/torch and advanced/) in
// `lstmc run`'s terms: each file becomes a spec from specs/, a run request and
// the response every engine must give. Shared by the tests of every engine.
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
export const ADVANCED_ORACLE_DIR = path.join(REPO_ROOT, "test/fixtures/oracles/advanced");

/** The library spec that follows each reference file's equations. */
export const SPEC_OF_TORCH_CELL: Readonly<Record<string, string>> = {
  rnn_tanh: "specs/rnn.lstm",
  lstm: "specs/lstm.lstm",
  lstm_peephole: "specs/peephole.lstm",
  gru_torch: "specs/gru_cudnn.lstm",
  greff_vanilla: "specs/greff_vanilla.lstm",
  greff_fgr: "specs/greff_fgr.lstm",
  lstm_proj: "specs/lstm_proj.lstm",
};

export interface OracleTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

type OracleTensors = Readonly<Record<string, OracleTensor>>;

/**
 * The parts of a reference file that the tests read (see test/fixtures/oracles/README.md).
 * State s's initial value is `<s>0` in initial_state and grads, its final value `<s>_T` in outputs.
 */
export interface TorchOracleFile {
  readonly cell: string;
  readonly seed: number;
  readonly sizes: { readonly input_size: number; readonly hidden_size: number; readonly batch: number; readonly seq_len: number; readonly proj_size?: number };
  readonly params: OracleTensors;
  readonly inputs: { readonly x: OracleTensor };
  readonly initial_state: OracleTensors;
  readonly loss_weights: OracleTensors;
  /** [tensor, weight] pairs of the loss; the torch/ files leave them out (h_seq·Wy + c_T·Wc). */
  readonly loss_terms?: readonly (readonly [string, string])[];
  readonly outputs: { readonly h_seq: OracleTensor } & OracleTensors;
  readonly grads: { readonly params: OracleTensors; readonly x: OracleTensor } & Readonly<Record<string, OracleTensor | OracleTensors>>;
}

/** The data of `lstmc run SPEC --data FILE`, as plain JSON. */
export interface RunData {
  readonly dims: { readonly I: number; readonly H: number; readonly P?: number };
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

/** Every reference file of a folder (the torch/ one unless told), sorted by name. */
export function torchOracleFiles(dir: string = TORCH_ORACLE_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(dir, f));
}

const flat = (tensor: OracleTensor): number[] => [...tensor.data];

/** The loss of the torch/ files, which do not list their terms. */
const DEFAULT_LOSS_TERMS = [["h_seq", "Wy"], ["c_T", "Wc"]] as const;

/** The upstream gradients of a file's loss: the weight on h_seq for outputs.h, the weight on <s>_T for final.s. */
function upstreamOf(oracle: TorchOracleFile, file: string): RunData["upstream"] {
  const terms = (oracle.loss_terms ?? DEFAULT_LOSS_TERMS).filter(([, weight]) => weight in oracle.loss_weights);
  const weightOf = (tensor: string) => flat(oracle.loss_weights[terms.find(([t]) => t === tensor)?.[1] ?? ""]!);
  const final: Record<string, number[]> = {};
  for (const [tensor] of terms) {
    if (tensor === "h_seq") continue;
    const state = /^(\w+)_T$/.exec(tensor)?.[1];
    if (!state) throw new Error(`${file}: loss term ${tensor} is neither h_seq nor a final state`);
    final[state] = weightOf(tensor);
  }
  return { outputs: { h: weightOf("h_seq") }, final };
}

/** One reference file -> the spec that follows its equations, the run request and the expected response. */
export function torchOracleCase(file: string): TorchOracleCase {
  const oracle = JSON.parse(readFileSync(file, "utf8")) as TorchOracleFile;
  const specFile = SPEC_OF_TORCH_CELL[oracle.cell];
  if (!specFile) throw new Error(`${file}: no library spec for cell '${oracle.cell}'`);
  const { sizes, params, initial_state, outputs, grads } = oracle;
  const states = Object.keys(initial_state).map((key) => key.replace(/0$/, ""));
  const perState = (tensorOf: (state: string) => OracleTensor) => Object.fromEntries(states.map((s) => [s, flat(tensorOf(s))]));
  const mapTensors = (tensors: OracleTensors) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, flat(v)]));
  const data: RunData = {
    dims: { I: sizes.input_size, H: sizes.hidden_size, ...(sizes.proj_size === undefined ? {} : { P: sizes.proj_size }) },
    batch: sizes.batch,
    steps: sizes.seq_len,
    params: mapTensors(params),
    inputs: { x: flat(oracle.inputs.x) },
    initial: perState((s) => initial_state[`${s}0`]!),
    upstream: upstreamOf(oracle, file),
  };
  const expected: Required<RunResponse> = {
    outputs: { h: flat(outputs.h_seq) },
    final: perState((s) => outputs[`${s}_T`]!),
    grads: {
      params: mapTensors(grads.params),
      inputs: { x: flat(grads.x) },
      initial: perState((s) => grads[`${s}0`] as OracleTensor),
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

/**
 * How an error is measured: "scaled" is scaledError, number by number (float64 engines); "relative" is
 * |got - want| / max |want| over the tensor (at least 1e-6), the relative error of a float32 engine,
 * whose rounding is relative to the tensor's scale and not to each number.
 */
export type ErrorMeasure = "scaled" | "relative";

/** Errors of `got` against `want`, number by number, under a measure. */
function errorsOf(got: readonly number[], want: readonly number[], measure: ErrorMeasure): number[] {
  if (measure === "scaled") return want.map((w, i) => scaledError(got[i]!, w));
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  return want.map((w, i) => {
    const error = Math.abs(got[i]! - w) / scale;
    return Number.isNaN(error) ? Infinity : error;
  });
}

/** Compares every field of `expected` with `response`: the worst error per field, and the fields beyond `tolerance`. */
export function compareRunResponse(response: RunResponse, expected: RunResponse, tolerance: number, measure: ErrorMeasure = "scaled"): RunComparison {
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
    errorsOf(got, want, measure).forEach((error, i) => {
      if (error > worst) [worst, worstIndex] = [error, i];
    });
    worstByField[field] = worst;
    if (worst > tolerance) failures.push(`${field}[${worstIndex}]: got ${got[worstIndex]}, expected ${want[worstIndex]} (error ${worst.toExponential(2)} > ${tolerance})`);
  }
  return { worstByField, failures };
}
