// Training one character language model (a cell with a readout at every step)
// on random windows of the training text, validating on the held-out text,
// keeping the parameters of the best validation epoch; and sampling from it.
import { oneHotTimeMajor, targetsTimeMajor } from "../../src/train/batch.ts";
import { cellState, cellStep, type CellModule } from "../../src/train/cell-module.ts";
import { fit } from "../../src/train/fit.ts";
import { linearForward } from "../../src/train/linear.ts";
import { logSoftmax, softmaxCrossEntropy } from "../../src/train/loss.ts";
import { randomInt, seededRandom } from "../../src/train/random.ts";
import { readoutModel, type ReadoutBatch } from "../../src/train/readout-model.ts";
import { cloneTensors, groupOf, type Tensors } from "../../src/train/tensors.ts";
import type { Corpus } from "./corpus.ts";

export interface LmSettings {
  readonly window: number;
  readonly batch: number;
  readonly maxSteps: number;
  readonly evalEvery: number;
  readonly lr: number;
  readonly clipNorm: number;
  /** Validations without improvement before stopping. */
  readonly patience: number;
  readonly seed: number;
}

export interface CurvePoint {
  readonly step: number;
  readonly trainBpc: number;
  readonly validationBpc: number;
}

export interface LmOutcome {
  /** The parameters at the best validation. */
  readonly params: Tensors;
  readonly parameterCount: number;
  readonly curve: readonly CurvePoint[];
  readonly bestValidationBpc: number;
  readonly bestStep: number;
  readonly seconds: number;
}

/** Inputs and next-character targets for text windows starting at `starts`. */
function windows(text: Int32Array, starts: readonly number[], length: number, vocab: number): ReadoutBatch {
  const inputs = starts.map((s) => text.subarray(s, s + length));
  const targets = starts.map((s) => text.subarray(s + 1, s + length + 1));
  return { inputs: oneHotTimeMajor(inputs, vocab).data, steps: length, batch: starts.length, targets: targetsTimeMajor(targets, length) };
}

export function trainLm(cell: CellModule, corpus: Corpus, s: LmSettings): LmOutcome {
  const vocab = corpus.vocab.length;
  const model = readoutModel(cell, { classes: vocab, at: "every", inputSize: vocab });
  const params = model.init(s.seed);
  const validation = windows(corpus.validation, [0], corpus.validation.length - 1, vocab);
  const random = seededRandom(s.seed);
  const curve: CurvePoint[] = [];
  let best = { bpc: Infinity, step: 0, params };
  const started = performance.now();
  fit({
    params,
    lossAndGrads: model.lossAndGrads,
    batches: () => Array.from({ length: s.evalEvery }, () => windows(corpus.train, Array.from({ length: s.batch }, () => randomInt(random, corpus.train.length - s.window - 1)), s.window, vocab)),
    epochs: Math.ceil(s.maxSteps / s.evalEvery),
    optimizer: { kind: "adam", lr: s.lr },
    clipNorm: s.clipNorm,
    validate: (p) => ({ val_bpc: softmaxCrossEntropy(model.logits(p, validation), validation.targets, vocab).loss / Math.LN2 }),
    earlyStopping: { metric: "val_bpc", mode: "min", patience: s.patience },
    callbacks: {
      onEpoch: (e) => {
        const step = (e.epoch + 1) * s.evalEvery;
        curve.push({ step, trainBpc: e.loss / Math.LN2, validationBpc: e.metrics.val_bpc! });
        if (e.metrics.val_bpc! < best.bpc) best = { bpc: e.metrics.val_bpc!, step, params: cloneTensors(params) };
      },
    },
    progress: false,
  });
  const parameterCount = Object.values(params).reduce((n, t) => n + t.length, 0);
  return { params: best.params, parameterCount, curve, bestValidationBpc: best.bpc, bestStep: best.step, seconds: (performance.now() - started) / 1000 };
}

/** `length` characters after `prompt`, each drawn from softmax(logits / temperature), one streaming step at a time. */
export function sampleText(cell: CellModule, params: Tensors, vocab: readonly string[], prompt: string, length: number, temperature: number, seed: number): string {
  const cellP = groupOf(params, "cell");
  const head = groupOf(params, "head");
  const index = new Map(vocab.map((c, i) => [c, i]));
  const random = seededRandom(seed);
  const state = cellState(cell, 1);
  const x = new Float32Array(vocab.length);
  let logits: Float32Array = new Float32Array(vocab.length);
  const feed = (code: number) => {
    x.fill(0);
    x[code] = 1;
    const out = Object.values(cellStep(cell, cellP, { x }, state))[0]!;
    logits = linearForward(head, out, 1);
  };
  for (const c of prompt) feed(index.get(c) ?? 0);
  let text = "";
  for (let k = 0; k < length; k++) {
    const logProbs = logSoftmax(Float64Array.from(logits, (v) => v / temperature), 1, vocab.length);
    let u = random();
    let code = vocab.length - 1;
    for (let c = 0; c < vocab.length; c++) if ((u -= Math.exp(logProbs[c]!)) < 0) {
      code = c;
      break;
    }
    text += vocab[code];
    feed(code);
  }
  return text;
}
