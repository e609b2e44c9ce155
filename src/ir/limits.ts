// The largest tensors lstmc agrees to describe. Every buffer an engine or a
// generated module allocates is one of these shapes, times steps and batch at
// most, so a size past the limit is refused up front (E206) instead of failing
// later as "Array buffer allocation failed" or an invalid typed-array length.
import { elementCount, formatShape } from "./dims.ts";
import type { Shape } from "./types.ts";

/** 2^28 elements: 1 GiB as f32, 2 GiB as f64, well inside what a typed array can hold (2^32 - 1 elements in Node 20). */
export const MAX_ELEMENTS = 2 ** 28;

/** One named thing to be allocated: a declaration, an expression's value, or a run buffer. */
export interface Allocation {
  /** e.g. "parameter 'W'", "the history of input 'x'" */
  readonly what: string;
  readonly shape: Shape;
  /** Extra leading factors (steps, batch) in front of the shape, with their names. */
  readonly outer?: readonly (readonly [string, number])[];
}

export interface Oversized {
  readonly what: string;
  readonly elements: number;
  /** How the count came about, e.g. "[H, I] with H=65536, I=65536". */
  readonly detail: string;
}

/** The first allocation whose element count is beyond MAX_ELEMENTS, or null. */
export function firstOversized(allocations: readonly Allocation[], sizes: Readonly<Record<string, number>>): Oversized | null {
  for (const a of allocations) {
    const outer = a.outer ?? [];
    const elements = outer.reduce((n, [, v]) => n * v, elementCount(a.shape, sizes));
    if (elements <= MAX_ELEMENTS) continue;
    const used = [...new Set(a.shape.flatMap((d) => d.terms.map(([name]) => name)))].sort();
    const bindings = [...outer.map(([name, v]) => `${name}=${v}`), ...used.map((name) => `${name}=${sizes[name]}`)];
    const shape = outer.length > 0 ? `[${[...outer.map(([name]) => name), formatShape(a.shape).replace(/^\[|\]$/g, "")].join(", ")}]` : formatShape(a.shape);
    return { what: a.what, elements, detail: bindings.length > 0 ? `${shape} with ${bindings.join(", ")}` : shape };
  }
  return null;
}
