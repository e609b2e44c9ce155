// Losses with their gradients for cells without a model head, mean-reduced as
// PyTorch's defaults are. Rows whose target is IGNORE (padding past a
// sequence's length) count neither in the loss nor in the mean.

export interface LossResult {
  /** The mean loss over counted elements. */
  readonly loss: number;
  /** d loss / d input, the input's shape. */
  readonly grad: Float32Array;
  /** How many rows (cross-entropy) or elements counted. */
  readonly count: number;
}

/** A target that does not count (torch's ignore_index = -100). */
export const IGNORE = -100;

/** Row-wise log-softmax of logits [rows, classes], in float64. */
export function logSoftmax(logits: ArrayLike<number>, rows: number, classes: number): Float64Array {
  const out = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[r * classes + c]! - max);
    const logSum = max + Math.log(sum);
    for (let c = 0; c < classes; c++) out[r * classes + c] = logits[r * classes + c]! - logSum;
  }
  return out;
}

/** Softmax cross-entropy of logits [rows, classes] against integer targets [rows] (torch.nn.functional.cross_entropy). */
export function softmaxCrossEntropy(logits: ArrayLike<number>, targets: ArrayLike<number>, classes: number): LossResult {
  const rows = targets.length;
  if (logits.length !== rows * classes) throw new Error(`cross-entropy: ${logits.length} logits for ${rows} rows of ${classes} classes`);
  const logProbs = logSoftmax(logits, rows, classes);
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] !== IGNORE) count++;
  const grad = new Float32Array(rows * classes);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const target = targets[r]!;
    if (target === IGNORE) continue;
    if (!Number.isInteger(target) || target < 0 || target >= classes) throw new Error(`cross-entropy: target ${target} of row ${r} is not a class in [0, ${classes})`);
    total -= logProbs[r * classes + target]!;
    for (let c = 0; c < classes; c++) grad[r * classes + c] = (Math.exp(logProbs[r * classes + c]!) - (c === target ? 1 : 0)) / count;
  }
  return { loss: count === 0 ? 0 : total / count, grad, count };
}

/** Binary cross-entropy on logits against targets in [0, 1], in the overflow-free form (torch's BCEWithLogitsLoss). */
export function bceWithLogits(logits: ArrayLike<number>, targets: ArrayLike<number>): LossResult {
  checkSameLength(logits, targets, "bce");
  const n = logits.length;
  const grad = new Float32Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const x = logits[k]!;
    const y = targets[k]!;
    total += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    grad[k] = (1 / (1 + Math.exp(-x)) - y) / n;
  }
  return { loss: total / n, grad, count: n };
}

/** Mean squared error (torch.nn.functional.mse_loss). */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): LossResult {
  checkSameLength(predictions, targets, "mse");
  const n = predictions.length;
  const grad = new Float32Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const d = predictions[k]! - targets[k]!;
    total += d * d;
    grad[k] = (2 * d) / n;
  }
  return { loss: total / n, grad, count: n };
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} predictions for ${b.length} targets`);
}
