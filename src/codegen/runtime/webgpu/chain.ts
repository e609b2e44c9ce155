// What a WebGPU model module adds to the shared host driver (host-driver.ts)
// to chain its layers' cells on the device (webgpu/model-driver.ts): a small
// WGSL kernel that fills one layer's input array from another's output array
// (or from the model's inputs) and adds a layer's input gradient to what it
// read, with the direction flips and per-row lengths of the model's wiring;
// and the readback of many arrays at once. Embedded by
// scripts/embed-runtime.ts into the model module's host-driver scope, after
// HOST_DRIVER, whose helpers it uses; its API's types are the model driver's.
import type { _Span } from "./host-driver.ts";
import type { _Chain, _ChainOp } from "./model-driver.ts";
declare const _STORAGE: number, _UNIFORM: number, _COPY_SRC: number, _COPY_DST: number, _STEP_STRIDE: number;
declare function _errorWatch(device: GPUDevice): { guard<T>(what: string, body: () => T): T; watch(check: Promise<Error | null>): void; settle(): Promise<void> };
declare function _compilationErrors(module: GPUShaderModule, what: string): Promise<Error | null>;
declare function _readSpans(device: GPUDevice, errors: ReturnType<typeof _errorWatch>, spans: readonly _Span[], what: string, last?: GPUCommandEncoder): Promise<Float32Array[]>;

// BEGIN EMBED HOST_CHAIN
/**
 * dst[t, b, k] = (or +=) src[t', b, k] for every step t, row b and k < width, each side [T, B, stride] from its
 * offset: t' is t, or with `flip` the row's step counted back from its last one; with `mask`, 0 at and past the row's
 * length (a flip always masks). A copy of f32 values, or one f32 addition: the numbers of the CPU glue, bit for bit.
 */
const _CHAIN_WGSL = `
struct Op {
  rows: u32, steps: u32, width: u32, flip: u32,
  src: u32, srcStride: u32, dst: u32, dstStride: u32,
  mask: u32, add: u32,
}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<uniform> op: Op;

@compute @workgroup_size(64)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (i >= op.steps * op.rows * op.width) { return; }
  let k = i % op.width;
  let r = i / op.width;
  let b = r % op.rows;
  let t = r / op.rows;
  let length = lengths[b];
  var v = 0.0;
  if (op.mask == 0u || t < length) {
    let step = select(t, length - 1u - t, op.flip == 1u);
    v = src[op.src + (step * op.rows + b) * op.srcStride + k];
  }
  let at = op.dst + r * op.dstStride + k;
  if (op.add == 1u) {
    dst[at] = dst[at] + v;
  } else {
    dst[at] = v;
  }
}
`;

/** The chaining kernel and the model's own buffers on `device`, made once per model. */
function _createChain(device: GPUDevice): _Chain {
  const errors = _errorWatch(device);
  const perDimension = device.limits.maxComputeWorkgroupsPerDimension;
  const pipeline = errors.guard("createModel", () => {
    const module = device.createShaderModule({ code: _CHAIN_WGSL });
    errors.watch(_compilationErrors(module, "chaining"));
    return device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "gather" } });
  });
  /** Buffers that grow with the calls: the rows' lengths, each op's uniform record (one per op of a call), and `own`. */
  const grown: Record<string, GPUBuffer> = {};
  const grow = (name: string, bytes: number, usage: number): GPUBuffer => {
    const have = grown[name];
    if (have !== undefined && have.size >= bytes) return have;
    have?.destroy();
    return (grown[name] = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage }));
  };
  let call = { B: 0, T: 0, used: 0 };
  return {
    begin(what, shape, ops) {
      errors.guard(what, () => {
        const lengths = shape.lengths ?? new Int32Array(shape.B).fill(shape.T);
        device.queue.writeBuffer(grow("lengths", shape.B * 4, _STORAGE | _COPY_DST), 0, Uint32Array.from(lengths));
        grow("ops", Math.max(1, ops) * _STEP_STRIDE, _UNIFORM | _COPY_DST);
      });
      call = { B: shape.B, T: shape.T, used: 0 };
    },
    buffer(what, name, floats) {
      return errors.guard(what, () => grow(name, floats * 4, _STORAGE | _COPY_SRC | _COPY_DST));
    },
    encode(what, encoder, o: _ChainOp) {
      errors.guard(what, () => {
        const slot = call.used++ * _STEP_STRIDE;
        const ops = grown["ops"]!;
        const words = [call.B, call.T, o.width, o.flip ? 1 : 0, o.src.offset, o.srcStride, o.dst.offset, o.dstStride, o.mask || o.flip ? 1 : 0, o.add ? 1 : 0];
        device.queue.writeBuffer(ops, slot, Uint32Array.from(words));
        const group = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: o.src.buffer } },
            { binding: 1, resource: { buffer: o.dst.buffer } },
            { binding: 2, resource: { buffer: grown["lengths"]! } },
            { binding: 3, resource: { buffer: ops, offset: slot, size: words.length * 4 } },
          ],
        });
        const groups = Math.ceil((call.T * call.B * o.width) / 64);
        const x = Math.max(1, Math.min(groups, perDimension));
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(x, Math.ceil(groups / x));
        pass.end();
      });
    },
    guard: (what, body) => errors.guard(what, body),
    read: (spans, what, encoder) => _readSpans(device, errors, spans, what, encoder),
    settle: () => errors.settle(),
    destroy() {
      for (const b of Object.values(grown)) b.destroy();
    },
  };
}
// END EMBED HOST_CHAIN
export { _createChain };
