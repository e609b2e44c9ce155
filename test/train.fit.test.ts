// fit over a real generated module (generated/lstm.ts, f32): the loss falls,
// the same seed gives bit-identical weights, progress is printed as promised,
// and callbacks and early stopping end training.
import { describe, expect, it } from "vitest";
import * as lstm from "../generated/lstm.ts";
import { oneHotTimeMajor } from "../src/train/batch.ts";
import { fit, type FitOptions } from "../src/train/fit.ts";
import { seededRandom, randomInt } from "../src/train/random.ts";
import { readoutModel, type ReadoutBatch } from "../src/train/readout-model.ts";
import { warmup, constant } from "../src/train/schedule.ts";
import { cloneTensors, zerosLike, type Tensors } from "../src/train/tensors.ts";

const CLASSES = 3;
// The generated module's static type must fit the structural CellModule without a cast.
const model = readoutModel(lstm, { classes: CLASSES, at: "last", inputSize: lstm.I });

/** Recall the first token (0–2) after three distractors (3–7): a small version of the long-gap task. */
function batchOf(random: () => number, size: number): ReadoutBatch {
  const sequences = Array.from({ length: size }, () => [randomInt(random, CLASSES), ...Array.from({ length: 3 }, () => 3 + randomInt(random, 5))]);
  const packed = oneHotTimeMajor(sequences, lstm.I);
  return { inputs: packed.data, steps: packed.steps, batch: size, targets: Int32Array.from(sequences, (s) => s[0]!) };
}

function options(seed: number, overrides: Partial<FitOptions<ReadoutBatch>> = {}): FitOptions<ReadoutBatch> {
  return {
    params: model.init(seed),
    lossAndGrads: model.lossAndGrads,
    batches: (epoch) => {
      const random = seededRandom(seed * 1000 + epoch);
      return Array.from({ length: 10 }, () => batchOf(random, 16));
    },
    epochs: 3,
    optimizer: { kind: "adam", lr: 0.01 },
    clipNorm: 1,
    progress: false,
    ...overrides,
  };
}

const bytesOf = (params: Tensors) => Object.entries(params).map(([name, t]) => [name, Array.from(new Uint8Array(t.buffer, t.byteOffset, t.byteLength))]);

describe("fit", () => {
  it("lowers the loss of an LSTM with a readout", () => {
    const result = fit(options(1, { epochs: 6 }));
    expect(result.history[5]!.loss).toBeLessThan(result.history[0]!.loss * 0.5);
  });

  it("gives bit-identical weights for the same seed, different ones for another", () => {
    const a = options(3);
    const b = options(3);
    const c = options(4);
    for (const o of [a, b, c]) fit(o);
    expect(bytesOf(b.params)).toEqual(bytesOf(a.params));
    expect(bytesOf(c.params)).not.toEqual(bytesOf(a.params));
  });

  it("prints one line per epoch when not on a terminal", () => {
    const lines: string[] = [];
    let clock = 0;
    fit(options(1, { epochs: 2, progress: { isTTY: false, write: (s) => lines.push(s) }, now: () => (clock += 0.5), validate: () => ({ val_acc: 0.5 }) }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^epoch 1\/2  loss \d\.\d{4}  val_acc 0\.5000  [\d.]+ steps\/s  [\d.]+ s\n$/);
  });

  it("redraws a progress bar with steps/s, loss and ETA on a terminal", () => {
    const writes: string[] = [];
    let clock = 0;
    fit(options(1, { epochs: 1, progress: { isTTY: true, write: (s) => writes.push(s) }, now: () => (clock += 0.25) }));
    expect(writes.filter((w) => w.startsWith("\repoch 1/1 ["))).toHaveLength(10);
    expect(writes[4]).toMatch(/^\repoch 1\/1 \[=+ +\] 5\/10  [\d.]+ steps\/s  loss \d\.\d{4}  ETA \d+:\d\d$/);
    expect(writes.at(-1)).toMatch(/^\r\x1b\[Kepoch 1\/1  loss/);
  });

  it("follows the schedule and stops when a callback says so", () => {
    const rates: number[] = [];
    const result = fit(options(1, { schedule: warmup(4, constant(0.01)), callbacks: { onStep: (s) => (rates.push(s.lr), s.step === 6 ? "stop" : undefined) } }));
    expect(rates).toEqual([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01]);
    expect(result.stoppedBy).toBe("callback");
    expect(result.optimizerState.step).toBe(6);
  });

  it("stops early when the watched metric stops improving", () => {
    const result = fit(options(1, { epochs: 10, validate: () => ({ val_loss: 1 }), earlyStopping: { metric: "val_loss", mode: "min", patience: 2 } }));
    expect(result.stoppedBy).toBe("early-stopping");
    expect(result.history).toHaveLength(3);
  });
});

describe("tensor helpers on a generated module's types", () => {
  it("zerosLike and cloneTensors keep the Params type, names, lengths and element type without a cast", () => {
    const params: lstm.Params = lstm.initParams(1);
    const zeros: lstm.Params = zerosLike(params);
    const copy: lstm.Params = cloneTensors(params);
    expect(Object.keys(zeros)).toEqual(Object.keys(params));
    expect(zeros.U_f).toBeInstanceOf(Float32Array);
    expect(zeros.U_f.length).toBe(lstm.H * lstm.H);
    expect(zeros.U_f.every((v) => v === 0)).toBe(true);
    expect(Array.from(copy.W_i)).toEqual(Array.from(params.W_i));
    expect(copy.W_i).not.toBe(params.W_i);
  });
});
