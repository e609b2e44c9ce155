// The fixed helpers every generated TypeScript module carries (generated
// modules import nothing). `FloatArray` is the module's element type alias.
// initParams' helpers mirror src/ir/initialize.ts operation for operation, so
// the numbers are the same bits; the tests hold them to that.

/** C[i, j] = Σ_p A[i, p]·W[j, p] (+ C[i, j] when accumulating), register-blocked. */
export const GEMM_NT = `
/** c[i·ldc + j] = Σ_p a[aOff + i·lda + p]·w[j·k + p] for i < m, j < n: 2×4 register blocks, tiles of 64 rows of a. */
function _gemmNT(a: FloatArray, aOff: number, lda: number, w: FloatArray, c: FloatArray, cOff: number, ldc: number, m: number, n: number, k: number): void {
  const k2 = k - (k % 2);
  for (let tile = 0; tile < m; tile += 64) {
    const tileEnd = Math.min(m, tile + 64);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let i = tile;
      for (; i + 2 <= tileEnd; i += 2) {
        const a0 = aOff + i * lda, a1 = a0 + lda;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p], x1 = a[a1 + p];
          const y0 = w[w0 + p], y1 = w[w1 + p], y2 = w[w2 + p], y3 = w[w3 + p];
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        }
        const c0 = cOff + i * ldc + j, c1 = c0 + ldc;
        c[c0] = s00; c[c0 + 1] = s01; c[c0 + 2] = s02; c[c0 + 3] = s03;
        c[c1] = s10; c[c1 + 1] = s11; c[c1 + 2] = s12; c[c1 + 3] = s13;
      }
      for (; i < tileEnd; i++) {
        const a0 = aOff + i * lda;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        let p = 0;
        for (; p < k2; p += 2) {
          const x0 = a[a0 + p], x1 = a[a0 + p + 1];
          s0 += x0 * w[w0 + p]; s1 += x0 * w[w1 + p]; s2 += x0 * w[w2 + p]; s3 += x0 * w[w3 + p];
          t0 += x1 * w[w0 + p + 1]; t1 += x1 * w[w1 + p + 1]; t2 += x1 * w[w2 + p + 1]; t3 += x1 * w[w3 + p + 1];
        }
        if (p < k) {
          const x0 = a[a0 + p];
          s0 += x0 * w[w0 + p]; s1 += x0 * w[w1 + p]; s2 += x0 * w[w2 + p]; s3 += x0 * w[w3 + p];
        }
        const c0 = cOff + i * ldc + j;
        c[c0] = s0 + t0; c[c0 + 1] = s1 + t1; c[c0 + 2] = s2 + t2; c[c0 + 3] = s3 + t3;
      }
    }
    for (; j < n; j++) {
      const w0 = j * k;
      for (let i = tile; i < tileEnd; i++) {
        const a0 = aOff + i * lda;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[a0 + p] * w[w0 + p];
        c[cOff + i * ldc + j] = s;
      }
    }
  }
}

/** dst[c·rows + r] = src[srcOff + r·cols + c]: a [rows, cols] block, transposed. */
function _transpose(src: FloatArray, srcOff: number, rows: number, cols: number, dst: FloatArray): void {
  for (let r0 = 0; r0 < rows; r0 += 32) {
    const r1 = Math.min(rows, r0 + 32);
    for (let c = 0; c < cols; c++) {
      for (let r = r0; r < r1; r++) dst[c * rows + r] = src[srcOff + r * cols + c];
    }
  }
}

/** A workspace at least \`length\` long: the same array while it is big enough. */
function _grow(array: FloatArray, length: number): FloatArray {
  return array.length >= length ? array : new FloatArray(length);
}

function _checkLength(array: FloatArray | undefined, length: number, what: string): FloatArray {
  if (array === undefined) throw new Error(\`\${what} is missing\`);
  if (array.length !== length) throw new Error(\`\${what} has \${array.length} numbers, expected \${length}\`);
  return array;
}
`;

export const INIT_HELPERS = `
/** mulberry32: floats in [0, 1). */
function _makeRandom(seed: number): () => number {
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
function _normalSample(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Each parameter draws from its own stream. */
function _parameterSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/** Orthonormal rows (or columns, whichever are fewer): modified Gram-Schmidt on a Gaussian matrix. */
function _orthogonal(rows: number, cols: number, random: () => number): Float64Array {
  const [count, length] = rows <= cols ? [rows, cols] : [cols, rows];
  const vectors = Array.from({ length: count }, () => Float64Array.from({ length }, () => _normalSample(random)));
  for (let i = 0; i < count; i++) {
    const v = vectors[i];
    for (let j = 0; j < i; j++) {
      const u = vectors[j];
      let dot = 0;
      for (let k = 0; k < length; k++) dot += u[k] * v[k];
      for (let k = 0; k < length; k++) v[k] = v[k] - dot * u[k];
    }
    let norm = 0;
    for (let k = 0; k < length; k++) norm += v[k] * v[k];
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < length; k++) v[k] = v[k] / norm;
  }
  const matrix = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) matrix[r * cols + c] = rows <= cols ? vectors[r][c] : vectors[c][r];
  }
  return matrix;
}

type _Initializer = "zeros" | "ones" | "constant" | "uniform" | "normal" | "glorot" | "orthogonal";

function _initialValues(kind: _Initializer, a: number, b: number, rows: number, cols: number, seed: number): FloatArray {
  const random = _makeRandom(seed);
  const values = new Float64Array(rows * cols);
  switch (kind) {
    case "zeros":
      break;
    case "ones":
      values.fill(1);
      break;
    case "constant":
      values.fill(a);
      break;
    case "uniform":
      for (let i = 0; i < values.length; i++) values[i] = a + (b - a) * random();
      break;
    case "normal":
      for (let i = 0; i < values.length; i++) values[i] = a * _normalSample(random);
      break;
    case "glorot": {
      const limit = Math.sqrt(6 / (rows + cols));
      for (let i = 0; i < values.length; i++) values[i] = (2 * random() - 1) * limit;
      break;
    }
    case "orthogonal":
      return FloatArray.from(_orthogonal(rows, cols, random));
  }
  return FloatArray.from(values);
}
`;
