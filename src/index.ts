// The programmatic API: `import { parse, check, compile, run } from "lstmc"`.
// Every function takes the text of a cell or a model and returns its
// diagnostics as data; none prints, exits or throws for a mistake in the
// input. A model's cell files are read through `readFile` (the file system by
// default), relative to `file`. The code generators (ts-morph, prettier) are
// loaded by the first compile() only.
import { CodedError, diagnostic, hasErrors, type Diagnostic, type Span } from "./diagnostics/diagnostic.ts";
import { parseSpecText, type SpecFormat } from "./parse/load.ts";
import type { SpecAst } from "./parse/ast.ts";
import { buildCell } from "./ir/build.ts";
import type { CellIR } from "./ir/types.ts";
import { bindSizes } from "./ir/bind.ts";
import { readRunRequest, writeRunResponse, type RunResponse } from "./run/contract.ts";
import { ENGINES, runModelRequest } from "./run/engines.ts";
import { randomModelRequest, randomRequest } from "./run/random-data.ts";
import type { CompileOptions as TsCompileOptions } from "./codegen/compile.ts";
import { isModelText } from "./parse/model.ts";
import { loadModelText, parseModelText, readCellFile, type CellFileReader } from "./parse/load-model.ts";
import type { ModelAst } from "./parse/model-ast.ts";
import { buildModel } from "./ir/build-model.ts";
import type { ModelIR } from "./ir/model-types.ts";
import { bindModelSizes, readModelRunRequest } from "./run/model-contract.ts";

export type { Diagnostic, Span } from "./diagnostics/diagnostic.ts";
export { formatDiagnostic, hasErrors } from "./diagnostics/diagnostic.ts";
export type { DiagnosticCode, Severity } from "./diagnostics/catalogue.ts";
export type { SpecAst } from "./parse/ast.ts";
export type { CellIR } from "./ir/types.ts";
export type { ModelAst } from "./parse/model-ast.ts";
export type { ModelIR } from "./ir/model-types.ts";
export type { RunResponse } from "./run/contract.ts";

export interface SourceOptions {
  /** The name diagnostics give the text (default `spec.lstm`). */
  readonly file?: string;
  /** The syntax; by default chosen from `file`'s extension (`.json` or the cell language). */
  readonly format?: SpecFormat;
  /**
   * Reads a cell file that a model's layer names (`layer L = lstm.lstm(x)`),
   * given its path resolved against the folder of `file`; by default the file
   * system. Whatever it throws becomes an E005 diagnostic at the layer's cell.
   */
  readonly readFile?: (path: string) => string;
}

export interface ParseOutcome {
  /** The cell; null for a model or when there are errors. */
  readonly spec: SpecAst | null;
  /** The model (its cell files are not read by parse); null for a cell or when there are errors. */
  readonly model: ModelAst | null;
  readonly diagnostics: readonly Diagnostic[];
}

export interface CheckOutcome extends ParseOutcome {
  /** The checked cell; null for a model or when there are errors. */
  readonly ir: CellIR | null;
  /** The checked model, its layers' cells included; null for a cell or when there are errors. */
  readonly modelIr: ModelIR | null;
  /** The cell files a model's layers name, resolved against `file`, read or not: what a watcher watches. Empty for a cell. */
  readonly cellFiles: readonly string[];
}

export type Target = TsCompileOptions["target"] | "wgsl";

export interface CompileOptions extends SourceOptions {
  readonly target?: Target;
  /** Size bindings, e.g. `{ I: 128, H: 256 }`; missing sizes take the spec's defaults. */
  readonly dims?: Readonly<Record<string, number>>;
  readonly precision?: "f32" | "f64";
}

export interface CompiledFile {
  readonly fileName: string;
  readonly text: string;
}

export interface CompileOutcome {
  /** Empty when there are errors. */
  readonly files: readonly CompiledFile[];
  /** As check's: the cell files a model names, which the output depends on. */
  readonly cellFiles: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface RunOptions extends SourceOptions {
  /** A request in the `lstmc run --data` JSON contract; or use `example`. */
  readonly data?: unknown;
  /** Random parameters and inputs instead of `data`, as `lstmc run --example`. */
  readonly example?: { readonly dims?: Readonly<Record<string, number>>; readonly steps?: number; readonly batch?: number; readonly seed?: number };
  /** `interp` (default), `ts` or `wgsl`. */
  readonly engine?: string;
  readonly grad?: boolean;
}

export interface RunOutcome {
  /** The `lstmc run` JSON response (with `loss` for a model with a loss); null when there are errors. */
  readonly response: (RunResponse & { readonly loss?: number }) | null;
  readonly diagnostics: readonly Diagnostic[];
}

const DEFAULT_FILE = "spec.lstm";

export function parse(text: string, options: SourceOptions = {}): ParseOutcome {
  const file = options.file ?? DEFAULT_FILE;
  if (isModelText(text)) {
    const parsed = parseModelText(text, file);
    return { spec: null, model: parsed.value, diagnostics: parsed.diagnostics };
  }
  const parsed = parseSpecText(text, file, options.format);
  return { spec: parsed.value, model: null, diagnostics: parsed.diagnostics };
}

export function check(text: string, options: SourceOptions = {}): CheckOutcome {
  if (isModelText(text)) return checkModelText(text, options);
  const { spec, diagnostics } = parse(text, options);
  const notAModel = { model: null, modelIr: null, cellFiles: [] };
  if (!spec) return { spec, ir: null, ...notAModel, diagnostics };
  const built = buildCell(spec);
  const all = [...diagnostics, ...built.diagnostics];
  return { spec, ir: hasErrors(all) ? null : built.ir, ...notAModel, diagnostics: all };
}

function checkModelText(text: string, options: SourceOptions): CheckOutcome {
  const loaded = loadModelText(text, options.file ?? DEFAULT_FILE, cellReader(options.readFile));
  const notACell = { spec: null, ir: null, cellFiles: loaded.cellFiles };
  if (!loaded.model) return { ...notACell, model: null, modelIr: null, diagnostics: loaded.diagnostics };
  const built = buildModel(loaded.model, loaded.cells);
  const all = [...loaded.diagnostics, ...built.diagnostics];
  return { ...notACell, model: loaded.model, modelIr: hasErrors(all) ? null : built.ir, diagnostics: all };
}

/** The caller's reader, any failure of which is a file that cannot be read (located by the loader). */
function cellReader(readFile: SourceOptions["readFile"]): CellFileReader {
  if (!readFile) return readCellFile;
  return (path) => {
    try {
      return readFile(path);
    } catch (e) {
      if (e instanceof CodedError) throw e;
      throw new CodedError("cannotRead", path, e instanceof Error ? e.message : String(e));
    }
  };
}

export async function compile(text: string, options: CompileOptions = {}): Promise<CompileOutcome> {
  const checked = check(text, options);
  return { ...(await compileChecked(checked, options)), cellFiles: checked.cellFiles };
}

async function compileChecked(checked: CheckOutcome, options: CompileOptions): Promise<Omit<CompileOutcome, "cellFiles">> {
  if (checked.modelIr) return compileModelText(checked.model!, checked.modelIr, checked.diagnostics, options);
  if (!checked.ir) return { files: [], diagnostics: checked.diagnostics };
  // What `lstmc check --target` refuses is refused here the same way, located.
  const { targetDiagnostics } = await import("./codegen/check.ts");
  const refused = targetDiagnostics(checked.ir, options.target ?? "ts");
  if (refused.length > 0) return { files: [], diagnostics: [...checked.diagnostics, ...refused] };
  const made = await locatingInputErrors(checked.spec!.nameSpan, compileFiles(checked.ir, options));
  if ("failure" in made) return { files: [], diagnostics: [...checked.diagnostics, made.failure] };
  return { files: made.value, diagnostics: checked.diagnostics };
}

/** A model compiles to one module: TypeScript, JavaScript (with its .d.ts) or, for wgsl, the WebGPU host with its shaders inline, as `lstmc compile` writes. */
async function compileModelText(model: ModelAst, ir: ModelIR, diagnostics: readonly Diagnostic[], options: CompileOptions): Promise<Omit<CompileOutcome, "cellFiles">> {
  const made = await locatingInputErrors(model.nameSpan, compileModelFiles(ir, options.target ?? "ts", options));
  if ("failure" in made) return { files: [], diagnostics: [...diagnostics, made.failure] };
  return { files: made.value, diagnostics };
}

async function compileModelFiles(ir: ModelIR, target: "ts" | "js" | "wgsl", options: CompileOptions): Promise<readonly CompiledFile[]> {
  const sizes = bindModelSizes(ir, options.dims ?? {});
  if (target === "wgsl") return [await (await import("./codegen/model-wgsl.ts")).compileWgslModel(ir, { sizes })];
  const { compileJsModel, compileModel } = await import("./codegen/model.ts");
  const compiled = { precision: options.precision ?? "f32", sizes };
  return target === "js" ? Object.values(await compileJsModel(ir, compiled)) : [await compileModel(ir, compiled)];
}

export async function run(text: string, options: RunOptions): Promise<RunOutcome> {
  const checked = check(text, options);
  if (checked.modelIr) {
    const made = await locatingInputErrors(checked.model!.nameSpan, runModel(checked.modelIr, options));
    if ("failure" in made) return { response: null, diagnostics: [...checked.diagnostics, made.failure] };
    return { response: made.value, diagnostics: checked.diagnostics };
  }
  if (!checked.ir) return { response: null, diagnostics: checked.diagnostics };
  // A compiling engine refuses what its target does not compile, as compile does.
  if (options.engine === "ts" || options.engine === "wgsl") {
    const { targetDiagnostics } = await import("./codegen/check.ts");
    const refused = targetDiagnostics(checked.ir, options.engine);
    if (refused.length > 0) return { response: null, diagnostics: [...checked.diagnostics, ...refused] };
  }
  const made = await locatingInputErrors(checked.spec!.nameSpan, runCell(checked.ir, options));
  if ("failure" in made) return { response: null, diagnostics: [...checked.diagnostics, made.failure] };
  return { response: made.value, diagnostics: checked.diagnostics };
}

async function compileFiles(ir: CellIR, options: CompileOptions): Promise<readonly CompiledFile[]> {
  const dims = options.dims ?? {};
  if (options.target === "wgsl") {
    const { compileWgslCell } = await import("./codegen/wgsl/compile.ts");
    return (await compileWgslCell(ir, { dims })).files;
  }
  const { compileCell, compileJsCell } = await import("./codegen/compile.ts");
  const target = options.target ?? "ts";
  const precision = options.precision ?? "f32";
  if (target === "js") return Object.values(await compileJsCell(ir, { precision, dims }));
  return [await compileCell(ir, { target, precision, dims })];
}

/** The engine by name; an unknown name is a programming error of the caller's, not a fault in the spec or its data. */
function engineNamed(name: string | undefined) {
  const engine = ENGINES[name ?? "interp"];
  if (!engine) throw new TypeError(`unknown engine '${name}' (available: ${Object.keys(ENGINES).join(", ")})`);
  return engine;
}

async function runCell(ir: CellIR, options: RunOptions): Promise<RunResponse> {
  const engine = engineNamed(options.engine);
  const request = options.example ? exampleRequest(ir, options.example) : readRunRequest(ir, options.data as Parameters<typeof readRunRequest>[1]);
  const result = await engine.run(ir, request, options.grad ?? false);
  return writeRunResponse(result, result.grads);
}

/** A model runs on every engine, with or without lengths. */
async function runModel(ir: ModelIR, options: RunOptions): Promise<RunResponse> {
  const engine = engineNamed(options.engine);
  const example = options.example;
  const request = example
    ? randomModelRequest(ir, { sizes: bindModelSizes(ir, example.dims ?? {}), batch: example.batch ?? 1, steps: example.steps ?? 4, seed: example.seed ?? 1 })
    : readModelRunRequest(ir, options.data as Parameters<typeof readModelRunRequest>[1]);
  return runModelRequest(engine.name, ir, request, options.grad ?? false);
}

function exampleRequest(ir: CellIR, example: NonNullable<RunOptions["example"]>) {
  const sizes = bindSizes(ir, example.dims ?? {});
  return randomRequest(ir, { sizes, batch: example.batch ?? 1, steps: example.steps ?? 4, seed: example.seed ?? 1 });
}

/**
 * Awaits a step that, once the spec has checked, can fail only on the
 * caller's other input (a size binding, run data, a name the generated
 * module reserves), and turns that failure into a diagnostic at the cell's or
 * model's name. Anything else is a bug and propagates.
 */
async function locatingInputErrors<T>(nameSpan: Span, step: Promise<T>): Promise<{ value: T } | { failure: Diagnostic }> {
  try {
    return { value: await step };
  } catch (e) {
    // A size binding, run data, or a spec name that collides with a name the generated module exports.
    if (e instanceof CodedError) return { failure: diagnostic(e.id, nameSpan, ...e.args) };
    throw e;
  }
}
