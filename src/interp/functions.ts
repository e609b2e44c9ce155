// The scalar functions of the language and their derivatives, in float64.
import { HARD_SIGMOID_ALPHA, HARD_SIGMOID_BETA, type UnaryFunction } from "../ir/types.ts";

export function sigmoid(x: number): number {
  // Both branches avoid exp of a large positive number.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

export const FUNCTIONS: Record<UnaryFunction, { value: (x: number) => number; derivative: (x: number) => number }> = {
  sigmoid: { value: sigmoid, derivative: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  tanh: { value: Math.tanh, derivative: (x) => 1 - Math.tanh(x) ** 2 },
  relu: { value: (x) => (x > 0 ? x : 0), derivative: (x) => (x > 0 ? 1 : 0) },
  exp: { value: Math.exp, derivative: Math.exp },
  log: { value: Math.log, derivative: (x) => 1 / x },
  softsign: { value: (x) => x / (1 + Math.abs(x)), derivative: (x) => 1 / (1 + Math.abs(x)) ** 2 },
  softplus: { value: softplus, derivative: sigmoid },
  hard_sigmoid: {
    value: (x) => Math.max(0, Math.min(1, HARD_SIGMOID_ALPHA * x + HARD_SIGMOID_BETA)),
    derivative: (x) => {
      const y = HARD_SIGMOID_ALPHA * x + HARD_SIGMOID_BETA;
      return y > 0 && y < 1 ? HARD_SIGMOID_ALPHA : 0;
    },
  },
  identity: { value: (x) => x, derivative: () => 1 },
  sqrt: { value: Math.sqrt, derivative: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { value: (x) => 1 / Math.sqrt(x), derivative: (x) => -0.5 / (x * Math.sqrt(x)) },
  abs: { value: Math.abs, derivative: Math.sign },
  floor: { value: Math.floor, derivative: () => 0 },
};
