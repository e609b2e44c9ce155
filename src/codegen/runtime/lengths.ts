// The one check of a `lengths` argument (per-row sequence lengths, PyTorch's
// pack_padded_sequence), which every generated module carries with the same
// words: the TypeScript cell modules (with HELPERS), the WebGPU host driver and
// the model driver. Embedded by scripts/embed-runtime.ts before the parts that
// call it; in a model module the cells' closed scopes hold their own copy.

// BEGIN EMBED LENGTHS
/** What a refused argument is, for messages: null, an Array, a <constructor's name>, or its typeof. */
function _describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an Array" : typeof value === "object" ? `a ${(value as object).constructor?.name ?? "object"}` : typeof value;
}

/** Per-row lengths: `batch` whole numbers from 1 to `steps`; else an error naming the argument. */
function _checkLengths(lengths: unknown, batch: number, steps: number, what: string): Int32Array {
  if (typeof lengths !== "object" || lengths === null || typeof (lengths as ArrayLike<unknown>).length !== "number") throw new Error(`${what} must be an array of ${batch} whole numbers (one per batch row), not ${_describe(lengths)}`);
  const list = lengths as ArrayLike<unknown>;
  if (list.length !== batch) throw new Error(`${what} has ${list.length} numbers, expected ${batch} (one per batch row)`);
  const checked = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const length = list[b];
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1 || length > steps) throw new Error(`${what}[${b}] must be a whole number from 1 to steps = ${steps}, not ${typeof length === "number" ? length : _describe(length)}`);
    checked[b] = length;
  }
  return checked;
}
// END EMBED LENGTHS

export { _checkLengths, _describe };
