// The programmatic API: `import { parse, check, compile, run } from "lstmc"`.
// Every function takes the spec's text and returns its diagnostics as data;
// none prints, exits or throws for a mistake in the input. The code
// generators (ts-morph, prettier) are loaded by the first compile() only.
import { CodedError, diagnostic, hasErrors, type Diagnostic } from "./diagnostics/diagnostic.ts";
import { parseSpecText, type SpecFormat } from "./parse/load.ts";
import type { SpecAst } from "./parse/ast.ts";
import { buildCell } from "./ir/build.ts";
import type { CellIR } from "./ir/types.ts";
import { bindSizes } from "./ir/bind.ts";
import { readRunRequest, writeRunResponse, type RunResponse } from "./run/contract.ts";
import { ENGINES } from "./run/engines.ts";
import { randomRequest } from "./run/random-data.ts";
import type { CompileOptions as TsCompileOptions } from "./codegen/compile.ts";

export type { Diagnostic, Span } from "./diagnostics/diagnostic.ts";
export { formatDiagnostic, hasErrors } from "./diagnostics/diagnostic.ts";
export type { DiagnosticCode, Severity } from "./diagnostics/catalogue.ts";
export type { SpecAst } from "./parse/ast.ts";
export type { CellIR } from "./ir/types.ts";
export type { RunResponse } from "./run/contract.ts";

export interface SourceOptions {
  /** The name diagnostics give the text (default `spec.lstm`). */
  readonly file?: string;
  /** The syntax; by default chosen from `file`'s extension (`.json` or the cell language). */
  readonly format?: SpecFormat;
}

export interface ParseOutcome {
  readonly spec: SpecAst | null;
  readonly diagnostics: readonly Diagnostic[];
}

export interface CheckOutcome {
  readonly spec: SpecAst | null;
  /** The checked cell; null when there are errors. */
  readonly ir: CellIR | null;
  readonly diagnostics: readonly Diagnostic[];
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
  /** The `lstmc run` JSON response; null when there are errors. */
  readonly response: RunResponse | null;
  readonly diagnostics: readonly Diagnostic[];
}

const DEFAULT_FILE = "spec.lstm";

export function parse(text: string, options: SourceOptions = {}): ParseOutcome {
  const parsed = parseSpecText(text, options.file ?? DEFAULT_FILE, options.format);
  return { spec: parsed.value, diagnostics: parsed.diagnostics };
}

export function check(text: string, options: SourceOptions = {}): CheckOutcome {
  const { spec, diagnostics } = parse(text, options);
  if (!spec) return { spec, ir: null, diagnostics };
  const built = buildCell(spec);
  const all = [...diagnostics, ...built.diagnostics];
  return { spec, ir: hasErrors(all) ? null : built.ir, diagnostics: all };
}

export async function compile(text: string, options: CompileOptions = {}): Promise<CompileOutcome> {
  const checked = check(text, options);
  if (!checked.ir) return { files: [], diagnostics: checked.diagnostics };
  // What `lstmc check --target` refuses is refused here the same way, located.
  const { targetDiagnostics } = await import("./codegen/check.ts");
  const refused = targetDiagnostics(checked.ir, options.target ?? "ts");
  if (refused.length > 0) return { files: [], diagnostics: [...checked.diagnostics, ...refused] };
  const made = await locatingInputErrors(checked.spec!, compileFiles(checked.ir, options));
  if ("failure" in made) return { files: [], diagnostics: [...checked.diagnostics, made.failure] };
  return { files: made.value, diagnostics: checked.diagnostics };
}

export async function run(text: string, options: RunOptions): Promise<RunOutcome> {
  const checked = check(text, options);
  if (!checked.ir) return { response: null, diagnostics: checked.diagnostics };
  // A compiling engine refuses what its target does not compile, as compile does.
  if (options.engine === "ts" || options.engine === "wgsl") {
    const { targetDiagnostics } = await import("./codegen/check.ts");
    const refused = targetDiagnostics(checked.ir, options.engine);
    if (refused.length > 0) return { response: null, diagnostics: [...checked.diagnostics, ...refused] };
  }
  const made = await locatingInputErrors(checked.spec!, runCell(checked.ir, options));
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

async function runCell(ir: CellIR, options: RunOptions): Promise<RunResponse> {
  const engine = ENGINES[options.engine ?? "interp"];
  // A programming error of the caller's, not a fault in the spec or its data.
  if (!engine) throw new TypeError(`unknown engine '${options.engine}' (available: ${Object.keys(ENGINES).join(", ")})`);
  const request = options.example ? exampleRequest(ir, options.example) : readRunRequest(ir, options.data as Parameters<typeof readRunRequest>[1]);
  const result = await engine.run(ir, request, options.grad ?? false);
  return writeRunResponse(result, result.grads);
}

function exampleRequest(ir: CellIR, example: NonNullable<RunOptions["example"]>) {
  const sizes = bindSizes(ir, example.dims ?? {});
  return randomRequest(ir, { sizes, batch: example.batch ?? 1, steps: example.steps ?? 4, seed: example.seed ?? 1 });
}

/**
 * Awaits a step that, once the spec has checked, can fail only on the
 * caller's other input (a size binding, run data, a name the generated
 * module reserves), and turns that failure into a diagnostic at the cell's
 * name. Anything else is a bug and propagates.
 */
async function locatingInputErrors<T>(spec: SpecAst, step: Promise<T>): Promise<{ value: T } | { failure: Diagnostic }> {
  try {
    return { value: await step };
  } catch (e) {
    // A size binding, run data, or a spec name that collides with a name the generated module exports.
    if (e instanceof CodedError) return { failure: diagnostic(e.id, spec.nameSpan, ...e.args) };
    throw e;
  }
}
