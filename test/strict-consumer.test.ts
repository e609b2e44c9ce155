// A generated module is a library someone else type-checks with their own
// settings. This compiles the library modules as such a consumer would, with
// the TypeScript compiler API and every strict setting people use on at once,
// and sorts what it reports by who writes the code: the runtime helpers and
// the WebGPU host driver (src/codegen/runtime/), or the rest.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, test } from "vitest";
import { compileCell } from "../src/codegen/compile.ts";
import * as EMBEDDED from "../src/codegen/runtime/embedded.ts";
import { INIT_HELPERS, gemmNT } from "../src/codegen/ts/runtime.ts";
import { compileModel } from "../src/codegen/model.ts";
import { compileWgslModel } from "../src/codegen/model-wgsl.ts";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { bindModelSizes } from "../src/run/model-contract.ts";
import { loadLibraryModel } from "./helpers/library-model.ts";
import { generateAll, loadSpec } from "../scripts/generate.ts";

const STRICTEST: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
  types: [],
  strict: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  // Also what `--target js` relies on: declarations emitted from each module's own text (src/codegen/compile.ts eraseTypes).
  isolatedDeclarations: true,
  declaration: true,
  noEmit: true,
};

const require = createRequire(import.meta.url);
/** The published WebGPU types, and the newer copy the `webgpu` package brings. */
const WEBGPU_TYPES = [require.resolve("@webgpu/types/dist/index.d.ts"), join(require.resolve("webgpu/package.json"), "..", "node_modules", "@webgpu", "types", "dist", "index.d.ts")];

interface Finding {
  file: string;
  line: number;
  code: number;
  /** The top-level declaration it is in. */
  declaration: string;
  message: string;
}

/** Names a top-level statement declares. */
function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  if ((ts.isFunctionDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) return [statement.name.text];
  return [];
}

/** The top-level names the given pieces of module text declare. */
function topLevelNames(parts: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const text of parts) for (const s of ts.createSourceFile("part.ts", text, ts.ScriptTarget.ES2022).statements) for (const n of declaredNames(s)) names.add(n);
  return names;
}

/** What src/codegen/runtime/ and runtime.ts put in every module: the embedded helpers, the host and model drivers, the renamed GEMM and the wasm constant. */
const RUNTIME = topLevelNames([
  EMBEDDED.GEMM_NT,
  EMBEDDED.LENGTHS,
  EMBEDDED.HELPERS,
  EMBEDDED.GROW_JS,
  EMBEDDED.WASM_F32,
  EMBEDDED.EXP_F32,
  EMBEDDED.HOST_TYPES,
  EMBEDDED.HOST_CELL,
  EMBEDDED.HOST_CHAIN_TYPES,
  EMBEDDED.HOST_DRIVER,
  EMBEDDED.MODEL_DRIVER,
  EMBEDDED.MODEL_DRIVER_SYNC,
  EMBEDDED.MODEL_DRIVER_WEBGPU,
  gemmNT("_gemmNTjs"),
]);
RUNTIME.add("_GEMM_WASM");
RUNTIME.add("_GEMM_RELAXED");
/** initParams' helpers (INIT_HELPERS), still a string in runtime.ts: src/runtime/init.ts replaces them. */
const INIT = topLevelNames([INIT_HELPERS]);
/** The specialised matrix-vector products runtime.ts writes for each size (gemvFunction). */
const isGemv = (name: string) => /^_gemv\d+x\d+$/.test(name);

const dir = mkdtempSync(join(tmpdir(), "lstmc-strict-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Type-checks `modules` (file name -> text) together with `extra` declaration files, under STRICTEST. */
function check(modules: Map<string, string>, extra: readonly string[] = []): Finding[] {
  const files = [...modules].map(([name, text]) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  });
  const program = ts.createProgram([...files, ...extra], STRICTEST);
  return ts.getPreEmitDiagnostics(program).flatMap((d): Finding[] => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined || !files.includes(d.file.fileName)) return [{ file: d.file?.fileName ?? "(options)", line: 0, code: d.code, declaration: "", message }];
    const statement = d.file.statements.find((s) => s.getStart(d.file) <= d.start! && d.start! < s.end);
    return [{ file: d.file.fileName.slice(dir.length + 1), line: d.file.getLineAndCharacterOfPosition(d.start).line + 1, code: d.code, declaration: statement ? declaredNames(statement).join(",") : "", message }];
  });
}

const isRuntime = (f: Finding) => f.declaration.split(",").some((n) => RUNTIME.has(n) || isGemv(n));
const isInit = (f: Finding) => f.declaration.split(",").some((n) => INIT.has(n));
const show = (findings: readonly Finding[]) => findings.map((f) => `${f.file}:${f.line} TS${f.code} in ${f.declaration || "?"}: ${f.message.split("\n")[0]}`);

/** The library's TypeScript modules as `npm run generate` writes them (f32), and lstm and gru in f64. */
async function typescriptModules(): Promise<Map<string, string>> {
  const modules = await generateAll();
  for (const spec of ["lstm", "gru"]) {
    const compiled = await compileCell(loadSpec(`specs/${spec}.lstm`), { target: "ts", precision: "f64" });
    modules.set(`${spec}.f64.ts`, compiled.text);
  }
  return modules;
}

async function webgpuModules(): Promise<Map<string, string>> {
  const modules = new Map<string, string>();
  for (const spec of ["lstm", "gru"]) {
    const { host } = await compileWgslCell(loadSpec(`specs/${spec}.lstm`));
    modules.set(host.fileName, host.text);
  }
  // Model modules: each carries only the driver parts it runs (a part it does not use would be an unused local).
  for (const spec of ["bilstm", "classifier"]) {
    const ir = loadLibraryModel(`specs/${spec}.lstm`);
    const sizes = bindModelSizes(ir, {});
    const [ts, wgsl] = await Promise.all([compileModel(ir, { precision: "f32", sizes }), compileWgslModel(ir, { sizes })]);
    modules.set(`${spec}.model.ts`, ts.text).set(wgsl.fileName, wgsl.text);
  }
  return modules;
}

const typescript = await typescriptModules();
const webgpu = await webgpuModules();
const findings = [
  ...check(typescript),
  // Once with each copy of the WebGPU types: the files are renamed so that the two programs do not share them.
  ...WEBGPU_TYPES.flatMap((types, i) => check(new Map([...webgpu].map(([name, text]) => [`types${i}.${name}`, text])), [types])),
];

describe("generated modules under strict, noUncheckedIndexedAccess, noUnused*, exactOptionalPropertyTypes, noImplicitOverride, verbatimModuleSyntax, isolatedModules", () => {
  test("the runtime helpers, the matrix-vector products and the WebGPU host driver compile cleanly in every module", () => {
    expect(show(findings.filter(isRuntime))).toEqual([]);
  });

  test("the WebGPU host modules' own code (host.ts) compiles cleanly, with either copy of the WebGPU types", () => {
    expect(show(findings.filter((f) => f.file.includes(".webgpu.") && !isRuntime(f) && !isInit(f)))).toEqual([]);
  });

  test("everything else (the per-cell code of render.ts and adapters.ts, initParams' helpers) compiles cleanly", () => {
    expect(show(findings.filter((f) => !isRuntime(f)))).toEqual([]);
  });
});
