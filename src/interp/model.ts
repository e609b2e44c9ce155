// The reference interpreter for models. A model is its cells run one layer at
// a time: since layer l reads layer l−1's outputs at the same step, running
// each layer over the whole sequence in dependency order is the same
// computation. Backward runs the layers in the opposite order; the gradient
// arriving at a layer's outputs comes from the model's outputs, the head and
// the layers that read it. Each layer is the cell interpreter (interpret.ts)
// unchanged; a reverse layer sees each row's valid steps in reverse order.
import { evaluateDim } from "../ir/dims.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { LayerIR, ModelIR, Wire, Wiring } from "../ir/model-types.ts";
import { forward, forwardBackward, rowLength, type Gradients, type Sequence } from "./interpret.ts";

type Tensors = Record<string, Float64Array>;

/** Like a cell's Sequence; params are "<layer>.<param>" (and the head's "<head>.W", "<head>.b"), states "<layer>.<state>". */
export interface ModelSequence extends Omit<Sequence, "params" | "initial"> {
  readonly params: Tensors;
  readonly initial: Tensors;
  /** The loss's targets: class indices for softmax cross-entropy, else one number per head output. */
  readonly targets?: Float64Array;
}

export interface ModelForwardResult {
  /** The model's outputs [steps, batch, n], and the head's ([steps, batch, n] or, at the last step, [batch, n]). */
  readonly outputs: Tensors;
  readonly final: Tensors;
  readonly loss: number | null;
}

/** Each cell size of a layer, as a number. */
export function layerSizes(layer: LayerIR, sizes: SizeBinding): SizeBinding {
  return Object.fromEntries(Object.entries(layer.sizes).map(([name, d]) => [name, evaluateDim(d, sizes)]));
}

function wireKey(w: Wire): string {
  return w.kind === "input" ? w.name : `${w.layer}.${w.output}`;
}

/** The width of each part of a wiring, once sizes are bound. */
function partWidths(ir: ModelIR, wiring: Wiring, sizes: SizeBinding): number[] {
  return wiring.parts.map((w) => {
    if (w.kind === "input") return evaluateDim(ir.inputs.find((i) => i.name === w.name)!.shape[0]!, sizes);
    return evaluateDim(ir.layers.find((l) => l.name === w.layer)!.outputWidths[w.output]!, sizes);
  });
}

/** Joins the parts' [rows, w_i] tensors end to end along the last axis: [rows, Σ w_i]. */
function gather(parts: readonly Float64Array[], widths: readonly number[], rows: number): Float64Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let offset = 0;
    parts.forEach((p, i) => {
      out.set(p.subarray(r * widths[i]!, (r + 1) * widths[i]!), r * total + offset);
      offset += widths[i]!;
    });
  }
  return out;
}

/** gather's adjoint: adds each slice of g [rows, Σ w_i] into its part. */
function scatterAdd(g: Float64Array, into: readonly Float64Array[], widths: readonly number[], rows: number): void {
  const total = widths.reduce((a, b) => a + b, 0);
  for (let r = 0; r < rows; r++) {
    let offset = 0;
    into.forEach((p, i) => {
      for (let k = 0; k < widths[i]!; k++) p[r * widths[i]! + k] = p[r * widths[i]! + k]! + g[r * total + offset + k]!;
      offset += widths[i]!;
    });
  }
}

/** Each row's valid steps in reverse order ([steps, batch, n]); padding stays 0. Its own inverse. */
function reverseRows(tensor: Float64Array, seq: ModelSequence): Float64Array {
  const n = tensor.length / (seq.steps * seq.batch);
  const out = new Float64Array(tensor.length);
  for (let b = 0; b < seq.batch; b++) {
    const length = rowLength(seq, b);
    for (let t = 0; t < length; t++) out.set(tensor.subarray(((length - 1 - t) * seq.batch + b) * n, ((length - 1 - t) * seq.batch + b + 1) * n), (t * seq.batch + b) * n);
  }
  return out;
}

/** The names of a layer's tensors in the model's contract. */
function prefixed(layer: string, tensors: Tensors): Tensors {
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [`${layer}.${k}`, v]));
}

function unprefixed(layer: string, names: readonly string[], tensors: Tensors): Tensors {
  return Object.fromEntries(names.map((n) => [n, tensors[`${layer}.${n}`]!]));
}

/** What the cell interpreter runs for one layer: its inputs gathered and, for a reverse layer, each row reversed. */
function layerSequence(ir: ModelIR, layer: LayerIR, sizes: SizeBinding, seq: ModelSequence, values: Tensors): Sequence {
  const rows = seq.steps * seq.batch;
  const inputs = Object.fromEntries(
    Object.entries(layer.inputs).map(([name, wiring]) => {
      const joined = gather(wiring.parts.map((w) => values[wireKey(w)]!), partWidths(ir, wiring, sizes), rows);
      return [name, layer.direction === "reverse" ? reverseRows(joined, seq) : joined];
    }),
  );
  return {
    batch: seq.batch,
    steps: seq.steps,
    params: unprefixed(layer.name, layer.cell.params.map((p) => p.name), seq.params),
    inputs,
    initial: unprefixed(layer.name, layer.cell.states.map((s) => s.name), seq.initial),
    ...(seq.lengths && { lengths: seq.lengths }),
  };
}

function inStepOrder(layer: LayerIR, seq: ModelSequence, tensors: Tensors): Tensors {
  if (layer.direction === "forward") return tensors;
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, reverseRows(v, seq)]));
}

interface HeadRows {
  /** The rows the head reads: (t·B + b) of every valid step, or each row's last valid step. */
  readonly rows: number[];
  readonly width: number;
  readonly size: number;
}

function headRows(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence): HeadRows {
  const head = ir.head!;
  const rows: number[] = [];
  for (let t = 0; t < seq.steps; t++) {
    for (let b = 0; b < seq.batch; b++) {
      const length = rowLength(seq, b);
      if (head.at === "step" ? t < length : t === length - 1) rows.push(t * seq.batch + b);
    }
  }
  if (head.at === "last") rows.sort((a, b) => (a % seq.batch) - (b % seq.batch));
  return { rows, width: evaluateDim(head.input.width, sizes), size: evaluateDim(head.size, sizes) };
}

/** y = W z + b for each row the head reads; [steps, batch, K] (0 at padding) or [batch, K]. */
function runHead(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence, values: Tensors): { y: Float64Array; z: Float64Array; shape: HeadRows } {
  const head = ir.head!;
  const shape = headRows(ir, sizes, seq);
  const { width, size } = shape;
  const z = gather(head.input.parts.map((w) => values[wireKey(w)]!), partWidths(ir, head.input, sizes), seq.steps * seq.batch);
  const [W, bias] = [seq.params[`${head.name}.W`]!, seq.params[`${head.name}.b`]!];
  const y = new Float64Array((head.at === "step" ? seq.steps * seq.batch : seq.batch) * size);
  shape.rows.forEach((row, i) => {
    const at = head.at === "step" ? row : i;
    for (let k = 0; k < size; k++) {
      let sum = bias[k]!;
      for (let j = 0; j < width; j++) sum += W[k * width + j]! * z[row * width + j]!;
      y[at * size + k] = sum;
    }
  });
  return { y, z, shape };
}

/** The loss, a mean over the head's rows (softmax cross-entropy) or over their elements, and its gradient on y. */
function lossAndGradient(ir: ModelIR, y: Float64Array, shape: HeadRows, seq: ModelSequence): { loss: number; grad: Float64Array } {
  const head = ir.head!;
  const kind = ir.loss!.kind;
  const targets = seq.targets!;
  const { size } = shape;
  const grad = new Float64Array(y.length);
  const count = kind === "softmax_cross_entropy" ? shape.rows.length : shape.rows.length * size;
  let loss = 0;
  shape.rows.forEach((row, i) => {
    const at = head.at === "step" ? row : i;
    const logits = y.subarray(at * size, (at + 1) * size);
    if (kind === "softmax_cross_entropy") {
      const max = Math.max(...logits);
      const total = logits.reduce((s, v) => s + Math.exp(v - max), 0);
      const target = targets[at]!;
      loss += max + Math.log(total) - logits[target]!;
      for (let k = 0; k < size; k++) grad[at * size + k] = (Math.exp(logits[k]! - max) / total - (k === target ? 1 : 0)) / count;
      return;
    }
    for (let k = 0; k < size; k++) {
      const [v, target] = [logits[k]!, targets[at * size + k]!];
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

/** Every layer forward, in order: each layer output [steps, batch, n] by "<layer>.<output>", beside the model inputs. */
function runLayers(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence): { values: Tensors; final: Tensors } {
  const values: Tensors = { ...seq.inputs };
  const final: Tensors = {};
  for (const layer of ir.layers) {
    const result = forward(layer.cell, layerSizes(layer, sizes), layerSequence(ir, layer, sizes, seq, values));
    Object.assign(values, prefixed(layer.name, inStepOrder(layer, seq, result.outputs)));
    Object.assign(final, prefixed(layer.name, result.final));
  }
  return { values, final };
}

export function forwardModel(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence): ModelForwardResult & { values: Tensors } {
  const { values, final } = runLayers(ir, sizes, seq);
  const rows = seq.steps * seq.batch;
  const outputs: Tensors = Object.fromEntries(ir.outputs.map((o) => [o.name, gather(o.parts.map((w) => values[wireKey(w)]!), partWidths(ir, o, sizes), rows)]));
  let loss: number | null = null;
  if (ir.head) {
    const { y, shape } = runHead(ir, sizes, seq, values);
    outputs[ir.head.name] = y;
    if (ir.loss) loss = lossAndGradient(ir, y, shape, seq).loss;
  }
  return { outputs, final, loss, values };
}

/** The head's backward: dL/dW, dL/db, and dL/dz added into the parts it read. */
function headBackward(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence, values: Tensors, dy: Float64Array, params: Tensors, into: Tensors): void {
  const head = ir.head!;
  const { z, shape } = runHead(ir, sizes, seq, values);
  const { width, size } = shape;
  const [W, dW, db] = [seq.params[`${head.name}.W`]!, params[`${head.name}.W`]!, params[`${head.name}.b`]!];
  const dz = new Float64Array(z.length);
  shape.rows.forEach((row, i) => {
    const at = head.at === "step" ? row : i;
    for (let k = 0; k < size; k++) {
      const g = dy[at * size + k]!;
      db[k] = db[k]! + g;
      for (let j = 0; j < width; j++) {
        dW[k * width + j] = dW[k * width + j]! + g * z[row * width + j]!;
        dz[row * width + j] = dz[row * width + j]! + g * W[k * width + j]!;
      }
    }
  });
  scatterAdd(dz, head.input.parts.map((w) => into[wireKey(w)]!), partWidths(ir, head.input, sizes), seq.steps * seq.batch);
}

/**
 * Forward, then backpropagation through time through every layer, from the
 * upstream gradients (on the model's outputs, the head's and the layers'
 * final states) plus the loss's, when the model has one.
 */
export function forwardBackwardModel(ir: ModelIR, sizes: SizeBinding, seq: ModelSequence, upstream: { outputs: Tensors; final: Tensors }): ModelForwardResult & { grads: Gradients } {
  const result = forwardModel(ir, sizes, seq);
  const { values } = result;
  const rows = seq.steps * seq.batch;
  const params: Tensors = Object.fromEntries(Object.entries(seq.params).map(([k, v]) => [k, new Float64Array(v.length)]));
  const initial: Tensors = {};
  // dL/d(every value a layer, an output or the head reads), by the same keys as `values`.
  const into: Tensors = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, new Float64Array(v.length)]));
  for (const o of ir.outputs) scatterAdd(upstream.outputs[o.name]!, o.parts.map((w) => into[wireKey(w)]!), partWidths(ir, o, sizes), rows);
  if (ir.head) {
    const dy = Float64Array.from(upstream.outputs[ir.head.name]!);
    if (ir.loss) {
      const { shape } = runHead(ir, sizes, seq, values);
      lossAndGradient(ir, result.outputs[ir.head.name]!, shape, seq).grad.forEach((g, i) => (dy[i] = dy[i]! + g));
    }
    headBackward(ir, sizes, seq, values, dy, params, into);
  }
  for (const layer of [...ir.layers].reverse()) {
    const cellUpstream = {
      outputs: inStepOrder(layer, seq, Object.fromEntries(layer.cell.outputs.map((o) => [o.name, into[`${layer.name}.${o.name}`]!]))),
      final: unprefixed(layer.name, layer.cell.states.map((s) => s.name), upstream.final),
    };
    const { grads } = forwardBackward(layer.cell, layerSizes(layer, sizes), layerSequence(ir, layer, sizes, seq, values), cellUpstream);
    Object.assign(params, prefixed(layer.name, grads.params));
    Object.assign(initial, prefixed(layer.name, grads.initial));
    for (const [name, g] of Object.entries(inStepOrder(layer, seq, grads.inputs))) {
      const wiring = layer.inputs[name]!;
      scatterAdd(g, wiring.parts.map((w) => into[wireKey(w)]!), partWidths(ir, wiring, sizes), rows);
    }
  }
  const inputs: Tensors = Object.fromEntries(ir.inputs.map((i) => [i.name, into[i.name]!]));
  const { outputs, final, loss } = result;
  // Layers were visited last to first: list the initial states' gradients in the request's order.
  const initialInOrder: Tensors = Object.fromEntries(Object.keys(seq.initial).map((k) => [k, initial[k]!]));
  return { outputs, final, loss, grads: { params, inputs, initial: initialInOrder } };
}
