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

/** `array` as a Float32Array or Float64Array of `length` numbers; else an error naming the argument. */
function _checkLength(array: unknown, length: number, what: string): Float32Array | Float64Array {
  if (array === undefined) throw new Error(`${what} is missing`);
  if (!(array instanceof Float32Array || array instanceof Float64Array)) throw new Error(`${what} must be a Float32Array or Float64Array, not ${_describe(array)}`);
  if (array.length !== length) throw new Error(`${what} has ${array.length} numbers, expected ${length}`);
  return array;
}

function _describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an Array" : typeof value === "object" ? `a ${(value as object).constructor?.name ?? "object"}` : typeof value;
}

/** `value` as an object of this cell's arrays: a name that is not the cell's (a typo) is an error, never silently unused. */
function _checkRecord(value: unknown, what: string, names: ReadonlySet<string>): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what} must be an object with the arrays ${[...names].join(", ") || "(none)"}, not ${_describe(value)}`);
  // for-in and a set, not Object.keys and a list: this runs on every step() call.
  for (const name in value) if (!names.has(name) && Object.prototype.hasOwnProperty.call(value, name)) throw new Error(`${what}.${name} is not one of this cell's names here (${[...names].join(", ") || "none"})`);
  return value as Readonly<Record<string, unknown>>;
}

/** Batch rows: a whole number from 1 up, small enough that `rows · width` numbers fit in one typed array. */
function _checkRows(rows: unknown, width: number, what: string): number {
  if (typeof rows !== "number" || !Number.isInteger(rows) || rows < 1) throw new Error(`${what} must be a whole number of rows from 1 up, not ${typeof rows === "number" ? rows : _describe(rows)}`);
  if (rows * width > 0x7fffffff) throw new Error(`${what}: ${rows} rows of ${width} numbers do not fit in one typed array`);
  return rows;
}

/** How many rows of `width` numbers `array` holds; an error unless it is a whole number from 1 up. */
function _rowsIn(array: unknown, width: number, what: string): number {
  if (array === undefined) throw new Error(`${what} is missing`);
  if (!(array instanceof Float32Array || array instanceof Float64Array)) throw new Error(`${what} must be a Float32Array or Float64Array, not ${_describe(array)}`);
  const rows = array.length / width;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`${what} has ${array.length} numbers: not a whole number of rows of ${width}`);
  return rows;
}
// END EMBED HELPERS

export { _checkLength, _checkRecord, _checkRows, _rowsIn, _transpose };
