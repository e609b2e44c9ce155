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

/** Compiles every spec in one lstmc run into .tmp/cells/<dims>-<precision>/ and imports the modules by name. */
export async function compileCells(request: CompileRequest): Promise<Record<string, CellModule>> {
  const dims = Object.entries(request.dims).map(([k, v]) => `${k}=${v}`).join(",");
  const out = join(ROOT, ".tmp", "cells", `${dims}-${request.precision}`);
  execFileSync(process.execPath, [join(ROOT, "bin/lstmc.js"), "compile", ...request.specs.map((s) => join(ROOT, s)), "--target", "ts", "--dims", dims, "--precision", request.precision, "--out", out], { stdio: ["ignore", "ignore", "inherit"] });
  const modules: Record<string, CellModule> = {};
  for (const spec of request.specs) {
    const name = basename(spec, ".lstm");
    modules[name] = (await import(pathToFileURL(join(out, `${name}.ts`)).href)) as CellModule;
  }
  return modules;
}
