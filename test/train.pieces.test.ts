// The training runtime's small parts: clipping, schedules, losses and their
// gradients, batching, early stopping and progress lines.
import { describe, expect, it } from "vitest";
import { clipByGlobalNorm, clipByValue, globalNorm } from "../src/train/clip.ts";
import { cosine, stepDecay, warmup } from "../src/train/schedule.ts";
import { bceWithLogits, IGNORE, meanSquaredError, softmaxCrossEntropy, type LossResult } from "../src/train/loss.ts";
import { gatherLast, oneHotTimeMajor, packTimeMajor, scatterLast, targetsTimeMajor } from "../src/train/batch.ts";
import { initialEarlyStopping, updateEarlyStopping } from "../src/train/early-stopping.ts";
import { formatDuration, formatEpochLine, formatStepLine } from "../src/train/progress.ts";
import { initLinear, linearBackward, linearForward } from "../src/train/linear.ts";
import { seededRandom, shuffled } from "../src/train/random.ts";

describe("clipping", () => {
  it("by global norm scales every tensor by maxNorm/(norm + 1e-6) and returns the norm before", () => {
    const grads = { a: new Float64Array([3, 0]), b: new Float64Array([4]) };
    expect(clipByGlobalNorm(grads, 1)).toBe(5);
    const scale = 1 / (5 + 1e-6);
    expect(Array.from(grads.a)).toEqual([3 * scale, 0]);
    expect(grads.b[0]).toBe(4 * scale);
    expect(globalNorm(grads)).toBeCloseTo(1, 6);
  });

  it("by global norm leaves gradients under the limit alone", () => {
    const grads = { a: new Float64Array([0.3, 0.4]) };
    clipByGlobalNorm(grads, 1);
    expect(Array.from(grads.a)).toEqual([0.3, 0.4]);
  });

  it("by value clamps each element", () => {
    const grads = { a: new Float32Array([-3, 0.5, 2]) };
    clipByValue(grads, 1);
    expect(Array.from(grads.a)).toEqual([-1, 0.5, 1]);
  });
});

describe("learning-rate schedules", () => {
  it("step decay multiplies by gamma every stepSize steps", () => {
    const s = stepDecay(1, 10, 0.5);
    expect([0, 9, 10, 25].map(s)).toEqual([1, 1, 0.5, 0.25]);
  });

  it("cosine falls from lr to minLr over totalSteps and stays there", () => {
    const s = cosine(1, 100, 0.1);
    expect(s(0)).toBe(1);
    expect(s(50)).toBeCloseTo(0.55, 12);
    expect(s(100)).toBe(0.1);
    expect(s(500)).toBe(0.1);
  });

  it("warm-up ramps linearly, then runs the schedule from its own start", () => {
    const s = warmup(4, stepDecay(1, 2, 0.5));
    expect([0, 1, 3, 4, 5, 6].map(s)).toEqual([0.25, 0.5, 1, 1, 1, 0.5]);
  });
});

/** Central differences of a loss with respect to its first argument (a wider step where the loss goes through float32). */
function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): number[] {
  return Array.from(x, (_, k) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[k] = plus[k]! + h;
    minus[k] = minus[k]! - h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

function expectGradient(result: LossResult, f: (x: Float64Array) => number, x: Float64Array): void {
  numericGrad(f, x).forEach((g, k) => expect(result.grad[k]).toBeCloseTo(g, 5));
}

describe("losses", () => {
  const logits = Float64Array.from([2, -1, 0.5, 0.1, 0.2, -3, 1, 1, 1]);

  it("softmax cross-entropy: mean of −log softmax at the target, with the analytic gradient", () => {
    const targets = Int32Array.from([0, 2, 1]);
    const result = softmaxCrossEntropy(logits, targets, 3);
    const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    const want = (lse([2, -1, 0.5]) - 2 + (lse([0.1, 0.2, -3]) + 3) + (lse([1, 1, 1]) - 1)) / 3;
    expect(result.loss).toBeCloseTo(want, 12);
    expectGradient(result, (x) => softmaxCrossEntropy(x, targets, 3).loss, logits);
  });

  it("softmax cross-entropy skips IGNORE rows in the loss, the gradient and the mean", () => {
    const result = softmaxCrossEntropy(logits, Int32Array.from([0, IGNORE, IGNORE]), 3);
    expect(result.count).toBe(1);
    expect(result.loss).toBeCloseTo(softmaxCrossEntropy(logits.subarray(0, 3), Int32Array.from([0]), 3).loss, 12);
    expect(Array.from(result.grad.subarray(3))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("softmax cross-entropy rejects a target that is not a class", () => {
    expect(() => softmaxCrossEntropy(logits, Int32Array.from([0, 3, 1]), 3)).toThrow(/target 3 of row 1/);
  });

  it("BCE with logits matches −[y log σ(x) + (1−y) log(1−σ(x))] and does not overflow", () => {
    const x = Float64Array.from([0.3, -2, 5]);
    const y = Float64Array.from([1, 0, 0.25]);
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const want = [0, 1, 2].map((k) => -(y[k]! * Math.log(s(x[k]!)) + (1 - y[k]!) * Math.log(1 - s(x[k]!)))).reduce((a, b) => a + b) / 3;
    const result = bceWithLogits(x, y);
    expect(result.loss).toBeCloseTo(want, 12);
    expectGradient(result, (v) => bceWithLogits(v, y).loss, x);
    expect(bceWithLogits([1000, -1000], [0, 1]).loss).toBe(1000);
  });

  it("MSE is the mean of squared differences, gradient 2(p − t)/n", () => {
    const result = meanSquaredError([1, 2, 4], [0, 2, 2]);
    expect(result.loss).toBe(5 / 3);
    expect(Array.from(result.grad)).toEqual([2 / 3, 0, 4 / 3].map(Math.fround));
  });
});

describe("linear readout", () => {
  it("computes W x + b and its gradients (checked by finite differences)", () => {
    const head = initLinear(3, 2, 7);
    const x = Float64Array.from([0.5, -1, 2, 1, 0, -0.5]);
    const targets = Int32Array.from([1, 0]);
    const loss = (xs: Float64Array) => softmaxCrossEntropy(linearForward(head, xs, 2), targets, 2).loss;
    const dy = softmaxCrossEntropy(linearForward(head, x, 2), targets, 2).grad;
    const back = linearBackward(head, x, dy, 2);
    numericGrad(loss, x, 1e-2).forEach((g, k) => expect(back.input[k]).toBeCloseTo(g, 3));
    expect(back.params.b![0]).toBeCloseTo(dy[0]! + dy[2]!, 6);
    const lossOfW = (w: Float64Array) => softmaxCrossEntropy(linearForward({ W: Float32Array.from(w), b: head.b! }, x, 2), targets, 2).loss;
    numericGrad(lossOfW, Float64Array.from(head.W!), 1e-2).forEach((g, k) => expect(back.params.W![k]).toBeCloseTo(g, 3));
  });

  it("initialises within ±1/√in from its seed", () => {
    const head = initLinear(16, 4, 1);
    expect(Math.max(...Array.from(head.W!, Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Array.from(initLinear(16, 4, 1).W!)).toEqual(Array.from(head.W!));
    expect(Array.from(initLinear(16, 4, 2).W!)).not.toEqual(Array.from(head.W!));
  });
});

describe("batching", () => {
  it("packs sequences time-major [T, B, n], padding the shorter with zeros", () => {
    const packed = packTimeMajor([Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6])], 2);
    expect(packed.steps).toBe(2);
    expect(Array.from(packed.lengths)).toEqual([2, 1]);
    // t=0: seq0 [1,2], seq1 [5,6]; t=1: seq0 [3,4], seq1 padding
    expect(Array.from(packed.data)).toEqual([1, 2, 5, 6, 3, 4, 0, 0]);
    expect(() => packTimeMajor([[1, 2, 3]], 2)).toThrow(/sequence 0 holds 3 numbers/);
  });

  it("one-hot encodes tokens into a row that may be wider than the vocabulary", () => {
    const packed = oneHotTimeMajor([[1, 0], [2]], 3, 4);
    expect(Array.from(packed.data)).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => oneHotTimeMajor([[3]], 3)).toThrow(/token 3 at step 0 of sequence 0/);
  });

  it("lays targets out time-major with IGNORE past each end", () => {
    expect(Array.from(targetsTimeMajor([[1, 0], [2]], 2))).toEqual([1, 2, 0, IGNORE]);
  });

  it("gathers each sequence's last step, and scatters gradients back to it", () => {
    const packed = packTimeMajor([Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6])], 2);
    const last = gatherLast(packed.data, packed.lengths, 2);
    expect(Array.from(last)).toEqual([3, 4, 5, 6]);
    expect(Array.from(scatterLast(last, packed.lengths, 2, 2))).toEqual([0, 0, 5, 6, 3, 4, 0, 0]);
  });
});

describe("early stopping", () => {
  it("stops after `patience` epochs without an improvement larger than minDelta", () => {
    const options = { mode: "min" as const, patience: 2, minDelta: 0.01 };
    let state = initialEarlyStopping();
    const stops = [1.0, 0.5, 0.495, 0.6, 0.4, 0.45, 0.41].map((v, epoch) => {
      const u = updateEarlyStopping(options, state, v, epoch);
      state = u.state;
      return u.stop;
    });
    expect(stops).toEqual([false, false, false, true, false, false, true]);
    expect(state.best).toBe(0.4);
    expect(state.bestEpoch).toBe(4);
  });

  it("watches a rising metric in max mode", () => {
    const u = updateEarlyStopping({ mode: "max", patience: 1 }, { best: 0.9, bestEpoch: 0, waited: 0 }, 0.95, 1);
    expect(u.improved).toBe(true);
    expect(updateEarlyStopping({ mode: "max", patience: 1 }, u.state, 0.94, 2).stop).toBe(true);
  });
});

describe("progress lines", () => {
  it("shows a bar, steps/s, the loss and the time left on a terminal", () => {
    expect(formatStepLine({ epoch: 0, epochs: 2, step: 6, stepsPerEpoch: 12, stepsPerSecond: 3, loss: 0.5 })).toBe(
      "epoch 1/2 [============            ] 6/12  3.0 steps/s  loss 0.5000  ETA 0:06",
    );
  });

  it("summarises an epoch in one line with its metrics", () => {
    expect(formatEpochLine({ epoch: 1, epochs: 3, loss: 0.25, metrics: { val_acc: 0.9 }, steps: 50, seconds: 10 })).toBe("epoch 2/3  loss 0.2500  val_acc 0.9000  5.0 steps/s  10.0 s");
    expect(formatDuration(3725)).toBe("1:02:05");
  });
});

describe("seeded randomness", () => {
  it("repeats for a seed and differs between seeds", () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const c = seededRandom(6);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(shuffled([1, 2, 3, 4, 5], seededRandom(1)).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
