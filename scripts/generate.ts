// Regenerates the checked-in outputs of the compiler:
//   tsx scripts/generate.ts           generated/<cell>.ts for every spec in specs/, default sizes, f32, and
//                                     docs/diagrams/<cell>.svg, its essay-style diagram
//   tsx scripts/generate.ts --golden  the golden baselines (tiny sizes): test/golden/<cell>.expected.ts for the
//                                     golden specs; <cell>.plan.json, <cell>.forward.expected.wgsl and
//                                     <cell>.backward.expected.wgsl for every library spec
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { basename } from "node:path";
import { compileCell, planCell, planJson, writeAtomically, type CompileOptions } from "../src/codegen/compile.ts";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import { freeSizes } from "../src/ir/bind.ts";
import type { CellIR } from "../src/ir/types.ts";
import { isModelFile } from "../src/parse/load-model.ts";

export const SPEC_DIR = "specs";
export const GENERATED_DIR = "generated";
export const GOLDEN_DIR = join("test", "golden");
export const DIAGRAM_DIR = join("docs", "diagrams");
/** Specs with golden baselines, and the sizes and precision they are compiled at. */
export const GOLDEN_SPECS = ["rnn", "gru", "lstm"];
export const GOLDEN_OPTIONS: CompileOptions = { target: "ts", precision: "f32", dims: { I: 2, H: 3 } };
export const DEFAULT_OPTIONS: CompileOptions = { target: "ts", precision: "f32" };

export function loadSpec(file: string): CellIR {
  const parsed = parseDsl(readFileSync(file, "utf8"), file);
  if (!parsed.value) throw new Error(`${file} does not parse`);
  const built = buildCell(parsed.value);
  if (!built.ir) throw new Error(`${file} does not check`);
  return built.ir;
}

/**
 * Library specs whose forms the code generators do not compile yet (none today: every spec
 * compiles); such a spec has no generated module, plan or golden, and the per-spec codegen
 * tests leave it out. The interpreter's tests cover it.
 */
export const NOT_COMPILED_YET: readonly string[] = [];

/** Every cell spec in specs/ (models have their own tests). */
export function cellSpecFiles(): string[] {
  return readdirSync(SPEC_DIR)
    .filter((f) => f.endsWith(".lstm") && !isModelFile(join(SPEC_DIR, f)))
    .sort()
    .map((f) => join(SPEC_DIR, f));
}

/** Every spec in specs/ that the code generators compile: cells, less the forms of NOT_COMPILED_YET (models have their own tests). */
export function specFiles(): string[] {
  return cellSpecFiles().filter((f) => !NOT_COMPILED_YET.includes(basename(f)));
}

/** Every generated module: file name -> text. */
export async function generateAll(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of specFiles()) {
    const compiled = await compileCell(loadSpec(file), DEFAULT_OPTIONS);
    out.set(compiled.fileName, compiled.text);
  }
  return out;
}

/** Every spec's essay-style diagram: file name -> SVG. */
export async function generateDiagrams(): Promise<Map<string, string>> {
  // Loaded here only: the many tests that import this file for loadSpec need not load ELK.
  const { drawDiagram } = await import("../src/diagram/draw.ts");
  const out = new Map<string, string>();
  for (const file of cellSpecFiles()) out.set(`${basename(file, ".lstm")}.svg`, (await drawDiagram(loadSpec(file), "essay")).svg);
  return out;
}

export async function generateGolden(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of GOLDEN_SPECS) {
    const compiled = await compileCell(loadSpec(join(SPEC_DIR, `${name}.lstm`)), GOLDEN_OPTIONS);
    out.set(`${name}.expected.ts`, compiled.text);
  }
  for (const file of specFiles()) {
    const ir = loadSpec(file);
    const name = basename(file, ".lstm");
    // Sizes a spec defines (H = G * K, I = H) follow from the others.
    const dims = freeSizes(ir, GOLDEN_OPTIONS.dims ?? {});
    out.set(`${name}.plan.json`, planJson(planCell(ir, { target: "ts", dims })));
    const wgsl = await compileWgslCell(ir, { dims });
    for (const f of wgsl.files) if (f.fileName.endsWith(".wgsl")) out.set(f.fileName.replace(/\.wgsl$/, ".expected.wgsl"), f.text);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const golden = process.argv.includes("--golden");
  const [dir, files] = golden ? [GOLDEN_DIR, await generateGolden()] : [GENERATED_DIR, await generateAll()];
  for (const [name, text] of files) console.log(`wrote ${writeAtomically(dir, name, text)}`);
  if (!golden) for (const [name, svg] of await generateDiagrams()) console.log(`wrote ${writeAtomically(DIAGRAM_DIR, name, svg)}`);
}
