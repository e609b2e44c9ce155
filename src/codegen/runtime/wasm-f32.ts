// f32 modules: matrix products in the WebAssembly SIMD kernel of
// src/codegen/ts/wasm.ts, carried as base64 and instantiated synchronously when
// the host validates it (else _gemmNT is the JS kernel, _gemmNTjs); its relaxed
// SIMD copy (fused multiply-adds, _GEMM_RELAXED's patches) where the host
// validates that. Workspaces
// live in the kernel's memory; arrays from outside it are staged through its
// first 256 KiB (_SCRATCH floats), rows at a time. Embedded by
// scripts/embed-runtime.ts; runtime.ts writes `_GEMM_WASM` and `_GEMM_RELAXED` before it, and the
// generated module supplies FloatArray and _gemmNTjs (gemm.ts).
type FloatArray = Float32Array;
declare const FloatArray: Float32ArrayConstructor;
declare const _GEMM_WASM: string;
declare const _GEMM_RELAXED: readonly (readonly number[])[];
declare function _gemmNTjs(a: FloatArray, aOff: number, lda: number, w: FloatArray, c: FloatArray, cOff: number, ldc: number, m: number, n: number, k: number): void;

// BEGIN EMBED WASM_F32
const _SCRATCH = 65536;

interface _Simd {
  readonly memory: WebAssembly.Memory;
  readonly gemm: (a: number, lda: number, w: number, c: number, ldc: number, m: number, n: number, k: number) => void;
  /** Whether the engine took the relaxed-SIMD copy. */
  readonly relaxed: boolean;
}

function _loadSimd(): _Simd | null {
  if (typeof WebAssembly !== "object") return null;
  try {
    const bytes = Uint8Array.from(atob(_GEMM_WASM), (ch) => ch.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return null;
    const relaxed = bytes.slice();
    for (const [at, ...patch] of _GEMM_RELAXED) relaxed.set(patch, at);
    const chosen = WebAssembly.validate(relaxed) ? relaxed : bytes;
    const kernel = new WebAssembly.Instance(new WebAssembly.Module(chosen)).exports as unknown as Omit<_Simd, "relaxed">;
    kernel.memory.grow(_SCRATCH / 16384);
    return { memory: kernel.memory, gemm: kernel.gemm, relaxed: chosen === relaxed };
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

/** A workspace at least `length` long, in the kernel's memory when there is one: the same place while it is big enough. */
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
// END EMBED WASM_F32

// The fused step loops (src/codegen/wasm/step.ts), in modules whose spec they
// cover: render.ts writes `_FORWARD_STEP` and `_BACKWARD_STEP` (their bytes,
// base64; "" where the backward loop is not covered) before this part.
declare const _FORWARD_STEP: string;
declare const _BACKWARD_STEP: string;

// BEGIN EMBED WASM_STEP
/** A fused step loop: (T, B, ...) and the byte addresses of its arrays in the kernel's memory. */
type _StepLoop = (...addresses: number[]) => void;

/**
 * One of the spec's step loops as a WebAssembly function, sharing the
 * kernel's memory and calling its GEMM (the relaxed copy where that was
 * chosen); null where there is none, the kernel did not load or the engine
 * refuses the module (an old Chromium compiles nothing over 4 KiB
 * synchronously), and the module runs that loop in JavaScript.
 */
function _loadStepLoop(base64: string, exported: string): _StepLoop | null {
  if (_simd === null || base64 === "") return null;
  try {
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const imports = { m: { memory: _simd.memory, gemm: _simd.gemm } };
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports[exported] as _StepLoop;
  } catch {
    return null;
  }
}

const _forwardStep = _loadStepLoop(_FORWARD_STEP, "forward");
const _backwardStep = _loadStepLoop(_BACKWARD_STEP, "backward");
// END EMBED WASM_STEP

// A module, so that its names stay its own; not importable (the generated module supplies _GEMM_WASM and _GEMM_RELAXED).
export {};
