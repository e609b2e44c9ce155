// The `ts` engine: compiles the spec or model (f64) for the request's sizes
// into a temporary directory, imports the module, removes the directory and
// runs the module under the run contract.
//
// The module is imported as JavaScript (types stripped by TypeScript's
// transpiler; no expression changes): Node cannot import a .ts file by
// itself, and the published package runs without tsx's loader.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ts } from "ts-morph";
import { compileCell, writeAtomically, type CompiledModule } from "../codegen/compile.ts";
import { compileModel } from "../codegen/model.ts";
import type { ModelIR } from "../ir/model-types.ts";
import type { ModelForwardResult } from "../interp/model.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { CellIR } from "../ir/types.ts";
import type { ForwardResult, Gradients } from "../interp/interpret.ts";
import type { RunRequest } from "./contract.ts";
import type { ModelRunRequest } from "./model-contract.ts";

type Tensors = Record<string, Float64Array>;

/** The shape of every generated module (f64). */
export interface GeneratedModule {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number; steps?: number; lengths?: readonly number[] }): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): Gradients;
  /** `t`, the step index counted from 0, is read by cells that use it and ignored by the others. */
  step(params: Tensors, inputs: Tensors, state: Tensors, t?: number): Tensors;
  createState(batch?: number): Tensors;
  initParams(seed: number): Tensors;
  /** step() reuses the matrices it packed while given the same arrays: after editing one in place, call this first. */
  invalidate(): void;
}

/** The shape of a generated model module (f64). */
export interface GeneratedModelModule {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number; lengths?: readonly number[]; targets?: ArrayLike<number> }): { outputs: Tensors; final: Tensors; loss: number | null; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): Gradients;
  /** `t`, the step index counted from 0, is required by models whose cells read it and ignored by the others. */
  step(params: Tensors, inputs: Tensors, state: Tensors, t?: number): Tensors;
  createState(batch?: number): Tensors;
  initParams(seed: number): Tensors;
}

const cache = new Map<string, Promise<unknown>>();

/** A generated module's TypeScript as an ES module Node imports. */
function stripTypes(typescript: string): string {
  return ts.transpileModule(typescript, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
}

/**
 * Compiles and imports a generated TypeScript module (a cell's, a model's, or a WebGPU host) once per process for
 * each key (the whole IR, sizes and options), its types stripped: the bundled CLI's Node does not import .ts files.
 */
export function importOnce<T>(key: string, compile: () => Promise<CompiledModule>): Promise<T> {
  if (!cache.has(key)) {
    cache.set(
      key,
      (async () => {
        const compiled = await compile();
        const dir = mkdtempSync(join(tmpdir(), "lstmc-ts-"));
        try {
          const file = writeAtomically(dir, compiled.fileName.replace(/\.ts$/, ".mjs"), stripTypes(compiled.text));
          // Once imported, the module lives in memory: the files are no longer needed.
          return await import(pathToFileURL(file).href);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })(),
    );
  }
  return cache.get(key) as Promise<T>;
}

/** Compiles and imports a cell's module once per process for each size binding and precision. */
export function loadGeneratedModule(ir: CellIR, sizes: SizeBinding, precision: "f32" | "f64" = "f64"): Promise<GeneratedModule> {
  // The whole IR (plain data): two cells with the same name and node count must not share a module.
  return importOnce(JSON.stringify(["cell", ir, sizes, precision]), () => compileCell(ir, { target: "ts", precision, dims: sizes }));
}

/** Compiles and imports a model's module once per process for each size binding and precision. */
export function loadGeneratedModel(ir: ModelIR, sizes: SizeBinding, precision: "f32" | "f64" = "f64"): Promise<GeneratedModelModule> {
  return importOnce(JSON.stringify(["model", ir, sizes, precision]), () => compileModel(ir, { precision, sizes }));
}

export async function runGeneratedModel(ir: ModelIR, request: ModelRunRequest, withGrads: boolean): Promise<ModelForwardResult & { grads: Gradients | null }> {
  const module = await loadGeneratedModel(ir, request.sizes, "f64");
  const { params, inputs, initial, batch, lengths, targets } = request.sequence;
  const result = module.forward(params, inputs, initial, { batch, ...(lengths && { lengths }), ...(targets && { targets }) });
  const grads = withGrads ? module.backward(params, result.saved, request.upstream) : null;
  return { outputs: result.outputs, final: result.final, loss: result.loss, grads };
}

export async function runGenerated(ir: CellIR, request: RunRequest, withGrads: boolean): Promise<ForwardResult & { grads: Gradients | null }> {
  const module = await loadGeneratedModule(ir, request.sizes, "f64");
  const { params, inputs, initial, batch, steps, lengths } = request.sequence;
  const result = module.forward(params, inputs, initial, { batch, steps, ...(lengths && { lengths }) });
  const grads = withGrads ? module.backward(params, result.saved, request.upstream) : null;
  return { outputs: result.outputs, final: result.final, grads };
}
