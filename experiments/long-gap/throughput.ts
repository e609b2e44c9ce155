// npx tsx experiments/long-gap/throughput.ts [--batches N] [--rounds R]
// Training throughput (sequences/s) on the long-gap task at gap 100: the
// generated TS module (f32) with src/train's fit (forward, BPTT, readout,
// clipping, Adam) against TensorFlow.js on its WebAssembly backend
// (tf.layers.lstm + dense, model.fit with Adam), same batch and sizes. Batches
// are made before the clock starts for both. After a warm-up, the two take
// turns for R rounds of N batches each (so a change in the machine's load
// hits both alike), and the table shows each one's median rate.
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../../bench/competitors/tfjs.ts";
import { fit } from "../../src/train/fit.ts";
import { seededRandom } from "../../src/train/random.ts";
import { readoutModel, type ReadoutBatch } from "../../src/train/readout-model.ts";
import { compileCells } from "../shared/compile-cell.ts";
import { longGapBatch, TARGETS, VOCAB } from "./task.ts";

const GAP = 100;
const BATCH = 32;
const HIDDEN = [16, 64, 128];

type Trainer = () => Promise<number>;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Trains on the batches once per call (continuing from the last call's weights); returns sequences/s. */
function tsTrainer(cell: Parameters<typeof readoutModel>[0], batches: readonly ReadoutBatch[]): Trainer {
  const model = readoutModel(cell, { classes: TARGETS, at: "last", inputSize: VOCAB });
  const params = model.init(1);
  let optimizerState: ReturnType<typeof fit>["optimizerState"] | undefined;
  return async () => {
    const started = performance.now();
    optimizerState = fit({ params, optimizerState, lossAndGrads: model.lossAndGrads, batches: () => batches, epochs: 1, optimizer: { kind: "adam", lr: 0.01 }, clipNorm: 1, progress: false }).optimizerState;
    return (batches.length * BATCH) / ((performance.now() - started) / 1000);
  };
}

/** The same batches batch-major, as tfjs wants them: x [N, T, VOCAB], y one-hot [N, TARGETS]. */
function toTensors(batches: readonly ReadoutBatch[]): { x: tf.Tensor3D; y: tf.Tensor2D } {
  const steps = batches[0]!.steps;
  const x = new Float32Array(batches.length * BATCH * steps * VOCAB);
  const y = new Float32Array(batches.length * BATCH * TARGETS);
  batches.forEach((batch, k) => {
    for (let b = 0; b < BATCH; b++) {
      const n = k * BATCH + b;
      for (let t = 0; t < steps; t++) x.set(batch.inputs.subarray((t * BATCH + b) * VOCAB, (t * BATCH + b + 1) * VOCAB), (n * steps + t) * VOCAB);
      y[n * TARGETS + batch.targets[b]!] = 1;
    }
  });
  return { x: tf.tensor3d(x, [batches.length * BATCH, steps, VOCAB]), y: tf.tensor2d(y, [batches.length * BATCH, TARGETS]) };
}

/** The tfjs model and the batches as tensors, made once; each call is one model.fit over them. */
function tfjsTrainer(hidden: number, batches: readonly ReadoutBatch[]): { train: Trainer; dispose(): void } {
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: hidden, inputShape: [batches[0]!.steps, VOCAB] }));
  model.add(tf.layers.dense({ units: TARGETS, activation: "softmax" }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
  const { x, y } = toTensors(batches);
  return {
    train: async () => {
      const started = performance.now();
      await model.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
      return (batches.length * BATCH) / ((performance.now() - started) / 1000);
    },
    dispose: () => {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { batches: { type: "string", default: "4" }, rounds: { type: "string", default: "7" } } });
  const count = Number(values.batches);
  const rounds = Number(values.rounds);
  await initBackend("wasm");
  const rows: string[] = [];
  for (const hidden of HIDDEN) {
    const { lstm } = await compileCells({ specs: ["specs/lstm.lstm"], dims: { I: VOCAB, H: hidden }, precision: "f32" });
    const random = seededRandom(hidden);
    const batches = Array.from({ length: count }, () => longGapBatch(random, GAP, BATCH, VOCAB));
    const ts = tsTrainer(lstm!, batches);
    const tfjs = tfjsTrainer(hidden, batches);
    await ts();
    await tfjs.train();
    const rates = { ts: [] as number[], tfjs: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      rates.ts.push(await ts());
      rates.tfjs.push(await tfjs.train());
    }
    tfjs.dispose();
    const ours = median(rates.ts);
    const theirs = median(rates.tfjs);
    rows.push(`| LSTM H=${hidden}, gap ${GAP} (T=${GAP + 2}), batch ${BATCH} | ${ours.toFixed(1)} | ${theirs.toFixed(1)} | ${(ours / theirs).toFixed(1)}× |`);
    console.error(rows.at(-1));
  }
  console.log([`${rounds} alternating rounds of ${count} batches; medians.`, "", "| training, f32, one thread | generated TS + lstmc/train (seq/s) | tfjs-wasm model.fit (seq/s) | ratio |", "|---|---:|---:|---:|", ...rows].join("\n"));
}

await main();
