// The driver a generated model module carries (src/codegen/model.ts and, its
// cells' calls awaited, model-wgsl.ts with webgpu/model-driver.ts): it runs
// the model's layers, each a generated cell module in its own closure, in the
// order of the reference interpreter (src/interp/model.ts): layer by layer
// over the whole sequence, a reverse layer over each row's valid steps from
// its last one, outputs joined forward first, the head at every valid step or
// at each row's last, and the losses as the interpreter defines them.
// Embedded by scripts/embed-runtime.ts after LENGTHS (lengths.ts); the
// generated module supplies FloatArray and the model's shape (_MODEL).
declare function _describe(value: unknown): string;
declare function _checkLengths(lengths: unknown, batch: number, steps: number, what: string): Int32Array;
type FloatArray = Float32Array | Float64Array;
declare const FloatArray: Float32ArrayConstructor | Float64ArrayConstructor;

// BEGIN EMBED MODEL_DRIVER
type _Tensors = Record<string, FloatArray>;

type _CellForward = { outputs: _Tensors; final: _Tensors; saved: object };
type _CellGradients = { params: _Tensors; inputs: _Tensors; initial: _Tensors };

/**
 * What the driver uses of a layer's cell: a generated TypeScript cell module, whose calls return their results,
 * or a WebGPU cell (createCell), whose forward, backward and step return promises of them.
 */
interface _CellModule {
  forward(params: _Tensors, inputs: _Tensors, initial: _Tensors, options: { batch: number; steps: number; lengths?: Int32Array }): _CellForward | Promise<_CellForward>;
  backward(params: _Tensors, saved: never, upstream: { outputs: _Tensors; final: _Tensors }): _CellGradients | Promise<_CellGradients>;
  createState(batch: number): _Tensors;
  /** `t` is read by cells that use the step index, and ignored by the others. */
  step(params: _Tensors, inputs: _Tensors, state: _Tensors, t: number): _Tensors | Promise<_Tensors>;
}

/** What a layer's generated module gives besides its cell: the cell's initializers. */
interface _CellSource {
  initParams(seed: number): _Tensors;
}

/** One value read at each step: a model input or a layer's output ("<layer>.<output>"), `width` numbers a row. */
interface _Part {
  readonly key: string;
  readonly width: number;
}

interface _Layer {
  readonly name: string;
  readonly cell: _CellModule;
  readonly reverse: boolean;
  readonly params: readonly { readonly name: string; readonly length: number }[];
  readonly states: readonly { readonly name: string; readonly width: number }[];
  /** Each cell input and the parts joined to feed it. */
  readonly inputs: readonly { readonly name: string; readonly parts: readonly _Part[] }[];
  /** Each cell output: the module's field and the model's key for it. */
  readonly outputs: readonly { readonly field: string; readonly key: string }[];
}

interface _Model {
  readonly inputs: readonly { readonly name: string; readonly width: number }[];
  readonly layers: readonly _Layer[];
  readonly outputs: readonly { readonly name: string; readonly parts: readonly _Part[] }[];
  readonly head: { readonly name: string; readonly parts: readonly _Part[]; readonly width: number; readonly size: number; readonly at: "step" | "last" } | null;
  readonly loss: "softmax_cross_entropy" | "binary_cross_entropy" | "mse" | null;
}

interface _ModelSaved {
  readonly batch: number;
  readonly steps: number;
  readonly lengths: Int32Array | null;
  readonly cells: readonly object[];
  readonly values: _Tensors;
  readonly logits: FloatArray | null;
  readonly targets: Float64Array | null;
}

/** Every parameter's name and length ("<layer>.<param>", then the head's W [size, width] and b [size]). */
function _modelParams(model: _Model): { name: string; length: number }[] {
  const layers = model.layers.flatMap((l) => l.params.map((p) => ({ name: `${l.name}.${p.name}`, length: p.length })));
  const head = model.head;
  return head === null ? layers : [...layers, { name: `${head.name}.W`, length: head.size * head.width }, { name: `${head.name}.b`, length: head.size }];
}

function _modelStates(model: _Model): { name: string; width: number }[] {
  return model.layers.flatMap((l) => l.states.map((s) => ({ name: `${l.name}.${s.name}`, width: s.width })));
}

/** `value` as a record of arrays with exactly these names (missing ones allowed when `partial`), each of its length. */
function _checkTensors(value: unknown, what: string, expected: readonly { name: string; length: number }[], partial: boolean): _Tensors {
  const names = expected.map((e) => e.name);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what} must be an object with the arrays ${names.join(", ") || "(none)"}, not ${_describe(value)}`);
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) if (!names.includes(name)) throw new Error(`${what}["${name}"] is not one of this model's names here (${names.join(", ") || "none"})`);
  for (const { name, length } of expected) {
    const array = record[name];
    if (array === undefined && partial) continue;
    if (array === undefined) throw new Error(`${what}["${name}"] is missing`);
    if (!(array instanceof Float32Array || array instanceof Float64Array)) throw new Error(`${what}["${name}"] must be a Float32Array or Float64Array, not ${_describe(array)}`);
    if (array.length !== length) throw new Error(`${what}["${name}"] has ${array.length} numbers, expected ${length}`);
  }
  return record as _Tensors;
}

/** A layer's own tensors out of the model's "<layer>.<name>" ones (those present). */
function _unprefixed(layer: string, names: readonly string[], tensors: Partial<_Tensors>): _Tensors {
  const own: _Tensors = {};
  for (const name of names) {
    const tensor = tensors[`${layer}.${name}`];
    if (tensor !== undefined) own[name] = tensor;
  }
  return own;
}

function _prefixed(layer: string, tensors: _Tensors, into: _Tensors): void {
  for (const [name, tensor] of Object.entries(tensors)) into[`${layer}.${name}`] = tensor;
}

/** Joins the parts' [rows, w_i] values end to end: [rows, Σ w_i]. */
function _gather(parts: readonly _Part[], values: _Tensors, rows: number): FloatArray {
  const total = parts.reduce((n, p) => n + p.width, 0);
  const out = new FloatArray(rows * total);
  let offset = 0;
  for (const part of parts) {
    const source = values[part.key]!;
    for (let r = 0; r < rows; r++) out.set(source.subarray(r * part.width, (r + 1) * part.width), r * total + offset);
    offset += part.width;
  }
  return out;
}

/** _gather's adjoint: adds each slice of g [rows, Σ w_i] into its part's gradient. */
function _scatterAdd(g: FloatArray, parts: readonly _Part[], into: _Tensors, rows: number): void {
  const total = parts.reduce((n, p) => n + p.width, 0);
  let offset = 0;
  for (const part of parts) {
    const target = into[part.key]!;
    for (let r = 0; r < rows; r++) for (let k = 0; k < part.width; k++) target[r * part.width + k] = target[r * part.width + k]! + g[r * total + offset + k]!;
    offset += part.width;
  }
}

/** Each row's valid steps in reverse order ([steps, batch, n]); padding stays 0. Its own inverse. */
function _reverseRows(tensor: FloatArray, steps: number, batch: number, lengths: Int32Array | null): FloatArray {
  const n = tensor.length / (steps * batch);
  const out = new FloatArray(tensor.length);
  for (let b = 0; b < batch; b++) {
    const length = lengths === null ? steps : lengths[b]!;
    for (let t = 0; t < length; t++) out.set(tensor.subarray(((length - 1 - t) * batch + b) * n, ((length - 1 - t) * batch + b + 1) * n), (t * batch + b) * n);
  }
  return out;
}

/** The rows (t·B + b) the head reads: every valid step's, or each row's last valid step's, in batch order. */
function _headRows(model: _Model, steps: number, batch: number, lengths: Int32Array | null): number[] {
  const rows: number[] = [];
  const length = (b: number) => (lengths === null ? steps : lengths[b]!);
  if (model.head!.at === "last") for (let b = 0; b < batch; b++) rows.push((length(b) - 1) * batch + b);
  else for (let t = 0; t < steps; t++) for (let b = 0; b < batch; b++) if (t < length(b)) rows.push(t * batch + b);
  return rows;
}

/** Where row i of the head's reads is stored in its output: the row itself per step, the batch row at the last step. */
function _headAt(model: _Model, row: number, i: number): number {
  return model.head!.at === "step" ? row : i;
}

/** The loss (a mean over the head's rows for softmax cross-entropy, over their elements otherwise) and its gradient on the logits. */
function _lossAndGradient(model: _Model, logits: FloatArray, rows: readonly number[], targets: Float64Array): { loss: number; grad: FloatArray } {
  const size = model.head!.size;
  const kind = model.loss!;
  const grad = new FloatArray(logits.length);
  const count = kind === "softmax_cross_entropy" ? rows.length : rows.length * size;
  let loss = 0;
  rows.forEach((row, i) => {
    const at = _headAt(model, row, i);
    const y = logits.subarray(at * size, (at + 1) * size);
    if (kind === "softmax_cross_entropy") {
      let max = -Infinity;
      for (const v of y) max = Math.max(max, v);
      let total = 0;
      for (const v of y) total += Math.exp(v - max);
      const target = targets[at]!;
      loss += max + Math.log(total) - y[target]!;
      for (let k = 0; k < size; k++) grad[at * size + k] = (Math.exp(y[k]! - max) / total - (k === target ? 1 : 0)) / count;
      return;
    }
    for (let k = 0; k < size; k++) {
      const [v, target] = [y[k]!, targets[at * size + k]!];
      if (kind === "mse") {
        loss += (v - target) ** 2;
        grad[at * size + k] = (2 * (v - target)) / count;
      } else {
        loss += Math.max(v, 0) - v * target + Math.log1p(Math.exp(-Math.abs(v)));
        grad[at * size + k] = (1 / (1 + Math.exp(-v)) - target) / count;
      }
    }
  });
  return { loss: loss / count, grad };
}

/** The loss's targets: class indices (softmax cross-entropy: one per head row slot) or one number per head output. */
function _checkTargets(model: _Model, value: unknown, steps: number, batch: number): Float64Array {
  const head = model.head!;
  const slots = head.at === "step" ? steps * batch : batch;
  const classes = model.loss === "softmax_cross_entropy";
  const count = classes ? slots : slots * head.size;
  const shape = classes ? `${count} class indices from 0 to ${head.size - 1}` : `${count} numbers`;
  if (typeof value !== "object" || value === null || typeof (value as ArrayLike<unknown>).length !== "number") throw new Error(`options.targets must be an array of ${shape}, not ${_describe(value)}`);
  const list = value as ArrayLike<unknown>;
  if (list.length !== count) throw new Error(`options.targets has ${list.length} numbers, expected ${shape}`);
  return Float64Array.from({ length: count }, (_, i) => {
    const v = list[i];
    if (typeof v !== "number" || !Number.isFinite(v) || (classes && (!Number.isInteger(v) || v < 0 || v >= head.size))) throw new Error(`options.targets[${i}] must be ${classes ? `a class index from 0 to ${head.size - 1}` : "a finite number"}, not ${typeof v === "number" ? v : _describe(v)}`);
    return v;
  });
}

/** y = W z + b for each row the head reads: [steps, batch, K] (0 at padding) or [batch, K]. */
function _runHead(model: _Model, params: _Tensors, z: FloatArray, rows: readonly number[], batch: number, steps: number): FloatArray {
  const { name, width, size, at } = model.head!;
  const [W, bias] = [params[`${name}.W`]!, params[`${name}.b`]!];
  const y = new FloatArray((at === "step" ? steps * batch : batch) * size);
  rows.forEach((row, i) => {
    const to = _headAt(model, row, i);
    for (let k = 0; k < size; k++) {
      let sum = bias[k]!;
      for (let j = 0; j < width; j++) sum += W[k * width + j]! * z[row * width + j]!;
      y[to * size + k] = sum;
    }
  });
  return y;
}

interface _ModelOptions {
  batch?: number;
  lengths?: ArrayLike<number>;
  targets?: ArrayLike<number>;
}

/** forward()'s arguments, checked: the batch, the steps the inputs hold, every array at its length, the lengths and targets. */
function _forwardArguments(model: _Model, params: unknown, inputs: unknown, initial: unknown, options: _ModelOptions) {
  if (typeof options !== "object" || options === null) throw new Error(`options must be an object, not ${_describe(options)}`);
  for (const key of Object.keys(options)) if (!["batch", "lengths", "targets"].includes(key)) throw new Error(`options.${key} is not one of batch, lengths, targets`);
  const batch = options.batch ?? 1;
  if (typeof batch !== "number" || !Number.isInteger(batch) || batch < 1) throw new Error(`options.batch must be a whole number of rows from 1 up, not ${batch}`);
  const first = model.inputs[0]!;
  const given = (inputs as Record<string, unknown> | null)?.[first.name];
  const steps = given instanceof Float32Array || given instanceof Float64Array ? given.length / (batch * first.width) : 0;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`inputs["${first.name}"] must hold a whole number of steps of batch · ${first.width} numbers, from 1 up`);
  const p = _checkTensors(params, "params", _modelParams(model), false);
  const x = _checkTensors(inputs, "inputs", model.inputs.map((i) => ({ name: i.name, length: steps * batch * i.width })), false);
  const init = _checkTensors(initial, "initial", _modelStates(model).map((s) => ({ name: s.name, length: batch * s.width })), true);
  const lengths = options.lengths === undefined ? null : _checkLengths(options.lengths, batch, steps, "options.lengths");
  const targets = model.loss === null || options.targets === undefined ? null : _checkTargets(model, options.targets, steps, batch);
  if (model.loss === null && options.targets !== undefined) throw new Error("options.targets is given, but this model has no loss");
  return { batch, steps, p, x, init, lengths, targets };
}

/** The model's outputs, its head's logits and the loss, from the values its layers computed (`values`, by key). */
function _forwardResults(model: _Model, p: _Tensors, values: _Tensors, batch: number, steps: number, lengths: Int32Array | null, targets: Float64Array | null) {
  const rows = steps * batch;
  const outputs: _Tensors = {};
  for (const o of model.outputs) outputs[o.name] = _gather(o.parts, values, rows);
  let loss: number | null = null;
  let logits: FloatArray | null = null;
  if (model.head !== null) {
    const headRows = _headRows(model, steps, batch, lengths);
    logits = _runHead(model, p, _gather(model.head.parts, values, rows), headRows, batch, steps);
    // The caller's copy: backward reads saved's logits for the loss, and a caller may edit theirs (a softmax in place).
    outputs[model.head.name] = logits.slice();
    if (targets !== null) loss = _lossAndGradient(model, logits, headRows, targets).loss;
  }
  return { outputs, loss, logits };
}

/**
 * backward()'s start, before any layer runs: the arguments checked, the head's parameter gradients, and dL/d(each
 * of the saved values: the model's inputs and the layers' outputs that the outputs and head read) as far as the
 * model's outputs and head give it (`into`, by the same keys), to which each layer's input gradients are then added,
 * last layer first.
 */
function _backwardStart(model: _Model, params: unknown, saved: Omit<_ModelSaved, "cells">, upstream: { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> }) {
  const p = _checkTensors(params, "params", _modelParams(model), false);
  const { batch, steps, lengths, values } = saved;
  const rows = steps * batch;
  const headSlots = model.head === null ? 0 : (model.head.at === "step" ? rows : batch) * model.head.size;
  const outputNames = [...model.outputs.map((o) => ({ name: o.name, length: rows * o.parts.reduce((n, part) => n + part.width, 0) })), ...(model.head === null ? [] : [{ name: model.head.name, length: headSlots }])];
  const upOutputs = _checkTensors(upstream.outputs ?? {}, "upstream.outputs", outputNames, true);
  const upFinal = _checkTensors(upstream.final ?? {}, "upstream.final", _modelStates(model).map((s) => ({ name: s.name, length: batch * s.width })), true);
  const grads: _Tensors = {};
  for (const q of _modelParams(model)) grads[q.name] = new FloatArray(q.length);
  const into: _Tensors = {};
  for (const [key, value] of Object.entries(values)) into[key] = new FloatArray(value.length);
  for (const o of model.outputs) {
    const g = upOutputs[o.name];
    if (g !== undefined) _scatterAdd(g, o.parts, into, rows);
  }
  if (model.head !== null) {
    const { name, width, size, parts } = model.head;
    const dy = upOutputs[name] === undefined ? new FloatArray(headSlots) : FloatArray.from(upOutputs[name]!);
    const headRows = _headRows(model, steps, batch, lengths);
    if (saved.targets !== null) _lossAndGradient(model, saved.logits!, headRows, saved.targets).grad.forEach((g, i) => (dy[i] = dy[i]! + g));
    const z = _gather(parts, values, rows);
    const [W, dW, db] = [p[`${name}.W`]!, grads[`${name}.W`]!, grads[`${name}.b`]!];
    const dz = new FloatArray(z.length);
    headRows.forEach((row, i) => {
      const at = _headAt(model, row, i);
      for (let k = 0; k < size; k++) {
        const g = dy[at * size + k]!;
        db[k] = db[k]! + g;
        for (let j = 0; j < width; j++) {
          dW[k * width + j] = dW[k * width + j]! + g * z[row * width + j]!;
          dz[row * width + j] = dz[row * width + j]! + g * W[k * width + j]!;
        }
      }
    });
    _scatterAdd(dz, parts, into, rows);
  }
  return { p, grads, into, upFinal };
}

/** backward()'s result: the parameters' gradients, the model inputs' (from `into`) and the initial states' in the model's order. */
function _gradients(model: _Model, params: _Tensors, into: _Tensors, initial: _Tensors): _CellGradients {
  const inputs: _Tensors = {};
  for (const i of model.inputs) inputs[i.name] = into[i.name]!;
  const initialInOrder: _Tensors = {};
  for (const s of _modelStates(model)) initialInOrder[s.name] = initial[s.name]!;
  return { params, inputs, initial: initialInOrder };
}

/** A layer's initial parameters as the model names them ("<layer>.<param>"). */
function _prefixedParams(layer: string, params: _Tensors): _Tensors {
  const into: _Tensors = {};
  _prefixed(layer, params, into);
  return into;
}

function _modelCreateState(model: _Model, batch: number): _Tensors {
  const state: _Tensors = {};
  for (const layer of model.layers) _prefixed(layer.name, layer.cell.createState(batch), state);
  return state;
}

/** step()'s arguments, checked (a model whose layers all run forward): the batch, the parameters, the state, one step's inputs. */
function _stepArguments(model: _Model, params: unknown, inputs: unknown, state: unknown) {
  const reverse = model.layers.find((l) => l.reverse);
  if (reverse !== undefined) throw new Error(`step() streams forward layers only: layer ${reverse.name} reads each sequence from its last step; use forward()`);
  const p = _checkTensors(params, "params", _modelParams(model), false);
  const first = model.layers[0]!.states[0];
  const states = state as Partial<_Tensors> | null;
  const batch = first === undefined ? 1 : (states?.[`${model.layers[0]!.name}.${first.name}`]?.length ?? 0) / first.width;
  if (!Number.isInteger(batch) || batch < 1) throw new Error("state must be a state createState() made");
  const s = _checkTensors(state, "state", _modelStates(model).map((q) => ({ name: q.name, length: batch * q.width })), false);
  const x = _checkTensors(inputs, "inputs", model.inputs.map((i) => ({ name: i.name, length: batch * i.width })), false);
  return { batch, p, s, x };
}

/** step()'s outputs from the values its layers computed: the model's, and the head's when it reads every step. */
function _stepOutputs(model: _Model, p: _Tensors, values: _Tensors, batch: number): _Tensors {
  const outputs: _Tensors = {};
  for (const o of model.outputs) outputs[o.name] = _gather(o.parts, values, batch);
  if (model.head !== null && model.head.at === "step") {
    const rows = Array.from({ length: batch }, (_, b) => b);
    outputs[model.head.name] = _runHead(model, p, _gather(model.head.parts, values, batch), rows, batch, 1);
  }
  return outputs;
}

// END EMBED MODEL_DRIVER

// BEGIN EMBED MODEL_DRIVER_SYNC
// The layers run one after another with the glue on the CPU (the TypeScript model modules; the WebGPU one chains
// its layers on the device instead, webgpu/model-driver.ts).

/**
 * The passes are generators that yield each cell call's result and are resumed with its value: one body for both
 * kinds of cell, run synchronously (_runSync) over TypeScript cells, and awaited over WebGPU cells by the test that
 * holds the chained WebGPU model to their numbers (test/codegen.models.wgsl.chained.test.ts).
 */
type _Pass<R> = Generator<unknown, R, unknown>;

function* _modelForwardPass(model: _Model, params: unknown, inputs: unknown, initial: unknown, options: _ModelOptions): _Pass<{ outputs: _Tensors; final: _Tensors; loss: number | null; saved: _ModelSaved }> {
  const { batch, steps, p, x, init, lengths, targets } = _forwardArguments(model, params, inputs, initial, options);
  const rows = steps * batch;
  const values: _Tensors = { ...x };
  const final: _Tensors = {};
  const cells: object[] = [];
  for (const layer of model.layers) {
    const cellInputs: _Tensors = {};
    for (const input of layer.inputs) {
      const joined = _gather(input.parts, values, rows);
      cellInputs[input.name] = layer.reverse ? _reverseRows(joined, steps, batch, lengths) : joined;
    }
    const result = (yield layer.cell.forward(
      _unprefixed(layer.name, layer.params.map((q) => q.name), p),
      cellInputs,
      _unprefixed(layer.name, layer.states.map((s) => s.name), init),
      { batch, steps, ...(lengths !== null && { lengths }) },
    )) as _CellForward;
    for (const o of layer.outputs) values[o.key] = layer.reverse ? _reverseRows(result.outputs[o.field]!, steps, batch, lengths) : result.outputs[o.field]!;
    _prefixed(layer.name, result.final, final);
    cells.push(result.saved);
  }
  const { outputs, loss, logits } = _forwardResults(model, p, values, batch, steps, lengths, targets);
  const saved: _ModelSaved = { batch, steps, lengths, cells, values, logits, targets };
  return { outputs, final, loss, saved };
}

function* _modelBackwardPass(model: _Model, params: unknown, saved: _ModelSaved, upstream: { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> }): _Pass<_CellGradients> {
  const { batch, steps, lengths } = saved;
  const rows = steps * batch;
  const { p, grads, into, upFinal } = _backwardStart(model, params, saved, upstream);
  const initial: _Tensors = {};
  for (let l = model.layers.length - 1; l >= 0; l--) {
    const layer = model.layers[l]!;
    const cellUpstream: _Tensors = {};
    for (const o of layer.outputs) cellUpstream[o.field] = layer.reverse ? _reverseRows(into[o.key]!, steps, batch, lengths) : into[o.key]!;
    const g = (yield layer.cell.backward(_unprefixed(layer.name, layer.params.map((q) => q.name), p), saved.cells[l] as never, {
      outputs: cellUpstream,
      final: _unprefixed(layer.name, layer.states.map((s) => s.name), upFinal),
    })) as _CellGradients;
    _prefixed(layer.name, g.params, grads);
    _prefixed(layer.name, g.initial, initial);
    for (const input of layer.inputs) {
      const gi = g.inputs[input.name]!;
      _scatterAdd(layer.reverse ? _reverseRows(gi, steps, batch, lengths) : gi, input.parts, into, rows);
    }
  }
  return _gradients(model, grads, into, initial);
}

/** One step of every layer, in order, for a model whose layers all run forward; `state` is updated in place. */
function* _modelStepPass(model: _Model, params: unknown, inputs: unknown, state: unknown, t: number): _Pass<_Tensors> {
  const { batch, p, s, x } = _stepArguments(model, params, inputs, state);
  const values: _Tensors = { ...x };
  for (const layer of model.layers) {
    const cellInputs: _Tensors = {};
    for (const input of layer.inputs) cellInputs[input.name] = _gather(input.parts, values, batch);
    // The layer's own views of the model's state arrays: its step() updates them in place.
    const out = (yield layer.cell.step(_unprefixed(layer.name, layer.params.map((q) => q.name), p), cellInputs, _unprefixed(layer.name, layer.states.map((q) => q.name), s), t)) as _Tensors;
    for (const o of layer.outputs) values[o.key] = out[o.field]!;
  }
  return _stepOutputs(model, p, values, batch);
}

/** A pass over cells that return their results: each yielded value is already the call's result. */
function _runSync<R>(pass: _Pass<R>): R {
  let next = pass.next();
  while (!next.done) next = pass.next(next.value);
  return next.value;
}

const _modelForward = (model: _Model, params: unknown, inputs: unknown, initial: unknown, options: _ModelOptions) => _runSync(_modelForwardPass(model, params, inputs, initial, options));
const _modelBackward = (model: _Model, params: unknown, saved: _ModelSaved, upstream: { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> }) => _runSync(_modelBackwardPass(model, params, saved, upstream));
const _modelStep = (model: _Model, params: unknown, inputs: unknown, state: unknown, t: number) => _runSync(_modelStepPass(model, params, inputs, state, t));
// END EMBED MODEL_DRIVER_SYNC

export { _modelBackward, _modelBackwardPass, _modelForward, _modelForwardPass, _modelStep, _modelStepPass, type _CellGradients, type _CellModule, type _CellSource, type _Model, type _ModelOptions, type _ModelSaved, type _Pass, type _Tensors };
