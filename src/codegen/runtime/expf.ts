// e^x to float32 accuracy, for f32 modules' sigmoid and tanh (render.ts
// writes them through it). Embedded by scripts/embed-runtime.ts.

// BEGIN EMBED EXP_F32
/** 2^k for k = -128..127. */
const _POW2 = new Float64Array(256).map((_, i) => 2 ** (i - 128));

/**
 * e^x within 1e-8 relative (float32 is good to 6e-8): e^x = 2^k·e^r with
 * k = round(x / ln 2), |r| <= ln(2)/2, e^r by its Taylor series to r^7. x is
 * clamped to [-87, 88] first, past which sigmoid and tanh are flat in float32.
 * Math.floor, not Math.round: V8 keeps Math.round's -0 results off the fast path.
 */
function _expf(x: number): number {
  x = Math.max(-87, Math.min(88, x));
  const k = Math.floor(x * 1.4426950408889634 + 0.5);
  const r = x - k * 0.6931471805599453;
  return _POW2[k + 128]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040)))))));
}
// END EMBED EXP_F32

export { _expf };
