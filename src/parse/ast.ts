// The syntax tree both front ends (DSL and JSON) produce. Plain, serialisable
// data: the IR builder reads only this, never a CST or a JSON node.
import type { Span } from "../diagnostics/diagnostic.ts";

export type DimAst =
  | { readonly kind: "number"; readonly value: number; readonly span: Span }
  | { readonly kind: "size"; readonly name: string; readonly span: Span }
  | { readonly kind: "binary"; readonly op: "+" | "-" | "*"; readonly left: DimAst; readonly right: DimAst; readonly span: Span };

export type ComparisonOp = "<" | "<=" | ">" | ">=" | "==" | "!=";
export const COMPARISON_OPS: readonly ComparisonOp[] = ["<", "<=", ">", ">=", "==", "!="];
export type BinaryOp = "+" | "-" | "*" | "/" | "@" | "^" | ComparisonOp;

export type ExprAst =
  | { readonly kind: "number"; readonly value: number; readonly span: Span }
  /** A name; `next` marks the primed form `c'`, the value a state takes after this step. */
  | { readonly kind: "ref"; readonly name: string; readonly next: boolean; readonly span: Span }
  | { readonly kind: "neg"; readonly operand: ExprAst; readonly span: Span }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: ExprAst; readonly right: ExprAst; readonly span: Span }
  | { readonly kind: "concat"; readonly items: readonly ExprAst[]; readonly span: Span }
  /** Elements [start, end) of a vector. */
  | { readonly kind: "slice"; readonly operand: ExprAst; readonly start: DimAst; readonly end: DimAst; readonly span: Span }
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
  /** `H = G * K`: the size is defined by the others (and any binding of it must agree). */
  readonly formula: DimAst | null;
  readonly span: Span;
}

/** `const M[i: H, j: H] = formula`: each element is the formula at its indices. */
export interface ConstAst {
  readonly name: string;
  readonly indices: readonly { readonly name: string; readonly dim: DimAst; readonly span: Span }[];
  readonly value: ExprAst;
  readonly span: Span;
}

export interface InputAst {
  readonly name: string;
  /** Fixed for the whole sequence (one value per batch row), rather than read at every step. */
  readonly static: boolean;
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
  readonly consts: readonly ConstAst[];
  readonly equations: readonly EquationAst[];
  readonly outputs: readonly OutputAst[];
}
