// Every engine a spec runs on, each with the tolerance it is held to against
// float64 reference data: the interpreter and the float64 TypeScript and
// JavaScript modules within 1e-9 (scaled), the float32 TypeScript module and
// WGSL within 1e-4 relative. Each takes an `lstmc run` request and answers a
// run response, so any reference file can be put to all of them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileJsCell, writeAtomically } from "../../src/codegen/compile.ts";
import { forwardBackward, type ForwardResult, type Gradients } from "../../src/interp/interpret.ts";
import type { CellIR } from "../../src/ir/types.ts";
import { writeRunResponse, type RunRequest, type RunResponse } from "../../src/run/contract.ts";
import { typescriptEngine } from "../../src/run/engines.ts";
import { loadGeneratedModule, type GeneratedModule } from "../../src/run/ts-engine.ts";
import { runWebGpu } from "../../src/run/wgsl-engine.ts";
import type { ErrorMeasure } from "./torch-oracle.ts";

export interface OracleEngine {
  readonly name: string;
  readonly tolerance: number;
  readonly measure: ErrorMeasure;
  /** Whether the engine needs a WebGPU adapter. */
  readonly gpu: boolean;
  run(ir: CellIR, request: RunRequest): Promise<RunResponse>;
}

type Tensors = Record<string, ArrayLike<number>>;
type FloatArray = Float32ArrayConstructor | Float64ArrayConstructor;

const castAll = (tensors: Tensors, Float: FloatArray) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float.from(v)])) as never;
const f64 = (tensors: Tensors): Record<string, Float64Array> => castAll(tensors, Float64Array);

/** A generated module (either precision) run under the run contract, forward and backward. */
function runModule(module: GeneratedModule, request: RunRequest, Float: FloatArray): RunResponse {
  const { params, inputs, initial, batch, steps, lengths } = request.sequence;
  const typedParams = castAll(params, Float);
  const result = module.forward(typedParams, castAll(inputs, Float), castAll(initial, Float), { batch, steps, ...(lengths && { lengths }) });
  const grads = module.backward(typedParams, result.saved, { outputs: castAll(request.upstream.outputs, Float), final: castAll(request.upstream.final, Float) });
  const asF64: ForwardResult = { outputs: f64(result.outputs), final: f64(result.final) } as ForwardResult;
  const gradsF64: Gradients = { params: f64(grads.params), inputs: f64(grads.inputs), initial: f64(grads.initial) };
  return writeRunResponse(asF64, gradsF64);
}

const jsModules = new Map<string, Promise<GeneratedModule>>();

/** The JavaScript target (f64), compiled and imported once per cell and size binding. */
function loadJsModule(ir: CellIR, request: RunRequest): Promise<GeneratedModule> {
  const key = JSON.stringify([ir, request.sizes]);
  if (!jsModules.has(key)) {
    jsModules.set(
      key,
      (async () => {
        const { js } = await compileJsCell(ir, { precision: "f64", dims: request.sizes });
        const dir = mkdtempSync(join(tmpdir(), "lstmc-oracle-js-"));
        try {
          writeAtomically(dir, "package.json", '{ "type": "module" }\n');
          return (await import(pathToFileURL(writeAtomically(dir, js.fileName, js.text)).href)) as GeneratedModule;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })(),
    );
  }
  return jsModules.get(key)!;
}

const withGrads = (result: ForwardResult & { grads: Gradients | null }) => writeRunResponse(result, result.grads);

export const ORACLE_ENGINES: readonly OracleEngine[] = [
  { name: "interp", tolerance: 1e-9, measure: "scaled", gpu: false, run: async (ir, request) => withGrads(forwardBackward(ir, request.sizes, request.sequence, request.upstream)) },
  { name: "ts f64", tolerance: 1e-9, measure: "scaled", gpu: false, run: async (ir, request) => withGrads(await typescriptEngine.run(ir, request, true)) },
  { name: "js f64", tolerance: 1e-9, measure: "scaled", gpu: false, run: async (ir, request) => runModule(await loadJsModule(ir, request), request, Float64Array) },
  { name: "ts f32", tolerance: 1e-4, measure: "relative", gpu: false, run: async (ir, request) => runModule(await loadGeneratedModule(ir, request.sizes, "f32"), request, Float32Array) },
  { name: "wgsl", tolerance: 1e-4, measure: "relative", gpu: true, run: async (ir, request) => withGrads(await runWebGpu(ir, request, true)) },
];
