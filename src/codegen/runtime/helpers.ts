// Helpers every generated TypeScript module carries, whatever its precision.
// Embedded by scripts/embed-runtime.ts after LENGTHS (lengths.ts: _describe, _checkLengths);
// the generated module supplies FloatArray.
declare function _describe(value: unknown): string;
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
// Variable-length batches (PyTorch's pack_padded_sequence): row b runs steps 0..lengths[b]-1; after that its state
// is frozen and its outputs are 0. Every row is computed at every step (the kernels stay branch-free) and the
// rows that have ended are then put right, once per step, only from the first step at which some row has ended.

/** The first step at which some row has ended: `steps` when there are no lengths (no row ends early). */
function _firstEnd(lengths: Int32Array | null, steps: number): number {
  let first = steps;
  if (lengths !== null) for (const length of lengths) first = Math.min(first, length);
  return first;
}

/** After step t: an ended row's state after the step is its state before it (hist is [steps + 1, batch, width]). */
function _freezeEnded(hist: FloatArray, t: number, lengths: Int32Array, width: number): void {
  const batch = lengths.length;
  for (let b = 0; b < batch; b++) if (t >= lengths[b]!) hist.copyWithin(((t + 1) * batch + b) * width, (t * batch + b) * width, (t * batch + b + 1) * width);
}

/** Zeroes every (step, row) past the row's length in a [steps, batch, width] array. */
function _zeroEnded<T extends Float32Array | Float64Array>(values: T, steps: number, lengths: Int32Array, width: number): T {
  const batch = lengths.length;
  for (let t = 0; t < steps; t++) for (let b = 0; b < batch; b++) if (t >= lengths[b]!) values.fill(0, (t * batch + b) * width, (t * batch + b + 1) * width);
  return values;
}

/**
 * Before backward step t: an ended row's carried gradient is moved to `parked` and zeroed, so the step (linear in
 * the gradients it is given) adds nothing for that row; `_unparkEnded` then passes it on unchanged, as a frozen
 * state does.
 */
function _parkEnded(carry: FloatArray, parked: FloatArray, t: number, lengths: Int32Array, width: number): void {
  for (let b = 0; b < lengths.length; b++) {
    if (t < lengths[b]!) continue;
    parked.set(carry.subarray(b * width, (b + 1) * width), b * width);
    carry.fill(0, b * width, (b + 1) * width);
  }
}

/** After backward step t: an ended row's gradient before the step is what it was after it. */
function _unparkEnded(carryPrev: FloatArray, parked: FloatArray, t: number, lengths: Int32Array, width: number): void {
  for (let b = 0; b < lengths.length; b++) if (t >= lengths[b]!) carryPrev.set(parked.subarray(b * width, (b + 1) * width), b * width);
}
// END EMBED HELPERS

export { _checkLength, _checkRecord, _checkRows, _firstEnd, _freezeEnded, _parkEnded, _rowsIn, _transpose, _unparkEnded, _zeroEnded };
