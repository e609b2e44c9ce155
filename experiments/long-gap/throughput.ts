// npx tsx experiments/long-gap/throughput.ts [--batches N]
// Training throughput (sequences/s) on the long-gap task at gap 100: the
// generated TS module (f32) with src/train's fit (forward, BPTT, readout,
// clipping, Adam) against TensorFlow.js on its WebAssembly backend
// (tf.layers.lstm + dense, model.fit with Adam), same batch and sizes. Batches
// are made before the clock starts for both. One warm-up round each.
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

function tsSequencesPerSecond(cell: Parameters<typeof readoutModel>[0], batches: readonly ReadoutBatch[]): number {
  const model = readoutModel(cell, { classes: TARGETS, at: "last", inputSize: VOCAB });
  const run = (list: readonly ReadoutBatch[]) => fit({ params: model.init(1), lossAndGrads: model.lossAndGrads, batches: () => list, epochs: 1, optimizer: { kind: "adam", lr: 0.01 }, clipNorm: 1, progress: false });
  run(batches.slice(0, 2));
  const started = performance.now();
  run(batches);
  return (batches.length * BATCH) / ((performance.now() - started) / 1000);
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

async function tfjsSequencesPerSecond(hidden: number, batches: readonly ReadoutBatch[]): Promise<number> {
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: hidden, inputShape: [batches[0]!.steps, VOCAB] }));
  model.add(tf.layers.dense({ units: TARGETS, activation: "softmax" }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
  const warm = toTensors(batches.slice(0, 2));
  await model.fit(warm.x, warm.y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  const { x, y } = toTensors(batches);
  const started = performance.now();
  await model.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  const seconds = (performance.now() - started) / 1000;
  tf.dispose([warm.x, warm.y, x, y]);
  model.dispose();
  return (batches.length * BATCH) / seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { batches: { type: "string", default: "8" } } });
  const count = Number(values.batches);
  await initBackend("wasm");
  const rows: string[] = [];
  for (const hidden of HIDDEN) {
    const { lstm } = await compileCells({ specs: ["specs/lstm.lstm"], dims: { I: VOCAB, H: hidden }, precision: "f32" });
    const random = seededRandom(hidden);
    const batches = Array.from({ length: count }, () => longGapBatch(random, GAP, BATCH, VOCAB));
    const ours = tsSequencesPerSecond(lstm!, batches);
    const theirs = await tfjsSequencesPerSecond(hidden, batches);
    rows.push(`| LSTM H=${hidden}, gap ${GAP} (T=${GAP + 2}), batch ${BATCH} | ${ours.toFixed(1)} | ${theirs.toFixed(1)} | ${(ours / theirs).toFixed(1)}× |`);
    console.error(rows.at(-1));
  }
  console.log(["| training, f32, one thread | generated TS + lstmc/train (seq/s) | tfjs-wasm model.fit (seq/s) | ratio |", "|---|---:|---:|---:|", ...rows].join("\n"));
}

await main();
