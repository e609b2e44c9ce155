// Compiling a model for WebGPU: ONE TypeScript module, `<model>.webgpu.ts`,
// with the API shape of the model's TypeScript module made asynchronous. Each
// distinct layer cell (cell and sizes) is compiled by the WGSL code generator
// unchanged (its host module, WGSL inline) and inlined as a closed scope, as
// model.ts does with TypeScript cells; the shared model driver runs the layers
// in the interpreter's order with each cell call awaited
// (runtime/webgpu/model-driver.ts). The cells' host modules are compiled
// without the WebGPU host driver, which the module holds once, in a closed
// scope of its own, for every cell, with the chaining of the layers: they hand
// each other their values and gradients on the device, and each call reads
// back once (runtime/webgpu/model-driver.ts, chain.ts).
import type { ModelIR } from "../ir/model-types.ts";
import { formatTypeScript, type CompiledModule } from "./compile.ts";
import { apiRecords, apiTypes, closedScope, header, initParamsFunction, layerCells, modelShape, readsStep } from "./model.ts";
import { specIdentifier } from "./names.ts";
import { HOST_CHAIN, HOST_CHAIN_TYPES, HOST_DRIVER, HOST_TYPES, LENGTHS, MODEL_DRIVER, MODEL_DRIVER_WEBGPU } from "./runtime/embedded.ts";
import { INIT_HELPERS } from "./ts/runtime.ts";
import { compileWgslCell } from "./wgsl/compile.ts";
import type { SizeBinding } from "../ir/bind.ts";
import { floatArrayDeclarations, sizesLiteral } from "./shell.ts";

/**
 * The WebGPU host driver once for every layer cell, with the chaining of the layers on the device (HOST_CHAIN): in
 * a closed scope, as its API's types are named as a cell module's (Saved, Gradients ...) and would clash with the
 * model's; there the cells' records are plain objects. Each cell's createCell passes it the cell's program and casts
 * what it returns to the cell's own types. The types the model driver shares with it (HOST_CHAIN_TYPES) are outside.
 */
const SHARED_HOST_DRIVER = [
  closedScope(
    ["type Params = object;", "type Inputs = object;", "type States = object;", "type Outputs = object;", HOST_TYPES, HOST_DRIVER, HOST_CHAIN].join("\n"),
    "_hostDriver",
    ["_createCell", "_createChain"],
    "{ _createCell(device: GPUDevice, code: object): object; _createChain(device: GPUDevice): _Chain }",
  ),
  "const _createCell = _hostDriver._createCell;",
  "const _createChain = _hostDriver._createChain;",
].join("\n");

/** What a layer cell's host module hands the model; the rest of it is dropped when unused inside. */
const HOST_API = ["initParams", "createCell"];

const WGSL_API = (ir: ModelIR): string[] => [
  "API (imports nothing; needs a GPUDevice; arrays are flat, row-major Float32Arrays), names '<layer>.<name>':",
  "  initParams(seed): Params                 layer i's cells' initializers for seed + i; the head uniform in ±1/√width",
  "  const model = createModel(device)        one WebGPU cell per layer: pipelines and buffers, made once",
  "  model.forward(params, inputs, initial?, { batch?, lengths?, targets? }) -> Promise<{ outputs, final, loss, saved }>",
  "      lengths [batch]: each row's steps (pack_padded_sequence); a reverse layer starts at each row's last one",
  "      targets: the loss's (class indices, or one number per head output); loss is null without them",
  "  model.backward(params, saved, upstream?) -> Promise<{ params, inputs, initial }>   from the loss and upstream",
  `  model.createState(batch?) / model.step(params, inputs, state${readsStep(ir) ? ", t" : ""}) -> Promise<outputs>    streaming, forward layers only`,
  "  model.destroy()",
  "`saved` refers to the layers' GPU buffers: the next forward() or step() replaces it; one call at a time.",
  "Each layer is its cell's generated WebGPU module in a closed scope, all sharing one host driver. The layers are",
  "chained on the device: each layer's inputs are filled from the outputs it reads by a small kernel (parts joined,",
  "forward first; each row's steps flipped for a reverse layer), and backward adds each layer's input gradients to",
  "the gradients of what it read there; forward(), backward() and step() are each one submission of every layer's",
  "kernels and one readback. The head and the loss run on the CPU, on the outputs read back. Each layer is still its",
  "own kernels over the whole sequence (no kernel spans two layers).",
];

function modelApi(ir: ModelIR): string {
  const t = readsStep(ir) ? ", t: number" : "";
  return `
/** The model on one GPUDevice (createModel). */
export interface Model {
  forward(params: Params, inputs: Inputs, initial?: Partial<States>, options?: ForwardOptions): Promise<ForwardResult>;
  backward(params: Params, saved: Saved, upstream?: Upstream): Promise<Gradients>;
  createState(batch?: number): States;
  /** One step of every layer; \`state\` is updated in place. */
  step(params: Params, inputs: Partial<Record<keyof Inputs, FloatArray>>, state: States${t}): Promise<Partial<Outputs>>;
  /** Frees every layer's GPU buffers. */
  destroy(): void;
}

/** The model's layers' cells on \`device\`, made once; refuses a device whose limits are below what a layer's kernels need. */
export function createModel(device: GPUDevice): Model {
  return _createGpuModel(_SHAPE, device, ${readsStep(ir)}) as unknown as Model;
}
`;
}

/** The model's WebGPU module (f32), formatted. */
export async function compileWgslModel(ir: ModelIR, options: { readonly sizes: SizeBinding }): Promise<CompiledModule> {
  const sizes = options.sizes;
  const { cells, scopes } = await layerCells(ir, sizes, async (cell, own, local) => closedScope((await compileWgslCell(cell, { dims: own, driver: false })).host.text, local, HOST_API, "_GpuCellSource"));
  const raw = [
    ...header(ir, { precision: "f32", sizes }, "wgsl", WGSL_API(ir)),
    "",
    ...ir.sizes.map((s) => `export const ${specIdentifier(s.name)} = ${sizes[s.name]};`),
    "/** The sizes this module was compiled for. */",
    `export const sizes = ${sizesLiteral(ir.sizes.map((s) => ({ name: s.name, value: sizes[s.name]! })))};`,
    ...floatArrayDeclarations("Float32Array"),
    // The head's initializer; a model without a head initializes through its cells only.
    ...(ir.head ? [INIT_HELPERS] : []),
    // The lengths check, which the model driver and the shared host driver (in its scope below) both call.
    LENGTHS,
    MODEL_DRIVER,
    MODEL_DRIVER_WEBGPU,
    HOST_CHAIN_TYPES,
    SHARED_HOST_DRIVER,
    ...scopes,
    `const _SHAPE: _GpuModelShape = ${modelShape(ir, sizes, cells, "source")};`,
    ...apiRecords(ir, sizes),
    apiTypes(ir),
    initParamsFunction(ir, sizes, cells),
    modelApi(ir),
  ].join("\n");
  const fileName = `${specIdentifier(ir.name)}.webgpu.ts`;
  return { fileName, text: await formatTypeScript(raw, fileName) };
}
