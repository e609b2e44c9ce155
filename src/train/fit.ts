// The training loop: for each epoch, each batch: loss and gradients, clipping,
// the scheduled learning rate, one optimiser step; then validation, callbacks
// and early stopping. Parameters are updated in place.
import { clipByGlobalNorm, clipByValue, globalNorm } from "./clip.ts";
import { initialEarlyStopping, updateEarlyStopping, type EarlyStoppingOptions } from "./early-stopping.ts";
import { initOptimizerState, optimizerStep, resolveConfig, type OptimizerConfig, type OptimizerState } from "./optim.ts";
import { formatEpochLine, formatStepLine, type EpochSummary, type ProgressSink } from "./progress.ts";
import type { Schedule } from "./schedule.ts";
import type { Tensors } from "./tensors.ts";

export interface StepInfo {
  readonly epoch: number;
  /** Optimiser steps taken so far, this one included. */
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  /** The gradients' global norm before clipping. */
  readonly gradNorm: number;
}

/** Returning "stop" ends training after this step or epoch. */
export interface FitCallbacks {
  onStep?(info: StepInfo): void | "stop";
  onEpoch?(summary: EpochSummary): void | "stop";
}

export interface FitOptions<B> {
  /** Updated in place. */
  readonly params: Tensors;
  readonly lossAndGrads: (params: Tensors, batch: B) => { readonly loss: number; readonly grads: Tensors };
  /** The batches of each epoch (0-based): derive them from a seed for a reproducible run. */
  readonly batches: (epoch: number) => readonly B[];
  readonly epochs: number;
  readonly optimizer: OptimizerConfig;
  /** A state to resume from (from a checkpoint); fresh by default. */
  readonly optimizerState?: OptimizerState;
  /** The learning rate at each optimiser step; the optimiser's own lr by default. */
  readonly schedule?: Schedule;
  readonly clipNorm?: number;
  readonly clipValue?: number;
  /** Metrics after each epoch, e.g. validation loss and accuracy. */
  readonly validate?: (params: Tensors, epoch: number) => Readonly<Record<string, number>>;
  readonly earlyStopping?: EarlyStoppingOptions & { readonly metric: string };
  readonly callbacks?: FitCallbacks;
  /** Where progress goes (default: stderr); false for none. */
  readonly progress?: ProgressSink | false;
  /** Seconds since some origin; injectable so progress output can be tested. */
  readonly now?: () => number;
}

export interface FitResult {
  readonly history: readonly EpochSummary[];
  readonly optimizerState: OptimizerState;
  readonly stoppedBy: "epochs" | "early-stopping" | "callback";
}

export function fit<B>(options: FitOptions<B>): FitResult {
  const now = options.now ?? (() => performance.now() / 1000);
  const sink = options.progress === false ? null : (options.progress ?? process.stderr);
  const state = options.optimizerState ?? initOptimizerState(options.optimizer, options.params);
  const schedule = options.schedule ?? (() => resolveConfig(options.optimizer).lr);
  const history: EpochSummary[] = [];
  let early = initialEarlyStopping();
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const batches = options.batches(epoch);
    const started = now();
    let lossSum = 0;
    let stop = false;
    let done = 0;
    for (let i = 0; i < batches.length && !stop; i++) {
      const { loss, grads } = options.lossAndGrads(options.params, batches[i]!);
      const gradNorm = options.clipNorm !== undefined ? clipByGlobalNorm(grads, options.clipNorm) : globalNorm(grads);
      if (options.clipValue !== undefined) clipByValue(grads, options.clipValue);
      const lr = schedule(state.step);
      optimizerStep(options.optimizer, state, options.params, grads, lr);
      lossSum += loss;
      done++;
      stop = options.callbacks?.onStep?.({ epoch, step: state.step, loss, lr, gradNorm }) === "stop";
      if (sink?.isTTY) sink.write(`\r${formatStepLine({ epoch, epochs: options.epochs, step: i + 1, stepsPerEpoch: batches.length, stepsPerSecond: (i + 1) / Math.max(now() - started, 1e-9), loss: lossSum / (i + 1) })}`);
    }
    const summary: EpochSummary = { epoch, epochs: options.epochs, loss: lossSum / Math.max(1, done), metrics: options.validate?.(options.params, epoch) ?? {}, steps: done, seconds: now() - started };
    history.push(summary);
    if (sink) sink.write(`${sink.isTTY ? "\r\x1b[K" : ""}${formatEpochLine(summary)}\n`);
    if (stop || options.callbacks?.onEpoch?.(summary) === "stop") return { history, optimizerState: state, stoppedBy: "callback" };
    if (options.earlyStopping) {
      const value = summary.metrics[options.earlyStopping.metric];
      if (value === undefined) throw new Error(`early stopping watches '${options.earlyStopping.metric}', which validate does not return`);
      const update = updateEarlyStopping(options.earlyStopping, early, value, epoch);
      early = update.state;
      if (update.stop) return { history, optimizerState: state, stoppedBy: "early-stopping" };
    }
  }
  return { history, optimizerState: state, stoppedBy: "epochs" };
}
