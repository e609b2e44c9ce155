// Parameter initialisation: the one PRNG and the one meaning of every
// initializer. src/ir/initialize.ts (the interpreter's initParams) imports it,
// and the code generators embed the text between the markers into every
// generated module (see src/codegen/runtime/embed.ts; `export` is dropped
// there), so both give the same numbers for a seed.
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

// BEGIN EMBED INIT_HELPERS
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

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function _permutation(n: number, random: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A random unit vector, uniformly distributed on the sphere. */
export function _unitVector(n: number, random: () => number): Float64Array {
  const v = new Float64Array(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    v[i] = _normalSample(random);
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < n; i++) v[i] = v[i]! / norm;
  return v;
}

/**
 * Writes `count` orthonormal vectors of length n (count <= n) into `out`, as
 * its rows, or as its columns when `transposed`, in O(n²) time: rows of
 *
 *   Q = P_out · (I − 2aaᵀ) · B2 · T · B1 · (I − 2bbᵀ) · P_in
 *
 * B1 is block-diagonal with m ≈ √n exact Haar blocks, T sends coordinate k of
 * every B1 block to B2 block k, and B2 is block-diagonal with Haar blocks
 * again (together a "Monarch" matrix C = B2·T·B1, whose entry for output
 * (block k, row p) and input (block i, column j) is B2_k[p][i] · B1_i[k][j]).
 * Two Householder reflections with random unit vectors a, b fill the entries C
 * leaves zero when √n is not a whole number, and P_out, P_in are random
 * permutations. Every factor is orthogonal, so Q is; its entries are all
 * non-zero and about 1/√n in size, as in a Haar matrix, but Q is not
 * Haar-distributed.
 */
export function _monarchInto(count: number, n: number, transposed: boolean, random: () => number, out: Float32Array | Float64Array): void {
  const blocks = Math.max(1, Math.round(Math.sqrt(n)));
  const small = Math.floor(n / blocks);
  const large = n % blocks;
  // B1 block i has size small + 1 for i < large, else small; B2 block k holds
  // coordinate k of every B1 block that long, so it has `blocks` rows, except
  // the last one (k = small) which has `large`.
  const firstSize = (i: number): number => small + (i < large ? 1 : 0);
  const firstStart = (i: number): number => i * small + Math.min(i, large);
  const secondSize = (k: number): number => (k < small ? blocks : large);
  const secondCount = small + (large > 0 ? 1 : 0);
  const first: Float64Array[] = [];
  for (let i = 0; i < blocks; i++) first.push(_haarRows(firstSize(i), firstSize(i), random));
  const second: Float64Array[] = [];
  for (let k = 0; k < secondCount; k++) second.push(_haarRows(secondSize(k), secondSize(k), random));
  const a = _unitVector(n, random);
  const b = _unitVector(n, random);
  const rowOrder = _permutation(n, random);
  const columnOrder = _permutation(n, random);

  // (I − 2aaᵀ) C (I − 2bbᵀ) = C − 2a(Cᵀa)ᵀ − 2(Cb)bᵀ + 4(aᵀCb)abᵀ: Cᵀa and Cb
  // through the factors, in O(n·√n).
  const cta = new Float64Array(n);
  const cb = new Float64Array(n);
  for (let k = 0; k < secondCount; k++) {
    const width = secondSize(k);
    const mixer = second[k]!;
    for (let i = 0; i < width; i++) {
      const size = firstSize(i);
      const start = firstStart(i);
      const block = first[i]!;
      let mixed = 0;
      for (let p = 0; p < width; p++) mixed += a[k * blocks + p]! * mixer[p * width + i]!;
      for (let j = 0; j < size; j++) cta[start + j] = cta[start + j]! + mixed * block[k * size + j]!;
      let inner = 0;
      for (let j = 0; j < size; j++) inner += block[k * size + j]! * b[start + j]!;
      for (let p = 0; p < width; p++) cb[k * blocks + p] = cb[k * blocks + p]! + mixer[p * width + i]! * inner;
    }
  }
  let atcb = 0;
  for (let o = 0; o < n; o++) atcb += a[o]! * cb[o]!;

  const row = new Float64Array(n);
  for (let r = 0; r < count; r++) {
    const output = rowOrder[r]!;
    const k = Math.min(Math.floor(output / blocks), small);
    const p = output - k * blocks;
    const width = secondSize(k);
    const mixer = second[k]!;
    row.fill(0);
    for (let i = 0; i < width; i++) {
      const scale = mixer[p * width + i]!;
      const block = first[i]!;
      const size = firstSize(i);
      const start = firstStart(i);
      for (let j = 0; j < size; j++) row[start + j] = scale * block[k * size + j]!;
    }
    const alongA = -2 * a[output]!;
    const alongB = 4 * a[output]! * atcb - 2 * cb[output]!;
    for (let c = 0; c < n; c++) row[c] = row[c]! + alongA * cta[c]! + alongB * b[c]!;
    if (transposed) for (let c = 0; c < n; c++) out[c * count + r] = row[columnOrder[c]!]!;
    else for (let c = 0; c < n; c++) out[r * n + c] = row[columnOrder[c]!]!;
  }
}

/** Up to this many multiply-adds (count²·length), orthogonal is exact Haar whatever the shape. */
const _EXACT_HAAR_WORK = 1 << 24;

/**
 * A matrix with orthonormal rows (or columns, whichever are fewer). Exact Haar
 * while that is cheap: when count²·length is small, or no dearer than the
 * O(length²) structured construction of _monarchInto, used otherwise.
 */
export function _orthogonal<T extends Float32Array | Float64Array>(rows: number, cols: number, random: () => number, out: T): T {
  const count = Math.min(rows, cols);
  const length = Math.max(rows, cols);
  if (count * count * length > _EXACT_HAAR_WORK && count * count > 4 * length) {
    _monarchInto(count, length, rows > cols, random, out);
    return out;
  }
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
// END EMBED INIT_HELPERS
