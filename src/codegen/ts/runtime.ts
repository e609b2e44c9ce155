// The fixed helpers every generated TypeScript module carries (generated
// modules import nothing). Their source is real TypeScript in
// src/codegen/runtime/, embedded as text by scripts/embed-runtime.ts;
// `FloatArray` is the module's element type alias. initParams' helpers mirror
// src/ir/initialize.ts operation for operation, so the numbers are the same
// bits; the tests hold them to that.
import * as EMBEDDED from "../runtime/embedded.ts";
import { GEMM_RELAXED_PATCHES, GEMM_WASM_BASE64 } from "./wasm.ts";
import { base64 } from "../wasm/encode.ts";
import type { ForwardStepModule } from "../wasm/step.ts";

/** The JS matrix product (runtime/gemm.ts) as the function `name`: `_gemmNT`, or `_gemmNTjs` behind the WebAssembly kernel. */
export const gemmNT = (name: string): string => {
  const declaration = "function _gemmNT(";
  if (EMBEDDED.GEMM_NT.split(declaration).length !== 2) throw new Error(`runtime/gemm.ts must declare ${declaration}...) once`);
  return "\n" + EMBEDDED.GEMM_NT.replace(declaration, `function ${name}(`) + "\n";
};

/** _transpose, _checkLength ... (runtime/helpers.ts), after the lengths check they use (runtime/lengths.ts). */
export const HELPERS = "\n" + EMBEDDED.LENGTHS + EMBEDDED.HELPERS;

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
export const WASM_F32 =
  `\nconst _GEMM_WASM = "${GEMM_WASM_BASE64}";\n` +
  `/** Where engines have relaxed SIMD: [byte offset, bytes] patches that make each multiply-add of _GEMM_WASM one fused f32x4.relaxed_madd. */\n` +
  `const _GEMM_RELAXED: readonly (readonly number[])[] = ${JSON.stringify(GEMM_RELAXED_PATCHES)};\n` +
  EMBEDDED.WASM_F32;

/** f32 modules whose forward step src/codegen/wasm/step.ts covers: its loops' bytes and loader (runtime/wasm-f32.ts). */
export const wasmStep = (fused: ForwardStepModule): string =>
  `\nconst _FORWARD_STEP = "${base64(fused.bytes)}";\nconst _BACKWARD_STEP = "${fused.backward ? base64(fused.backward.bytes) : ""}";\n` + EMBEDDED.WASM_STEP;

/** e^x to float32 accuracy, for f32 modules' sigmoid and tanh (runtime/expf.ts). */
export const EXP_F32 = "\n" + EMBEDDED.EXP_F32;

/** initParams' helpers: the one PRNG and the initializers of src/runtime/init.ts, as the interpreter uses them. */
export const INIT_HELPERS = "\n" + EMBEDDED.INIT_HELPERS;

/** The safetensors encoder and decoder (src/runtime/safetensors.ts), for saveParams and loadParams. */
export const SAFETENSORS = "\n" + EMBEDDED.SAFETENSORS;
