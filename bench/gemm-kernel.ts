// `npm run bench:gemm`: the f32 modules' WebAssembly SIMD matrix product
// (src/codegen/ts/wasm.ts) alone, on operands already in its memory, at the
// products the benchmark's cells run: one row (batch-1 steps), the hoisted
// input projections, and the large batches' steps. Prints GFLOP/s (2·m·n·k per
// call), the median of 9 samples; `--relaxed` loads the relaxed-SIMD copy
// (needs an engine with relaxed SIMD, e.g. node --experimental-wasm-relaxed-simd).
// What it leaves out (copies into and out of the memory, the gate maths) is
// what separates these figures from a whole forward's.
import { GEMM_RELAXED_PATCHES, GEMM_WASM_BASE64 } from "../src/codegen/ts/wasm.ts";

interface Kernel {
  readonly gemm: (a: number, lda: number, w: number, c: number, ldc: number, m: number, n: number, k: number) => void;
  readonly memory: WebAssembly.Memory;
}

function loadKernel(relaxed: boolean): Kernel {
  const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
  if (relaxed) for (const [at, ...patch] of GEMM_RELAXED_PATCHES) bytes.set(patch, at);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Kernel;
  return exports;
}

/** [m, n, k, what]: the shapes of the benchmark's LSTM/GRU products (n = gates·H, k = I or H). */
const SHAPES: [number, number, number, string][] = [
  [1, 128, 32, "LSTM (1,32,32) step: U @ h"],
  [100, 128, 32, "LSTM (1,32,32): W @ x, all steps"],
  [1, 512, 128, "LSTM (1,128,128) step: U @ h"],
  [1, 384, 128, "GRU (1,128,128) step: U @ h"],
  [100, 512, 128, "LSTM (1,128,128): W @ x, all steps"],
  [16, 1024, 256, "LSTM (16,128,256) step: U @ h"],
  [800, 1024, 128, "LSTM (16,128,256): W @ x, all steps"],
  [64, 2048, 512, "LSTM (64,256,512) step: U @ h"],
  [1280, 2048, 256, "LSTM (64,256,512): W @ x, all steps"],
];

function measure(kernel: Kernel, m: number, n: number, k: number): number {
  const floats = (m + n) * k + m * n;
  const pages = Math.ceil((floats * 4 + 64) / 65536) - kernel.memory.buffer.byteLength / 65536;
  if (pages > 0) kernel.memory.grow(pages);
  const heap = new Float32Array(kernel.memory.buffer);
  for (let i = 0; i < floats; i++) heap[i] = Math.sin(i) * 0.1;
  const [a, w, c] = [0, 4 * m * k, 4 * (m + n) * k];
  const reps = Math.max(1, Math.round(1e8 / (2 * m * n * k)));
  const samples: number[] = [];
  for (let s = 0; s < 9; s++) {
    const start = performance.now();
    for (let r = 0; r < reps; r++) kernel.gemm(a, k, w, c, n, m, n, k);
    samples.push((performance.now() - start) / reps);
  }
  samples.sort((x, y) => x - y);
  return (2 * m * n * k) / (samples[4] * 1e6);
}

const relaxed = process.argv.includes("--relaxed");
const kernel = loadKernel(relaxed);
// Warm-up: V8 first runs the kernel in its baseline compiler and swaps in the optimised code later.
for (const [m, n, k] of SHAPES) measure(kernel, m, n, k);
console.log(`GEMM kernel alone (${relaxed ? "relaxed SIMD" : "SIMD"}), c[m,n] = a[m,k]·w[n,k]ᵀ`);
console.log(`${"m".padStart(5)} ${"n".padStart(5)} ${"k".padStart(4)}  GFLOP/s  product`);
for (const [m, n, k, what] of SHAPES) console.log(`${String(m).padStart(5)} ${String(n).padStart(5)} ${String(k).padStart(4)}  ${measure(kernel, m, n, k).toFixed(1).padStart(7)}  ${what}`);
