// The op -> WGSL table: how each scalar operation of the shared lowering is
// written in WGSL (f32). The kernel layout lives in kernels.ts; this file only
// knows syntax.
import { HARD_SIGMOID_ALPHA, HARD_SIGMOID_BETA, type UnaryFunction } from "../../ir/types.ts";
import { BINARY_OPERATORS, type ExpressionSyntax } from "../expression.ts";
import { CodegenError } from "../names.ts";

/** The largest finite float32: WGSL literals, and numbers `check --target wgsl` accepts. */
export const F32_MAX = 3.4028234663852886e38;

/** An f32 literal: `1f`, `-0.5f`, `1e-7f`. */
export function f32(x: number): string {
  if (!Number.isFinite(x) || Math.abs(x) > F32_MAX) throw new CodegenError(`the constant ${x} is not a finite f32`);
  const text = Object.is(x, -0) ? "-0" : String(x);
  return `${text}f`;
}

export function u32(x: number): string {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new CodegenError(`internal: ${x} is not a u32`);
  return `${x}u`;
}

/**
 * Helpers every module carries. σ and tanh never form exp of a large positive
 * number, so no argument (±1e30, ±inf) gives NaN whatever the platform's
 * built-in tanh does; small |x| uses the odd series so tanh keeps its relative
 * precision near 0 (1 - exp(-2|x|) would cancel there).
 */
export const WGSL_PRELUDE = `fn _sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1f + e), 1f / (1f + e), x >= 0f);
}

fn _tanh(x: f32) -> f32 {
  let a = abs(x);
  let x2 = x * x;
  let series = x * (1f - x2 * (1f / 3f - x2 * (2f / 15f - x2 * (17f / 315f))));
  let e = exp(-2f * a);
  let far = (1f - e) / (1f + e);
  return select(select(-far, far, x >= 0f), series, a < 0.25f);
}

fn _log1p(y: f32) -> f32 {
  return select(log(1f + y), y * (1f - y * (0.5f - y * (1f / 3f - y * 0.25f))), abs(y) < 0.01f);
}

fn _expm1(x: f32) -> f32 {
  return select(exp(x) - 1f, x * (1f + x * (0.5f + x * (1f / 6f + x / 24f))), abs(x) < 0.01f);
}

fn _softplus(x: f32) -> f32 {
  return select(_log1p(exp(x)), x + _log1p(exp(-x)), x > 0f);
}`;

/** y = f(x). */
export const FUNCTION_SYNTAX: Record<UnaryFunction, (x: string) => string> = {
  sigmoid: (x) => `_sigmoid(${x})`,
  tanh: (x) => `_tanh(${x})`,
  relu: (x) => `max(${x}, 0f)`,
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x})`,
  softsign: (x) => `(${x}) / (1f + abs(${x}))`,
  softplus: (x) => `_softplus(${x})`,
  hard_sigmoid: (x) => `clamp(${f32(HARD_SIGMOID_ALPHA)} * (${x}) + ${f32(HARD_SIGMOID_BETA)}, 0f, 1f)`,
  identity: (x) => `(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  rsqrt: (x) => `inverseSqrt(${x})`,
  abs: (x) => `abs(${x})`,
  floor: (x) => `floor(${x})`,
};

/** f'(x), written from the saved output y (for log and abs, from the saved input x). */
export const DERIVATIVE_SYNTAX: Record<UnaryFunction, (v: string) => string> = {
  sigmoid: (y) => `(${y}) * (1f - (${y}))`,
  tanh: (y) => `(1f - (${y}) * (${y}))`,
  relu: (y) => `select(0f, 1f, (${y}) > 0f)`,
  exp: (y) => `(${y})`,
  log: (x) => `(1f / (${x}))`,
  softsign: (y) => `((1f - abs(${y})) * (1f - abs(${y})))`,
  softplus: (y) => `(-_expm1(-(${y})))`,
  hard_sigmoid: (y) => `select(0f, ${f32(HARD_SIGMOID_ALPHA)}, (${y}) > 0f && (${y}) < 1f)`,
  identity: () => `1f`,
  sqrt: (y) => `(0.5f / (${y}))`,
  rsqrt: (y) => `(-0.5f * (${y}) * (${y}) * (${y}))`,
  abs: (x) => `sign(${x})`,
  floor: () => `0f`,
};


const comparison = (op: string) => (a: string, b: string) => `select(0f, 1f, (${a}) ${op} (${b}))`;

/** WGSL's pow is undefined for a negative base: an integer exponent takes |x|'s power and its sign; x^0 is 1. */
const power = (a: string, b: string) => {
  const negative = `pow(-(${a}), ${b})`;
  return `select(select(pow(${a}, ${b}), select(${negative}, -${negative}, fract((${b}) * 0.5f) != 0f), (${a}) < 0f && (${b}) == floor(${b})), 1f, (${b}) == 0f)`;
};

/** pow, floored mod, min, max and comparisons, as the interpreter means them. */
const OPERATORS: ExpressionSyntax["operators"] = {
  pow: power,
  mod: (a, b) => `(${a}) - (${b}) * floor((${a}) / (${b}))`,
  min: (a, b) => `min(${a}, ${b})`,
  max: (a, b) => `max(${a}, ${b})`,
  lt: comparison("<"),
  le: comparison("<="),
  gt: comparison(">"),
  ge: comparison(">="),
  eq: comparison("=="),
  ne: comparison("!="),
};

/** The op -> WGSL table for the shared expression walker. */
export const WGSL_SYNTAX: ExpressionSyntax = {
  literal: (value) => `(${f32(value)})`,
  binary: BINARY_OPERATORS,
  neg: (x) => `(-${x})`,
  operators: OPERATORS,
  select: (c, a, b) => `select(${b}, ${a}, (${c}) != 0f)`,
  step: "f32(sizes.t0 + t)",
  index: (stride, extent) => `f32((j / ${u32(stride)}) % ${u32(extent)})`,
  functions: FUNCTION_SYNTAX,
  derivatives: DERIVATIVE_SYNTAX,
};
