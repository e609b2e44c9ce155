// The engines `lstmc run --engine` can use. Each takes the same request and
// gives the same response shape, so they can be compared field by field.
import type { CellIR } from "../ir/types.ts";
import { forward, forwardBackward, type ForwardResult, type Gradients } from "../interp/interpret.ts";
import type { RunRequest, RunResponse } from "./contract.ts";
import type { ModelIR } from "../ir/model-types.ts";
import { forwardBackwardModel, forwardModel } from "../interp/model.ts";
import { writeModelRunResponse, type ModelRunRequest } from "./model-contract.ts";

export interface Engine {
  readonly name: string;
  run(ir: CellIR, request: RunRequest, withGrads: boolean): Promise<ForwardResult & { grads: Gradients | null }>;
}

export const interpreterEngine: Engine = {
  name: "interp",
  async run(ir, request, withGrads) {
    if (!withGrads) return { ...forward(ir, request.sizes, request.sequence), grads: null };
    return forwardBackward(ir, request.sizes, request.sequence, request.upstream);
  },
};

// The compiling engines load the code generators (ts-morph, prettier, Dawn)
// only when used, so `lstmc check` and the interpreter start quickly.

/** The spec compiled to TypeScript (f64) for the request's sizes. */
export const typescriptEngine: Engine = {
  name: "ts",
  run: async (ir, request, withGrads) => {
    return (await import("./ts-engine.ts")).runGenerated(ir, request, withGrads);
  },
};

/** The spec compiled to WGSL and run on a WebGPU device through Dawn (f32). */
export const webgpuEngine: Engine = {
  name: "wgsl",
  run: async (ir, request, withGrads) => {
    return (await import("./wgsl-engine.ts")).runWebGpu(ir, request, withGrads);
  },
};

export const ENGINES: Readonly<Record<string, Engine>> = { interp: interpreterEngine, ts: typescriptEngine, wgsl: webgpuEngine };

/**
 * Runs a model on the interpreter, its generated TypeScript module (f64) or its
 * WebGPU module (f32), as `lstmc run` and the programmatic API do.
 */
export async function runModelRequest(engine: string, ir: ModelIR, request: ModelRunRequest, withGrads: boolean): Promise<RunResponse & { loss?: number }> {
  const result =
    engine === "ts"
      ? await (await import("./ts-engine.ts")).runGeneratedModel(ir, request, withGrads)
      : engine === "wgsl"
        ? await (await import("./wgsl-engine.ts")).runWebGpuModel(ir, request, withGrads)
        : withGrads
        ? forwardBackwardModel(ir, request.sizes, request.sequence, request.upstream)
        : { ...forwardModel(ir, request.sizes, request.sequence), grads: null };
  return writeModelRunResponse(result, result.grads);
}
