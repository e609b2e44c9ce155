// The WebGPU host driver: the part of every generated `<cell>.webgpu.ts`
// that runs a program, the same for every cell. Embedded by
// scripts/embed-runtime.ts after the cell's own part, which renderHost
// (src/codegen/wgsl/host.ts) writes: the WGSL, PROGRAM, the Params/Inputs/
// States/Outputs records and initParams. The declarations before the marker
// stand for that part; the records are a sample cell's. Four parts: the API's
// types (HOST_TYPES) and createCell (HOST_CELL), which name the cell's records
// and constants; the driver itself (HOST_DRIVER), which is given them as
// arguments, so that a model module holds one driver for all its cells
// (src/codegen/model-wgsl.ts); and the types of a cell's calls split for a
// model that chains its cells on the device (HOST_CHAIN_TYPES, the `_chain`
// of a cell: writes, kernels encoded into the caller's encoder, the spans its
// results lie in, read back together). Type-checked by the project's tsc and, strict
// and with @webgpu/types as a consumer would, by
// src/codegen/runtime/tsconfig.json. HOST_DRIVER calls _checkLengths from
// LENGTHS (../lengths.ts), which the module embeds before it.
declare function _checkLengths(lengths: unknown, batch: number, steps: number, what: string): Int32Array;
declare const FORWARD_WGSL: string;
declare const BACKWARD_WGSL: string;
declare const PROGRAM: Program;
/** The matrix expressions the cell's products read, added to the parameters (the identity for most cells). */
declare function _withDerived(params: Params): Params;
interface Params {
  W: Float32Array;
}
interface Inputs {
  x: Float32Array;
}
interface States {
  h: Float32Array;
}
interface Outputs {
  y: Float32Array;
}

// BEGIN EMBED HOST_TYPES
interface Dispatch {
  entry: string;
  workgroupSize: number;
  batchWorkgroups: boolean;
  steps: boolean;
  batch: boolean;
  n: number;
}

type BufferName = "S" | "K" | "W" | "R";

interface Program {
  path: string;
  /** `internal`: a derived matrix, computed from the others at upload, never passed or returned. */
  params: { name: string; offset: number; length: number; rows: number; cols: number; matrix: boolean; internal: boolean }[];
  paramFloats: number;
  /** Bytes of workgroup memory the larger of the two WGSL modules declares. */
  workgroupStorage: number;
  arrays: { name: string; buffer: BufferName; width: number; rows: "steps" | "hist" | "row" }[];
  forward: { before: Dispatch[]; loop: Dispatch[] };
  backward: { loop: Dispatch[]; after: Dispatch[] };
  names: {
    inputs: { name: string; array: string; grad: string; width: number }[];
    states: { name: string; hist: string; grad: string; width: number; init: number }[];
    outputs: { name: string; array: string; upstream: string; width: number }[];
  };
  /** The cell reads the step index t, which step() cannot be given yet. */
  readsStep: boolean;
}

/** Parameters (or their gradients) in one GPU buffer, in the kernels' layout. */
export interface GpuParams {
  readonly buffer: GPUBuffer;
}

/** What backward needs from forward: it lives in the cell's GPU buffers. Frozen; only the forward() that made it can vouch for it. */
export interface Saved {
  readonly batch: number;
  readonly steps: number;
  readonly generation: number;
}

/** forward()'s options: the batch, the number of steps (needed only by a cell without inputs), and each row's length. */
export interface ForwardOptions {
  batch?: number;
  steps?: number;
  /** Each row's length (1..steps), as PyTorch's pack_padded_sequence: a row's state is frozen after its last step and its outputs are 0 there. Default: every row runs every step. */
  lengths?: ArrayLike<number>;
}

export interface ForwardResult {
  outputs: Outputs;
  final: States;
  saved: Saved;
}

export interface Upstream {
  outputs?: Partial<Outputs>;
  final?: Partial<States>;
}

export interface Gradients {
  params: Params;
  inputs: Inputs;
  initial: States;
}

/** The parameter buffer's layout: each parameter's place in it (matrices transposed) and whether the module derives it. */
export interface ParamLayout {
  readonly floats: number;
  readonly params: readonly { readonly name: string; readonly offset: number; readonly length: number; readonly derived: boolean }[];
}

export interface Cell {
  /** Where each parameter lives in a GpuParams buffer (for optimisers that update it on the GPU, such as lstmc/train's). */
  readonly layout: ParamLayout;
  uploadParams(params: Params, into?: GpuParams): GpuParams;
  downloadParams(gpu: GpuParams): Promise<Params>;
  forward(params: Params | GpuParams, inputs: Inputs, initial?: Partial<States>, options?: ForwardOptions): Promise<ForwardResult>;
  backward(params: Params | GpuParams, saved: Saved, upstream?: Upstream): Promise<Gradients>;
  backwardOnGpu(params: Params | GpuParams, saved: Saved, upstream?: Upstream): GpuParams;
  createState(batch?: number): States;
  /** `t`, this step's index counted from 0: required by a cell that reads it, ignored by the others. */
  step(params: Params | GpuParams, inputs: Inputs, state: States, t?: number): Promise<Outputs>;
  destroy(): void;
}

/** What the driver runs for a cell: its program, its WGSL, and how it derives the matrix expressions its products read. */
interface _CellCode {
  program: Program;
  forwardWgsl: string;
  backwardWgsl: string;
  withDerived(params: Params): Params;
}
// END EMBED HOST_TYPES

// BEGIN EMBED HOST_CELL
/**
 * Pipelines and buffers for this cell on 'device'; buffers grow with batch · steps.
 * Refuses a device whose limits are too low, and throws every GPU error (validation, out of memory, internal)
 * from the call that caused it or, for the synchronous calls, from the next call that returns numbers.
 */
export function createCell(device: GPUDevice): Cell {
  // A cast: in a model module the driver is shared by cells with different records, and returns their common shape.
  return _createCell(device, { program: PROGRAM, forwardWgsl: FORWARD_WGSL, backwardWgsl: BACKWARD_WGSL, withDerived: _withDerived }) as Cell;
}
// END EMBED HOST_CELL

// BEGIN EMBED HOST_CHAIN_TYPES
/** Floats [offset, offset + length) of a GPU buffer: where a cell's array lies, or a part of one. */
interface _Span {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly length: number;
}

/** Spans to read back together, and what their values (in that order) make. */
interface _Reads<R> {
  readonly spans: readonly _Span[];
  results(values: readonly Float32Array[]): R;
}

/** A call's shape: B rows, T steps, each row's length (null: every row runs every step), the index of its first step. */
interface _CallShape {
  readonly B: number;
  readonly T: number;
  readonly lengths: Int32Array | null;
  readonly firstStep: number;
}

type _Arrays = Record<string, Float32Array>;

/**
 * A WebGPU cell's calls split where a model chains its cells on the device (webgpu/model-driver.ts): each call's
 * writes, its kernels encoded into the caller's encoder, and the spans its results lie in; nothing is read back
 * here. Names are the cell module's (inputs, outputs, states); the arrays an input or output lies in are found by
 * `input` and `output` (its values, or its gradient: "grad" for an input, "upstream" for an output).
 */
interface _ChainedCell {
  /** Inputs missing from `inputs` are left for the caller to fill on the device before the kernels run. */
  prepareForward(what: string, params: object, inputs: Readonly<Record<string, ArrayLike<number>>>, initial: Readonly<Record<string, ArrayLike<number>>>, call: _CallShape): void;
  encodeForward(encoder: GPUCommandEncoder): void;
  forwardReads(wanted: (output: string) => boolean): _Reads<{ outputs: _Arrays; final: _Arrays }>;
  /** Writes the upstream outputs given where encodeStart copies them from. */
  prepareBackward(what: string, params: object, upstream: Readonly<Record<string, ArrayLike<number>>>): void;
  /** Clears every gradient and copies the upstream outputs in; the caller may then add to them on the device. */
  encodeStart(encoder: GPUCommandEncoder): void;
  encodeBackward(final: Readonly<Record<string, ArrayLike<number>>>, encoder: GPUCommandEncoder): void;
  backwardReads(): _Reads<{ params: _Arrays; initial: _Arrays }>;
  input(name: string, what: "value" | "grad"): _Span;
  output(name: string, what: "value" | "upstream"): _Span;
  /** Runs synchronous WebGPU calls in the cell's error scopes (settle throws what they catch). */
  guard<T>(what: string, body: () => T): T;
  /** Throws the cell's GPU errors so far, and refuses a destroyed or broken cell. */
  settle(): Promise<void>;
}
// END EMBED HOST_CHAIN_TYPES

// BEGIN EMBED HOST_DRIVER
type Tensors = Record<string, ArrayLike<number>>;

// GPUBufferUsage / GPUMapMode values (not every runtime installs the globals).
const _STORAGE = 0x80, _UNIFORM = 0x40, _COPY_SRC = 0x04, _COPY_DST = 0x08, _MAP_READ = 0x01;
const _BUFFERS: readonly BufferName[] = ["S", "K", "W", "R"];
/** The buffers' names in the WGSL, for messages. */
const _BUFFER_VARS: Record<BufferName, string> = { S: "seq", K: "tape", W: "work", R: "gbuf" };
/** Bytes between the per-step uniform records (WebGPU's minimum alignment is at most 256). */
const _STEP_STRIDE = 256;
/** The error scopes every GPU call runs in, innermost first: any error they catch is thrown, never left to give zeros. */
const _ERROR_FILTERS: readonly GPUErrorFilter[] = ["validation", "out-of-memory", "internal"];
/** GpuParams that some cell of this module made, and the device their buffer is on. */
const _gpuParams = new WeakMap<GpuParams, GPUDevice>();

type LimitName =
  | "maxBindGroups"
  | "maxBindingsPerBindGroup"
  | "maxStorageBuffersPerShaderStage"
  | "maxUniformBuffersPerShaderStage"
  | "maxDynamicUniformBuffersPerPipelineLayout"
  | "maxComputeWorkgroupSizeX"
  | "maxComputeInvocationsPerWorkgroup"
  | "maxComputeWorkgroupStorageSize"
  | "maxComputeWorkgroupsPerDimension"
  | "maxStorageBufferBindingSize"
  | "maxBufferSize";

/** One limit a device must reach: `needed` or more (`minUniformBufferOffsetAlignment`, an alignment, is checked the other way). */
interface Need {
  limit: LimitName;
  needed: number;
  why: string;
}

/** What the driver's bind group and a program's kernels ask of every device, before any buffer is sized. */
function _staticNeeds(program: Program): Need[] {
  const dispatches = [...program.forward.before, ...program.forward.loop, ...program.backward.loop, ...program.backward.after];
  const workgroup = Math.max(1, ...dispatches.map((d) => d.workgroupSize));
  const paramBytes = Math.max(16, program.paramFloats * 4);
  return [
    { limit: "maxBindGroups", needed: 1, why: "the kernels' bind group" },
    { limit: "maxBindingsPerBindGroup", needed: 8, why: "its 8 bindings" },
    { limit: "maxStorageBuffersPerShaderStage", needed: 6, why: "params, grads, seq, tape, work and gbuf" },
    { limit: "maxUniformBuffersPerShaderStage", needed: 2, why: "the layout and the step index" },
    { limit: "maxDynamicUniformBuffersPerPipelineLayout", needed: 1, why: "the step index" },
    { limit: "maxComputeWorkgroupSizeX", needed: workgroup, why: `the largest @workgroup_size of the ${program.path}-path kernels` },
    { limit: "maxComputeInvocationsPerWorkgroup", needed: workgroup, why: `the largest @workgroup_size of the ${program.path}-path kernels` },
    { limit: "maxComputeWorkgroupStorageSize", needed: program.workgroupStorage, why: "the kernels' var<workgroup> arrays, in bytes" },
    { limit: "maxStorageBufferBindingSize", needed: paramBytes, why: "the parameters, in bytes" },
    { limit: "maxBufferSize", needed: paramBytes, why: "the parameters, in bytes" },
  ];
}

/** Throws one error naming every limit of `device` below what is needed, with both values. */
function _checkLimits(device: GPUDevice, needs: readonly Need[], what: string, advice: string): void {
  const limits = device.limits;
  const short = needs.filter((n) => typeof limits[n.limit] === "number" && limits[n.limit] < n.needed);
  if (short.length === 0) return;
  const lines = short.map((n) => `  ${n.limit} is ${limits[n.limit]} on this device; ${n.needed} needed (${n.why})`);
  throw new Error(`${what}: this WebGPU device's limits are too low:\n${lines.join("\n")}\n${advice}`);
}

function _check(array: ArrayLike<number> | undefined, length: number, what: string): ArrayLike<number> {
  if (array === undefined || array === null || typeof array.length !== "number") throw new Error(`${what} is missing: it must hold ${length} numbers`);
  if (array.length !== length) throw new Error(`${what} must hold ${length} numbers, not ${array.length}`);
  return array;
}

function _positiveWhole(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new Error(`${what} must be a positive whole number, not ${String(value)}`);
  return value;
}

/** A copy of a [steps, batch, width] array with every (step, row) at or past the row's length set to 0. */
function _withEndsZeroed(values: ArrayLike<number>, lengths: Int32Array, width: number): Float32Array {
  const out = Float32Array.from(values);
  const batch = lengths.length;
  for (let t = 0; t * batch * width < out.length; t++) for (let b = 0; b < batch; b++) if (t >= lengths[b]!) out.fill(0, (t * batch + b) * width, (t * batch + b + 1) * width);
  return out;
}

/**
 * The backward loop in runs of steps [from, to), last run first: a run ends at T or at some row's length, where
 * that row's final-state gradient enters. With lengths null, one run of every step.
 */
function _backwardRuns(lengths: Int32Array | null, T: number): { from: number; to: number }[] {
  const ends = [...new Set([T, ...(lengths ?? [])])].sort((a, b) => b - a);
  return ends.map((to, i) => ({ from: ends[i + 1] ?? 0, to }));
}

/** `value` as a record of arrays whose names are all among `known` (a misspelt name would otherwise be ignored). */
function _tensors(value: unknown, what: string, known: readonly string[]): Tensors {
  if (typeof value !== "object" || value === null) throw new Error(`${what} must be an object of Float32Arrays, not ${value === null ? "null" : typeof value}`);
  for (const name of Object.keys(value)) {
    if (!known.includes(name)) throw new Error(`${what}.${name} is not one of this cell's names here (${known.join(", ") || "none"})`);
  }
  return value as Tensors;
}

/** `gpu` as a GpuParams whose buffer can hold the parameters and be used as `usage` says. */
function _gpuBuffer(gpu: unknown, what: string, bytes: number, usage: number): GPUBuffer {
  const buffer = typeof gpu === "object" && gpu !== null ? (gpu as { buffer?: unknown }).buffer : undefined;
  if (typeof buffer !== "object" || buffer === null || typeof (buffer as GPUBuffer).size !== "number") throw new Error(`${what} must be a GpuParams ({ buffer: GPUBuffer })`);
  const b = buffer as GPUBuffer;
  if (b.size < bytes) throw new Error(`${what}.buffer holds ${b.size} bytes; the parameters need ${bytes}`);
  if ((b.usage & usage) !== usage) throw new Error(`${what}.buffer lacks a usage the cell needs (STORAGE, COPY_SRC and COPY_DST)`);
  return b;
}

/**
 * The values of `spans`, read back together: one staging buffer, one mapAsync. The copies are appended to `encoder`
 * (the caller's last work), or to one of their own, and submitted.
 */
async function _readSpans(device: GPUDevice, errors: ErrorWatch, spans: readonly _Span[], what: string, last?: GPUCommandEncoder): Promise<Float32Array[]> {
  const total = spans.reduce((n, s) => n + s.length, 0);
  const staging = errors.guard(what, () => {
    const staging = device.createBuffer({ size: Math.max(4, total * 4), usage: _MAP_READ | _COPY_DST });
    const encoder = last ?? device.createCommandEncoder();
    let at = 0;
    for (const s of spans) {
      if (s.length > 0) encoder.copyBufferToBuffer(s.buffer, s.offset * 4, staging, at * 4, s.length * 4);
      at += s.length;
    }
    device.queue.submit([encoder.finish()]);
    return staging;
  });
  await staging.mapAsync(_MAP_READ);
  const all = new Float32Array(staging.getMappedRange().slice(0, total * 4));
  staging.unmap();
  staging.destroy();
  let at = 0;
  return spans.map((s) => all.slice(at, (at += s.length)));
}

function _rowsOf(kind: "steps" | "hist" | "row", B: number, T: number): number {
  return kind === "steps" ? T * B : kind === "hist" ? (T + 1) * B : B;
}

/** The workgroups of one dispatch as (x, y): x up to the device's per-dimension limit, the rest in y (the kernels index by wid.y · nwg.x + wid.x). */
function _workgroups(d: Dispatch, B: number, T: number, perDimension: number): [number, number] {
  if (d.batchWorkgroups) return [B, 1];
  const groups = Math.ceil(((d.steps ? T : 1) * (d.batch ? B : 1) * d.n) / d.workgroupSize);
  const x = Math.max(1, Math.min(groups, perDimension));
  return [x, Math.ceil(groups / x)];
}

/** GPU errors from WebGPU calls whose results are not yet awaited: they are thrown by the next call that awaits, before it returns any number. */
interface ErrorWatch {
  /** Runs `body` (synchronous WebGPU calls) inside error scopes; what they catch is thrown by the next settle(). */
  guard<T>(what: string, body: () => T): T;
  /** Also reports the error `check` resolves to, if any. */
  watch(check: Promise<Error | null>): void;
  /** Throws the first GPU error caught so far (and forgets the others). */
  settle(): Promise<void>;
}

function _errorWatch(device: GPUDevice): ErrorWatch {
  let pending: Promise<Error | null>[] = [];
  return {
    guard(what, body) {
      for (const filter of [..._ERROR_FILTERS].reverse()) device.pushErrorScope(filter);
      try {
        return body();
      } finally {
        // Popped in the same task as pushed, so another cell's calls on this device cannot land in these scopes.
        const popped = _ERROR_FILTERS.map((filter) =>
          device.popErrorScope().then((e) => (e === null ? null : new Error(`${what}: WebGPU ${filter} error: ${e.message}`))),
        );
        pending.push(Promise.all(popped).then((errors) => errors.find((e) => e !== null) ?? null, (e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
      }
    },
    watch(check) {
      pending.push(check.catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    },
    async settle() {
      const checks = pending;
      pending = [];
      const error = (await Promise.all(checks)).find((e) => e !== null);
      if (error) throw error;
    },
  };
}

/** The shader compiler's errors for one WGSL module, each at its line:column, as one Error (null when there are none). */
async function _compilationErrors(module: GPUShaderModule, what: string): Promise<Error | null> {
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error").map((m) => `  ${what} WGSL ${m.lineNum}:${m.linePos}: ${m.message}`);
  return errors.length === 0 ? null : new Error(`createCell: the ${what} kernels do not compile:\n${errors.join("\n")}`);
}

/** createCell for the cell `code` describes, and its calls split for a model (`_chain`). */
function _createCell(device: GPUDevice, code: _CellCode): Cell & { readonly _chain: _ChainedCell } {
  const { program } = code;
  _checkLimits(device, _staticNeeds(program), "createCell", `Compile for a smaller workgroup (lstmc compile --target wgsl --wgsl-path step) or use a device with higher limits.`);
  if (device.limits.minUniformBufferOffsetAlignment > _STEP_STRIDE) {
    throw new Error(`createCell: this WebGPU device's minUniformBufferOffsetAlignment is ${device.limits.minUniformBufferOffsetAlignment}; the per-step records are ${_STEP_STRIDE} bytes apart`);
  }
  const errors = _errorWatch(device);
  const perDimension = device.limits.maxComputeWorkgroupsPerDimension;
  const paramBytes = Math.max(16, program.paramFloats * 4);
  // B, T, each array's offset, then (for a cell that reads t) the index of the call's first step.
  const layoutCount = 2 + program.arrays.length + (program.readsStep ? 1 : 0);
  const paramUsage = _STORAGE | _COPY_SRC | _COPY_DST;
  const made = errors.guard("createCell", () => {
    const storage = (binding: number, readOnly: boolean): GPUBindGroupLayoutEntry => ({ binding, visibility: 4, buffer: { type: readOnly ? "read-only-storage" : "storage" } });
    const bindLayout = device.createBindGroupLayout({
      entries: [
        storage(0, true),
        storage(1, false),
        storage(2, false),
        storage(3, false),
        storage(4, false),
        storage(5, false),
        { binding: 6, visibility: 4, buffer: { type: "uniform" } },
        { binding: 7, visibility: 4, buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: 4 } },
      ],
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [bindLayout] });
    const modules = { forward: device.createShaderModule({ code: code.forwardWgsl }), backward: device.createShaderModule({ code: code.backwardWgsl }) };
    errors.watch(_compilationErrors(modules.forward, "forward"));
    errors.watch(_compilationErrors(modules.backward, "backward"));
    const pipelines = new Map<string, GPUComputePipeline>();
    const add = (module: GPUShaderModule, d: Dispatch) => {
      if (!pipelines.has(d.entry)) pipelines.set(d.entry, device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: d.entry } }));
    };
    for (const d of program.forward.before.concat(program.forward.loop)) add(modules.forward, d);
    for (const d of program.backward.loop.concat(program.backward.after)) add(modules.backward, d);
    return {
      bindLayout,
      pipelines,
      grads: device.createBuffer({ size: paramBytes, usage: paramUsage }),
      ownParams: device.createBuffer({ size: paramBytes, usage: paramUsage }),
      uniform: device.createBuffer({ size: Math.ceil((layoutCount * 4) / 16) * 16, usage: _UNIFORM | _COPY_DST }),
    };
  });
  const { bindLayout, pipelines, grads, ownParams, uniform } = made;
  /** The errors of building the cell: every later call throws them. */
  const built = errors.settle().then(
    () => null,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  let broken: Error | null = null;
  void built.then((e) => (broken = e));
  let buffers: Partial<Record<BufferName, GPUBuffer>> = {};
  let stepIndex: GPUBuffer | null = null;
  /** What backward copies from: the upstream outputs (encodeStart), the runs' layouts and final-state gradients (encodeBackward). */
  const staging: Partial<Record<"upstream" | "runs", GPUBuffer>> = {};
  /** Where each upstream output given to the call being prepared lies in staging.upstream. */
  let staged: { name: string; at: number }[] = [];
  const capacity = { floats: {} as Partial<Record<BufferName, number>>, steps: 0 };
  let offsets: Record<string, number> = {};
  let shape = { B: 0, T: 0 };
  let bindGroup: GPUBindGroup | null = null;
  let boundParams: GPUBuffer | null = null;
  let generation = 0;
  const saves = new WeakSet<Saved>();
  /** The rows' lengths of the forward() that made the current generation's Saved (null: every row ran every step). */
  let savedLengths: Int32Array | null = null;
  /** The bind group of the call being prepared and encoded (prepareForward, prepareBackward). */
  let callGroup: GPUBindGroup | null = null;
  /** The entry point whose GPU work is under way, if any: a second call would change its buffers under it. */
  let busy: string | null = null;
  let destroyed = false;

  const names = {
    params: program.params.filter((p) => !p.internal).map((p) => p.name),
    inputs: program.names.inputs.map((i) => i.name),
    states: program.names.states.map((s) => s.name),
    outputs: program.names.outputs.map((o) => o.name),
  };

  /** Refuses a call on a destroyed, broken or busy cell. */
  function enter(what: string): void {
    if (destroyed) throw new Error(`${what}: this cell was destroyed`);
    if (broken) throw broken;
    if (busy !== null) throw new Error(`${what}: ${busy}() is still running on this cell; await it first (or use one cell per concurrent caller)`);
  }

  /** Runs an async entry point alone on the cell; it returns only once every GPU error it or an earlier call caused is thrown. */
  async function exclusive<T>(what: string, body: () => Promise<T>): Promise<T> {
    enter(what);
    busy = what;
    try {
      const error = await built;
      if (error) throw error;
      await errors.settle();
      let result: T;
      try {
        result = await body();
      } catch (e) {
        // A GPU error behind a failure (a mapAsync that rejects, say) is its cause: throw that one.
        await errors.settle();
        throw e;
      }
      await errors.settle();
      return result;
    } finally {
      busy = null;
    }
  }

  /** Lays the arrays out for B rows and T steps, after checking the device can hold them; grows the buffers when needed. */
  function configure(what: string, B: number, T: number, firstStep: number): void {
    const floats: Record<BufferName, number> = { S: 0, K: 0, W: 0, R: 0 };
    const layout: Record<string, number> = {};
    for (const a of program.arrays) {
      layout[a.name] = floats[a.buffer];
      floats[a.buffer] += _rowsOf(a.rows, B, T) * a.width;
    }
    const dispatches = [...program.forward.before, ...program.forward.loop, ...program.backward.loop, ...program.backward.after];
    const needs: Need[] = [
      ..._BUFFERS.flatMap((name): Need[] => {
        const why = `the ${_BUFFER_VARS[name]} buffer for batch ${B} and ${T} steps, in bytes`;
        return [
          { limit: "maxStorageBufferBindingSize", needed: floats[name] * 4, why },
          { limit: "maxBufferSize", needed: floats[name] * 4, why },
        ];
      }),
      { limit: "maxBufferSize", needed: T * _STEP_STRIDE, why: `the step indices for ${T} steps, in bytes` },
      { limit: "maxComputeWorkgroupsPerDimension", needed: Math.max(1, ...dispatches.map((d) => Math.max(..._workgroups(d, B, T, perDimension)))), why: `the workgroups of one dispatch for batch ${B} and ${T} steps` },
    ];
    _checkLimits(device, needs, what, "Split the batch or the sequence into smaller calls.");
    errors.guard(what, () => {
      offsets = layout;
      let grown = false;
      for (const name of _BUFFERS) {
        if ((capacity.floats[name] ?? -1) >= floats[name]) continue;
        buffers[name]?.destroy();
        buffers[name] = device.createBuffer({ size: Math.max(16, floats[name] * 4), usage: _STORAGE | _COPY_SRC | _COPY_DST });
        capacity.floats[name] = floats[name];
        grown = true;
      }
      if (capacity.steps < T) {
        stepIndex?.destroy();
        stepIndex = device.createBuffer({ size: T * _STEP_STRIDE, usage: _UNIFORM | _COPY_DST });
        const words = new Uint32Array((T * _STEP_STRIDE) / 4);
        for (let t = 0; t < T; t++) words[(t * _STEP_STRIDE) / 4] = t;
        device.queue.writeBuffer(stepIndex, 0, words);
        capacity.steps = T;
        grown = true;
      }
      if (grown) bindGroup = null;
      shape = { B, T };
      device.queue.writeBuffer(uniform, 0, layoutWords(0, T, firstStep));
    });
  }

  /**
   * The layout uniform for the steps [from, from + steps) of the configured call: the kernels index steps from 0, so
   * each per-step array starts `from` steps further on; with from = 0 and every step, the whole call's layout.
   */
  function layoutWords(from: number, steps: number, firstStep: number): Uint32Array<ArrayBuffer> {
    const words = new Uint32Array(layoutCount);
    words[0] = shape.B;
    words[1] = steps;
    program.arrays.forEach((a, i) => (words[2 + i] = offsets[a.name]! + (a.rows === "row" ? 0 : from * shape.B * a.width)));
    if (program.readsStep) words[2 + program.arrays.length] = firstStep + from;
    return words;
  }

  function buffer(name: BufferName): GPUBuffer {
    const b = buffers[name];
    if (b === undefined) throw new Error(`internal: the ${_BUFFER_VARS[name]} buffer is used before forward() made it`);
    return b;
  }

  function bind(params: GPUBuffer): GPUBindGroup {
    if (bindGroup && boundParams === params) return bindGroup;
    if (stepIndex === null) throw new Error("internal: the step indices are used before forward() made them");
    boundParams = params;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: grads } },
      ..._BUFFERS.map((name, i) => ({ binding: 2 + i, resource: { buffer: buffer(name) } })),
      { binding: 6, resource: { buffer: uniform } },
      { binding: 7, resource: { buffer: stepIndex, size: 4 } },
    ];
    bindGroup = device.createBindGroup({ layout: bindLayout, entries });
    return bindGroup;
  }

  function run(pass: GPUComputePassEncoder, group: GPUBindGroup, d: Dispatch, t: number): void {
    const pipeline = pipelines.get(d.entry);
    if (pipeline === undefined) throw new Error(`internal: no pipeline for ${d.entry}`);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group, [t * _STEP_STRIDE]);
    const [x, y] = _workgroups(d, shape.B, shape.T, perDimension);
    pass.dispatchWorkgroups(x, y);
  }

  /** The GPU buffer of `params`: a GpuParams as it is, parameter arrays uploaded into the cell's own buffer. */
  function paramsBuffer(params: Params | GpuParams, what: string): GPUBuffer {
    const onDevice = _gpuParams.get(params as GpuParams);
    if (onDevice !== undefined) {
      if (onDevice !== device) throw new Error(`${what}: these GpuParams are on another GPUDevice`);
      return (params as GpuParams).buffer;
    }
    if (typeof params === "object" && params !== null && "buffer" in params && !names.params.includes("buffer")) {
      throw new Error(`${what}: these GpuParams were not made by this module's uploadParams() or backwardOnGpu()`);
    }
    upload(params as Params, ownParams, what);
    return ownParams;
  }

  function upload(params: Params, target: GPUBuffer, what: string): void {
    const given = _tensors(params, what, names.params);
    for (const p of program.params) if (!p.internal) _check(given[p.name], p.length, `${what}.${p.name}`);
    // Checked first: the derived matrices read the others element by element.
    const all = code.withDerived(given as unknown as Params) as unknown as Tensors;
    const packed = new Float32Array(program.paramFloats);
    for (const p of program.params) {
      const values = _check(all[p.name], p.length, `${what}.${p.name}`);
      if (!p.matrix) packed.set(values, p.offset);
      else for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) packed[p.offset + c * p.rows + r] = values[r * p.cols + c]!;
    }
    errors.guard(what, () => device.queue.writeBuffer(target, 0, packed));
  }

  function own(buffer: GPUBuffer): GpuParams {
    const gpu = { buffer };
    _gpuParams.set(gpu, device);
    return gpu;
  }

  function uploadParams(params: Params, into?: GpuParams): GpuParams {
    enter("uploadParams");
    const target = into === undefined ? errors.guard("uploadParams", () => device.createBuffer({ size: paramBytes, usage: paramUsage })) : _gpuBuffer(into, "uploadParams: into", paramBytes, paramUsage);
    upload(params, target, "params");
    return own(target);
  }

  /** The parameters out of their packed layout, matrices transposed back; the derived ones are the module's own. */
  function unpack(packed: Float32Array): Params {
    const out: Record<string, Float32Array> = {};
    for (const p of program.params) {
      if (p.internal) continue;
      const values = new Float32Array(p.length);
      if (!p.matrix) values.set(packed.subarray(p.offset, p.offset + p.length));
      else for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) values[r * p.cols + c] = packed[p.offset + c * p.rows + r]!;
      out[p.name] = values;
    }
    return out as unknown as Params;
  }

  function downloadParams(gpu: GpuParams): Promise<Params> {
    return exclusive("downloadParams", async () => {
      const buffer = _gpuBuffer(gpu, "downloadParams: gpu", paramBytes, _COPY_SRC);
      const [packed] = await _readSpans(device, errors, [{ buffer, offset: 0, length: program.paramFloats }], "downloadParams");
      return unpack(packed!);
    });
  }

  const arrayOf = (name: string) => {
    const a = program.arrays.find((x) => x.name === name);
    if (a === undefined) throw new Error(`internal: no array ${name} in the program`);
    return a;
  };
  const write = (name: string, values: ArrayLike<number>, row = 0) => {
    const a = arrayOf(name);
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    // As bytes of its buffer: a Float32Array may sit on a SharedArrayBuffer, which @webgpu/types accepts only as such.
    device.queue.writeBuffer(buffer(a.buffer), (offsets[name]! + row * a.width) * 4, data.buffer, data.byteOffset, data.byteLength);
  };
  /** Where array `name` lies for the configured call: its buffer, its first float and its rows' floats. */
  const place = (name: string): _Span => {
    const a = arrayOf(name);
    return { buffer: buffer(a.buffer), offset: offsets[name]!, length: _rowsOf(a.rows, shape.B, shape.T) * a.width };
  };

  /** Each state's initial values: given, or the state's initializer's for B rows. */
  function initialStates(start: Tensors, B: number): ArrayLike<number>[] {
    return program.names.states.map((s) => {
      const value = start[s.name];
      return value === undefined ? new Float32Array(B * s.width).fill(s.init) : _check(value, B * s.width, `initial.${s.name}`);
    });
  }

  /** forward()'s arguments, checked: the batch, the number of steps, each array at its length, and the rows' lengths. */
  function forwardArguments(what: string, inputs: Inputs, initial: Partial<States>, options: ForwardOptions) {
    if (typeof options !== "object" || options === null) throw new Error(`${what}: options must be an object`);
    const B = _positiveWhole(options.batch ?? 1, `${what}: batch`);
    const given = _tensors(inputs, "inputs", names.inputs);
    const start = _tensors(initial, "initial", names.states);
    // A static input (one row per batch row) is the same at every step: the first per-step input counts the steps.
    const first = program.names.inputs.find((i) => arrayOf(i.array).rows === "steps");
    const firstLength = first === undefined ? undefined : given[first.name]?.length;
    // A cell without inputs has nothing to count steps by: options.steps says how many.
    const T = first === undefined ? _positiveWhole(options.steps, `${what}: options.steps (this cell has no inputs)`) : (firstLength ?? 0) / (B * first.width);
    if (first !== undefined && (!Number.isSafeInteger(T) || T < 1)) {
      throw new Error(`inputs.${first.name} must hold steps · batch · ${first.width} numbers (batch ${B}), not ${firstLength ?? "none"}`);
    }
    if (options.steps !== undefined && options.steps !== T) throw new Error(`${what}: options.steps is ${options.steps}, but the inputs hold ${T} steps`);
    const inputArrays = program.names.inputs.map((i) => _check(given[i.name], _rowsOf(arrayOf(i.array).rows, B, T) * i.width, `inputs.${i.name}`));
    const lengths = options.lengths === undefined ? null : _checkLengths(options.lengths, B, T, "options.lengths");
    return { B, T, inputArrays, stateArrays: initialStates(start, B), lengths };
  }

  /**
   * A forward call's writes: the parameters, the initial states and the inputs given (null: filled on the device by
   * the caller before the kernels run, as a model does with its layers' outputs); nothing runs yet.
   * With lengths, every row still runs every step (the kernels are unchanged): rows are independent, so a row's steps
   * before its length are those of the whole run, and its final state is read from the state history at its length.
   * Past it, its outputs are zeroed and its state is not frozen on the GPU, only never read: backward gives those
   * steps zero gradients (encodeBackward). Its inputs there are zeroed too, so those steps run on finite numbers
   * whatever the padding holds (0 times a NaN would be NaN).
   */
  function prepareForward(what: string, params: Params | GpuParams, inputArrays: readonly (ArrayLike<number> | null)[], stateArrays: readonly ArrayLike<number>[], call: _CallShape): void {
    const { lengths } = call;
    const paramBuffer = paramsBuffer(params, "params");
    configure(what, call.B, call.T, call.firstStep);
    errors.guard(what, () => {
      program.names.inputs.forEach((i, k) => {
        const values = inputArrays[k]!;
        // A static input (one row per batch row) has no steps past an end to zero.
        if (values !== null) write(i.array, lengths === null || arrayOf(i.array).rows !== "steps" ? values : _withEndsZeroed(values, lengths, i.width));
      });
      program.names.states.forEach((s, k) => write(s.hist, stateArrays[k]!));
      callGroup = bind(paramBuffer);
    });
    generation++;
    savedLengths = lengths;
  }

  /** The prepared forward call's kernels, one compute pass of `encoder`. */
  function encodeForward(encoder: GPUCommandEncoder): void {
    const group = callGroup!;
    const pass = encoder.beginComputePass();
    for (const d of program.forward.before) run(pass, group, d, 0);
    if (program.path === "sequence") for (const d of program.forward.loop) run(pass, group, d, 0);
    else for (let t = 0; t < shape.T; t++) for (const d of program.forward.loop) run(pass, group, d, t);
    pass.end();
  }

  /**
   * What a forward call's results are read from: the outputs `wanted`, [T·B, width] each, zeroed past each row's
   * length once read; each state's final values, every row's at its own length.
   */
  function forwardReads(wanted: (output: string) => boolean): _Reads<{ outputs: _Arrays; final: _Arrays }> {
    const { B, T } = shape;
    const lengths = savedLengths;
    const outputs = program.names.outputs.filter((o) => wanted(o.name));
    const spans = outputs.map((o) => place(o.array));
    for (const s of program.names.states) {
      const hist = place(s.hist);
      // Without lengths every row ends at T: one span of B rows.
      if (lengths === null) spans.push({ buffer: hist.buffer, offset: hist.offset + T * B * s.width, length: B * s.width });
      else lengths.forEach((length, b) => spans.push({ buffer: hist.buffer, offset: hist.offset + (length * B + b) * s.width, length: s.width }));
    }
    return {
      spans,
      results(values) {
        let k = 0;
        const out: _Arrays = {};
        const final: _Arrays = {};
        for (const o of outputs) out[o.name] = lengths === null ? values[k++]! : _withEndsZeroed(values[k++]!, lengths, o.width);
        for (const s of program.names.states) {
          final[s.name] = lengths === null ? values[k++]! : new Float32Array(B * s.width);
          if (lengths !== null) for (let b = 0; b < B; b++) final[s.name]!.set(values[k++]!, b * s.width);
        }
        return { outputs: out, final };
      },
    };
  }

  async function runForward(what: string, params: Params | GpuParams, inputs: Inputs, initial: Partial<States>, options: ForwardOptions, firstStep = 0): Promise<ForwardResult> {
    const { B, T, inputArrays, stateArrays, lengths } = forwardArguments(what, inputs, initial, options);
    prepareForward(what, params, inputArrays, stateArrays, { B, T, lengths, firstStep });
    errors.guard(what, () => {
      const encoder = device.createCommandEncoder();
      encodeForward(encoder);
      device.queue.submit([encoder.finish()]);
    });
    const reads = forwardReads(() => true);
    const { outputs, final } = reads.results(await _readSpans(device, errors, reads.spans, what));
    const saved: Saved = Object.freeze({ batch: B, steps: T, generation });
    saves.add(saved);
    return { outputs: outputs as unknown as Outputs, final: final as unknown as States, saved };
  }

  function forward(params: Params | GpuParams, inputs: Inputs, initial: Partial<States> = {}, options: ForwardOptions = {}): Promise<ForwardResult> {
    return exclusive("forward", () => runForward("forward", params, inputs, initial, options));
  }

  /** backward()'s upstream, checked against the forward call `saved` comes from: each array given, at its length. */
  function backwardArguments(what: string, saved: Saved, upstream: Upstream) {
    if (!saves.has(saved)) throw new Error(`${what}: 'saved' does not come from this cell's forward()`);
    if (saved.generation !== generation || saved.batch !== shape.B || saved.steps !== shape.T) throw new Error(`${what}: 'saved' is stale: another forward() or step() ran on this cell since`);
    const { B, T } = shape;
    const given = _tensors(upstream, "upstream", ["outputs", "final"]);
    const outputs = _tensors(given.outputs ?? {}, "upstream.outputs", names.outputs);
    const final = _tensors(given.final ?? {}, "upstream.final", names.states);
    const upstreamOutputs = program.names.outputs.map((o) => (outputs[o.name] === undefined ? undefined : _check(outputs[o.name], T * B * o.width, `upstream.outputs.${o.name}`)));
    const upstreamFinal = program.names.states.map((s) => (final[s.name] === undefined ? undefined : _check(final[s.name], B * s.width, `upstream.final.${s.name}`)));
    return { upstreamOutputs, upstreamFinal };
  }

  /**
   * A backward call's writes: the upstream outputs given (zeroed past each row's length), into a staging buffer that
   * encodeStart copies from; nothing runs yet.
   */
  function prepareBackward(what: string, params: Params | GpuParams, upstreamOutputs: readonly (ArrayLike<number> | undefined)[]): void {
    const lengths = savedLengths;
    const paramBuffer = paramsBuffer(params, "params");
    const given = program.names.outputs.flatMap((o, k) => {
      const values = upstreamOutputs[k];
      return values === undefined ? [] : [{ o, values: lengths === null ? values : _withEndsZeroed(values, lengths, o.width) }];
    });
    const data = new Float32Array(given.reduce((n, g) => n + g.values.length, 0));
    let at = 0;
    staged = given.map(({ o, values }) => {
      data.set(values, at);
      return { name: o.upstream, at: (at += values.length) - values.length };
    });
    errors.guard(what, () => {
      if (data.length > 0) device.queue.writeBuffer(stagingBuffer("upstream", data.byteLength), 0, data);
      callGroup = bind(paramBuffer);
    });
  }

  /**
   * A prepared backward call's start, into `encoder`: every gradient cleared, then the upstream outputs copied in;
   * a model then adds its later layers' gradients to them on the device, before encodeBackward.
   */
  function encodeStart(encoder: GPUCommandEncoder): void {
    const { B, T } = shape;
    encoder.clearBuffer(grads);
    encoder.clearBuffer(buffer("R"));
    for (const name of [...program.names.inputs.map((i) => i.grad), ...program.names.states.map((s) => s.grad), ...program.names.outputs.map((o) => o.upstream)]) {
      const a = arrayOf(name);
      encoder.clearBuffer(buffer(a.buffer), offsets[name]! * 4, _rowsOf(a.rows, B, T) * a.width * 4);
    }
    for (const { name, at } of staged) {
      const to = place(name);
      encoder.copyBufferToBuffer(staging["upstream"]!, at * 4, to.buffer, to.offset * 4, to.length * 4);
    }
  }

  /**
   * The prepared backward call's kernels, last step first, all into `encoder` (the caller submits it): the loop in
   * runs of steps between rows' ends (one run without lengths), each run's layout copied into the layout uniform and
   * the final-state gradients of the rows that end there copied into the state gradients' history first, from one
   * buffer written before the submission (stagingBuffer); then the kernels after the loop, under the whole call's layout.
   * The steps a row ran past its length were given zero gradients (the runs of the later steps, and the upstream
   * outputs zeroed there), so they added nothing and wrote 0 there: as a frozen state, the row passes its final
   * gradient on unchanged.
   */
  function encodeBackward(upstreamFinal: readonly (ArrayLike<number> | undefined)[], encoder: GPUCommandEncoder): void {
    const { B, T } = shape;
    const lengths = savedLengths;
    const group = callGroup!;
    const runs = _backwardRuns(lengths, T);
    // The layouts (each run's, then the whole call's) at the uniform's size apart, then each state's final gradients.
    const layoutBytes = uniform.size;
    const finalsAt = (runs.length + 1) * layoutBytes;
    const finalFloats = program.names.states.reduce((n, s) => n + B * s.width, 0);
    const data = new ArrayBuffer(finalsAt + finalFloats * 4);
    [...runs.map(({ from, to }) => layoutWords(from, to - from, 0)), layoutWords(0, T, 0)].forEach((words, i) => new Uint32Array(data, i * layoutBytes, words.length).set(words));
    const finals = new Float32Array(data, finalsAt);
    let at = 0;
    const finalOffsets = program.names.states.map((s, k) => {
      const values = upstreamFinal[k];
      if (values !== undefined) finals.set(values, at);
      return values === undefined ? null : (at += B * s.width) - B * s.width;
    });
    const source = stagingBuffer("runs", data.byteLength);
    device.queue.writeBuffer(source, 0, data);
    runs.forEach(({ from, to }, i) => {
      program.names.states.forEach((s, k) => {
        const offset = finalOffsets[k];
        if (offset === null || offset === undefined) return;
        const hist = place(s.grad);
        const enter = (b: number, rows: number) => encoder.copyBufferToBuffer(source, finalsAt + (offset + b * s.width) * 4, hist.buffer, (hist.offset + (to * B + b) * s.width) * 4, rows * s.width * 4);
        // Without lengths every row ends at T: one copy of all B rows.
        if (lengths === null) enter(0, B);
        else for (let b = 0; b < B; b++) if (lengths[b] === to) enter(b, 1);
      });
      encoder.copyBufferToBuffer(source, i * layoutBytes, uniform, 0, layoutBytes);
      const pass = encoder.beginComputePass();
      if (program.path === "sequence") for (const d of program.backward.loop) run(pass, group, d, 0);
      else for (let t = to - from - 1; t >= 0; t--) for (const d of program.backward.loop) run(pass, group, d, t);
      pass.end();
    });
    encoder.copyBufferToBuffer(source, runs.length * layoutBytes, uniform, 0, layoutBytes);
    const pass = encoder.beginComputePass();
    for (const d of program.backward.after) run(pass, group, d, 0);
    pass.end();
  }

  /** Staging buffer `name` (what backward copies from), of `bytes` or more: grown, never shrunk; one call at a time uses it. */
  function stagingBuffer(name: "upstream" | "runs", bytes: number): GPUBuffer {
    const have = staging[name];
    if (have !== undefined && have.size >= bytes) return have;
    have?.destroy();
    return (staging[name] = device.createBuffer({ size: Math.ceil(bytes / 16) * 16, usage: _COPY_SRC | _COPY_DST }));
  }


  /** What a backward call's gradients are read from: the parameters' (packed), the inputs' if `withInputs`, the initial states'. */
  function backwardReads(withInputs: boolean): _Reads<{ params: _Arrays; inputs: _Arrays; initial: _Arrays }> {
    const { B } = shape;
    const inputs = withInputs ? program.names.inputs : [];
    const spans = [{ buffer: grads, offset: 0, length: program.paramFloats }, ...inputs.map((i) => place(i.grad)), ...program.names.states.map((s) => ({ ...place(s.grad), length: B * s.width }))];
    return {
      spans,
      results(values) {
        const [packed, ...rest] = values;
        const gradInputs: _Arrays = {};
        const initial: _Arrays = {};
        inputs.forEach((i, k) => (gradInputs[i.name] = rest[k]!));
        program.names.states.forEach((s, k) => (initial[s.name] = rest[inputs.length + k]!));
        return { params: unpack(packed!) as unknown as _Arrays, inputs: gradInputs, initial };
      },
    };
  }

  function runBackward(what: string, params: Params | GpuParams, saved: Saved, upstream: Upstream): GpuParams {
    const { upstreamOutputs, upstreamFinal } = backwardArguments(what, saved, upstream);
    prepareBackward(what, params, upstreamOutputs);
    errors.guard(what, () => {
      const encoder = device.createCommandEncoder();
      encodeStart(encoder);
      encodeBackward(upstreamFinal, encoder);
      device.queue.submit([encoder.finish()]);
    });
    return own(grads);
  }

  function backwardOnGpu(params: Params | GpuParams, saved: Saved, upstream: Upstream = {}): GpuParams {
    enter("backwardOnGpu");
    return runBackward("backwardOnGpu", params, saved, upstream);
  }

  function backward(params: Params | GpuParams, saved: Saved, upstream: Upstream = {}): Promise<Gradients> {
    return exclusive("backward", async () => {
      runBackward("backward", params, saved, upstream);
      const reads = backwardReads(true);
      return reads.results(await _readSpans(device, errors, reads.spans, "backward")) as unknown as Gradients;
    });
  }

  function createState(batch = 1): States {
    const B = _positiveWhole(batch, "createState: batch");
    const state: Record<string, Float32Array> = {};
    for (const s of program.names.states) state[s.name] = new Float32Array(B * s.width).fill(s.init);
    return state as unknown as States;
  }

  function step(params: Params | GpuParams, inputs: Inputs, state: States, t?: number): Promise<Outputs> {
    return exclusive("step", async () => {
      // A cell that reads t must be told which step this is; the others ignore it.
      if (program.readsStep && (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0 || t > 0xffffffff)) {
        throw new Error(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(t)}`);
      }
      const given = _tensors(state, "state", names.states);
      const first = program.names.states[0];
      const firstLength = first === undefined ? undefined : given[first.name]?.length;
      const B = first === undefined ? 1 : (firstLength ?? 0) / first.width;
      if (first !== undefined && (!Number.isSafeInteger(B) || B < 1)) throw new Error(`step: state.${first.name} must hold batch · ${first.width} numbers, not ${firstLength ?? "none"}`);
      const targets = program.names.states.map((s) => {
        const value = _check(given[s.name], B * s.width, `state.${s.name}`);
        if (!(value instanceof Float32Array)) throw new Error(`step: state.${s.name} must be a Float32Array (it is updated in place)`);
        return value;
      });
      const steps = _tensors(inputs, "inputs", names.inputs);
      for (const i of program.names.inputs) _check(steps[i.name], B * i.width, `inputs.${i.name} (one step)`);
      const result = await runForward("step", params, inputs, state, { batch: B }, program.readsStep ? t : 0);
      program.names.states.forEach((s, k) => targets[k]!.set((result.final as unknown as Record<string, Float32Array>)[s.name]!));
      return result.outputs;
    });
  }

  function destroy(): void {
    destroyed = true;
    for (const b of [grads, ownParams, uniform, stepIndex, ...Object.values(staging), ...Object.values(buffers)]) b?.destroy();
    buffers = {};
  }

  const layout: ParamLayout = { floats: program.paramFloats, params: program.params.map((p) => ({ name: p.name, offset: p.offset, length: p.length, derived: p.internal })) };
  /** The calls split for a model that chains its cells on the device; not part of the cell's API. */
  const chain: _ChainedCell = {
    prepareForward(what, params, inputs, initial, call) {
      const arrays = program.names.inputs.map((i) => (inputs[i.name] === undefined ? null : _check(inputs[i.name], _rowsOf(arrayOf(i.array).rows, call.B, call.T) * i.width, `inputs.${i.name}`)));
      prepareForward(what, params as Params, arrays, initialStates(initial, call.B), call);
    },
    encodeForward,
    forwardReads,
    encodeStart,
    prepareBackward(what, params, upstream) {
      prepareBackward(what, params as Params, program.names.outputs.map((o) => upstream[o.name]));
    },
    encodeBackward(final, encoder) {
      encodeBackward(program.names.states.map((s) => final[s.name]), encoder);
    },
    backwardReads: () => backwardReads(false),
    input: (name, what) => place(program.names.inputs.find((i) => i.name === name)![what === "value" ? "array" : "grad"]),
    output: (name, what) => place(program.names.outputs.find((o) => o.name === name)![what === "value" ? "array" : "upstream"]),
    guard: (what, body) => errors.guard(what, body),
    async settle() {
      enter("model");
      const error = await built;
      if (error) throw error;
      await errors.settle();
    },
  };
  return { layout, uploadParams, downloadParams, forward, backward, backwardOnGpu, createState, step, destroy, _chain: chain };
}
// END EMBED HOST_DRIVER
export type { _CallShape, _ChainedCell, _Span };
