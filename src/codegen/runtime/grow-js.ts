// Workspaces in ordinary arrays: f64 modules, and f32 ones where WebAssembly
// SIMD is missing. Embedded by scripts/embed-runtime.ts; the generated module
// supplies FloatArray (type and constructor).
type FloatArray = Float64Array;
const FloatArray = Float64Array;

// BEGIN EMBED GROW_JS
/** A workspace at least `length` long: the same array while it is big enough. */
function _grow(array: FloatArray, length: number): FloatArray {
  return array.length >= length ? array : new FloatArray(length);
}
// END EMBED GROW_JS

export { _grow };
