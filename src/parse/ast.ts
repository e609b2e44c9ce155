// The syntax tree both front ends (DSL and JSON) produce. Plain, serialisable
// data: the IR builder reads only this, never a CST or a JSON node.
import type { Span } from "../diagnostics/diagnostic.ts";

export type DimAst =
  | { readonly kind: "number"; readonly value: number; readonly span: Span }
  | { readonly kind: "size"; readonly name: string; readonly span: Span }
  | { readonly kind: "binary"; readonly op: "+" | "-" | "*"; readonly left: DimAst; readonly right: DimAst; readonly span: Span };

export type BinaryOp = "+" | "-" | "*" | "/" | "@";

export type ExprAst =
  | { readonly kind: "number"; readonly value: number; readonly span: Span }
  /** A name; `next` marks the primed form `c'`, the value a state takes after this step. */
  | { readonly kind: "ref"; readonly name: string; readonly next: boolean; readonly span: Span }
  | { readonly kind: "neg"; readonly operand: ExprAst; readonly span: Span }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: ExprAst; readonly right: ExprAst; readonly span: Span }
  | { readonly kind: "concat"; readonly items: readonly ExprAst[]; readonly span: Span }
  | { readonly kind: "call"; readonly fn: string; readonly args: readonly ExprAst[]; readonly span: Span; readonly fnSpan: Span };

/** An initializer as written: a name and numeric arguments, checked by the IR builder. */
export interface InitializerAst {
  readonly name: string;
  readonly args: readonly number[];
  readonly span: Span;
}

export interface SizeAst {
  readonly name: string;
  readonly default: number | null;
  readonly span: Span;
}

export interface InputAst {
  readonly name: string;
  readonly shape: readonly DimAst[];
  readonly span: Span;
}

export interface StateAst {
  readonly name: string;
  readonly shape: readonly DimAst[];
  readonly init: number;
  readonly span: Span;
}

export interface ParamAst {
  readonly name: string;
  readonly shape: readonly DimAst[];
  readonly init: InitializerAst | null;
  readonly span: Span;
}

/** `name = expr` (an intermediate) or `name' = expr` (a state's next value). */
export interface EquationAst {
  readonly target: string;
  readonly next: boolean;
  readonly value: ExprAst;
  readonly span: Span;
  readonly targetSpan: Span;
}

export interface OutputAst {
  readonly name: string;
  readonly value: ExprAst;
  readonly span: Span;
}

export interface SpecAst {
  readonly file: string;
  readonly name: string;
  readonly nameSpan: Span;
  /** The comment lines above the cell, without their comment markers. */
  readonly doc: readonly string[];
  readonly sizes: readonly SizeAst[];
  readonly inputs: readonly InputAst[];
  readonly states: readonly StateAst[];
  readonly params: readonly ParamAst[];
  readonly equations: readonly EquationAst[];
  readonly outputs: readonly OutputAst[];
}
