// The optimisers of optim.ts on the GPU, for the WebGPU cell module: the same
// update rules (torch.optim's), one thread per parameter float, over the packed
// buffers `uploadParams()` and `backwardOnGpu()` give. Parameters, gradients
// and the optimiser's buffers stay on the GPU; a training step reads back only
// the gradients' global norm (4 bytes), which fit reports.
//
// The update is elementwise, so it does not care that the cell keeps matrices
// transposed. Global-norm clipping is two reductions with a fixed order (per
// workgroup, then one workgroup over the partial sums) read by the update
// kernel on the GPU: no atomics, and the same bits every run.
import { resolveConfig, slotNames, type OptimizerConfig, type ResolvedConfig } from "./optim.ts";

/** GPUBufferUsage / GPUMapMode values (not every runtime installs the globals). */
const STORAGE = 0x80, UNIFORM = 0x40, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01;
const WORKGROUP = 256;
/** Workgroups of the first reduction: each thread sums a strided share, so the order is fixed for a given size. */
const REDUCE_GROUPS = 64;

/** The parts of WebGPU this file uses, structurally: a GPUDevice fits, and lstmc/train's users need no @webgpu/types. */
interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<unknown>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuCommandBuffer {
  readonly label: string;
}
interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}
interface GpuPass {
  setPipeline(pipeline: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number): void;
  end(): void;
}
export interface GpuDeviceLike {
  readonly limits: { readonly maxComputeWorkgroupsPerDimension: number };
  readonly queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBuffer): void; submit(commands: Iterable<GpuCommandBuffer>): void };
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer;
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipeline(descriptor: { layout: "auto"; compute: { module: never; entryPoint: string } }): GpuPipeline;
  createBindGroup(descriptor: { layout: unknown; entries: Iterable<{ binding: number; resource: unknown }> }): unknown;
  createCommandEncoder(): { beginComputePass(): GpuPass; copyBufferToBuffer(from: GpuBuffer, fromOffset: number, to: GpuBuffer, toOffset: number, size: number): void; finish(): GpuCommandBuffer };
  pushErrorScope(filter: "validation"): void;
  popErrorScope(): Promise<{ readonly message: string } | null>;
}

/** What a generated WebGPU cell says about its parameter buffer (`cell.layout`). */
export interface GpuParamLayout {
  readonly floats: number;
  readonly params: readonly { readonly name: string; readonly derived: boolean }[];
}

/** A parameter or gradient buffer of a WebGPU cell (its `GpuParams`). */
export interface GpuBufferRef {
  readonly buffer: GpuBuffer;
}

export interface GpuOptimizerOptions {
  /** Scale the gradients so their global L2 norm is at most this (torch.nn.utils.clip_grad_norm_). */
  readonly clipNorm?: number;
  /** Then clamp every gradient element into [-clipValue, clipValue]. */
  readonly clipValue?: number;
}

export interface GpuOptimizer {
  /** Optimiser steps taken. */
  readonly steps: number;
  /**
   * Clips and applies one update to `params` in place from `grads`, with
   * learning rate `lr` (the config's by default). Resolves to the gradients'
   * global norm before clipping, once the GPU has done the step.
   */
  step(params: GpuBufferRef, grads: GpuBufferRef, lr?: number): Promise<number>;
  /** The optimiser's buffers (PyTorch's names), read back in the packed layout: for checkpoints and tests. */
  readSlots(): Promise<Record<string, Float32Array>>;
  destroy(): void;
}

/** The update of element i, as WGSL, with `d` the clipped gradient; mirrors optim.ts line for line. */
function updateBody(c: ResolvedConfig, slot: (name: string) => string): string[] {
  switch (c.kind) {
    case "sgd": {
      const lines = [c.weightDecay !== 0 ? "d = d + u.weightDecay * p[i];" : ""];
      if (c.momentum > 0) {
        const buf = slot("momentum_buffer");
        lines.push(`if (u.step == 1u) { ${buf}[i] = d; } else { ${buf}[i] = u.momentum * ${buf}[i] + u.oneMinusDampening * d; }`);
        lines.push(c.nesterov ? `d = d + u.momentum * ${buf}[i];` : `d = ${buf}[i];`);
      }
      lines.push("p[i] = p[i] - u.lr * d;");
      return lines;
    }
    case "adam":
    case "adamw": {
      const [m, v] = [slot("exp_avg"), slot("exp_avg_sq")];
      return [
        c.kind === "adamw" ? "p[i] = p[i] * u.decayFactor;" : c.weightDecay !== 0 ? "d = d + u.weightDecay * p[i];" : "",
        `${m}[i] = ${m}[i] + u.oneMinusBeta1 * (d - ${m}[i]);`,
        `${v}[i] = ${v}[i] * u.beta2 + u.oneMinusBeta2 * d * d;`,
        `p[i] = p[i] - (u.stepSize * ${m}[i]) / (sqrt(${v}[i]) / u.correction2Sqrt + u.eps);`,
      ];
    }
    case "rmsprop": {
      const square = slot("square_avg");
      const lines = [c.weightDecay !== 0 ? "d = d + u.weightDecay * p[i];" : "", `${square}[i] = u.alpha * ${square}[i] + u.oneMinusAlpha * d * d;`];
      if (c.centered) {
        const avg = slot("grad_avg");
        lines.push(`${avg}[i] = ${avg}[i] + u.oneMinusAlpha * (d - ${avg}[i]);`, `let denom = sqrt(${square}[i] - ${avg}[i] * ${avg}[i]) + u.eps;`);
      } else {
        lines.push(`let denom = sqrt(${square}[i]) + u.eps;`);
      }
      if (c.momentum > 0) {
        const buf = slot("momentum_buffer");
        lines.push(`${buf}[i] = u.momentum * ${buf}[i] + d / denom;`, `p[i] = p[i] - u.lr * ${buf}[i];`);
      } else {
        lines.push("p[i] = p[i] - u.lr * d / denom;");
      }
      return lines;
    }
  }
}

// 1 − β and the like come in computed in float64: in f32, 1 − 0.999 is off by 1.3e-5 relative.
const UNIFORM_FIELDS = ["lr", "weightDecay", "momentum", "oneMinusDampening", "beta2", "oneMinusBeta1", "oneMinusBeta2", "eps", "alpha", "oneMinusAlpha", "decayFactor", "stepSize", "correction2Sqrt", "maxNorm", "clipValue"] as const;
type UniformField = (typeof UNIFORM_FIELDS)[number];
/** Bytes of the uniform record: the f32 fields, then step and n (u32), padded to 16. */
const UNIFORM_BYTES = Math.ceil(((UNIFORM_FIELDS.length + 2) * 4) / 16) * 16;

function shaderText(c: ResolvedConfig, slots: readonly string[], options: GpuOptimizerOptions): string {
  const slot = (name: string) => `s${slots.indexOf(name)}`;
  const scale = options.clipNorm !== undefined ? "let scale = min(1.0, u.maxNorm / (sqrt(norm[0]) + 1e-6));\n  var d = g[i] * scale;" : "var d = g[i];";
  return [
    `struct Update {`,
    ...UNIFORM_FIELDS.map((f) => `  ${f}: f32,`),
    `  step: u32,`,
    `  n: u32,`,
    `}`,
    `@group(0) @binding(0) var<storage, read_write> p: array<f32>;`,
    `@group(0) @binding(1) var<storage, read> g: array<f32>;`,
    `@group(0) @binding(2) var<uniform> u: Update;`,
    `@group(0) @binding(3) var<storage, read_write> norm: array<f32>;`,
    `@group(0) @binding(4) var<storage, read_write> partial: array<f32>;`,
    ...slots.map((_, k) => `@group(0) @binding(${5 + k}) var<storage, read_write> s${k}: array<f32>;`),
    `var<workgroup> sums: array<f32, ${WORKGROUP}>;`,
    ``,
    `// Σ g² in a fixed order: thread l of workgroup w sums elements w·${WORKGROUP} + l + k·${WORKGROUP * REDUCE_GROUPS}, then a tree.`,
    `fn tree(l: u32) {`,
    `  for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {`,
    `    workgroupBarrier();`,
    `    if (l < half) { sums[l] = sums[l] + sums[l + half]; }`,
    `  }`,
    `  workgroupBarrier();`,
    `}`,
    `@compute @workgroup_size(${WORKGROUP})`,
    `fn sum_squares(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {`,
    `  var s = 0.0;`,
    `  for (var k = wid.x * ${WORKGROUP}u + l; k < u.n; k += ${WORKGROUP * REDUCE_GROUPS}u) { s = s + g[k] * g[k]; }`,
    `  sums[l] = s;`,
    `  tree(l);`,
    `  if (l == 0u) { partial[wid.x] = sums[0]; }`,
    `}`,
    `@compute @workgroup_size(${WORKGROUP})`,
    `fn sum_partials(@builtin(local_invocation_index) l: u32) {`,
    `  sums[l] = select(0.0, partial[l], l < ${REDUCE_GROUPS}u);`,
    `  tree(l);`,
    `  if (l == 0u) { norm[0] = sums[0]; }`,
    `}`,
    `@compute @workgroup_size(${WORKGROUP})`,
    `fn update(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nwg: vec3u) {`,
    `  let i = id.y * nwg.x * ${WORKGROUP}u + id.x;`,
    `  if (i >= u.n) { return; }`,
    `  ${scale}`,
    options.clipValue !== undefined ? `  d = clamp(d, -u.clipValue, u.clipValue);` : "",
    ...updateBody(c, slot).filter((l) => l !== "").map((l) => `  ${l}`),
    `}`,
  ].filter((l) => l !== "").join("\n");
}

/**
 * An optimiser whose state lives on `device`, for a WebGPU cell with this
 * parameter layout. Cells whose products read matrix expressions are refused:
 * their derived matrices are computed on the CPU at upload, and an update on
 * the GPU would leave them stale.
 */
export async function createGpuOptimizer(device: GpuDeviceLike, layout: GpuParamLayout, config: OptimizerConfig, options: GpuOptimizerOptions = {}): Promise<GpuOptimizer> {
  const derived = layout.params.filter((p) => p.derived).map((p) => p.name);
  if (derived.length > 0) throw new Error(`createGpuOptimizer: this cell's products read matrix expressions (${derived.join(", ")}), which the WebGPU module computes on the CPU at upload; train it with the CPU module`);
  if (!Number.isInteger(layout.floats) || layout.floats <= 0) throw new Error(`createGpuOptimizer: layout.floats must be a positive whole number (it is ${layout.floats})`);
  for (const [name, value] of [["clipNorm", options.clipNorm], ["clipValue", options.clipValue]] as const) {
    if (value !== undefined && !(value > 0 && Number.isFinite(value))) throw new Error(`createGpuOptimizer: ${name} must be a positive number (it is ${value})`);
  }
  const c = resolveConfig(config);
  const slots = slotNames(c);
  device.pushErrorScope("validation");
  const n = layout.floats;
  const bytes = n * 4;
  const storage = (size: number) => device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
  const slotBuffers = slots.map(() => storage(bytes));
  const norm = storage(16);
  const partial = storage(REDUCE_GROUPS * 4);
  const uniform = device.createBuffer({ size: UNIFORM_BYTES, usage: UNIFORM | COPY_DST });
  const module = device.createShaderModule({ code: shaderText(c, slots, options) });
  const pipeline = (entryPoint: string) => device.createComputePipeline({ layout: "auto", compute: { module: module as never, entryPoint } });
  const clip = options.clipNorm !== undefined;
  const [reduce, finish, update] = [pipeline("sum_squares"), pipeline("sum_partials"), pipeline("update")];
  const perDimension = device.limits.maxComputeWorkgroupsPerDimension;
  const updateGroups = Math.ceil(n / WORKGROUP);
  const [gx, gy] = [Math.min(updateGroups, perDimension), Math.ceil(updateGroups / perDimension)];
  const made = await device.popErrorScope();
  if (made) throw new Error(`createGpuOptimizer: WebGPU refused the optimiser's buffers or kernels: ${made.message}`);
  let steps = 0;

  const uniformRecord = (lr: number): ArrayBuffer => {
    const record = new ArrayBuffer(UNIFORM_BYTES);
    const f = new Float32Array(record);
    const values: Record<UniformField, number> = {
      lr,
      weightDecay: c.weightDecay,
      momentum: c.kind === "sgd" || c.kind === "rmsprop" ? c.momentum : 0,
      oneMinusDampening: c.kind === "sgd" ? 1 - c.dampening : 0,
      beta2: c.kind === "adam" || c.kind === "adamw" ? c.betas[1] : 0,
      oneMinusBeta1: c.kind === "adam" || c.kind === "adamw" ? 1 - c.betas[0] : 0,
      oneMinusBeta2: c.kind === "adam" || c.kind === "adamw" ? 1 - c.betas[1] : 0,
      eps: c.kind === "sgd" ? 0 : c.eps,
      alpha: c.kind === "rmsprop" ? c.alpha : 0,
      oneMinusAlpha: c.kind === "rmsprop" ? 1 - c.alpha : 0,
      decayFactor: 1 - lr * c.weightDecay,
      // Adam's bias corrections, in float64 as optim.ts computes them.
      stepSize: c.kind === "adam" || c.kind === "adamw" ? lr / (1 - c.betas[0] ** steps) : 0,
      correction2Sqrt: c.kind === "adam" || c.kind === "adamw" ? Math.sqrt(1 - c.betas[1] ** steps) : 0,
      maxNorm: options.clipNorm ?? 0,
      clipValue: options.clipValue ?? 0,
    };
    UNIFORM_FIELDS.forEach((name, k) => (f[k] = values[name]));
    new Uint32Array(record).set([steps, n], UNIFORM_FIELDS.length);
    return record;
  };

  const checked = (ref: GpuBufferRef, what: string): GpuBuffer => {
    const buffer = typeof ref === "object" && ref !== null ? ref.buffer : undefined;
    if (!buffer || typeof buffer.size !== "number") throw new Error(`GpuOptimizer.step: ${what} must be a GpuParams ({ buffer: GPUBuffer })`);
    if (buffer.size < bytes) throw new Error(`GpuOptimizer.step: ${what} holds ${buffer.size} bytes; the parameters need ${bytes}`);
    return buffer;
  };

  async function step(params: GpuBufferRef, grads: GpuBufferRef, lr: number = c.lr): Promise<number> {
    if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`GpuOptimizer.step: the learning rate must be a finite number ≥ 0 (it is ${lr})`);
    const [p, g] = [checked(params, "params"), checked(grads, "grads")];
    if (p === g) throw new Error("GpuOptimizer.step: params and grads are the same buffer");
    steps += 1;
    device.pushErrorScope("validation");
    device.queue.writeBuffer(uniform, 0, uniformRecord(lr));
    const entries = [p, g, uniform, norm, partial, ...slotBuffers].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const bind = (pipe: GpuPipeline, used: readonly number[]) =>
      device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: entries.filter((e) => used.includes(e.binding)) });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    // The norm is always measured (fit reports it); the update reads it only when clipping by norm.
    pass.setPipeline(reduce);
    pass.setBindGroup(0, bind(reduce, [1, 2, 4]));
    pass.dispatchWorkgroups(REDUCE_GROUPS);
    pass.setPipeline(finish);
    pass.setBindGroup(0, bind(finish, [3, 4]));
    pass.dispatchWorkgroups(1);
    pass.setPipeline(update);
    pass.setBindGroup(0, bind(update, [0, 1, 2, ...(clip ? [3] : []), ...slotBuffers.map((_, k) => 5 + k)]));
    pass.dispatchWorkgroups(gx, gy);
    pass.end();
    const readback = device.createBuffer({ size: 4, usage: MAP_READ | COPY_DST });
    encoder.copyBufferToBuffer(norm, 0, readback, 0, 4);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`GpuOptimizer.step: WebGPU validation error: ${error.message}`);
    await readback.mapAsync(MAP_READ);
    const sumSquares = new Float32Array(readback.getMappedRange())[0]!;
    readback.unmap();
    readback.destroy();
    return Math.sqrt(sumSquares);
  }

  async function readSlots(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [k, name] of slots.entries()) {
      const readback = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(slotBuffers[k]!, 0, readback, 0, bytes);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(MAP_READ);
      out[name] = new Float32Array(readback.getMappedRange().slice(0));
      readback.unmap();
      readback.destroy();
    }
    return out;
  }

  return {
    get steps() {
      return steps;
    },
    step,
    readSlots,
    destroy: () => {
      for (const b of [...slotBuffers, norm, partial, uniform]) b.destroy();
    },
  };
}
