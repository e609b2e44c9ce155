// The one expression walker of the code generators. A target is a table of
// syntax (literals, operators, functions and their derivatives); what a read of
// memory looks like depends on where the expression runs, so the caller passes
// it. Every scalar operation of a generated kernel is written through here.
import type { ElementwiseOp, UnaryFunction } from "../ir/types.ts";
import { CodegenError } from "./names.ts";
import type { Expr } from "./plan.ts";

export type ReadExpr = Extract<Expr, { op: "read" }>;

/** The four elementwise operators as every target (and a comment) writes them. */
export const BINARY_OPERATORS = { add: "+", sub: "-", mul: "*", div: "/" } as const;

export interface ExpressionSyntax {
  /** A number literal that can stand as an operand anywhere. */
  readonly literal: (value: number) => string;
  readonly binary: Readonly<Record<"add" | "sub" | "mul" | "div", string>>;
  readonly neg: (operand: string) => string;
  /** pow, mod (floored, as the interpreter's), min, max and the comparisons (1 or 0). */
  readonly operators: Readonly<Record<Exclude<ElementwiseOp, keyof typeof BINARY_OPERATORS>, (a: string, b: string) => string>>;
  /** where(c, a, b): a where c ≠ 0, else b. */
  readonly select: (condition: string, ifTrue: string, ifFalse: string) => string;
  /** The step index t of the loop the expression runs in, as a number. */
  readonly step: string;
  /** floor(j / stride) mod extent for the element j being computed. */
  readonly index: (stride: number, extent: number) => string;
  /** y = f(x). */
  readonly functions: Readonly<Record<UnaryFunction, (x: string) => string>>;
  /** f'(x), written from the saved output y (for log, from the input x). */
  readonly derivatives: Readonly<Record<UnaryFunction, (v: string) => string>>;
}

export function renderExpression(e: Expr, syntax: ExpressionSyntax, read: (e: ReadExpr) => string): string {
  const walk = (x: Expr): string => {
    switch (x.op) {
      case "read":
        return read(x);
      case "local":
        return x.name;
      case "const":
        return syntax.literal(x.value);
      case "arg":
        throw new CodegenError("internal: unsubstituted argument");
      case "add":
      case "sub":
      case "mul":
      case "div":
        return `(${walk(x.args[0])} ${syntax.binary[x.op]} ${walk(x.args[1])})`;
      case "pow":
      case "mod":
      case "min":
      case "max":
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne":
        return `(${syntax.operators[x.op](walk(x.args[0]), walk(x.args[1]))})`;
      case "where":
        return `(${syntax.select(walk(x.args[0]), walk(x.args[1]), walk(x.args[2]))})`;
      case "step":
        return syntax.step;
      case "index":
        return `(${syntax.index(x.stride, x.extent)})`;
      case "neg":
        return syntax.neg(walk(x.arg));
      // Wrapped whole: a table entry such as softsign's `(x) / (1 + |x|)` or
      // tanh' `1 - y·y` must stay one operand inside a larger expression.
      case "apply":
        return `(${syntax.functions[x.fn](walk(x.arg))})`;
      case "derivative":
        return `(${syntax.derivatives[x.fn](walk(x.arg))})`;
    }
  };
  return walk(e);
}

/** Every read of memory an expression makes, in order. */
export function readsOf(e: Expr, into: ReadExpr[] = []): ReadExpr[] {
  switch (e.op) {
    case "read":
      into.push(e);
      break;
    case "neg":
    case "apply":
    case "derivative":
      readsOf(e.arg, into);
      break;
    case "arg":
    case "local":
    case "const":
    case "step":
    case "index":
      break;
    default:
      for (const a of e.args) readsOf(a, into);
  }
  return into;
}
