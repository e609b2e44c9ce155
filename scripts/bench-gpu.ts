// `npm run bench:gpu`: LSTM and GRU on the WGSL target, forward and
// forward+backward, on whatever WebGPU adapter Dawn finds. Prints ms per time
// step and the adapter's name. On a software (CPU) adapter only the smallest
// size runs, and the figures are labelled: they are not GPU figures.
//
//   npx tsx scripts/bench-gpu.ts [--all] [--repeats N]
//     --all       run every size even on a CPU adapter (slow)
import { parseArgs } from "node:util";
import { buildCell } from "../src/ir/build.ts";
import { loadSpecFile } from "../src/parse/load.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule, nodeDevice } from "../src/run/wgsl-engine.ts";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import type { RunRequest } from "../src/run/contract.ts";

const SIZES = [
  { B: 1, I: 128, H: 128, T: 100 },
  { B: 16, I: 128, H: 256, T: 50 },
  { B: 64, I: 256, H: 512, T: 20 },
  { B: 64, I: 512, H: 1024, T: 50 },
] as const;
const CELLS = ["specs/lstm.lstm", "specs/gru.lstm"];

const { values } = parseArgs({ options: { all: { type: "boolean", default: false }, repeats: { type: "string", default: "3" } } });
const repeats = Math.max(1, Number(values.repeats));

const gpu = await nodeDevice();
const sizes = gpu.isCpuFallback && !values.all ? SIZES.slice(0, 1) : SIZES;
console.log(`adapter: ${gpu.adapterName} (${gpu.backend})`);
if (gpu.isCpuFallback) {
  console.log("NOTE: this is a software (CPU) adapter: these figures are CPU emulation times, NOT GPU figures." + (values.all ? "" : " Only the smallest size runs (--all for every size)."));
}
console.log("TS columns: the generated TypeScript target (f32, one CPU thread) on the same sizes, timed over at most 5 steps.");
console.log("cell   B    I     H     T   path      forward ms/step   fwd+bwd ms/step   TS fwd ms/step   TS fwd+bwd ms/step");

/** Steps timed for the TypeScript target: enough for a per-step figure without minutes of CPU time at the largest sizes. */
const TS_STEPS = 5;

/** ms per step of the generated TypeScript module, forward and forward+backward, best of `repeats`. */
async function typescriptFigures(ir: Parameters<typeof loadGeneratedModule>[0], request: RunRequest, repeats: number): Promise<[number, number]> {
  // The module is compiled for f32; the engine's typing speaks of Float64Array.
  const module = await loadGeneratedModule(ir, request.sizes, "f32");
  const { batch, params, initial } = request.sequence;
  const steps = Math.min(TS_STEPS, request.sequence.steps);
  const f32 = (tensors: Record<string, Float64Array>, length?: (name: string) => number) =>
    Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float32Array.from(length ? v.subarray(0, length(k)) : v)]));
  const perStep = (name: string) => (request.sequence.inputs[name]!.length / request.sequence.steps) * steps;
  const inputs = f32(request.sequence.inputs, perStep);
  const upstream = { outputs: f32(request.upstream.outputs, (name) => (request.upstream.outputs[name]!.length / request.sequence.steps) * steps) };
  const p32 = f32(params);
  const i32 = f32(initial);
  let forwardMs = Infinity;
  let bothMs = Infinity;
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    const result = module.forward(p32 as never, inputs as never, i32 as never, { batch });
    const t1 = performance.now();
    module.backward(p32 as never, result.saved, upstream as never);
    const t2 = performance.now();
    if (r === 0) continue; // warm-up
    forwardMs = Math.min(forwardMs, t1 - t0);
    bothMs = Math.min(bothMs, t2 - t0);
  }
  return [forwardMs / steps, bothMs / steps];
}

function loadCell(file: string) {
  const loaded = loadSpecFile(file);
  const built = loaded.value ? buildCell(loaded.value) : null;
  if (!built?.ir) throw new Error(`cannot load ${file}`);
  return built.ir;
}

for (const file of CELLS) {
  const ir = loadCell(file);
  for (const { B, I, H, T } of sizes) {
    const binding = bindSizes(ir, { I, H });
    const { program } = await compileWgslCell(ir, { dims: binding });
    const module = await loadWebGpuModule(ir, binding);
    const cell = module.createCell(gpu.device);
    const request = randomRequest(ir, { sizes: binding, batch: B, steps: T, seed: 1 });
    const params = cell.uploadParams(request.sequence.params);
    const { inputs, initial } = request.sequence;
    // Warm-up: compiles pipelines and sizes the buffers.
    const warm = await cell.forward(params, inputs, initial, { batch: B });
    await cell.backward(params, warm.saved, request.upstream);
    // Timings include the upload of inputs and the download of outputs (and of gradients), as a user's call would.
    let forwardMs = Infinity;
    let bothMs = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const result = await cell.forward(params, inputs, initial, { batch: B });
      const t1 = performance.now();
      await cell.backward(params, result.saved, request.upstream);
      const t2 = performance.now();
      forwardMs = Math.min(forwardMs, t1 - t0);
      bothMs = Math.min(bothMs, t2 - t0);
    }
    cell.destroy();
    const [tsForward, tsBoth] = await typescriptFigures(ir, request, repeats);
    console.log(
      `${ir.name.padEnd(5)} ${String(B).padStart(3)} ${String(I).padStart(4)} ${String(H).padStart(5)} ${String(T).padStart(4)}   ${program.path.padEnd(8)}  ${(forwardMs / T).toFixed(3).padStart(15)}   ${(bothMs / T).toFixed(3).padStart(15)}   ${tsForward.toFixed(3).padStart(14)}   ${tsBoth.toFixed(3).padStart(18)}`,
    );
  }
}
void gpu.keepAlive;
