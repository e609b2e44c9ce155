// What a parameter's initializer means, given a seed. Every engine's
// initParams(seed) must give exactly these numbers: the arithmetic lives in
// src/runtime/init.ts, which generated modules embed, so there is one PRNG.
import { _initialValues, _makeRandom, _normalSample, _parameterSeed, type _InitializerKind } from "../runtime/init.ts";
import { elementCount, evaluateDim } from "./dims.ts";
import type { SizeBinding } from "./bind.ts";
import type { CellIR, Initializer, Shape } from "./types.ts";

export { _makeRandom as makeRandom, _normalSample as normalSample, _parameterSeed as parameterSeed };

/** The kind and the two numbers `_initialValues` reads for an initializer. */
export function initializerArgs(init: Initializer): [_InitializerKind, number, number] {
  switch (init.kind) {
    case "constant":
      return [init.kind, init.value, 0];
    case "uniform":
      return [init.kind, init.low, init.high];
    case "normal":
      return [init.kind, init.std, 0];
    default:
      return [init.kind, 0, 0];
  }
}

/** A vector is one column; a scalar is 1 × 1. */
export function initializerRowsCols(shape: Shape, sizes: SizeBinding): [number, number] {
  return shape.length === 2 ? [evaluateDim(shape[0]!, sizes), evaluateDim(shape[1]!, sizes)] : [elementCount(shape, sizes), 1];
}

export function initialValues(init: Initializer, shape: Shape, sizes: SizeBinding, seed: number): Float64Array {
  const [kind, a, b] = initializerArgs(init);
  const [rows, cols] = initializerRowsCols(shape, sizes);
  return _initialValues(kind, a, b, rows, cols, seed, new Float64Array(rows * cols));
}

export function initParams(ir: CellIR, sizes: SizeBinding, seed: number): Record<string, Float64Array> {
  return Object.fromEntries(ir.params.map((p) => [p.name, initialValues(p.init, p.shape, sizes, _parameterSeed(seed, p.name))]));
}
