// Dimensions are linear combinations of size variables, kept in one canonical
// form so that two shapes are equal exactly when their data is equal.
import type { Dim, Shape, SizeFormula } from "./types.ts";

export function constantDim(value: number): Dim {
  return { constant: value, terms: [] };
}

export function sizeDim(name: string): Dim {
  return { constant: 0, terms: [[name, 1]] };
}

function normalise(constant: number, coefficients: Map<string, number>): Dim {
  const terms = [...coefficients.entries()].filter(([, c]) => c !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { constant, terms };
}

export function addDims(a: Dim, b: Dim, sign: 1 | -1 = 1): Dim {
  const coefficients = new Map(a.terms);
  for (const [name, c] of b.terms) coefficients.set(name, (coefficients.get(name) ?? 0) + sign * c);
  return normalise(a.constant + sign * b.constant, coefficients);
}

/** The product of two dims, or null when both depend on sizes (that would not be linear). */
export function multiplyDims(a: Dim, b: Dim): Dim | null {
  if (a.terms.length > 0 && b.terms.length > 0) return null;
  const [scale, dim] = a.terms.length === 0 ? [a.constant, b] : [b.constant, a];
  return normalise(scale * dim.constant, new Map(dim.terms.map(([n, c]) => [n, c * scale])));
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return a.constant === b.constant && a.terms.length === b.terms.length && a.terms.every(([n, c], i) => b.terms[i]![0] === n && b.terms[i]![1] === c);
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimsEqual(d, b[i]!));
}

export function formatDim(d: Dim): string {
  const parts: string[] = [];
  for (const [name, c] of d.terms) {
    const magnitude = Math.abs(c) === 1 ? name : `${Math.abs(c)}*${name}`;
    parts.push(parts.length === 0 ? (c < 0 ? `-${magnitude}` : magnitude) : `${c < 0 ? "-" : "+"} ${magnitude}`);
  }
  if (d.constant !== 0 || parts.length === 0) {
    parts.push(parts.length === 0 ? String(d.constant) : `${d.constant < 0 ? "-" : "+"} ${Math.abs(d.constant)}`);
  }
  return parts.join(" ");
}

export function formatShape(s: Shape): string {
  return s.length === 0 ? "scalar" : `[${s.map(formatDim).join(", ")}]`;
}

export function evaluateDim(d: Dim, sizes: Readonly<Record<string, number>>): number {
  return d.terms.reduce((sum, [name, c]) => sum + c * sizes[name]!, d.constant);
}

/** The number of elements of a shape once sizes are bound. */
export function elementCount(s: Shape, sizes: Readonly<Record<string, number>>): number {
  return s.reduce((n, d) => n * evaluateDim(d, sizes), 1);
}

/** A defined size's value from the sizes declared before it. */
export function evaluateSizeFormula(f: SizeFormula, sizes: Readonly<Record<string, number>>): number {
  switch (f.kind) {
    case "number":
      return f.value;
    case "size":
      return sizes[f.name]!;
    case "binary": {
      const [a, b] = [evaluateSizeFormula(f.left, sizes), evaluateSizeFormula(f.right, sizes)];
      return f.op === "+" ? a + b : f.op === "-" ? a - b : a * b;
    }
  }
}
