// The fixed helpers every generated TypeScript module carries (generated
// modules import nothing). `FloatArray` is the module's element type alias.
// initParams' helpers mirror src/ir/initialize.ts operation for operation, so
// the numbers are the same bits; the tests hold them to that.
import type { Initializer } from "../../ir/types.ts";
import { GEMM_WASM_BASE64 } from "./wasm.ts";

/** C[i, j] = Σ_p A[i, p]·W[j, p], register-blocked, as the function \`name\`. */
export const gemmNT = (name: string): string => `
/**
 * c[cOff + i·ldc + j] = Σ_p a[aOff + i·lda + p]·w[j·k + p] for i < m, j < n.
 * 4×4 register blocks (16 sums stay in registers; 4×8 or wider spills in V8),
 * over tiles of 64 rows of a so a tile and four rows of w stay in cache; rows
 * left over take 1×4 blocks, columns left over a plain dot product.
 */
function ${name}(a: FloatArray, aOff: number, lda: number, w: FloatArray, c: FloatArray, cOff: number, ldc: number, m: number, n: number, k: number): void {
  for (let tile = 0; tile < m; tile += 64) {
    const tileEnd = Math.min(m, tile + 64);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let i = tile;
      for (; i + 4 <= tileEnd; i += 4) {
        const a0 = aOff + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (let p = 0; p < k; p++) {
          const y0 = w[w0 + p], y1 = w[w1 + p], y2 = w[w2 + p], y3 = w[w3 + p];
          let x = a[a0 + p];
          s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
          x = a[a1 + p];
          s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
          x = a[a2 + p];
          s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
          x = a[a3 + p];
          s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
        }
        let c0 = cOff + i * ldc + j;
        c[c0] = s00; c[c0 + 1] = s01; c[c0 + 2] = s02; c[c0 + 3] = s03;
        c0 += ldc;
        c[c0] = s10; c[c0 + 1] = s11; c[c0 + 2] = s12; c[c0 + 3] = s13;
        c0 += ldc;
        c[c0] = s20; c[c0 + 1] = s21; c[c0 + 2] = s22; c[c0 + 3] = s23;
        c0 += ldc;
        c[c0] = s30; c[c0 + 1] = s31; c[c0 + 2] = s32; c[c0 + 3] = s33;
      }
      for (; i < tileEnd; i++) {
        // The blocks' order of additions: step() projects B rows where forward() projects T·B, and they must agree exactly.
        const a0 = aOff + i * lda;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let p = 0; p < k; p++) {
          const x = a[a0 + p];
          s0 += x * w[w0 + p]; s1 += x * w[w1 + p]; s2 += x * w[w2 + p]; s3 += x * w[w3 + p];
        }
        const c0 = cOff + i * ldc + j;
        c[c0] = s0; c[c0 + 1] = s1; c[c0 + 2] = s2; c[c0 + 3] = s3;
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

`;

export const HELPERS = `
/** dst[c·rows + r] = src[srcOff + r·cols + c]: a [rows, cols] block, transposed. */
function _transpose(src: FloatArray, srcOff: number, rows: number, cols: number, dst: FloatArray): void {
  for (let r0 = 0; r0 < rows; r0 += 32) {
    const r1 = Math.min(rows, r0 + 32);
    for (let c = 0; c < cols; c++) {
      for (let r = r0; r < r1; r++) dst[c * rows + r] = src[srcOff + r * cols + c];
    }
  }
}

function _checkLength(array: FloatArray | undefined, length: number, what: string): FloatArray {
  if (array === undefined) throw new Error(\`\${what} is missing\`);
  if (array.length !== length) throw new Error(\`\${what} has \${array.length} numbers, expected \${length}\`);
  return array;
}
`;

/** The vector chunk a specialised matrix-vector product holds in locals. */
const GEMV_CHUNK = 32;

export const gemvName = (rows: number, depth: number): string => `_gemv${rows}x${depth}`;

/**
 * c[cOff + j] = Σ_p a[aOff + p]·w[j·depth + p] for j < rows, with both sizes
 * literal: one batch row's product, the per-step GEMM when the batch is small.
 * The vector is read once per chunk of 32 into locals, and each row of w is a
 * straight-line dot product against them in 4 independent sums: 1.3-1.5× the
 * register-blocked _gemmNT for one row in V8, which the bounds checks on a
 * and the generic loop bounds slow down. A dimension under a chunk is unrolled
 * fully; a wider one loops over chunks (unrolling them all made V8 slower).
 */
export function gemvFunction(rows: number, depth: number): string {
  const chunkBody = (width: number, first: boolean | null, start: string) => {
    const at = (p: number) => (start === "p0" ? `p0${p ? ` + ${p}` : ""}` : String(Number(start) + p));
    const loads = Array.from({ length: width }, (_, p) => `x${p} = a[aOff + ${at(p)}]`);
    const chains = Math.min(4, width);
    const sums = Array.from({ length: chains }, (_, c) => {
      const terms: string[] = [];
      for (let p = c; p < width; p += chains) terms.push(`w[r${p ? ` + ${p}` : ""}] * x${p}`);
      return terms.join(" + ");
    });
    const value = sums.length === 1 ? sums[0]! : `(${sums.join(") + (")})`;
    const row = (op: string) => `for (let j = 0; j < ${rows}; j++) {\n      const r = j * ${depth}${start === "0" ? "" : ` + ${start}`};\n      c[cOff + j] ${op} ${value};\n    }`;
    const loop = first === null ? `if (${start} === 0) ${row("=")}\n    else ${row("+=")}` : row(first ? "=" : "+=");
    return `    const ${loads.join(", ")};\n    ${loop}`;
  };
  const full = Math.floor(depth / GEMV_CHUNK) * GEMV_CHUNK;
  const rest = depth - full;
  const parts: string[] = [];
  if (full === GEMV_CHUNK) parts.push(`  {\n${chunkBody(GEMV_CHUNK, true, "0")}\n  }`);
  else if (full > 0) parts.push(`  for (let p0 = 0; p0 < ${full}; p0 += ${GEMV_CHUNK}) {\n${chunkBody(GEMV_CHUNK, null, "p0")}\n  }`);
  if (rest > 0) parts.push(`  {\n${chunkBody(rest, full === 0, String(full))}\n  }`);
  return `
/** c[cOff + j] = Σ_p a[aOff + p]·w[j·${depth} + p] for j < ${rows}: one row's product, the vector held in locals ${GEMV_CHUNK} at a time. */
function ${gemvName(rows, depth)}(a: FloatArray, aOff: number, w: FloatArray, c: FloatArray, cOff: number): void {
${parts.join("\n")}
}
`;
}

/** e^x to float32 accuracy, for f32 modules' sigmoid and tanh. */
/** Workspaces in ordinary arrays (f64 modules, and f32 ones where WebAssembly SIMD is missing). */
export const GROW_JS = `
/** A workspace at least \`length\` long: the same array while it is big enough. */
function _grow(array: FloatArray, length: number): FloatArray {
  return array.length >= length ? array : new FloatArray(length);
}
`;

/** The WebAssembly SIMD kernel's floats of staging room, at the start of its memory. */
const SCRATCH_FLOATS = 1 << 16;

/**
 * f32 modules: matrix products in the WebAssembly SIMD kernel of wasm.ts,
 * carried as base64 and instantiated synchronously when the host validates it
 * (else _gemmNT is the JS kernel). Workspaces live in the kernel's memory;
 * arrays from outside it are staged through its first 256 KiB, rows at a time.
 */
export const WASM_F32 = `
const _GEMM_WASM = "${GEMM_WASM_BASE64}";
const _SCRATCH = ${SCRATCH_FLOATS};

interface _Simd {
  readonly memory: WebAssembly.Memory;
  readonly gemm: (a: number, lda: number, w: number, c: number, ldc: number, m: number, n: number, k: number) => void;
}

function _loadSimd(): _Simd | null {
  if (typeof WebAssembly !== "object") return null;
  try {
    const bytes = Uint8Array.from(atob(_GEMM_WASM), (ch) => ch.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return null;
    const simd = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as _Simd;
    simd.memory.grow(_SCRATCH / 16384);
    return simd;
  } catch {
    return null;
  }
}

const _simd = _loadSimd();
let _heap = _simd === null ? new Float32Array(0) : new Float32Array(_simd.memory.buffer);
/** End of the last workspace in the kernel's memory, in bytes. */
let _top = _SCRATCH * 4;
/** Each workspace view's place: [byte offset, capacity]. Growing the memory detaches every view; a view is re-made at its place. */
const _places = new WeakMap<FloatArray, [number, number]>();

/** A workspace at least \`length\` long, in the kernel's memory when there is one: the same place while it is big enough. */
function _grow(array: FloatArray, length: number): FloatArray {
  if (array.length >= length) return array;
  if (_simd === null) return new FloatArray(length);
  const memory = _simd.memory;
  let place = _places.get(array);
  if (place === undefined || place[1] < length) {
    const capacity = Math.ceil(Math.max(length, place === undefined ? 0 : place[1] * 1.5) / 16) * 16;
    place = place !== undefined && place[0] + place[1] * 4 === _top ? [place[0], capacity] : [_top, capacity];
    _top = place[0] + capacity * 4;
    const short = Math.ceil((_top - memory.buffer.byteLength) / 65536);
    // By half the memory at least, so that growing sizes do not grow it every call; by just enough near its 4 GiB ceiling.
    if (short > 0) {
      try {
        memory.grow(Math.max(short, memory.buffer.byteLength >>> 17));
      } catch {
        memory.grow(short);
      }
    }
  }
  const view = new Float32Array(memory.buffer, place[0], place[1]);
  _places.set(view, place);
  return view;
}

/** dst[dstOff + r·dstLd + c] = src[srcOff + r·srcLd + c] for r < rows, c < cols. */
function _copyRows(src: FloatArray, srcOff: number, srcLd: number, dst: FloatArray, dstOff: number, dstLd: number, rows: number, cols: number): void {
  if (srcLd === cols && dstLd === cols) dst.set(src.subarray(srcOff, srcOff + rows * cols), dstOff);
  else for (let r = 0; r < rows; r++) dst.set(src.subarray(srcOff + r * srcLd, srcOff + r * srcLd + cols), dstOff + r * dstLd);
}

/**
 * c[cOff + i·ldc + j] = Σ_p a[aOff + i·lda + p]·w[j·k + p] for i < m, j < n,
 * in the WebAssembly kernel when w is in its memory; a and c from outside it
 * pass through the staging room. Each element's sum runs in the same order
 * whatever m is, so step() and forward() agree exactly.
 */
function _gemmNT(a: FloatArray, aOff: number, lda: number, w: FloatArray, c: FloatArray, cOff: number, ldc: number, m: number, n: number, k: number): void {
  if (_simd === null || w.buffer !== _simd.memory.buffer || k + n > _SCRATCH) {
    _gemmNTjs(a, aOff, lda, w, c, cOff, ldc, m, n, k);
    return;
  }
  const memory = _simd.memory.buffer;
  const aIn = a.buffer === memory, cIn = c.buffer === memory;
  if (aIn && cIn) {
    _simd.gemm(a.byteOffset + 4 * aOff, lda, w.byteOffset, c.byteOffset + 4 * cOff, ldc, m, n, k);
    return;
  }
  if (_heap.buffer !== memory) _heap = new Float32Array(memory);
  const chunk = Math.floor(_SCRATCH / (k + n));
  for (let i0 = 0; i0 < m; i0 += chunk) {
    const rows = Math.min(chunk, m - i0);
    let aPtr = a.byteOffset + 4 * (aOff + i0 * lda), aLd = lda;
    if (!aIn) {
      _copyRows(a, aOff + i0 * lda, lda, _heap, 0, k, rows, k);
      aPtr = 0;
      aLd = k;
    }
    const cStage = chunk * k;
    _simd.gemm(aPtr, aLd, w.byteOffset, cIn ? c.byteOffset + 4 * (cOff + i0 * ldc) : 4 * cStage, cIn ? ldc : n, rows, n, k);
    if (!cIn) _copyRows(_heap, cStage, n, c, cOff + i0 * ldc, ldc, rows, n);
  }
}
`;

export const EXP_F32 = `
/** 2^k for k = -128..127. */
const _POW2 = new Float64Array(256).map((_, i) => 2 ** (i - 128));

/**
 * e^x within 1e-8 relative (float32 is good to 6e-8): e^x = 2^k·e^r with
 * k = round(x / ln 2), |r| <= ln(2)/2, e^r by its Taylor series to r^7. x is
 * clamped to [-87, 88] first, past which sigmoid and tanh are flat in float32.
 * Math.floor, not Math.round: V8 keeps Math.round's -0 results off the fast path.
 */
function _expf(x: number): number {
  x = Math.max(-87, Math.min(88, x));
  const k = Math.floor(x * 1.4426950408889634 + 0.5);
  const r = x - k * 0.6931471805599453;
  return _POW2[k + 128] * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040)))))));
}
`;

/** The two numbers INIT_HELPERS' initializer switch reads for an initializer. */
export function initArgs(init: Initializer): [number, number] {
  switch (init.kind) {
    case "constant":
      return [init.value, 0];
    case "uniform":
      return [init.low, init.high];
    case "normal":
      return [init.std, 0];
    default:
      return [0, 0];
  }
}

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
