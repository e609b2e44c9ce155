// Binding the size variables to numbers, for one run or one compilation.
import { CodedError } from "../diagnostics/diagnostic.ts";
import { addDims, elementCount, evaluateDim, evaluateSizeFormula, formatDim } from "./dims.ts";
import { firstOversized, MAX_ELEMENTS, type Allocation } from "./limits.ts";
import type { CellIR, InputDecl } from "./types.ts";

export type SizeBinding = Readonly<Record<string, number>>;

/**
 * Gives every size a positive whole number: from `given`, else the spec's
 * default. Throws a CodedError (E401) naming the size when that is not possible.
 */
export function bindSizes(ir: CellIR, given: Readonly<Record<string, number>> = {}): SizeBinding {
  const known = new Set(ir.sizes.map((s) => s.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) throw new CodedError("unknownSizeBinding", name, [...known].join(", ") || "none");
  }
  const sizes: Record<string, number> = {};
  for (const s of ir.sizes) {
    // Own properties only: a size named `toString` must not find Object.prototype's.
    const bound = Object.hasOwn(given, s.name) ? given[s.name] : undefined;
    if (s.formula) {
      // A defined size (H = G * K), or a constraint (I = H): a binding of it must agree.
      const value = evaluateSizeFormula(s.formula.value, sizes);
      const where = `${s.formula.span.file}:${s.formula.span.line}:${s.formula.span.column}`;
      if (bound !== undefined && bound !== value) throw new CodedError("sizeDisagreesWithFormula", s.name, where, s.formula.text, value, bound);
      sizes[s.name] = value;
      continue;
    }
    const value = bound ?? s.default;
    if (value === null || value === undefined) throw new CodedError("sizeWithoutDefault", s.name);
    if (!Number.isInteger(value) || value < 1) throw new CodedError("sizeNotPositive", s.name, value);
    if (value > MAX_ELEMENTS) throw new CodedError("sizeTooLarge", s.name, value, MAX_ELEMENTS);
    sizes[s.name] = value;
  }
  const allocations = cellAllocations(ir);
  for (const { what, shape } of allocations) {
    for (const d of shape) {
      if (evaluateDim(d, sizes) < 1) throw new CodedError("dimensionNotPositive", what, formatDim(d), evaluateDim(d, sizes));
    }
  }
  for (const n of ir.nodes) {
    if (n.op !== "slice") continue;
    const [start, end] = [evaluateDim(n.offset, sizes), evaluateDim(n.offset, sizes) + evaluateDim(n.shape[0]!, sizes)];
    const length = elementCount(ir.nodes[n.args[0]]!.shape, sizes);
    if (start < 0 || end > length) {
      const where = `${n.span.file}:${n.span.line}:${n.span.column}`;
      throw new CodedError("sliceOutOfRangeBound", formatDim(n.offset), formatDim(addDims(n.offset, n.shape[0]!)), where, start, end, length);
    }
  }
  const oversized = firstOversized(allocations, sizes);
  if (oversized) throw new CodedError("tensorTooLarge", oversized.what, oversized.elements, oversized.detail, MAX_ELEMENTS);
  return sizes;
}

/**
 * `given` less the sizes the spec defines by a formula (`H = G * K`, the
 * constraint `I = H`): they follow from the others, so one list of sizes can
 * be bound to every spec.
 */
export function freeSizes(ir: CellIR, given: Readonly<Record<string, number>>): Record<string, number> {
  const defined = new Set(ir.sizes.filter((s) => s.formula).map((s) => s.name));
  return Object.fromEntries(Object.entries(given).filter(([name]) => !defined.has(name)));
}

/** Every tensor of one step of the cell: its declarations (the parameters unless left out) and the value of each expression. */
export function cellAllocations(ir: CellIR, include: { readonly params: boolean } = { params: true }): Allocation[] {
  return [
    ...ir.inputs.map((d) => ({ what: `input '${d.name}'`, shape: d.shape })),
    ...ir.states.map((d) => ({ what: `state '${d.name}'`, shape: d.shape })),
    ...(include.params ? ir.params : []).map((d) => ({ what: `parameter '${d.name}'`, shape: d.shape })),
    ...ir.nodes.map((n) => ({ what: `the expression at line ${n.span.line}`, shape: n.shape })),
  ];
}

/** The length of an input's run buffer: [steps, batch, n] for a per-step input, [batch, …shape] for a static one. */
export function inputBufferLength(input: InputDecl, sizes: SizeBinding, steps: number, batch: number): number {
  return (input.static ? 1 : steps) * batch * elementCount(input.shape, sizes);
}

/** "I=3,H=5" -> { I: 3, H: 5 } */
export function parseSizeList(text: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
    const match = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)$/.exec(part);
    if (!match) throw new CodedError("unreadableSizeBinding", part);
    const [, name, digits] = match as unknown as [string, string, string];
    // Refused here, as written: past 2^53 the number would already be rounded.
    if (Number(digits) > MAX_ELEMENTS) throw new CodedError("sizeTooLarge", name, digits, MAX_ELEMENTS);
    sizes[name] = Number(digits);
  }
  return sizes;
}
