// Binding the size variables to numbers, for one run or one compilation.
import { evaluateDim, formatDim } from "./dims.ts";
import type { CellIR, Shape } from "./types.ts";

export type SizeBinding = Readonly<Record<string, number>>;

export class SizeBindingError extends Error {}

/**
 * Gives every size a positive whole number: from `given`, else the spec's
 * default. Throws SizeBindingError naming the size when that is not possible.
 */
export function bindSizes(ir: CellIR, given: Readonly<Record<string, number>> = {}): SizeBinding {
  const known = new Set(ir.sizes.map((s) => s.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) throw new SizeBindingError(`unknown size '${name}' (the cell's sizes: ${[...known].join(", ") || "none"})`);
  }
  const sizes: Record<string, number> = {};
  for (const s of ir.sizes) {
    const value = given[s.name] ?? s.default;
    if (value === null || value === undefined) throw new SizeBindingError(`size '${s.name}' has no default; give it, e.g. ${s.name}=8`);
    if (!Number.isInteger(value) || value < 1) throw new SizeBindingError(`size '${s.name}' must be a positive whole number, not ${value}`);
    sizes[s.name] = value;
  }
  const shapes: [string, Shape][] = [
    ...ir.inputs.map((d) => [d.name, d.shape] as [string, Shape]),
    ...ir.states.map((d) => [d.name, d.shape] as [string, Shape]),
    ...ir.params.map((d) => [d.name, d.shape] as [string, Shape]),
    ...ir.nodes.map((n) => [`the expression at line ${n.span.line}`, n.shape] as [string, Shape]),
  ];
  for (const [what, shape] of shapes) {
    for (const d of shape) {
      if (evaluateDim(d, sizes) < 1) throw new SizeBindingError(`with these sizes, ${what} has dimension ${formatDim(d)} = ${evaluateDim(d, sizes)}, which is not positive`);
    }
  }
  return sizes;
}

/** "I=3,H=5" -> { I: 3, H: 5 } */
export function parseSizeList(text: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
    const match = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)$/.exec(part);
    if (!match) throw new SizeBindingError(`cannot read size binding '${part}' (expected NAME=NUMBER, e.g. I=3,H=5)`);
    sizes[match[1]!] = Number(match[2]);
  }
  return sizes;
}
