// A cell with a linear readout and a softmax cross-entropy loss: the glue
// between a generated module and the optimisers, for sequence classification
// (a class at each sequence's last step) and sequence tagging (a class at
// every step, as in a character language model).
import { gatherLast, scatterLast } from "./batch.ts";
import { cellBackward, cellForward, cellParams, pick, type CellModule } from "./cell-module.ts";
import { initLinear, linearBackward, linearForward } from "./linear.ts";
import { softmaxCrossEntropy } from "./loss.ts";
import { groupOf, joinGroups, type Tensors } from "./tensors.ts";

export interface ReadoutBatch {
  /** The cell's input, [steps, batch, inputSize] time-major. */
  readonly inputs: Float32Array;
  readonly steps: number;
  readonly batch: number;
  /** Each sequence's length (default: all `steps`). */
  readonly lengths?: Int32Array;
  /** One class per sequence ("last"), or [steps, batch] time-major with IGNORE for padding ("every"). */
  readonly targets: Int32Array;
}

export interface ReadoutOptions {
  readonly classes: number;
  /** Where the loss reads the cell's output: each sequence's last step, or every step. */
  readonly at: "last" | "every";
  /** The cell's input (default "x") and its size. */
  readonly input?: string;
  readonly inputSize: number;
  /** The cell's output to read (default: its only one). */
  readonly output?: string;
}

export interface ReadoutModel {
  /** The cell's parameters as `cell.NAME` and the readout's as `head.W`, `head.b`, initialised from one seed. */
  init(seed: number): Tensors;
  /** Mean cross-entropy and the gradients of every parameter (named as in init). */
  lossAndGrads(params: Tensors, batch: ReadoutBatch): { readonly loss: number; readonly grads: Tensors };
  /** Logits [rows, classes]: one row per sequence ("last") or per step and sequence ("every"). */
  logits(params: Tensors, batch: ReadoutBatch): Float32Array;
}

export function readoutModel(cell: CellModule, options: ReadoutOptions): ReadoutModel {
  const inputName = options.input ?? "x";
  const run = (params: Tensors, batch: ReadoutBatch) => {
    const cellP = groupOf(params, "cell");
    const head = groupOf(params, "head");
    const result = cellForward(cell, cellP, { [inputName]: batch.inputs }, batch.batch);
    const out = pick(result.outputs, options.output, "readout");
    const width = out.length / (batch.steps * batch.batch);
    const lengths = batch.lengths ?? new Int32Array(batch.batch).fill(batch.steps);
    const features = options.at === "last" ? gatherLast(out, lengths, width) : out;
    const rows = features.length / width;
    return { cellP, head, result, width, lengths, features, rows, logits: linearForward(head, features, rows) };
  };
  return {
    init(seed) {
      const cellP = cellParams(cell, seed);
      const probe = cellForward(cell, cellP, { [inputName]: new Float32Array(options.inputSize) }, 1);
      const width = pick(probe.outputs, options.output, "readout").length;
      // A seed of its own, so the readout's numbers are not the cell's first parameter's.
      return joinGroups({ cell: cellP, head: initLinear(width, options.classes, (seed ^ 0x5eed1e55) >>> 0) });
    },
    lossAndGrads(params, batch) {
      const r = run(params, batch);
      const { loss, grad } = softmaxCrossEntropy(r.logits, batch.targets, options.classes);
      const back = linearBackward(r.head, r.features, grad, r.rows);
      const dOut = options.at === "last" ? scatterLast(back.input, r.lengths, batch.steps, r.width) : back.input;
      const outputName = options.output ?? Object.keys(r.result.outputs)[0]!;
      const cellGrads = cellBackward(cell, r.cellP, r.result.saved, { outputs: { [outputName]: dOut } });
      return { loss, grads: joinGroups({ cell: cellGrads.params, head: back.params }) };
    },
    logits: (params, batch) => run(params, batch).logits,
  };
}

/** The fraction of rows whose largest logit is the target's (IGNORE rows do not count). */
export function accuracy(logits: ArrayLike<number>, targets: Int32Array, classes: number): number {
  let right = 0;
  let counted = 0;
  for (let r = 0; r < targets.length; r++) {
    if (targets[r]! < 0) continue;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    counted++;
    if (best === targets[r]) right++;
  }
  return counted === 0 ? 0 : right / counted;
}
