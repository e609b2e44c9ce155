// The fixed helpers every generated TypeScript module carries (generated
// modules import nothing). Their source is real TypeScript in
// src/codegen/runtime/, embedded as text by scripts/embed-runtime.ts;
// `FloatArray` is the module's element type alias. initParams' helpers mirror
// src/ir/initialize.ts operation for operation, so the numbers are the same
// bits; the tests hold them to that.
import type { Initializer } from "../../ir/types.ts";
import * as EMBEDDED from "../runtime/embedded.ts";
import { GEMM_WASM_BASE64 } from "./wasm.ts";

/** The JS matrix product (runtime/gemm.ts) as the function `name`: `_gemmNT`, or `_gemmNTjs` behind the WebAssembly kernel. */
export const gemmNT = (name: string): string => {
  const declaration = "function _gemmNT(";
  if (EMBEDDED.GEMM_NT.split(declaration).length !== 2) throw new Error(`runtime/gemm.ts must declare ${declaration}...) once`);
  return "\n" + EMBEDDED.GEMM_NT.replace(declaration, `function ${name}(`) + "\n";
};

/** _transpose and _checkLength (runtime/helpers.ts). */
export const HELPERS = "\n" + EMBEDDED.HELPERS;

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
    const loads = Array.from({ length: width }, (_, p) => `x${p} = a[aOff + ${at(p)}]!`);
    const chains = Math.min(4, width);
    const sums = Array.from({ length: chains }, (_, c) => {
      const terms: string[] = [];
      for (let p = c; p < width; p += chains) terms.push(`w[r${p ? ` + ${p}` : ""}]! * x${p}`);
      return terms.join(" + ");
    });
    const value = sums.length === 1 ? sums[0]! : `(${sums.join(") + (")})`;
    const row = (op: string) => `for (let j = 0; j < ${rows}; j++) {\n      const r = j * ${depth}${start === "0" ? "" : ` + ${start}`};\n      c[cOff + j]${op === "+=" ? "!" : ""} ${op} ${value};\n    }`;
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

/** Workspaces in ordinary arrays (runtime/grow-js.ts): f64 modules, and f32 ones where WebAssembly SIMD is missing. */
export const GROW_JS = "\n" + EMBEDDED.GROW_JS;

/** f32 modules: matrix products in the WebAssembly SIMD kernel of wasm.ts, workspaces in its memory (runtime/wasm-f32.ts). */
export const WASM_F32 = `\nconst _GEMM_WASM = "${GEMM_WASM_BASE64}";\n` + EMBEDDED.WASM_F32;

/** e^x to float32 accuracy, for f32 modules' sigmoid and tanh (runtime/expf.ts). */
export const EXP_F32 = "\n" + EMBEDDED.EXP_F32;

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
