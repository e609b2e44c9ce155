// One training run of the long-gap task: one cell, one gap, one seed. Fresh
// batches every step (the task has no fixed training set), Adam, global-norm
// clipping; stops once a validation set is all but perfect; reports accuracy
// on a separate test set.
import { fit } from "../../src/train/fit.ts";
import { seededRandom } from "../../src/train/random.ts";
import { accuracy, readoutModel } from "../../src/train/readout-model.ts";
import type { CellModule } from "../../src/train/cell-module.ts";
import type { Tensors } from "../../src/train/tensors.ts";
import { longGapBatch, TARGETS } from "./task.ts";

export interface TrainSettings {
  readonly batch: number;
  readonly maxSteps: number;
  /** Steps between validations (an "epoch" for fit). */
  readonly evalEvery: number;
  readonly evalSize: number;
  readonly testSize: number;
  readonly lr: number;
  readonly clipNorm: number;
  /** Validation accuracy at which training stops. */
  readonly stopAt: number;
}

/** Replaces initial values after the spec's initializers ran (e.g. a gate's bias); called with the run's seed. */
export type InitOverride = (params: Tensors, seed: number) => void;

export interface RunOutcome {
  readonly accuracy: number;
  readonly steps: number;
  readonly seconds: number;
}

/** Distinct streams for training, validation and test data, from the run's seed and gap. */
const streamSeed = (seed: number, gap: number, stream: number) => (seed * 7919 + gap * 104729 + stream * 15485863) >>> 0;

export function trainOne(cell: CellModule, inputSize: number, gap: number, seed: number, s: TrainSettings, override?: InitOverride): RunOutcome {
  const model = readoutModel(cell, { classes: TARGETS, at: "last", inputSize });
  const params = model.init(seed);
  override?.(params, seed);
  const validation = longGapBatch(seededRandom(streamSeed(seed, gap, 1)), gap, s.evalSize, inputSize);
  const training = seededRandom(streamSeed(seed, gap, 2));
  const started = performance.now();
  const result = fit({
    params,
    lossAndGrads: model.lossAndGrads,
    batches: () => Array.from({ length: s.evalEvery }, () => longGapBatch(training, gap, s.batch, inputSize)),
    epochs: Math.ceil(s.maxSteps / s.evalEvery),
    optimizer: { kind: "adam", lr: s.lr },
    clipNorm: s.clipNorm,
    validate: (p) => ({ val_acc: accuracy(model.logits(p, validation), validation.targets, TARGETS) }),
    callbacks: { onEpoch: (e) => (e.metrics.val_acc! >= s.stopAt ? "stop" : undefined) },
    progress: false,
  });
  const test = longGapBatch(seededRandom(streamSeed(seed, gap, 3)), gap, s.testSize, inputSize);
  return { accuracy: accuracy(model.logits(params, test), test.targets, TARGETS), steps: result.optimizerState.step, seconds: (performance.now() - started) / 1000 };
}
