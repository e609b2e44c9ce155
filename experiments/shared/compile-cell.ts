// The one place the experiments call the compiler: compile cell specs to TS
// modules in a git-ignored folder and import them. Kept to one function so a
// change in the compiler's interface (a --target js, say) is adapted here only.
import { execFileSync } from "node:child_process";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CellModule } from "../../src/train/cell-module.ts";

const ROOT = resolve(import.meta.dirname, "../..");

export interface CompileRequest {
  /** Spec files, relative to the repository root; each module is named after its file (specs/lstm.lstm → lstm). */
  readonly specs: readonly string[];
  readonly dims: Readonly<Record<string, number>>;
  readonly precision: "f32" | "f64";
}

/** Where compileCells puts the modules of a request: .tmp/cells/<dims>-<precision>/. */
function cellsDir(request: CompileRequest): string {
  const dims = Object.entries(request.dims).map(([k, v]) => `${k}=${v}`).join(",");
  return join(ROOT, ".tmp", "cells", `${dims}-${request.precision}`);
}

/** Compiles every spec in one lstmc run into .tmp/cells/<dims>-<precision>/ and imports the modules by name. */
export async function compileCells(request: CompileRequest): Promise<Record<string, CellModule>> {
  const dims = Object.entries(request.dims).map(([k, v]) => `${k}=${v}`).join(",");
  execFileSync(process.execPath, [join(ROOT, "bin/lstmc.js"), "compile", ...request.specs.map((s) => join(ROOT, s)), "--target", "ts", "--dims", dims, "--precision", request.precision, "--out", cellsDir(request)], { stdio: ["ignore", "ignore", "inherit"] });
  return importCells(request);
}

/** The modules an earlier compileCells of the same request wrote (a worker's view of them). */
export async function importCells(request: CompileRequest): Promise<Record<string, CellModule>> {
  const modules: Record<string, CellModule> = {};
  for (const spec of request.specs) {
    const name = basename(spec, ".lstm");
    modules[name] = (await import(pathToFileURL(join(cellsDir(request), `${name}.ts`)).href)) as CellModule;
  }
  return modules;
}
