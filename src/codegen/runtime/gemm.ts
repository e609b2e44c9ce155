// The register-blocked JS matrix product every generated TypeScript module
// carries: `_gemmNT` in f64 modules, `_gemmNTjs` (the fallback behind the
// WebAssembly kernel) in f32 ones; runtime.ts renames it. Embedded by
// scripts/embed-runtime.ts; the generated module supplies FloatArray.
type FloatArray = Float32Array | Float64Array;

// BEGIN EMBED GEMM_NT
/**
 * c[cOff + i·ldc + j] = Σ_p a[aOff + i·lda + p]·w[j·k + p] for i < m, j < n.
 * 4×4 register blocks (16 sums stay in registers; 4×8 or wider spills in V8),
 * over tiles of 64 rows of a so a tile and four rows of w stay in cache; rows
 * left over take 1×4 blocks, columns left over a plain dot product.
 */
function _gemmNT(a: FloatArray, aOff: number, lda: number, w: FloatArray, c: FloatArray, cOff: number, ldc: number, m: number, n: number, k: number): void {
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
          const y0 = w[w0 + p]!, y1 = w[w1 + p]!, y2 = w[w2 + p]!, y3 = w[w3 + p]!;
          let x = a[a0 + p]!;
          s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
          x = a[a1 + p]!;
          s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
          x = a[a2 + p]!;
          s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
          x = a[a3 + p]!;
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
          const x = a[a0 + p]!;
          s0 += x * w[w0 + p]!; s1 += x * w[w1 + p]!; s2 += x * w[w2 + p]!; s3 += x * w[w3 + p]!;
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
        for (let p = 0; p < k; p++) s += a[a0 + p]! * w[w0 + p]!;
        c[cOff + i * ldc + j] = s;
      }
    }
  }
}
// END EMBED GEMM_NT

export { _gemmNT };
