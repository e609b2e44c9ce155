// Compiling a checked cell to a target module: lower, render, format.
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import * as prettier from "prettier";
import { bindSizes } from "../ir/bind.ts";
import { writeFileAtomically } from "../write-file.ts";
import type { CellIR } from "../ir/types.ts";
import { lowerCell } from "./lower.ts";
import { checkCellNames, specIdentifier } from "./names.ts";
import { renderModule } from "./ts/render.ts";

export { CodegenError } from "./names.ts";

export interface CompileOptions {
  readonly target: "ts";
  readonly precision: "f32" | "f64";
  /** Size bindings; missing sizes take the spec's defaults. */
  readonly dims?: Readonly<Record<string, number>>;
}

export interface CompiledModule {
  readonly fileName: string;
  readonly text: string;
}

export function compilerVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

export async function compileCell(ir: CellIR, options: CompileOptions): Promise<CompiledModule> {
  checkCellNames(ir);
  const sizes = bindSizes(ir, options.dims ?? {});
  const plan = lowerCell(ir, sizes);
  const raw = renderModule(plan, { precision: options.precision, specFile: basename(ir.file), compilerVersion: compilerVersion() });
  const text = await prettier.format(raw, { parser: "typescript", printWidth: 120 });
  return { fileName: `${specIdentifier(ir.name)}.ts`, text };
}

/** Writes through a temporary file and a rename, so readers never see half a module. */
/** Writes `dir/fileName` whole or not at all; returns its path. */
export function writeAtomically(dir: string, fileName: string, text: string): string {
  const target = join(dir, fileName);
  writeFileAtomically(target, text);
  return target;
}
