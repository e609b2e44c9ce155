// The long-gap experiment: every cell × gap × seed, as plain data in and out.
import { writeFileSync } from "node:fs";
import { compileCells } from "../shared/compile-cell.ts";
import { chronoInit, hasRetentionGate } from "./chrono.ts";
import { trainOne, type TrainSettings } from "./train-one.ts";
import { VOCAB } from "./task.ts";

/** Library specs by their results key (each file named after its key), and MUT1 from this folder. */
export const CELL_SPECS: Readonly<Record<string, string>> = {
  rnn: "specs/rnn.lstm",
  lstm: "specs/lstm.lstm",
  peephole: "specs/peephole.lstm",
  cifg: "specs/cifg.lstm",
  gru: "specs/gru.lstm",
  mut1: "experiments/long-gap/cells/mut1.lstm",
};

export interface ExperimentConfig extends TrainSettings {
  readonly cells: readonly string[];
  readonly gaps: readonly number[];
  readonly seeds: readonly number[];
  readonly hidden: number;
  /**
   * "spec": every parameter as the spec initialises it (b_f = 1 for the LSTMs,
   * b_z = 0 for the GRU). "chrono": the same, but the gate that keeps the state
   * gets chrono biases up to the longest sequence (cells without one, the RNN,
   * are unchanged).
   */
  readonly init: "spec" | "chrono";
}

export const FULL: ExperimentConfig = {
  cells: Object.keys(CELL_SPECS),
  gaps: [5, 10, 20, 50, 100, 200],
  seeds: [1, 2, 3],
  hidden: 16,
  batch: 32,
  maxSteps: 1000,
  evalEvery: 50,
  evalSize: 500,
  testSize: 1000,
  lr: 0.01,
  clipNorm: 1,
  stopAt: 0.998,
  init: "chrono",
};

/** CI's size: two short gaps, two seeds, few steps (well under 2 minutes). */
export const QUICK: ExperimentConfig = { ...FULL, gaps: [5, 20], seeds: [1, 2], maxSteps: 100, evalSize: 200, testSize: 200 };

/** {cell: {gap: [test accuracy per seed]}}, gap keys as decimal strings. */
export type Results = Record<string, Record<string, number[]>>;

export async function runExperiment(config: ExperimentConfig, log: (line: string) => void = () => {}): Promise<Results> {
  const modules = await compileCells({ specs: config.cells.map((c) => CELL_SPECS[c]!), dims: { I: VOCAB, H: config.hidden }, precision: "f32" });
  const results: Results = {};
  for (const cell of config.cells) {
    results[cell] = {};
    // MUT1 adds tanh(x) to a vector of size H, so its input is H wide (the one-hot code padded with zeros).
    const inputSize = cell === "mut1" ? config.hidden : VOCAB;
    const module = modules[cell]!;
    const longest = Math.max(...config.gaps) + 2;
    const override = config.init === "chrono" && hasRetentionGate(cell) ? chronoInit(cell, longest) : undefined;
    for (const gap of config.gaps) {
      results[cell][String(gap)] = config.seeds.map((seed) => {
        const outcome = trainOne(module, inputSize, gap, seed, config, override);
        log(`${cell.padEnd(8)} gap ${String(gap).padStart(3)}  seed ${seed}  accuracy ${outcome.accuracy.toFixed(3)}  ${outcome.steps} steps  ${outcome.seconds.toFixed(1)} s`);
        return outcome.accuracy;
      });
    }
  }
  return results;
}

export function writeResults(file: string, results: Results): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
