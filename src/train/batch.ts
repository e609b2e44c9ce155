// Batches of sequences in the generated modules' layout: time-major
// [steps, batch, n], shorter sequences padded with zeros and their lengths kept.
import { IGNORE } from "./loss.ts";

export interface PackedBatch {
  /** [steps, batch, width], zeros past each sequence's length. */
  readonly data: Float32Array;
  readonly steps: number;
  readonly batch: number;
  readonly width: number;
  /** Each sequence's own number of steps. */
  readonly lengths: Int32Array;
}

/** Packs sequences given as [length, width] row-major arrays; steps = the longest. */
export function packTimeMajor(sequences: readonly ArrayLike<number>[], width: number): PackedBatch {
  const lengths = Int32Array.from(sequences, (s, b) => {
    if (s.length % width !== 0) throw new Error(`sequence ${b} holds ${s.length} numbers, not a whole number of steps of ${width}`);
    return s.length / width;
  });
  const batch = sequences.length;
  const steps = Math.max(0, ...lengths);
  const data = new Float32Array(steps * batch * width);
  sequences.forEach((s, b) => {
    for (let t = 0; t < lengths[b]!; t++) for (let k = 0; k < width; k++) data[(t * batch + b) * width + k] = s[t * width + k]!;
  });
  return { data, steps, batch, width, lengths };
}

/** One-hot rows of token sequences, packed time-major; `width` ≥ vocab pads each row with zeros (a cell's input may be wider). */
export function oneHotTimeMajor(tokens: readonly ArrayLike<number>[], vocab: number, width = vocab): PackedBatch {
  const batch = tokens.length;
  const lengths = Int32Array.from(tokens, (s) => s.length);
  const steps = Math.max(0, ...lengths);
  const data = new Float32Array(steps * batch * width);
  tokens.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) {
      const token = s[t]!;
      if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new Error(`token ${token} at step ${t} of sequence ${b} is not in [0, ${vocab})`);
      data[(t * batch + b) * width + token] = 1;
    }
  });
  return { data, steps, batch, width, lengths };
}

/** Targets [steps, batch] time-major, IGNORE past each sequence's end. */
export function targetsTimeMajor(tokens: readonly ArrayLike<number>[], steps: number): Int32Array {
  const batch = tokens.length;
  const out = new Int32Array(steps * batch).fill(IGNORE);
  tokens.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) out[t * batch + b] = s[t]!;
  });
  return out;
}

/** Each sequence's row at its last step, [batch, width], from values [steps, batch, width]. */
export function gatherLast(values: ArrayLike<number>, lengths: Int32Array, width: number): Float32Array {
  const batch = lengths.length;
  const out = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) {
    const from = ((lengths[b]! - 1) * batch + b) * width;
    for (let k = 0; k < width; k++) out[b * width + k] = values[from + k]!;
  }
  return out;
}

/** The adjoint of gatherLast: [steps, batch, width] zeros with each row of grads [batch, width] at its sequence's last step. */
export function scatterLast(grads: ArrayLike<number>, lengths: Int32Array, steps: number, width: number): Float32Array {
  const batch = lengths.length;
  const out = new Float32Array(steps * batch * width);
  for (let b = 0; b < batch; b++) {
    const to = ((lengths[b]! - 1) * batch + b) * width;
    for (let k = 0; k < width; k++) out[to + k] = grads[b * width + k]!;
  }
  return out;
}
