// The long-gap experiment: every cell × gap × seed, as plain data in and out.
import { writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { CellModule } from "../../src/train/cell-module.ts";
import { compileCells, type CompileRequest } from "../shared/compile-cell.ts";
import { chronoInit, hasRetentionGate } from "./chrono.ts";
import { trainOne, type RunOutcome, type TrainSettings } from "./train-one.ts";
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

/** One training run: a cell, a gap and a seed. */
export interface Job {
  readonly cell: string;
  readonly gap: number;
  readonly seed: number;
}

export const jobsOf = (config: ExperimentConfig): Job[] => config.cells.flatMap((cell) => config.gaps.flatMap((gap) => config.seeds.map((seed) => ({ cell, gap, seed }))));

export const compileRequest = (config: ExperimentConfig): CompileRequest => ({ specs: config.cells.map((c) => CELL_SPECS[c]!), dims: { I: VOCAB, H: config.hidden }, precision: "f32" });

/** Runs one job on the compiled modules: each run is seeded on its own, so its outcome does not depend on what else runs or where. */
export function runJob(job: Job, config: ExperimentConfig, modules: Readonly<Record<string, CellModule>>): RunOutcome {
  // MUT1 adds tanh(x) to a vector of size H, so its input is H wide (the one-hot code padded with zeros).
  const inputSize = job.cell === "mut1" ? config.hidden : VOCAB;
  const longest = Math.max(...config.gaps) + 2;
  const override = config.init === "chrono" && hasRetentionGate(job.cell) ? chronoInit(job.cell, longest) : undefined;
  return trainOne(modules[job.cell]!, inputSize, job.gap, job.seed, config, override);
}

/**
 * Every cell × gap × seed. With `workers` > 1 the runs are shared out to that
 * many worker threads (the machine's cores by default); the results are the
 * same numbers either way, since every run is seeded on its own.
 */
export async function runExperiment(config: ExperimentConfig, log: (line: string) => void = () => {}, workers = 1): Promise<Results> {
  const modules = await compileCells(compileRequest(config));
  const jobs = jobsOf(config);
  const describe = (job: Job, outcome: RunOutcome) =>
    `${job.cell.padEnd(8)} gap ${String(job.gap).padStart(3)}  seed ${job.seed}  accuracy ${outcome.accuracy.toFixed(3)}  ${outcome.steps} steps  ${outcome.seconds.toFixed(1)} s`;
  const outcomes = workers > 1 ? await runInWorkers(jobs, config, Math.min(workers, jobs.length), (job, o) => log(describe(job, o))) : jobs.map((job) => {
    const outcome = runJob(job, config, modules);
    log(describe(job, outcome));
    return outcome;
  });
  const results: Results = {};
  jobs.forEach((job, k) => {
    results[job.cell] ??= {};
    (results[job.cell]![String(job.gap)] ??= []).push(outcomes[k]!.accuracy);
  });
  return results;
}

/** The jobs shared out to worker threads (experiments/long-gap/worker.ts), one job at a time to whichever is free. */
async function runInWorkers(jobs: readonly Job[], config: ExperimentConfig, count: number, done: (job: Job, outcome: RunOutcome) => void): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = new Array(jobs.length);
  let next = 0;
  const workerLoop = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      const give = () => {
        if (next >= jobs.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = next++;
        worker.postMessage({ index, job: jobs[index] });
      };
      worker.on("message", ({ index, outcome }: { index: number; outcome: RunOutcome }) => {
        outcomes[index] = outcome;
        done(jobs[index]!, outcome);
        give();
      });
      worker.on("error", reject);
      worker.on("online", give);
    });
  await Promise.all(Array.from({ length: count }, () => workerLoop(new Worker(new URL("./worker-entry.mjs", import.meta.url), { workerData: config }))));
  return outcomes;
}

export function writeResults(file: string, results: Results): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
