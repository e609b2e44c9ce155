// The WebAssembly SIMD matrix product f32 modules carry: a hand-written
// encoder for the few instructions it needs, the kernel built from them, and
// the bytes as base64 for the generated module to instantiate synchronously
// (the encodings are ../wasm/encode.ts'); the kernel is one function. Kept
// under 4 KiB: older Chromium compiles no bigger module synchronously on its
// main thread (headless Chromium 150 allows 8 MiB, measured).
//
// Relaxed SIMD: where the engine has it (Chrome; Node 22+, or Node 20 with
// --experimental-wasm-relaxed-simd), the module loads a copy of the kernel in
// which every multiply-add of the inner loop is one f32x4.relaxed_madd. The
// copy is not carried: it is the same bytes patched by GEMM_RELAXED_PATCHES, which
// keeps the module small enough for Chromium to compile synchronously. Each
// patch swaps 8 bytes for 8: `f32x4.mul; local.get acc; f32x4.add` becomes
// `local.get acc; f32x4.relaxed_madd; nop; nop; nop`.

import {
  F32, I32, MAGIC, V128, add, base64, f32Add, f32Load, f32Mul, f32Store, f32Zero, f32x4Add, f32x4Mul, f32x4RelaxedMadd, f32x4Splat, get, i32, i32Min, lane, ltS, mul,
  name, nop, section, set, uleb, v128Load as v128LoadAt, vector, whileLoop, type Code,
} from "../wasm/encode.ts";

const v128Load = v128LoadAt();

/**
 * Marks where a multiply-add into the v128 local `acc` starts, for the relaxed
 * copy's patch; kernelModule takes the marks out. Negative, so never a byte.
 */
const relaxedMark = (acc: number): number => -1 - acc;
const markedAcc = (mark: number): number => -1 - mark;

/** acc += a·b on the stack [a, b] for `acc` a v128 local: `f32x4.mul; local.get acc; f32x4.add`, marked for the relaxed patch. */
const multiplyAdd = (acc: number): Code => [relaxedMark(acc), ...f32x4Mul, ...get(acc), ...f32x4Add];

/** What replaces multiplyAdd(acc) in the relaxed copy: the same stack effect in as many bytes. */
const relaxedMultiplyAdd = (acc: number): Code => [...get(acc), ...f32x4RelaxedMadd, nop, nop, nop];

// The kernel's parameters (0-7) and locals: i32 8-22, v128 23-38, f32 39-46.
const [A, LDA, W, C, LDC, M, N, K] = [0, 1, 2, 3, 4, 5, 6, 7];
/** Row and column of the block; byte offset along p; bytes of p in whole vectors, and in all; the tile of w's rows. */
const I = 8, J = 9, Q = 10, KV = 11, KB = 12, TILE = 13, TILE_END = 14;
const AROW = 15; // 4 row addresses of a
const WROW = 19; // 4 row addresses of w
const I32_LOCALS = 15;
const ACC = 23; // 8 sums, 4 lanes each
const VA = 31; // 4 loaded vectors of a
const VW = 35; // 4 loaded vectors of w
const V128_LOCALS = 16;
const SUM = 39; // 8 sums, lanes added
const F32_LOCALS = 8;

/**
 * The r×s block of c at rows i, columns j: each element's sum runs over p in
 * the same order whatever the block's shape, 4 lanes for p < k rounded down
 * to 4, the lanes added as (l0 + l1) + (l2 + l3), then the rest in order, so
 * an element's value does not depend on how many rows the call has.
 */
function block(r: number, s: number): Code {
  const code: Code = [];
  for (let x = 0; x < r; x++) code.push(...get(A), ...get(I), ...i32(x), ...add, ...get(LDA), ...mul, ...i32(4), ...mul, ...add, ...set(AROW + x));
  for (let y = 0; y < s; y++) code.push(...get(W), ...get(J), ...i32(y), ...add, ...get(KB), ...mul, ...add, ...set(WROW + y));
  for (let z = 0; z < r * s; z++) code.push(...f32Zero, ...f32x4Splat, ...set(ACC + z));
  const inner: Code = [];
  for (let x = 0; x < r; x++) inner.push(...get(AROW + x), ...get(Q), ...add, ...v128Load, ...set(VA + x));
  for (let y = 0; y < s; y++) inner.push(...get(WROW + y), ...get(Q), ...add, ...v128Load, ...set(VW + y));
  for (let x = 0; x < r; x++) for (let y = 0; y < s; y++) inner.push(...get(VA + x), ...get(VW + y), ...multiplyAdd(ACC + x * s + y), ...set(ACC + x * s + y));
  inner.push(...get(Q), ...i32(16), ...add, ...set(Q));
  code.push(...i32(0), ...set(Q), ...whileLoop([...get(Q), ...get(KV), ...ltS], inner));
  for (let z = 0; z < r * s; z++) {
    const acc = get(ACC + z);
    code.push(...acc, ...lane(0), ...acc, ...lane(1), ...f32Add, ...acc, ...lane(2), ...acc, ...lane(3), ...f32Add, ...f32Add, ...set(SUM + z));
  }
  const tail: Code = [];
  for (let x = 0; x < r; x++) {
    for (let y = 0; y < s; y++) {
      tail.push(...get(SUM + x * s + y), ...get(AROW + x), ...get(Q), ...add, ...f32Load(), ...get(WROW + y), ...get(Q), ...add, ...f32Load(), ...f32Mul, ...f32Add, ...set(SUM + x * s + y));
    }
  }
  tail.push(...get(Q), ...i32(4), ...add, ...set(Q));
  code.push(...whileLoop([...get(Q), ...get(KB), ...ltS], tail));
  for (let x = 0; x < r; x++) {
    for (let y = 0; y < s; y++) {
      code.push(...get(C), ...get(I), ...i32(x), ...add, ...get(LDC), ...mul, ...get(J), ...add, ...i32(y), ...add, ...i32(4), ...mul, ...add, ...get(SUM + x * s + y), ...f32Store());
    }
  }
  return code;
}

/** for (j = from; j + step <= end; j += step) body */
const stepColumns = (step: number, end: number, body: Code): Code => whileLoop([...get(J), ...i32(step), ...add, ...get(end), 0x4c], [...body, ...get(J), ...i32(step), ...add, ...set(J)]);
const stepRows = (step: number, body: Code): Code => whileLoop([...get(I), ...i32(step), ...add, ...get(M), 0x4c], [...body, ...get(I), ...i32(step), ...add, ...set(I)]);

/**
 * gemm(a, lda, w, c, ldc, m, n, k): c[i·ldc + j] = Σ_p a[i·lda + p]·w[j·k + p]
 * for i < m, j < n (byte addresses, strides in elements). Tiles of 64 rows of
 * w stay in cache while 4×2 blocks sweep the rows of a; rows left over take
 * 1×4 blocks, columns left over 4×1 and 1×1 blocks.
 */
function kernelBody(): Code {
  const rowsOfTile = (r: number, wide: number) => [...stepColumns(wide, TILE_END, block(r, wide)), ...stepColumns(1, TILE_END, block(r, 1))];
  const tile: Code = [
    ...get(TILE), ...i32(64), ...add, ...set(TILE_END),
    ...i32Min(get(TILE_END), get(N)), ...set(TILE_END),
    ...i32(0), ...set(I),
    ...stepRows(4, [...get(TILE), ...set(J), ...rowsOfTile(4, 2)]),
    ...stepRows(1, [...get(TILE), ...set(J), ...rowsOfTile(1, 4)]),
    ...get(TILE_END), ...set(TILE),
  ];
  return [
    ...get(K), ...i32(4), ...mul, ...set(KB),
    ...get(K), ...i32(-4), 0x71, ...i32(4), ...mul, ...set(KV),
    ...i32(0), ...set(TILE),
    ...whileLoop([...get(TILE), ...get(N), ...ltS], tile),
  ];
}

/** The kernel module's bytes, and the patches that make its relaxed copy (see GEMM_RELAXED_PATCHES). */
function kernelModule(): { bytes: Uint8Array; relaxed: number[][] } {
  const type = vector([[0x60, ...vector(Array.from({ length: 8 }, () => [I32])), 0]]);
  const marked = kernelBody();
  const code = marked.filter((byte) => byte >= 0);
  // Each mark's place in the code without the marks before it, and its accumulator.
  const marks = marked.flatMap((byte, at) => (byte < 0 ? [{ at, acc: markedAcc(byte) }] : [])).map((m, before) => ({ at: m.at - before, acc: m.acc }));
  const body = [...vector([[...uleb(I32_LOCALS), I32], [...uleb(V128_LOCALS), V128], [...uleb(F32_LOCALS), F32]]), ...code, 0x0b];
  const bytes = [
    ...MAGIC,
    ...section(1, type),
    ...section(3, vector([uleb(0)])),
    ...section(5, vector([[0x00, ...uleb(1)]])),
    ...section(7, vector([[...name("memory"), 0x02, 0], [...name("gemm"), 0x00, 0]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ];
  // The function body ends the module: its code starts where the code and the closing `end` leave off.
  const codeStart = bytes.length - 1 - code.length;
  return { bytes: Uint8Array.from(bytes), relaxed: marks.map((m) => [codeStart + m.at, ...relaxedMultiplyAdd(m.acc)]) };
}

const KERNEL = kernelModule();

/** The kernel module's bytes, base64: the same text for every compile. */
export const GEMM_WASM_BASE64 = base64(KERNEL.bytes);

/** The relaxed copy's patches: [byte offset, ...the bytes written there], one per multiply-add of the kernel. */
export const GEMM_RELAXED_PATCHES: readonly (readonly number[])[] = KERNEL.relaxed;
