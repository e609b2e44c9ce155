// The generated WebGPU host module: a TypeScript file that imports nothing.
// Per cell it holds the WGSL (string constants), the layout and dispatch
// program (plain data from kernels.ts), initParams, and the typed API. The
// driver that runs a program is the same text for every cell: HOST_DRIVER, from
// src/codegen/runtime/webgpu/host-driver.ts; a model module holds one driver
// for all its cells (driver: false).
import { INIT_HELPERS } from "../ts/runtime.ts";
import { specIdentifier } from "../names.ts";
import type { CellInterface } from "../plan.ts";
import { floatArrayDeclarations, headerLines, initialValuesCall, interfaceRecords, sizesLiteral, type InterfaceRecord } from "../shell.ts";
import type { WgslProgram } from "./kernels.ts";
import { HOST_CELL, HOST_CHAIN_TYPES, HOST_DRIVER, HOST_TYPES, LENGTHS } from "../runtime/embedded.ts";
import { templateLiteral } from "../runtime/embed.ts";

export interface HostOptions {
  /** `_withDerived(params)`: the TypeScript that adds the matrix expressions products read (see ../derived.ts). */
  readonly derived: string;
  readonly specFile: string;
  readonly compilerVersion: string;
  readonly optionsText: string;
  /** Whether the module carries the driver (HOST_DRIVER); without it, createCell calls a `_createCell` declared around the module (src/codegen/model-wgsl.ts). */
  readonly driver: boolean;
}



const WORKGROUP_ARRAY = /^var<workgroup> \w+: array<f32, (\d+)>;$/;

/**
 * Bytes of workgroup memory a WGSL module declares: what its pipelines ask of
 * maxComputeWorkgroupStorageSize, which the host checks before building them.
 * Read from the text because the program does not carry it; kernels.ts
 * declares only f32 arrays, and anything else is refused rather than undercounted.
 */
export function workgroupStorageBytes(wgsl: string): number {
  let bytes = 0;
  for (const line of wgsl.split("\n")) {
    if (!line.includes("var<workgroup>")) continue;
    const match = WORKGROUP_ARRAY.exec(line.trim());
    if (!match) throw new Error(`internal: a workgroup variable the WebGPU host cannot size: ${line.trim()}`);
    bytes += 4 * Number(match[1]);
  }
  return bytes;
}

export function renderHost(cell: CellInterface, program: WgslProgram, options: HostOptions): string {
  const field = (name: string) => specIdentifier(name);
  const record = (r: InterfaceRecord) => [`/** ${r.doc} */`, `export interface ${r.name} {`, ...r.entries.map((e) => `  /** ${e.doc} */\n  ${field(e.name)}: Float32Array;`), "}"].join("\n");
  const path = `Kernel path: ${program.path} (${program.path === "sequence" ? "one dispatch runs the whole sequence, one workgroup per batch row" : "one dispatch per phase per step"}).`;
  const phases = `Forward step: ${program.phases.forward} phase(s); backward step: ${program.phases.backward} phase(s).`;
  const out: string[] = headerLines(cell, { compilerVersion: options.compilerVersion, specFile: options.specFile, optionsText: options.optionsText, engine: "on WebGPU (f32)", notes: [path, phases], api: apiDoc(program.readsStep) });
  out.push("");
  for (const s of cell.sizes) out.push(`export const ${field(s.name)} = ${s.value};`);
  out.push(`/** The sizes this module was compiled for. */`);
  out.push(`export const sizes = ${sizesLiteral(cell.sizes)};`);
  out.push("");
  for (const r of interfaceRecords(cell)) out.push(record(r));
  out.push("");
  out.push(`/** The forward kernels. */`);
  out.push(`export const FORWARD_WGSL = ${templateLiteral(program.forwardWgsl)};`);
  out.push("");
  out.push(`/** The backward (BPTT) kernels. */`);
  out.push(`export const BACKWARD_WGSL = ${templateLiteral(program.backwardWgsl)};`);
  out.push("");
  out.push(`/** The layout of buffers and the dispatches of forward and backward (plain data). */`);
  const programData = {
    path: program.path,
    params: program.params,
    paramFloats: program.paramFloats,
    workgroupStorage: Math.max(workgroupStorageBytes(program.forwardWgsl), workgroupStorageBytes(program.backwardWgsl)),
    arrays: program.arrays,
    forward: program.forward,
    backward: program.backward,
    names: program.names,
    readsStep: program.readsStep,
  };
  out.push(`const PROGRAM: Program = ${JSON.stringify(programData, null, 2)};`);
  out.push("");
  out.push(...floatArrayDeclarations("Float32Array"));
  out.push(INIT_HELPERS);
  out.push("");
  out.push(`/** The spec's initializers: the same numbers as \`lstmc\` and its interpreter for the same seed (rounded to f32). */`);
  out.push(`export function initParams(seed: number): Params {`);
  out.push(`  return {`);
  for (const p of cell.params) if (!p.internal) out.push(`    ${field(p.name)}: ${initialValuesCall(p, field(p.name))},`);
  out.push(`  };`);
  out.push(`}`);
  out.push("");
  out.push(options.derived);
  out.push("");
  out.push(HOST_TYPES, HOST_CELL);
  if (options.driver) out.push(LENGTHS, HOST_CHAIN_TYPES, HOST_DRIVER);
  return out.join("\n") + "\n";
}

/** The API summary in the module's header; `t` appears in step() for a cell that reads it. */
const apiDoc = (readsStep: boolean): string[] => [
  "API (imports nothing; needs a GPUDevice; arrays are flat, row-major Float32Arrays):",
  "  initParams(seed): Params                       the spec's initializers",
  "  const cell = createCell(device)                pipelines and buffers, made once",
  "  cell.uploadParams(params, into?) -> GpuParams  parameters kept on the GPU between calls",
  "  cell.downloadParams(gpu) -> Promise<Params>    (also reads gradients: they have the same layout)",
  "  cell.forward(params | GpuParams, inputs, initial?, { batch?, lengths? }) -> Promise<{ outputs, final, saved }>",
  "      lengths [batch]: each row's steps (pack_padded_sequence: frozen state and outputs 0 after them)",
  "  cell.backward(params | GpuParams, saved, upstream?) -> Promise<{ params, inputs, initial }>",
  "  cell.backwardOnGpu(params, saved, upstream?) -> GpuParams   gradients left on the GPU",
  "  cell.layout                                   each parameter's place in a GpuParams buffer (GPU optimisers)",
  `  cell.createState(batch?) / cell.step(params, inputs, state${readsStep ? ", t" : ""}) -> Promise<Outputs>  (state updated in place)`,
  "`saved` refers to the cell's GPU buffers: the next forward() replaces it (backward checks).",
  "createCell refuses a device whose limits are below what the kernels need, naming each limit; every call checks its",
  "arguments and throws WebGPU's validation, out-of-memory and internal errors instead of returning numbers; one call at a time.",
];
