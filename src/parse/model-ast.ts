// The syntax tree of a model: layers of cell instances wired to each other,
// as both front ends (the model DSL and JSON) produce it. Plain, serialisable
// data with spans; the model builder (src/ir/model.ts) reads only this.
import type { Span } from "../diagnostics/diagnostic.ts";
import type { DimAst, InputAst, SizeAst, SpecAst } from "./ast.ts";

/** One value a layer, an output or a head reads at each step: a model input `x`, a layer's output `L1.h`, or a layer's state after the step `L1.c'` (output "c'"). */
export type WireAst =
  | { readonly kind: "input"; readonly name: string; readonly span: Span }
  | { readonly kind: "layer"; readonly layer: string; readonly output: string; readonly span: Span };

/** Where a layer's cell comes from: a spec file (relative to the model's file) or a cell declared in the same file. */
export type CellRefAst = { readonly kind: "file"; readonly path: string; readonly span: Span } | { readonly kind: "inline"; readonly name: string; readonly span: Span };

/** A cell input fed by `parts` joined end to end; `name` null for the positional form `lstm.lstm(x)`. */
export interface LayerInputAst {
  readonly name: string | null;
  readonly parts: readonly WireAst[];
  readonly span: Span;
}

export type Direction = "forward" | "reverse";

/** `layer L = [reverse] cell(inputs) [{ H = K }]`; `layer f, b = bidirectional …` declares two layers, forward then reverse. */
export interface LayerAst {
  readonly name: string;
  readonly nameSpan: Span;
  readonly direction: Direction;
  readonly cell: CellRefAst;
  readonly inputs: readonly LayerInputAst[];
  /** Sizes of the cell given in the model's sizes, e.g. `{ H = K }`; the rest follow from the wiring or the model's sizes of the same name. */
  readonly sizes: readonly { readonly name: string; readonly value: DimAst; readonly span: Span }[];
  readonly span: Span;
}

export interface ModelOutputAst {
  readonly name: string;
  readonly parts: readonly WireAst[];
  readonly span: Span;
}

/** `head y[K] = linear(parts)` at every valid step, or `… at last`: at each row's last valid step. */
export interface HeadAst {
  readonly name: string;
  readonly size: DimAst;
  readonly parts: readonly WireAst[];
  readonly at: "step" | "last";
  readonly span: Span;
}

export const LOSSES = ["softmax_cross_entropy", "bce_with_logits", "mse"] as const;
export type LossKind = (typeof LOSSES)[number];

export interface LossAst {
  readonly kind: LossKind;
  readonly head: string;
  readonly span: Span;
}

export interface ModelAst {
  readonly file: string;
  readonly name: string;
  readonly nameSpan: Span;
  readonly doc: readonly string[];
  readonly sizes: readonly SizeAst[];
  readonly inputs: readonly InputAst[];
  readonly layers: readonly LayerAst[];
  readonly outputs: readonly ModelOutputAst[];
  readonly head: HeadAst | null;
  readonly loss: LossAst | null;
  /** Cells declared in the model's own file. */
  readonly cells: readonly SpecAst[];
}

/** The cells a model's layers name, by where they come from: `file:<path as written>` or `inline:<name>`. */
export function cellKey(ref: CellRefAst): string {
  return ref.kind === "file" ? `file:${ref.path}` : `inline:${ref.name}`;
}
