// Parameter initialisation: the one PRNG and the one meaning of every
// initializer. src/ir/initialize.ts (the interpreter's initParams) imports it,
// and the code generators embed the text between the markers into every
// generated module (see embed.ts), so both give the same numbers for a seed.
//
// The embedded part must stand alone inside a generated module: no imports, no
// reference to anything outside the markers, and it must pass the strictest
// settings a user may compile that module with (test/runtime.init.test.ts
// checks this). Its names start with '_' because in a generated module they
// share the top level with names taken from the spec, and no spec name can
// start with '_'.
//
// Every value is computed in float64 and rounded once when stored, so a
// Float32Array result holds exactly the float64 result rounded to f32.

// BEGIN EMBED
/** The initializers; `a` and `b` of `_initialValues` are (value, 0), (low, high) or (std, 0) where the kind needs numbers. */
export type _InitializerKind = "zeros" | "ones" | "constant" | "uniform" | "normal" | "glorot" | "orthogonal";

/** mulberry32: a small, well-known 32-bit generator; floats in [0, 1). */
export function _makeRandom(seed: number): () => number {
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
export function _normalSample(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Each parameter draws from its own stream, so adding a parameter leaves the others unchanged. */
export function _parameterSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/**
 * `count` orthonormal vectors of length `length` (count <= length), row-major:
 * modified Gram-Schmidt on Gaussian vectors, which is exactly Haar-distributed.
 * Costs 2·count²·length multiply-adds.
 */
export function _haarRows(count: number, length: number, random: () => number): Float64Array {
  const vectors = new Float64Array(count * length);
  for (let i = 0; i < vectors.length; i++) vectors[i] = _normalSample(random);
  for (let i = 0; i < count; i++) {
    const v = i * length;
    for (let j = 0; j < i; j++) {
      const u = j * length;
      let dot = 0;
      for (let k = 0; k < length; k++) dot += vectors[u + k]! * vectors[v + k]!;
      for (let k = 0; k < length; k++) vectors[v + k] = vectors[v + k]! - dot * vectors[u + k]!;
    }
    let norm = 0;
    for (let k = 0; k < length; k++) norm += vectors[v + k]! * vectors[v + k]!;
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < length; k++) vectors[v + k] = vectors[v + k]! / norm;
  }
  return vectors;
}

/** A matrix with orthonormal rows (or columns, whichever are fewer), exact Haar. */
export function _orthogonal<T extends Float32Array | Float64Array>(rows: number, cols: number, random: () => number, out: T): T {
  const count = Math.min(rows, cols);
  const length = Math.max(rows, cols);
  const vectors = _haarRows(count, length, random);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = rows <= cols ? vectors[r * length + c]! : vectors[c * length + r]!;
  }
  return out;
}

/** Fills `out` (rows·cols values, row-major) with the initializer's values for the seed, and returns it. */
export function _initialValues<T extends Float32Array | Float64Array>(kind: _InitializerKind, a: number, b: number, rows: number, cols: number, seed: number, out: T): T {
  if (out.length !== rows * cols) throw new RangeError(`initializer '${kind}': the result array has ${out.length} values, not ${rows} × ${cols}`);
  const random = _makeRandom(seed);
  switch (kind) {
    case "zeros":
      out.fill(0);
      return out;
    case "ones":
      out.fill(1);
      return out;
    case "constant":
      out.fill(a);
      return out;
    case "uniform":
      for (let i = 0; i < out.length; i++) out[i] = a + (b - a) * random();
      return out;
    case "normal":
      for (let i = 0; i < out.length; i++) out[i] = a * _normalSample(random);
      return out;
    case "glorot": {
      const limit = Math.sqrt(6 / (rows + cols));
      for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * limit;
      return out;
    }
    case "orthogonal":
      return _orthogonal(rows, cols, random, out);
  }
}
// END EMBED
