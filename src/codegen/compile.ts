// Compiling a checked cell to a target module: lower, render, format.
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import * as prettier from "prettier";
import { ts } from "ts-morph";
import { bindSizes } from "../ir/bind.ts";
import { writeFileAtomically } from "../write-file.ts";
import type { CellIR } from "../ir/types.ts";
import { CPU_SCHEDULE, lowerCell, type ModulePlan } from "./lower.ts";
import { WGSL_SCHEDULE } from "./wgsl/kernels.ts";
import { checkCellNames, CodegenError, specIdentifier } from "./names.ts";
import { libraryLayoutOf } from "./ts/adapters.ts";
import { renderModule } from "./ts/render.ts";

export { CodegenError } from "./names.ts";

export interface CompileOptions {
  readonly target: "ts" | "js";
  readonly precision: "f32" | "f64";
  /** Size bindings; missing sizes take the spec's defaults. */
  readonly dims?: Readonly<Record<string, number>>;
  /** f32: the forward step loop in one WebAssembly call where the spec's forms allow (default true; false keeps the JavaScript loop). */
  readonly fusedStep?: boolean;
}

export interface CompiledModule {
  readonly fileName: string;
  readonly text: string;
}

export function compilerVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

/** The module plan a target's renderer reads (plain data: `lstmc compile --emit plan` prints it). */
export function planCell(ir: CellIR, options: { readonly target: "ts" | "js" | "wgsl"; readonly dims?: Readonly<Record<string, number>> }): ModulePlan {
  checkCellNames(ir);
  return lowerCell(ir, bindSizes(ir, options.dims ?? {}), options.target === "wgsl" ? WGSL_SCHEDULE : { ...CPU_SCHEDULE, target: options.target });
}

/** The sizes a plan was lowered at, as a size binding. */
export function boundSizes(plan: ModulePlan): Record<string, number> {
  return Object.fromEntries(plan.cell.sizes.map((s) => [s.name, s.value]));
}

/** A plan as its JSON file: two-space indented, one trailing newline. */
export function planJson(plan: ModulePlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/**
 * Prettier on generated TypeScript. The file path matters for speed: without
 * a `.ts` name prettier's TypeScript parser first tries to guess whether the
 * text is JSX with a regular expression that is quadratic on long quote-free
 * text, 41% of compile time for a 2000-equation spec. babel-ts prints the same
 * TypeScript as the typescript parser here, in about 60% of its time.
 */
export function formatTypeScript(text: string, fileName: string): Promise<string> {
  return prettier.format(text, { parser: "babel-ts", filepath: fileName, printWidth: 120 });
}

export async function compileCell(ir: CellIR, options: CompileOptions): Promise<CompiledModule> {
  const plan = planCell(ir, options);
  const adapters = libraryLayoutOf(ir, boundSizes(plan));
  const raw = renderModule(plan, { target: options.target, precision: options.precision, specFile: basename(ir.file), compilerVersion: compilerVersion(), adapters, ...(options.fusedStep === undefined ? {} : { fusedStep: options.fusedStep }) });
  const text = await formatTypeScript(raw, `${specIdentifier(ir.name)}.ts`);
  return { fileName: `${specIdentifier(ir.name)}.ts`, text };
}

/**
 * The JavaScript target: the TypeScript module with its types erased (an
 * ES2020 module any bundler or plain `node` imports) and its declarations
 * (`.d.ts`). Erasing types changes no expression, so the numbers are the TS
 * module's bit for bit.
 */
export async function compileJsCell(ir: CellIR, options: Omit<CompileOptions, "target">): Promise<{ js: CompiledModule; dts: CompiledModule }> {
  return eraseTypes(specIdentifier(ir.name), (await compileCell(ir, { ...options, target: "js" })).text);
}

/**
 * A generated TypeScript module as JavaScript (ES2020, types erased) and its
 * declarations, both formatted. Both come from the module's own text, with no
 * type checker: generated modules annotate everything their declarations need
 * (isolatedDeclarations), which makes this ten times faster than a program
 * emit. A module that is not annotated so is a code generator's bug.
 */
export async function eraseTypes(name: string, typescript: string): Promise<{ js: CompiledModule; dts: CompiledModule }> {
  const compilerOptions = { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ES2020, strict: true };
  const fileName = `${name}.ts`;
  const js = ts.transpileModule(typescript, { compilerOptions, fileName, reportDiagnostics: true });
  const dts = ts.transpileDeclaration(typescript, { compilerOptions, fileName, reportDiagnostics: true });
  const problems = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])];
  if (problems.length > 0) {
    const first = problems[0]!;
    const at = first.file && first.start !== undefined ? first.file.getLineAndCharacterOfPosition(first.start).line + 1 : 0;
    throw new CodegenError(`internal: ${fileName} line ${at}: ${ts.flattenDiagnosticMessageText(first.messageText, " ")}`);
  }
  return {
    js: { fileName: `${name}.js`, text: await prettier.format(js.outputText, { parser: "babel", printWidth: 120 }) },
    dts: { fileName: `${name}.d.ts`, text: await formatTypeScript(dts.outputText, `${name}.d.ts`) },
  };
}

/** Writes through a temporary file and a rename, so readers never see half a module. */
/** Writes `dir/fileName` whole or not at all; returns its path. */
export function writeAtomically(dir: string, fileName: string, text: string): string {
  const target = join(dir, fileName);
  writeFileAtomically(target, text);
  return target;
}
