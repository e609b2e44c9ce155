// The functions a spec may call, and how many arguments each takes. Unary
// functions become `apply` nodes; the rest are built from the IR's
// primitives by the builder (mean is sum / n, softmax subtracts the max,
// layernorm is its formula), so each means exactly what its primitives mean.
import { UNARY_FUNCTIONS } from "./types.ts";

export const FUNCTION_ARITY: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ...UNARY_FUNCTIONS.map((fn): [string, readonly number[]] => [fn, [1]]),
  // max(v) is the largest element of a vector; max(a, b) and min(a, b) are elementwise.
  ["max", [1, 2]],
  ["min", [2]],
  ["mod", [2]],
  ["where", [3]],
  ["sum", [1]],
  ["mean", [1]],
  ["dot", [2]],
  ["softmax", [1]],
  ["layernorm", [4]],
  ["iota", [1]],
]);

export const KNOWN_FUNCTIONS: readonly string[] = [...FUNCTION_ARITY.keys()];

/** The step index, counted from 0. A spec that declares a name `t` reads its own `t` instead. */
export const STEP_INDEX = "t";
