/**
 * Small WebGPU helpers for tests: compile-check WGSL, move Float32Arrays in and
 * out of storage buffers, dispatch a compute pipeline. They only use the
 * standard WebGPU API, so they work with any GPUDevice (Dawn in Node, or a
 * browser's, if bundled for the page).
 */
// Global GPU* types come from `webgpu`'s own @webgpu/types (see node-device.ts).
import type {} from "webgpu";

// The GPUBufferUsage / GPUMapMode globals are not installed on globalThis by
// dawn.node (they come in its `globals` export), so use the spec's values.
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;
const MAP_MODE_READ = 0x0001;

export interface CompileMessage {
  type: GPUCompilationMessageType;
  line: number;
  column: number;
  message: string;
}

export interface CompileCheckResult {
  /** "line:col: message", 1-based, as reported by getCompilationInfo(). */
  errors: string[];
  warnings: string[];
  /** info-level messages (rare). */
  infos: string[];
  messages: CompileMessage[];
}

/**
 * Compile a WGSL module and collect its diagnostics. Also validates a compute
 * pipeline for `entryPoint` (when given), since some errors (e.g. uniformity,
 * resource limits) only appear at pipeline creation; those are reported as
 * errors with line 0 unless the message carries a position.
 */
export async function compileCheck(
  device: GPUDevice,
  wgsl: string,
  opts: { entryPoint?: string; label?: string } = {},
): Promise<CompileCheckResult> {
  // Each scope is popped in the task that pushed it: across an await, other work on the device would land in it.
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: wgsl, label: opts.label ?? "compileCheck" });
  const moduleScope = device.popErrorScope();
  const info = await module.getCompilationInfo();
  const scopeErr = await moduleScope;
  const result: CompileCheckResult = { errors: [], warnings: [], infos: [], messages: [] };
  for (const m of info.messages) {
    const msg: CompileMessage = { type: m.type, line: m.lineNum, column: m.linePos, message: m.message };
    result.messages.push(msg);
    const text = `${m.lineNum}:${m.linePos}: ${m.message}`;
    if (m.type === "error") result.errors.push(text);
    else if (m.type === "warning") result.warnings.push(text);
    else result.infos.push(text);
  }
  if (scopeErr && result.errors.length === 0) result.errors.push(`0:0: ${scopeErr.message}`);
  if (opts.entryPoint && result.errors.length === 0) {
    device.pushErrorScope("validation");
    const pipeline = device.createComputePipelineAsync({
      layout: "auto",
      compute: { module, entryPoint: opts.entryPoint },
    });
    const pipelineScope = device.popErrorScope();
    try {
      await pipeline;
    } catch (e) {
      result.errors.push(`0:0: ${(e as Error).message}`);
    }
    const pErr = await pipelineScope;
    if (pErr) result.errors.push(`0:0: ${pErr.message}`);
  }
  return result;
}

/** Throws with all messages if `wgsl` has compile errors. */
export async function assertCompiles(device: GPUDevice, wgsl: string, entryPoint?: string): Promise<void> {
  const r = await compileCheck(device, wgsl, { entryPoint });
  if (r.errors.length) throw new Error(`WGSL does not compile:\n${r.errors.join("\n")}`);
}

/** A storage buffer holding `data` (also usable as copy source/destination). */
export function storageBufferFrom(
  device: GPUDevice,
  data: Float32Array | Uint32Array | Int32Array,
  extraUsage: number = 0,
): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buf = device.createBuffer({
    size,
    usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST | extraUsage,
    mappedAtCreation: true,
  });
  const Ctor = data.constructor as { new (b: ArrayBuffer): Float32Array | Uint32Array | Int32Array };
  new Ctor(buf.getMappedRange()).set(data);
  buf.unmap();
  return buf;
}

/** An empty storage buffer of `byteLength` bytes (rounded up to 16). */
export function storageBuffer(device: GPUDevice, byteLength: number, extraUsage: number = 0): GPUBuffer {
  return device.createBuffer({
    size: Math.max(16, Math.ceil(byteLength / 16) * 16),
    usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST | extraUsage,
  });
}

/** A uniform buffer holding `data`. */
export function uniformBufferFrom(device: GPUDevice, data: ArrayBufferView): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buf = device.createBuffer({ size, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

/** Copy `byteLength` bytes (default: whole buffer) of `buffer` back to the CPU. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength = buffer.size): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_MODE_READ);
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readFloat32(device: GPUDevice, buffer: GPUBuffer, length?: number): Promise<Float32Array> {
  const n = length ?? buffer.size / 4;
  return new Float32Array(await readBuffer(device, buffer, n * 4));
}

export interface DispatchOptions {
  wgsl: string;
  entryPoint?: string;
  /** Buffers for @group(0) @binding(i), in binding order (or a map binding -> buffer). */
  bindings: GPUBuffer[] | Map<number, GPUBuffer>;
  workgroups: number | [number, number?, number?];
  /** Compile-check first and throw with line:col messages on error (default true). */
  check?: boolean;
}

/** Build a compute pipeline (layout 'auto'), bind group 0, dispatch once, wait for completion. */
export async function dispatch(device: GPUDevice, opts: DispatchOptions): Promise<void> {
  const entryPoint = opts.entryPoint ?? "main";
  if (opts.check !== false) await assertCompiles(device, opts.wgsl);
  const module = device.createShaderModule({ code: opts.wgsl });
  device.pushErrorScope("validation");
  const pipeline = await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint } });
  const entries: GPUBindGroupEntry[] = [];
  const bindings = opts.bindings instanceof Map ? [...opts.bindings] : opts.bindings.map((b, i) => [i, b] as const);
  for (const [binding, buffer] of bindings) entries.push({ binding, resource: { buffer } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [x, y = 1, z = 1] = typeof opts.workgroups === "number" ? [opts.workgroups] : opts.workgroups;
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  await device.queue.onSubmittedWorkDone();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
}

/**
 * Convenience: run `wgsl` with the given Float32Array inputs bound at 0..k-1 and
 * one output of `outputLength` floats bound at k; return the output.
 */
export async function runFloatKernel(
  device: GPUDevice,
  wgsl: string,
  inputs: Float32Array[],
  outputLength: number,
  workgroups: DispatchOptions["workgroups"],
  entryPoint = "main",
): Promise<Float32Array> {
  const ins = inputs.map((a) => storageBufferFrom(device, a));
  const out = storageBuffer(device, outputLength * 4);
  try {
    await dispatch(device, { wgsl, entryPoint, bindings: [...ins, out], workgroups });
    return await readFloat32(device, out, outputLength);
  } finally {
    for (const b of [...ins, out]) b.destroy();
  }
}
