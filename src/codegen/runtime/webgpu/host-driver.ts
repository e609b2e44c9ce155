// The WebGPU host driver: the part of every generated `<cell>.webgpu.ts`
// that runs a program, the same for every cell. Embedded by
// scripts/embed-runtime.ts after the cell's own part, which renderHost
// (src/codegen/wgsl/host.ts) writes: the WGSL, PROGRAM, the Params/Inputs/
// States/Outputs records and initParams. The declarations before the marker
// stand for that part; the records are a sample cell's. Type-checked by the
// project's tsc and, strict and with @webgpu/types as a consumer would, by
// this folder's tsconfig.json.
declare const FORWARD_WGSL: string;
declare const BACKWARD_WGSL: string;
declare const PROGRAM: Program;
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

// BEGIN EMBED HOST_DRIVER
type Tensors = Record<string, Float32Array>;

interface Dispatch {
  entry: string;
  workgroupSize: number;
  batchWorkgroups: boolean;
  steps: boolean;
  batch: boolean;
  n: number;
}

interface Program {
  path: string;
  params: { name: string; offset: number; length: number; rows: number; cols: number; matrix: boolean }[];
  paramFloats: number;
  arrays: { name: string; buffer: "S" | "K" | "W" | "R"; width: number; rows: "steps" | "hist" | "row" }[];
  forward: { before: Dispatch[]; loop: Dispatch[] };
  backward: { loop: Dispatch[]; after: Dispatch[] };
  names: {
    inputs: { name: string; array: string; grad: string; width: number }[];
    states: { name: string; hist: string; grad: string; width: number; init: number }[];
    outputs: { name: string; array: string; upstream: string; width: number }[];
  };
}

/** Parameters (or their gradients) in one GPU buffer, in the kernels' layout. */
export interface GpuParams {
  readonly buffer: GPUBuffer;
}

/** What backward needs from forward: it lives in the cell's GPU buffers. */
export interface Saved {
  readonly batch: number;
  readonly steps: number;
  readonly generation: number;
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

export interface Cell {
  uploadParams(params: Params, into?: GpuParams): GpuParams;
  downloadParams(gpu: GpuParams): Promise<Params>;
  forward(params: Params | GpuParams, inputs: Inputs, initial?: Partial<States>, options?: { batch?: number }): Promise<ForwardResult>;
  backward(params: Params | GpuParams, saved: Saved, upstream?: Upstream): Promise<Gradients>;
  backwardOnGpu(params: Params | GpuParams, saved: Saved, upstream?: Upstream): GpuParams;
  createState(batch?: number): States;
  step(params: Params | GpuParams, inputs: Inputs, state: States): Promise<Outputs>;
  destroy(): void;
}

// GPUBufferUsage / GPUMapMode values (not every runtime installs the globals).
const _STORAGE = 0x80, _UNIFORM = 0x40, _COPY_SRC = 0x04, _COPY_DST = 0x08, _MAP_READ = 0x01;
const _BUFFERS = ["S", "K", "W", "R"] as const;
/** Bytes between the per-step uniform records (WebGPU's minimum alignment is at most 256). */
const _STEP_STRIDE = 256;

function _check(array: ArrayLike<number> | undefined, length: number, what: string): ArrayLike<number> {
  if (array === undefined || array.length !== length) throw new Error(what + " must hold " + length + " numbers, not " + (array === undefined ? "none" : array.length));
  return array;
}

function _rowsOf(kind: "steps" | "hist" | "row", B: number, T: number): number {
  return kind === "steps" ? T * B : kind === "hist" ? (T + 1) * B : B;
}

/** Pipelines and buffers for this cell on 'device'; buffers grow with batch · steps. */
export function createCell(device: GPUDevice): Cell {
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
  const modules = { forward: device.createShaderModule({ code: FORWARD_WGSL }), backward: device.createShaderModule({ code: BACKWARD_WGSL }) };
  const pipelines = new Map<string, GPUComputePipeline>();
  const pipeline = (module: GPUShaderModule, entry: string) => {
    if (!pipelines.has(entry)) pipelines.set(entry, device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: entry } }));
    return pipelines.get(entry)!;
  };
  for (const d of PROGRAM.forward.before.concat(PROGRAM.forward.loop)) pipeline(modules.forward, d.entry);
  for (const d of PROGRAM.backward.loop.concat(PROGRAM.backward.after)) pipeline(modules.backward, d.entry);

  const paramBytes = Math.max(16, PROGRAM.paramFloats * 4);
  const grads = device.createBuffer({ size: paramBytes, usage: _STORAGE | _COPY_SRC | _COPY_DST });
  const ownParams = device.createBuffer({ size: paramBytes, usage: _STORAGE | _COPY_SRC | _COPY_DST });
  const layoutWords = 2 + PROGRAM.arrays.length;
  const uniform = device.createBuffer({ size: Math.ceil((layoutWords * 4) / 16) * 16, usage: _UNIFORM | _COPY_DST });
  let buffers: Record<string, GPUBuffer> = {};
  let stepIndex: GPUBuffer | null = null;
  let capacity = { floats: {} as Record<string, number>, steps: 0 };
  let offsets: Record<string, number> = {};
  let shape = { B: 0, T: 0 };
  let bindGroup: GPUBindGroup | null = null;
  let boundParams: GPUBuffer | null = null;
  let generation = 0;

  /** Lays the arrays out for B rows and T steps; grows the buffers when needed. */
  function configure(B: number, T: number): void {
    const floats: Record<string, number> = { S: 0, K: 0, W: 0, R: 0 };
    offsets = {};
    for (const a of PROGRAM.arrays) {
      offsets[a.name] = floats[a.buffer]!;
      floats[a.buffer]! += _rowsOf(a.rows, B, T) * a.width;
    }
    let grown = false;
    for (const name of _BUFFERS) {
      if ((capacity.floats[name] ?? -1) >= floats[name]!) continue;
      buffers[name]?.destroy();
      buffers[name] = device.createBuffer({ size: Math.max(16, floats[name]! * 4), usage: _STORAGE | _COPY_SRC | _COPY_DST });
      capacity.floats[name] = floats[name]!;
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
    const words = new Uint32Array(layoutWords);
    words[0] = B;
    words[1] = T;
    PROGRAM.arrays.forEach((a, i) => (words[2 + i] = offsets[a.name]!));
    device.queue.writeBuffer(uniform, 0, words);
  }

  function bind(params: GPUBuffer): GPUBindGroup {
    if (bindGroup && boundParams === params) return bindGroup;
    boundParams = params;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: grads } },
      ..._BUFFERS.map((name, i) => ({ binding: 2 + i, resource: { buffer: buffers[name]! } })),
      { binding: 6, resource: { buffer: uniform } },
      { binding: 7, resource: { buffer: stepIndex!, size: 4 } },
    ];
    bindGroup = device.createBindGroup({ layout: bindLayout, entries });
    return bindGroup;
  }

  function run(pass: GPUComputePassEncoder, group: GPUBindGroup, module: GPUShaderModule, d: Dispatch, t: number): void {
    pass.setPipeline(pipeline(module, d.entry));
    pass.setBindGroup(0, group, [t * _STEP_STRIDE]);
    if (d.batchWorkgroups) {
      pass.dispatchWorkgroups(shape.B);
      return;
    }
    const items = (d.steps ? shape.T : 1) * (d.batch ? shape.B : 1) * d.n;
    const groups = Math.ceil(items / d.workgroupSize);
    const x = Math.min(groups, 65535);
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  }

  function paramsBuffer(params: Params | GpuParams): GPUBuffer {
    if ("buffer" in params && (params as GpuParams).buffer && !((params as GpuParams).buffer instanceof Float32Array)) return (params as GpuParams).buffer;
    uploadParams(params as Params, { buffer: ownParams });
    return ownParams;
  }

  function uploadParams(params: Params, into?: GpuParams): GpuParams {
    const target = into?.buffer ?? device.createBuffer({ size: paramBytes, usage: _STORAGE | _COPY_SRC | _COPY_DST });
    const packed = new Float32Array(PROGRAM.paramFloats);
    for (const p of PROGRAM.params) {
      const values = _check((params as unknown as Tensors)[p.name], p.length, "params." + p.name);
      if (!p.matrix) packed.set(values, p.offset);
      else for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) packed[p.offset + c * p.rows + r] = values[r * p.cols + c]!;
    }
    device.queue.writeBuffer(target, 0, packed);
    return { buffer: target };
  }

  async function read(buffer: GPUBuffer, floatOffset: number, length: number): Promise<Float32Array> {
    const size = Math.max(4, length * 4);
    const staging = device.createBuffer({ size, usage: _MAP_READ | _COPY_DST });
    const encoder = device.createCommandEncoder();
    if (length > 0) encoder.copyBufferToBuffer(buffer, floatOffset * 4, staging, 0, length * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(_MAP_READ);
    const values = new Float32Array(staging.getMappedRange().slice(0, length * 4));
    staging.unmap();
    staging.destroy();
    return values;
  }

  async function downloadParams(gpu: GpuParams): Promise<Params> {
    const packed = await read(gpu.buffer, 0, PROGRAM.paramFloats);
    const out: Tensors = {};
    for (const p of PROGRAM.params) {
      const values = new Float32Array(p.length);
      if (!p.matrix) values.set(packed.subarray(p.offset, p.offset + p.length));
      else for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) values[r * p.cols + c] = packed[p.offset + c * p.rows + r]!;
      out[p.name] = values;
    }
    return out as unknown as Params;
  }

  const arrayOf = (name: string) => PROGRAM.arrays.find((a) => a.name === name)!;
  const write = (name: string, values: ArrayLike<number>, row = 0) => {
    const a = arrayOf(name);
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    // As bytes of its buffer: a Float32Array may sit on a SharedArrayBuffer, which @webgpu/types accepts only as such.
    device.queue.writeBuffer(buffers[a.buffer]!, (offsets[name]! + row * a.width) * 4, data.buffer, data.byteOffset, data.byteLength);
  };
  const readArray = (name: string, row: number, rows: number) => {
    const a = arrayOf(name);
    return read(buffers[a.buffer]!, offsets[name]! + row * a.width, rows * a.width);
  };

  function encodeForward(params: GPUBuffer): void {
    const group = bind(params);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const d of PROGRAM.forward.before) run(pass, group, modules.forward, d, 0);
    if (PROGRAM.path === "sequence") for (const d of PROGRAM.forward.loop) run(pass, group, modules.forward, d, 0);
    else for (let t = 0; t < shape.T; t++) for (const d of PROGRAM.forward.loop) run(pass, group, modules.forward, d, t);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  async function forward(params: Params | GpuParams, inputs: Inputs, initial: Partial<States> = {}, options: { batch?: number } = {}): Promise<ForwardResult> {
    const B = options.batch ?? 1;
    if (!Number.isInteger(B) || B < 1) throw new Error("batch must be a positive whole number, not " + B);
    const first = PROGRAM.names.inputs[0]!;
    const T = ((inputs as unknown as Tensors)[first.name]?.length ?? 0) / (B * first.width);
    if (!Number.isInteger(T) || T < 1) throw new Error("inputs." + first.name + " must hold steps · batch · " + first.width + " numbers");
    const paramBuffer = paramsBuffer(params);
    configure(B, T);
    for (const i of PROGRAM.names.inputs) write(i.array, _check((inputs as unknown as Tensors)[i.name], T * B * i.width, "inputs." + i.name));
    for (const s of PROGRAM.names.states) {
      const given = (initial as Tensors)[s.name];
      write(s.hist, given === undefined ? new Float32Array(B * s.width).fill(s.init) : _check(given, B * s.width, "initial." + s.name));
    }
    encodeForward(paramBuffer);
    generation++;
    const outputs: Tensors = {};
    const final: Tensors = {};
    for (const o of PROGRAM.names.outputs) outputs[o.name] = await readArray(o.array, 0, T * B);
    for (const s of PROGRAM.names.states) final[s.name] = await readArray(s.hist, T * B, B);
    return { outputs: outputs as unknown as Outputs, final: final as unknown as States, saved: { batch: B, steps: T, generation } };
  }

  function backwardOnGpu(params: Params | GpuParams, saved: Saved, upstream: Upstream = {}): GpuParams {
    if (saved.generation !== generation || saved.batch !== shape.B || saved.steps !== shape.T) throw new Error("backward: 'saved' is stale: another forward() ran on this cell since");
    const { B, T } = shape;
    const paramBuffer = paramsBuffer(params);
    const clear = device.createCommandEncoder();
    clear.clearBuffer(grads);
    clear.clearBuffer(buffers.R!);
    for (const name of [...PROGRAM.names.inputs.map((i) => i.grad), ...PROGRAM.names.states.map((s) => s.grad), ...PROGRAM.names.outputs.map((o) => o.upstream)]) {
      const a = arrayOf(name);
      clear.clearBuffer(buffers[a.buffer]!, offsets[name]! * 4, _rowsOf(a.rows, B, T) * a.width * 4);
    }
    device.queue.submit([clear.finish()]);
    for (const o of PROGRAM.names.outputs) {
      const given = (upstream.outputs as Tensors | undefined)?.[o.name];
      if (given !== undefined) write(o.upstream, _check(given, T * B * o.width, "upstream.outputs." + o.name));
    }
    for (const s of PROGRAM.names.states) {
      const given = (upstream.final as Tensors | undefined)?.[s.name];
      if (given !== undefined) write(s.grad, _check(given, B * s.width, "upstream.final." + s.name), T * B);
    }
    const group = bind(paramBuffer);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    if (PROGRAM.path === "sequence") for (const d of PROGRAM.backward.loop) run(pass, group, modules.backward, d, 0);
    else for (let t = T - 1; t >= 0; t--) for (const d of PROGRAM.backward.loop) run(pass, group, modules.backward, d, t);
    for (const d of PROGRAM.backward.after) run(pass, group, modules.backward, d, 0);
    pass.end();
    device.queue.submit([encoder.finish()]);
    return { buffer: grads };
  }

  async function backward(params: Params | GpuParams, saved: Saved, upstream: Upstream = {}): Promise<Gradients> {
    const gpu = backwardOnGpu(params, saved, upstream);
    const { B, T } = shape;
    const inputs: Tensors = {};
    const initial: Tensors = {};
    for (const i of PROGRAM.names.inputs) inputs[i.name] = await readArray(i.grad, 0, T * B);
    for (const s of PROGRAM.names.states) initial[s.name] = await readArray(s.grad, 0, B);
    return { params: await downloadParams(gpu), inputs: inputs as unknown as Inputs, initial: initial as unknown as States };
  }

  function createState(batch = 1): States {
    const state: Tensors = {};
    for (const s of PROGRAM.names.states) state[s.name] = new Float32Array(batch * s.width).fill(s.init);
    return state as unknown as States;
  }

  async function step(params: Params | GpuParams, inputs: Inputs, state: States): Promise<Outputs> {
    const first = PROGRAM.names.states[0]!;
    const B = (state as unknown as Tensors)[first.name]!.length / first.width;
    const result = await forward(params, inputs, state, { batch: B });
    for (const s of PROGRAM.names.states) (state as unknown as Tensors)[s.name]!.set((result.final as unknown as Tensors)[s.name]!);
    return result.outputs;
  }

  function destroy(): void {
    for (const b of [grads, ownParams, uniform, stepIndex, ...Object.values(buffers)]) b?.destroy();
    buffers = {};
  }

  return { uploadParams, downloadParams, forward, backward, backwardOnGpu, createState, step, destroy };
}
// END EMBED HOST_DRIVER
