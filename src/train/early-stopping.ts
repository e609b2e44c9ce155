// Early stopping as plain data and a pure update: stop once the watched metric
// has not improved by more than minDelta for `patience` epochs in a row.

export interface EarlyStoppingOptions {
  readonly mode: "min" | "max";
  readonly patience: number;
  readonly minDelta?: number;
}

export interface EarlyStoppingState {
  readonly best: number;
  readonly bestEpoch: number;
  /** Epochs since the last improvement. */
  readonly waited: number;
}

export const initialEarlyStopping = (): EarlyStoppingState => ({ best: NaN, bestEpoch: -1, waited: 0 });

export function updateEarlyStopping(options: EarlyStoppingOptions, state: EarlyStoppingState, value: number, epoch: number): { readonly state: EarlyStoppingState; readonly improved: boolean; readonly stop: boolean } {
  const minDelta = options.minDelta ?? 0;
  const improved = Number.isNaN(state.best) || (options.mode === "min" ? value < state.best - minDelta : value > state.best + minDelta);
  const next = improved ? { best: value, bestEpoch: epoch, waited: 0 } : { ...state, waited: state.waited + 1 };
  return { state: next, improved, stop: next.waited >= options.patience };
}
