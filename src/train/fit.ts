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

/** What the loop asks its driver for: one optimiser step on a batch, or the metrics after an epoch. */
type LoopRequest<B> = { readonly kind: "step"; readonly batch: B; readonly lr: number } | { readonly kind: "validate"; readonly epoch: number };
type StepDone = { readonly loss: number; readonly gradNorm: number };
type Metrics = Readonly<Record<string, number>>;
type LoopEnd = { readonly history: readonly EpochSummary[]; readonly stoppedBy: FitResult["stoppedBy"] };

interface LoopOptions<B> {
  readonly batches: (epoch: number) => readonly B[];
  readonly epochs: number;
  /** The learning rate of the step after `steps` steps. */
  readonly lr: (steps: number) => number;
  /** Steps already taken (a resumed optimiser's). */
  readonly firstStep: number;
  readonly earlyStopping?: EarlyStoppingOptions & { readonly metric: string };
  readonly callbacks?: FitCallbacks;
  readonly progress?: ProgressSink | false;
  readonly now?: () => number;
}

/**
 * The training loop, written once for the synchronous CPU driver (fit) and the
 * asynchronous one (fitAsync, e.g. a WebGPU cell with a GPU optimiser): it
 * yields what it needs done and is resumed with the answer, and owns epochs,
 * the schedule, progress, callbacks and early stopping.
 */
function* trainingLoop<B>(o: LoopOptions<B>): Generator<LoopRequest<B>, LoopEnd, StepDone | Metrics> {
  const now = o.now ?? (() => performance.now() / 1000);
  const sink = o.progress === false ? null : (o.progress ?? process.stderr);
  const history: EpochSummary[] = [];
  let early = initialEarlyStopping();
  let steps = o.firstStep;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const batches = o.batches(epoch);
    const started = now();
    let lossSum = 0;
    let stop = false;
    let done = 0;
    for (let i = 0; i < batches.length && !stop; i++) {
      const lr = o.lr(steps);
      const { loss, gradNorm } = (yield { kind: "step", batch: batches[i]!, lr }) as StepDone;
      steps += 1;
      lossSum += loss;
      done++;
      stop = o.callbacks?.onStep?.({ epoch, step: steps, loss, lr, gradNorm }) === "stop";
      if (sink?.isTTY) sink.write(`\r${formatStepLine({ epoch, epochs: o.epochs, step: i + 1, stepsPerEpoch: batches.length, stepsPerSecond: (i + 1) / Math.max(now() - started, 1e-9), loss: lossSum / (i + 1) })}`);
    }
    const metrics = (yield { kind: "validate", epoch }) as Metrics;
    const summary: EpochSummary = { epoch, epochs: o.epochs, loss: lossSum / Math.max(1, done), metrics, steps: done, seconds: now() - started };
    history.push(summary);
    if (sink) sink.write(`${sink.isTTY ? "\r\x1b[K" : ""}${formatEpochLine(summary)}\n`);
    if (stop || o.callbacks?.onEpoch?.(summary) === "stop") return { history, stoppedBy: "callback" };
    if (o.earlyStopping) {
      const value = summary.metrics[o.earlyStopping.metric];
      if (value === undefined) throw new Error(`early stopping watches '${o.earlyStopping.metric}', which validate does not return`);
      const update = updateEarlyStopping(o.earlyStopping, early, value, epoch);
      early = update.state;
      if (update.stop) return { history, stoppedBy: "early-stopping" };
    }
  }
  return { history, stoppedBy: "epochs" };
}

export function fit<B>(options: FitOptions<B>): FitResult {
  const state = options.optimizerState ?? initOptimizerState(options.optimizer, options.params);
  const schedule = options.schedule ?? (() => resolveConfig(options.optimizer).lr);
  const loop = trainingLoop({ ...options, lr: schedule, firstStep: state.step });
  for (let next = loop.next(); ; ) {
    if (next.done) return { ...next.value, optimizerState: state };
    const request = next.value;
    if (request.kind === "validate") {
      next = loop.next(options.validate?.(options.params, request.epoch) ?? {});
      continue;
    }
    const { loss, grads } = options.lossAndGrads(options.params, request.batch);
    const gradNorm = options.clipNorm !== undefined ? clipByGlobalNorm(grads, options.clipNorm) : globalNorm(grads);
    if (options.clipValue !== undefined) clipByValue(grads, options.clipValue);
    optimizerStep(options.optimizer, state, options.params, grads, request.lr);
    next = loop.next({ loss, gradNorm });
  }
}

export interface FitAsyncOptions<B, G> {
  /** The loss of a batch and its gradients, wherever they live (e.g. a WebGPU cell's `backwardOnGpu()`). */
  readonly lossAndGrads: (batch: B) => Promise<{ readonly loss: number; readonly grads: G }>;
  /** Clips and applies one optimiser step with learning rate `lr`; resolves to the gradients' norm before clipping (e.g. a GpuOptimizer's `step`). */
  readonly update: (grads: G, lr: number) => Promise<number>;
  readonly batches: (epoch: number) => readonly B[];
  readonly epochs: number;
  /** The learning rate at each optimiser step. */
  readonly schedule: Schedule;
  /** Steps already taken, when resuming (0 by default). */
  readonly firstStep?: number;
  readonly validate?: (epoch: number) => Promise<Readonly<Record<string, number>>> | Readonly<Record<string, number>>;
  readonly earlyStopping?: EarlyStoppingOptions & { readonly metric: string };
  readonly callbacks?: FitCallbacks;
  readonly progress?: ProgressSink | false;
  readonly now?: () => number;
}

export interface FitAsyncResult {
  readonly history: readonly EpochSummary[];
  readonly stoppedBy: FitResult["stoppedBy"];
}

/**
 * fit for asynchronous engines: the same loop (epochs, schedule, progress,
 * callbacks, early stopping), with the loss, gradients and update supplied by
 * the caller, so parameters and optimiser state can stay on a GPU.
 */
export async function fitAsync<B, G>(options: FitAsyncOptions<B, G>): Promise<FitAsyncResult> {
  const loop = trainingLoop({ ...options, lr: options.schedule, firstStep: options.firstStep ?? 0 });
  for (let next = loop.next(); ; ) {
    if (next.done) return next.value;
    const request = next.value;
    if (request.kind === "validate") {
      next = loop.next((await options.validate?.(request.epoch)) ?? {});
      continue;
    }
    const { loss, grads } = await options.lossAndGrads(request.batch);
    next = loop.next({ loss, gradNorm: await options.update(grads, request.lr) });
  }
}
