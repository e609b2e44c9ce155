// The part of a generated model module for WebGPU (src/codegen/model-wgsl.ts)
// that runs the model: each layer gets its own cell from its layer cell's
// WebGPU host module (a cell's GPU buffers hold one forward's tape, so two
// layers of one cell cannot share one), and the layers are chained ON THE
// DEVICE. Forward: the model's inputs are uploaded once; each layer's input
// array is filled from the arrays it reads (another layer's outputs, the
// model's inputs) by a small kernel (chain.ts) that joins the parts and flips
// the steps of each row for a reverse layer; every layer's kernels go into one
// submission; one readback brings the final states and the outputs the model's
// outputs and head read. Backward: every layer's upstream starts from what the
// model's outputs and head give it (on the CPU, where the head and loss run),
// then the layers run last first, each adding its input gradients to what it
// read on the device; one readback brings every gradient. step() is a forward
// of one step. The numbers are those of running the layers' cell modules one
// after another with the glue on the CPU, bit for bit: the same kernels, the
// glue a copy or one f32 addition in the same order. Embedded by
// scripts/embed-runtime.ts after MODEL_DRIVER; the generated module supplies
// the model's shape, and _createChain from the host driver's scope.
import type { _CellModule, _CellSource, _Model, _ModelOptions, _Tensors } from "../model-driver.ts";
import type { _CallShape, _ChainedCell, _Span } from "./host-driver.ts";

// The shared driver's parts, which MODEL_DRIVER puts before this part in the generated module.
declare function _forwardArguments(
  model: _Model,
  params: unknown,
  inputs: unknown,
  initial: unknown,
  options: _ModelOptions,
): { batch: number; steps: number; p: _Tensors; x: _Tensors; init: _Tensors; lengths: Int32Array | null; targets: Float64Array | null };
declare function _forwardResults(model: _Model, p: _Tensors, values: _Tensors, batch: number, steps: number, lengths: Int32Array | null, targets: Float64Array | null): { outputs: _Tensors; loss: number | null; logits: Float32Array | null };
declare function _backwardStart(model: _Model, params: unknown, saved: _GpuSaved, upstream: _ModelUpstream): { p: _Tensors; grads: _Tensors; into: _Tensors; upFinal: _Tensors };
declare function _gradients(model: _Model, params: _Tensors, into: _Tensors, initial: _Tensors): { params: _Tensors; inputs: _Tensors; initial: _Tensors };
declare function _stepArguments(model: _Model, params: unknown, inputs: unknown, state: unknown): { batch: number; p: _Tensors; s: _Tensors; x: _Tensors };
declare function _stepOutputs(model: _Model, p: _Tensors, values: _Tensors, batch: number): _Tensors;
declare function _modelCreateState(model: _Model, batch: number): _Tensors;
declare function _unprefixed(layer: string, names: readonly string[], tensors: Partial<_Tensors>): _Tensors;
declare function _prefixed(layer: string, tensors: _Tensors, into: _Tensors): void;
declare function _reverseRows(tensor: _Tensors[string], steps: number, batch: number, lengths: Int32Array | null): _Tensors[string];
declare function _createChain(device: GPUDevice): _Chain;

// BEGIN EMBED MODEL_DRIVER_WEBGPU
/** One run of the chaining kernel (chain.ts): `src` and `dst` [T, B, stride] from their first float, `width` columns. */
interface _ChainOp {
  readonly src: _Span;
  readonly srcStride: number;
  readonly dst: _Span;
  readonly dstStride: number;
  readonly width: number;
  /** Each row's steps read back from its last one (one side runs in reverse). */
  readonly flip: boolean;
  /** 0 at and past each row's length. */
  readonly mask: boolean;
  /** Add to dst (a gradient), rather than write it (a value). */
  readonly add: boolean;
}

/** A model's chaining on its device (chain.ts): the kernel, the model's own buffers, and readback. */
interface _Chain {
  /** Starts a call of this shape with room for `ops` runs of the kernel. */
  begin(what: string, shape: _CallShape, ops: number): void;
  /** The model's own buffer `name`, of `floats` floats or more (it grows, never shrinks). */
  buffer(what: string, name: string, floats: number): GPUBuffer;
  encode(what: string, encoder: GPUCommandEncoder, op: _ChainOp): void;
  guard<T>(what: string, body: () => T): T;
  /** The values of `spans`, read back together (one mapAsync), their copies appended to `encoder` and submitted. */
  read(spans: readonly _Span[], what: string, encoder: GPUCommandEncoder): Promise<Float32Array[]>;
  settle(): Promise<void>;
  destroy(): void;
}
/** A layer cell's WebGPU host module, as the model uses it. */
interface _GpuCellSource extends _CellSource {
  createCell(device: GPUDevice): _CellModule & { destroy(): void; readonly _chain: _ChainedCell };
}

/** The model's shape with each layer's host module where the driver takes its cell. */
type _GpuModelShape = Omit<_Model, "layers"> & { readonly layers: readonly (Omit<_Model["layers"][number], "cell"> & { readonly source: _GpuCellSource })[] };

type _ModelUpstream = { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> };

/** What backward needs of a forward: its shape, the values the head read, and the call it came from (`call`). */
interface _GpuSaved {
  readonly batch: number;
  readonly steps: number;
  readonly lengths: Int32Array | null;
  readonly values: _Tensors;
  readonly logits: Float32Array | null;
  readonly targets: Float64Array | null;
  readonly call: number;
}

/** The keys of the values the model's outputs and head read: what a forward must hand back of its layers' outputs. */
function _readKeys(model: _Model): Set<string> {
  return new Set([...model.outputs, ...(model.head === null ? [] : [model.head])].flatMap((o) => o.parts.map((part) => part.key)));
}

/** The model on `device`: one cell per layer, chained on the device, and the API the generated module types. */
function _createGpuModel(shape: _GpuModelShape, device: GPUDevice, readsStep: boolean) {
  const cells = shape.layers.map((layer) => layer.source.createCell(device));
  const model: _Model = { ...shape, layers: shape.layers.map(({ source: _, ...layer }, i) => ({ ...layer, cell: cells[i]! })) };
  const chained = cells.map((c) => c._chain);
  const chain = _createChain(device);
  const readKeys = _readKeys(model);
  /** Each layer output's producer: the layer's index and the cell's name for it. */
  const producers = new Map(model.layers.flatMap((layer, l) => layer.outputs.map((o) => [o.key, { l, field: o.field }] as const)));
  /** Where each model input lies in the model's buffer `name` (the inputs, or their gradients), for B rows and T steps. */
  const inputSpans = (what: string, name: string, B: number, T: number): Map<string, _Span> => {
    const buffer = chain.buffer(what, name, T * B * model.inputs.reduce((n, i) => n + i.width, 0));
    let offset = 0;
    return new Map(model.inputs.map((i) => [i.name, { buffer, offset: (offset += T * B * i.width) - T * B * i.width, length: T * B * i.width }]));
  };
  /** Writes each model input's values (the inputs, or their gradients) into its span, as float32. */
  const writeSpans = (what: string, spans: Map<string, _Span>, values: _Tensors): void =>
    chain.guard(what, () => {
      for (const [name, span] of spans) {
        const floats = Float32Array.from(values[name]!);
        device.queue.writeBuffer(span.buffer, span.offset * 4, floats.buffer, 0, floats.byteLength);
      }
    });
  /** How many runs of the chaining kernel a call has: one per part of every layer's inputs. */
  const ops = model.layers.reduce((n, layer) => n + layer.inputs.reduce((m, input) => m + input.parts.length, 0), 0);
  const saves = new WeakSet<object>();
  let calls = 0;
  let busy: string | null = null;
  let destroyed = false;

  /** Runs a call alone on the model; GPU errors of any cell or of the chaining are thrown before it returns. */
  async function exclusive<T>(what: string, body: () => Promise<T>): Promise<T> {
    if (destroyed) throw new Error(`${what}: this model was destroyed`);
    if (busy !== null) throw new Error(`${what}: ${busy}() is still running on this model; await it first (or use one model per concurrent caller)`);
    busy = what;
    try {
      for (const c of chained) await c.settle();
      await chain.settle();
      let result: T;
      try {
        result = await body();
      } finally {
        for (const c of chained) await c.settle();
        await chain.settle();
      }
      return result;
    } finally {
      busy = null;
    }
  }

  /**
   * Every layer over B rows and T steps in one submission, each layer's inputs filled on the device; then one
   * readback: the final states, and the layer outputs the model's outputs and head read, in the model's time order.
   */
  async function runLayers(what: string, p: _Tensors, x: _Tensors, init: _Tensors, call: _CallShape): Promise<{ values: _Tensors; final: _Tensors }> {
    const { B, T, lengths } = call;
    chain.begin(what, call, ops);
    const inputs = inputSpans(what, "inputs", B, T);
    writeSpans(what, inputs, x);
    const encoder = chain.guard(what, () => device.createCommandEncoder());
    model.layers.forEach((layer, l) => {
      const cell = chained[l]!;
      cell.prepareForward(what, _unprefixed(layer.name, layer.params.map((q) => q.name), p), {}, _unprefixed(layer.name, layer.states.map((s) => s.name), init), call);
      for (const input of layer.inputs) {
        const dst = cell.input(input.name, "value");
        const stride = input.parts.reduce((n, part) => n + part.width, 0);
        let column = 0;
        for (const part of input.parts) {
          const from = producers.get(part.key);
          const src = from === undefined ? inputs.get(part.key)! : chained[from.l]!.output(from.field, "value");
          const flip = (from !== undefined && model.layers[from.l]!.reverse) !== layer.reverse;
          chain.encode(what, encoder, { src, srcStride: part.width, dst: { ...dst, offset: dst.offset + column }, dstStride: stride, width: part.width, flip, mask: true, add: false });
          column += part.width;
        }
      }
      cell.guard(what, () => cell.encodeForward(encoder));
    });
    const reads = model.layers.map((layer, l) => chained[l]!.forwardReads((field) => readKeys.has(layer.outputs.find((o) => o.field === field)!.key)));
    const read = await chain.read(reads.flatMap((r) => r.spans), what, encoder);
    const values: _Tensors = { ...x };
    const final: _Tensors = {};
    let at = 0;
    model.layers.forEach((layer, l) => {
      const result = reads[l]!.results(read.slice(at, (at += reads[l]!.spans.length)));
      for (const o of layer.outputs) {
        const out = result.outputs[o.field];
        if (out !== undefined) values[o.key] = layer.reverse ? _reverseRows(out, T, B, lengths) : out;
      }
      _prefixed(layer.name, result.final, final);
    });
    return { values, final };
  }

  /**
   * Every layer's gradients: each upstream starts from what the model's outputs and head gave (`into`), the layers
   * run last first, each adding its input gradients to what it read on the device; then one readback.
   */
  async function runBackward(what: string, p: _Tensors, saved: _GpuSaved, into: _Tensors, upFinal: _Tensors): Promise<{ params: _Tensors; initial: _Tensors; inputs: _Tensors }> {
    const { batch: B, steps: T, lengths } = saved;
    chain.begin(what, { B, T, lengths, firstStep: 0 }, ops);
    model.layers.forEach((layer, l) => {
      const cell = chained[l]!;
      const upstream: _Tensors = {};
      for (const o of layer.outputs) {
        const base = into[o.key] ?? new Float32Array(cell.output(o.field, "upstream").length);
        upstream[o.field] = layer.reverse ? _reverseRows(base, T, B, lengths) : base;
      }
      cell.prepareBackward(what, _unprefixed(layer.name, layer.params.map((q) => q.name), p), upstream);
    });
    const dx = inputSpans(what, "input gradients", B, T);
    writeSpans(what, dx, into);
    const encoder = chain.guard(what, () => device.createCommandEncoder());
    for (const cell of chained) cell.guard(what, () => cell.encodeStart(encoder));
    for (let l = model.layers.length - 1; l >= 0; l--) {
      const layer = model.layers[l]!;
      const cell = chained[l]!;
      cell.guard(what, () => cell.encodeBackward(_unprefixed(layer.name, layer.states.map((s) => s.name), upFinal), encoder));
      for (const input of layer.inputs) {
        const src = cell.input(input.name, "grad");
        const stride = input.parts.reduce((n, part) => n + part.width, 0);
        let column = 0;
        for (const part of input.parts) {
          const to = producers.get(part.key);
          const dst = to === undefined ? dx.get(part.key)! : chained[to.l]!.output(to.field, "upstream");
          const flip = (to !== undefined && model.layers[to.l]!.reverse) !== layer.reverse;
          // A model input's gradient is handed back as the CPU glue makes it: unmasked where no flip zeroes it.
          chain.encode(what, encoder, { src: { ...src, offset: src.offset + column }, srcStride: stride, dst, dstStride: part.width, width: part.width, flip, mask: to !== undefined, add: true });
          column += part.width;
        }
      }
    }
    const reads = chained.map((c) => c.backwardReads());
    const read = await chain.read([...reads.flatMap((r) => r.spans), ...dx.values()], what, encoder);
    const params: _Tensors = {};
    const initial: _Tensors = {};
    let at = 0;
    model.layers.forEach((layer, l) => {
      const result = reads[l]!.results(read.slice(at, (at += reads[l]!.spans.length)));
      _prefixed(layer.name, result.params, params);
      _prefixed(layer.name, result.initial, initial);
    });
    const inputs: _Tensors = {};
    for (const name of dx.keys()) inputs[name] = read[at++]!;
    return { params, initial, inputs };
  }

  return {
    forward(params: unknown, inputs: unknown, initial: unknown = {}, options: _ModelOptions = {}) {
      return exclusive("forward", async () => {
        const { batch, steps, p, x, init, lengths, targets } = _forwardArguments(model, params, inputs, initial, options);
        const call = ++calls;
        const { values, final } = await runLayers("forward", p, x, init, { B: batch, T: steps, lengths, firstStep: 0 });
        const { outputs, loss, logits } = _forwardResults(model, p, values, batch, steps, lengths, targets);
        const saved: _GpuSaved = Object.freeze({ batch, steps, lengths, values, logits, targets, call });
        saves.add(saved);
        return { outputs, final, loss, saved };
      });
    },
    backward(params: unknown, saved: _GpuSaved, upstream: _ModelUpstream = {}) {
      return exclusive("backward", async () => {
        if (!saves.has(saved)) throw new Error("saved must be the saved object this model's forward() returned");
        if (saved.call !== calls) throw new Error("saved is stale: another forward() or step() ran on this model since");
        const { p, grads, into, upFinal } = _backwardStart(model, params, saved, upstream);
        const layers = await runBackward("backward", p, saved, into, upFinal);
        // The head's gradients (already in grads), then every layer's, in the model's parameter order.
        for (const name of Object.keys(grads)) grads[name] = layers.params[name] ?? grads[name]!;
        return _gradients(model, grads, { ...into, ...layers.inputs }, layers.initial);
      });
    },
    createState(batch: number = 1) {
      if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a whole number of rows from 1 up, not ${batch}`);
      return _modelCreateState(model, batch);
    },
    step(params: unknown, inputs: unknown, state: unknown, t?: number) {
      return exclusive("step", async () => {
        // The bound its cells' step() has (t0 is a u32 on the GPU), checked before the state is touched.
        if (readsStep && (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0 || t > 0xffffffff)) throw new Error(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(t)}`);
        const { batch, p, s, x } = _stepArguments(model, params, inputs, state);
        ++calls;
        const { values, final } = await runLayers("step", p, x, s, { B: batch, T: 1, lengths: null, firstStep: readsStep ? t! : 0 });
        for (const [name, value] of Object.entries(final)) s[name]!.set(value);
        return _stepOutputs(model, p, values, batch);
      });
    },
    destroy() {
      destroyed = true;
      for (const cell of cells) cell.destroy();
      chain.destroy();
    },
  };
}
// END EMBED MODEL_DRIVER_WEBGPU

export { _createGpuModel, type _Chain, type _ChainOp, type _GpuCellSource, type _GpuModelShape };
