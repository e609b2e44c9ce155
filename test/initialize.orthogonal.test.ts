// The orthogonal initializer: orthonormal rows (or columns) at every shape, one
// result per seed, exact Haar (Gram-Schmidt of the seed's Gaussian draws) at
// small sizes and a dense structured matrix above them.
import { describe, expect, it } from "vitest";
import { _initialValues, _makeRandom, _normalSample } from "../src/runtime/init.ts";

function orthogonal(rows: number, cols: number, seed: number): Float64Array {
  return _initialValues("orthogonal", 0, 0, rows, cols, seed, new Float64Array(rows * cols));
}

/** max |VᵀV − I| over the fewer of rows and columns. */
function orthonormalityError(m: Float64Array, rows: number, cols: number): number {
  const [count, length] = rows <= cols ? [rows, cols] : [cols, rows];
  const at = (vector: number, k: number) => (rows <= cols ? m[vector * cols + k]! : m[k * cols + vector]!);
  let worst = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let k = 0; k < length; k++) dot += at(i, k) * at(j, k);
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

// Small shapes take the exact Haar path; 300×300 and up the structured one
// (square, wide, tall, and sizes that are not perfect squares).
const SHAPES: readonly [number, number][] = [[1, 1], [3, 3], [2, 7], [7, 2], [64, 64], [256, 256], [300, 300], [289, 289], [257, 600], [700, 301], [400, 400]];

describe("orthogonal initialisation", () => {
  for (const [rows, cols] of SHAPES) {
    it(`has orthonormal ${rows <= cols ? "rows" : "columns"} within 1e-9 at ${rows}×${cols}`, () => {
      expect(orthonormalityError(orthogonal(rows, cols, 3), rows, cols)).toBeLessThan(1e-9);
    });
  }

  it("gives the same matrix for the same seed and another for another seed", () => {
    for (const [rows, cols] of [[5, 5], [300, 300], [257, 600]] as const) {
      const [once, again, other] = [orthogonal(rows, cols, 9), orthogonal(rows, cols, 9), orthogonal(rows, cols, 10)];
      expect(once.every((v, i) => Object.is(v, again[i])), `${rows}×${cols} repeated`).toBe(true);
      expect(once.some((v, i) => v !== other[i]), `${rows}×${cols} other seed`).toBe(true);
    }
  });

  it("is Gram-Schmidt of the seed's Gaussian draws at small sizes (exact Haar)", () => {
    const [rows, cols] = [4, 6];
    const random = _makeRandom(21);
    const vectors = Array.from({ length: rows }, () => Array.from({ length: cols }, () => _normalSample(random)));
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < i; j++) {
        const dot = vectors[j]!.reduce((s, u, k) => s + u * vectors[i]![k]!, 0);
        vectors[i] = vectors[i]!.map((v, k) => v - dot * vectors[j]![k]!);
      }
      const norm = Math.hypot(...vectors[i]!);
      vectors[i] = vectors[i]!.map((v) => v / norm);
    }
    const got = orthogonal(rows, cols, 21);
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) expect(got[i * cols + k]).toBeCloseTo(vectors[i]![k]!, 12);
  });

  it("is dense at large sizes: in every row at least 95% of the entries are non-zero", () => {
    for (const [rows, cols] of [[300, 300], [257, 600], [700, 301]] as const) {
      const m = orthogonal(rows, cols, 5);
      for (let r = 0; r < rows; r++) {
        let nonZero = 0;
        for (let c = 0; c < cols; c++) if (m[r * cols + c] !== 0) nonZero++;
        expect(nonZero / cols, `row ${r} of ${rows}×${cols}`).toBeGreaterThanOrEqual(0.95);
      }
      let nonZero = 0;
      for (const v of m) if (v !== 0) nonZero++;
      expect(nonZero / m.length).toBeGreaterThan(0.95);
    }
  });
});
