// The `ts` engine: compiles the spec (f64) for the request's sizes into a
// temporary directory, imports the module, removes the directory and runs the
// module under the run contract.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileCell, writeAtomically } from "../codegen/compile.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { CellIR } from "../ir/types.ts";
import type { ForwardResult, Gradients } from "../interp/interpret.ts";
import type { RunRequest } from "./contract.ts";

type Tensors = Record<string, Float64Array>;

/** The shape of every generated module (f64). */
export interface GeneratedModule {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number; steps?: number }): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): Gradients;
  /** `t`, the step index counted from 0, is read by cells that use it and ignored by the others. */
  step(params: Tensors, inputs: Tensors, state: Tensors, t?: number): Tensors;
  createState(batch?: number): Tensors;
  initParams(seed: number): Tensors;
}

const cache = new Map<string, Promise<GeneratedModule>>();

/** Compiles and imports a cell's module once per process for each size binding and precision. */
export function loadGeneratedModule(ir: CellIR, sizes: SizeBinding, precision: "f32" | "f64" = "f64"): Promise<GeneratedModule> {
  // The whole IR (plain data): two cells with the same name and node count must not share a module.
  const key = JSON.stringify([ir, sizes, precision]);
  if (!cache.has(key)) {
    cache.set(
      key,
      (async () => {
        const compiled = await compileCell(ir, { target: "ts", precision, dims: sizes });
        const dir = mkdtempSync(join(tmpdir(), "lstmc-ts-"));
        try {
          // Without this, loaders may take a lone .ts file for CommonJS.
          writeAtomically(dir, "package.json", '{ "type": "module" }\n');
          const file = writeAtomically(dir, compiled.fileName, compiled.text);
          // Once imported, the module lives in memory: the files are no longer needed.
          return (await import(pathToFileURL(file).href)) as GeneratedModule;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })(),
    );
  }
  return cache.get(key)!;
}

export async function runGenerated(ir: CellIR, request: RunRequest, withGrads: boolean): Promise<ForwardResult & { grads: Gradients | null }> {
  const module = await loadGeneratedModule(ir, request.sizes, "f64");
  const { params, inputs, initial, batch, steps } = request.sequence;
  const result = module.forward(params, inputs, initial, { batch, steps });
  const grads = withGrads ? module.backward(params, result.saved, request.upstream) : null;
  return { outputs: result.outputs, final: result.final, grads };
}
