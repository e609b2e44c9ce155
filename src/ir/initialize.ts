// What a parameter's initializer means, given a seed. Every engine's
// initParams(seed) must give exactly these numbers.
import { elementCount, evaluateDim } from "./dims.ts";
import type { SizeBinding } from "./bind.ts";
import type { CellIR, Initializer, Shape } from "./types.ts";

/** mulberry32: a small, well-known 32-bit generator; floats in [0, 1). */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample by Box-Muller. */
export function normalSample(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Each parameter draws from its own stream, so adding a parameter leaves the others unchanged. */
export function parameterSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

export function initialValues(init: Initializer, shape: Shape, sizes: SizeBinding, seed: number): Float64Array {
  const values = new Float64Array(elementCount(shape, sizes));
  const random = makeRandom(seed);
  const rows = shape.length === 2 ? evaluateDim(shape[0]!, sizes) : values.length;
  const cols = shape.length === 2 ? evaluateDim(shape[1]!, sizes) : 1;
  switch (init.kind) {
    case "zeros":
      return values;
    case "ones":
      return values.fill(1);
    case "constant":
      return values.fill(init.value);
    case "uniform":
      return values.map(() => init.low + (init.high - init.low) * random());
    case "normal":
      return values.map(() => init.std * normalSample(random));
    case "glorot": {
      const limit = Math.sqrt(6 / (rows + cols));
      return values.map(() => (2 * random() - 1) * limit);
    }
    case "orthogonal":
      return orthogonal(rows, cols, random);
  }
}

/**
 * A random matrix with orthonormal rows (or columns, whichever are fewer):
 * modified Gram-Schmidt on a Gaussian matrix.
 */
function orthogonal(rows: number, cols: number, random: () => number): Float64Array {
  const [count, length] = rows <= cols ? [rows, cols] : [cols, rows];
  const vectors = Array.from({ length: count }, () => Float64Array.from({ length }, () => normalSample(random)));
  for (let i = 0; i < count; i++) {
    const v = vectors[i]!;
    for (let j = 0; j < i; j++) {
      const u = vectors[j]!;
      let dot = 0;
      for (let k = 0; k < length; k++) dot += u[k]! * v[k]!;
      for (let k = 0; k < length; k++) v[k] = v[k]! - dot * u[k]!;
    }
    let norm = 0;
    for (let k = 0; k < length; k++) norm += v[k]! * v[k]!;
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < length; k++) v[k] = v[k]! / norm;
  }
  const matrix = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) matrix[r * cols + c] = rows <= cols ? vectors[r]![c]! : vectors[c]![r]!;
  }
  return matrix;
}

export function initParams(ir: CellIR, sizes: SizeBinding, seed: number): Record<string, Float64Array> {
  return Object.fromEntries(ir.params.map((p) => [p.name, initialValues(p.init, p.shape, sizes, parameterSeed(seed, p.name))]));
}
