// Compiling a checked cell to a target module: lower, render, format.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import * as prettier from "prettier";
import { bindSizes } from "../ir/bind.ts";
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
export function writeAtomically(dir: string, fileName: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, fileName);
  const temp = join(dir, `.${fileName}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, target);
  return target;
}
