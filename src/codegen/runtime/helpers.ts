// Helpers every generated TypeScript module carries, whatever its precision.
// Embedded by scripts/embed-runtime.ts; the generated module supplies FloatArray.
type FloatArray = Float32Array | Float64Array;

// BEGIN EMBED HELPERS
/** dst[c·rows + r] = src[srcOff + r·cols + c]: a [rows, cols] block, transposed. */
function _transpose(src: FloatArray, srcOff: number, rows: number, cols: number, dst: FloatArray): void {
  for (let r0 = 0; r0 < rows; r0 += 32) {
    const r1 = Math.min(rows, r0 + 32);
    for (let c = 0; c < cols; c++) {
      for (let r = r0; r < r1; r++) dst[c * rows + r] = src[srcOff + r * cols + c]!;
    }
  }
}

function _checkLength(array: FloatArray | undefined, length: number, what: string): FloatArray {
  if (array === undefined) throw new Error(`${what} is missing`);
  if (array.length !== length) throw new Error(`${what} has ${array.length} numbers, expected ${length}`);
  return array;
}
// END EMBED HELPERS

export { _checkLength, _transpose };
