// A linear readout y = W x + b over rows of a cell's outputs, for cells whose
// spec has no head: logits for a loss from hidden states.
import { seededRandom } from "./random.ts";
import type { Tensors } from "./tensors.ts";

/** W [outSize, inSize] uniform in ±1/√inSize and b likewise, as torch.nn.Linear initialises them; seeded. */
export function initLinear(inSize: number, outSize: number, seed: number): Tensors {
  const random = seededRandom(seed);
  const bound = 1 / Math.sqrt(inSize);
  const uniform = (n: number) => Float32Array.from({ length: n }, () => (2 * random() - 1) * bound);
  return { W: uniform(outSize * inSize), b: uniform(outSize) };
}

/** y [rows, outSize] from x [rows, inSize]. */
export function linearForward(head: Tensors, x: ArrayLike<number>, rows: number): Float32Array {
  const { W, b } = head as { W: Float32Array; b: Float32Array };
  const outSize = b.length;
  const inSize = W.length / outSize;
  const y = new Float32Array(rows * outSize);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outSize; o++) {
      let sum = b[o]!;
      for (let i = 0; i < inSize; i++) sum += W[o * inSize + i]! * x[r * inSize + i]!;
      y[r * outSize + o] = sum;
    }
  return y;
}

/** Gradients of W and b, and of the input x, from dy [rows, outSize]. */
export function linearBackward(head: Tensors, x: ArrayLike<number>, dy: ArrayLike<number>, rows: number): { readonly params: Tensors; readonly input: Float32Array } {
  const W = head.W!;
  const outSize = head.b!.length;
  const inSize = W.length / outSize;
  const dW = new Float32Array(W.length);
  const db = new Float32Array(outSize);
  const dx = new Float32Array(rows * inSize);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outSize; o++) {
      const g = dy[r * outSize + o]!;
      if (g === 0) continue;
      db[o] = db[o]! + g;
      for (let i = 0; i < inSize; i++) {
        dW[o * inSize + i] = dW[o * inSize + i]! + g * x[r * inSize + i]!;
        dx[r * inSize + i] = dx[r * inSize + i]! + g * W[o * inSize + i]!;
      }
    }
  return { params: { W: dW, b: db }, input: dx };
}
