// The typed IR of one cell: the computation of a single time step as a list of
// nodes in dependency order (every node's arguments come before it). Every
// value has a shape written in the cell's size variables. Plain data only.
import type { Span } from "../diagnostics/diagnostic.ts";

/** A dimension: `constant + Σ coefficient·size`, terms sorted by size name, no zero coefficients. */
export interface Dim {
  readonly constant: number;
  readonly terms: readonly (readonly [size: string, coefficient: number])[];
}

/** `[]` is a scalar, `[n]` a vector, `[m, n]` a row-major matrix. */
export type Shape = readonly Dim[];

export type NodeId = number;

export const UNARY_FUNCTIONS = [
  "sigmoid",
  "tanh",
  "relu",
  "exp",
  "log",
  "softsign",
  "softplus",
  "hard_sigmoid",
  "identity",
  "sqrt",
  "rsqrt",
  "abs",
  "floor",
] as const;
export type UnaryFunction = (typeof UNARY_FUNCTIONS)[number];

/** ONNX's HardSigmoid defaults: max(0, min(1, alpha·x + beta)). */
export const HARD_SIGMOID_ALPHA = 0.2;
export const HARD_SIGMOID_BETA = 0.5;

export type ElementwiseOp = "add" | "sub" | "mul" | "div" | "pow" | "mod" | "min" | "max" | ComparisonOp;

/** Comparisons: 1 where the relation holds, 0 elsewhere; they pass no gradient. */
export const COMPARISON_OPS = ["lt", "le", "gt", "ge", "eq", "ne"] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/** Reductions of a vector to a scalar. */
export type Reduction = "sum" | "max";

interface NodeBase {
  readonly id: NodeId;
  readonly shape: Shape;
  readonly span: Span;
}

export type IrNode =
  | (NodeBase & { readonly op: "input" | "state" | "param"; readonly name: string })
  | (NodeBase & { readonly op: "const"; readonly value: number })
  /** Elementwise; either argument may be a scalar, or a vector [n] against a matrix [L, n], which is broadcast (over rows). */
  | (NodeBase & { readonly op: ElementwiseOp; readonly args: readonly [NodeId, NodeId] })
  | (NodeBase & { readonly op: "neg"; readonly args: readonly [NodeId] })
  /** [m, n] @ [n] -> [m] */
  | (NodeBase & { readonly op: "matvec"; readonly args: readonly [NodeId, NodeId] })
  /** [m, n] @ [L, n] -> [L, m]: the matrix applied to each row. */
  | (NodeBase & { readonly op: "rowmap"; readonly args: readonly [NodeId, NodeId] })
  /** [L] @ [L, n] -> [n]: the rows weighted by the vector and summed. */
  | (NodeBase & { readonly op: "vecmat"; readonly args: readonly [NodeId, NodeId] })
  /** Vectors joined end to end. */
  | (NodeBase & { readonly op: "concat"; readonly args: readonly NodeId[] })
  | (NodeBase & { readonly op: "apply"; readonly fn: UnaryFunction; readonly args: readonly [NodeId] })
  /** The step index t, counted from 0 (a scalar). */
  | (NodeBase & { readonly op: "step" })
  /** A dimension's value once sizes are bound (a scalar): a size read in a const's formula, n in mean(v) = sum(v) / n. */
  | (NodeBase & { readonly op: "dim"; readonly dim: Dim })
  /** Each element's own index along `axis` of this node's shape: iota(H) is [0, 1, …, H-1]; a const's index names. */
  | (NodeBase & { readonly op: "index"; readonly axis: number })
  /** Elementwise args[1] where args[0] ≠ 0, else args[2]; any argument may be a scalar. */
  | (NodeBase & { readonly op: "where"; readonly args: readonly [NodeId, NodeId, NodeId] })
  /** Elements [offset, offset + shape[0]) of a vector. */
  | (NodeBase & { readonly op: "slice"; readonly offset: Dim; readonly args: readonly [NodeId] })
  /** A vector reduced to a scalar; max's gradient goes to the first largest element. */
  | (NodeBase & { readonly op: "reduce"; readonly fn: Reduction; readonly args: readonly [NodeId] });

export type Initializer =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "glorot" }
  | { readonly kind: "orthogonal" };

/** A size's defining formula, `G * K`: not linear in general, so not a Dim. */
export type SizeFormula =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "size"; readonly name: string }
  | { readonly kind: "binary"; readonly op: "+" | "-" | "*"; readonly left: SizeFormula; readonly right: SizeFormula };

export interface SizeDecl {
  readonly name: string;
  readonly default: number | null;
  /** Set for a size defined by the others (`H = G * K`, or the constraint `I = H`); null for a free size. */
  readonly formula: { readonly value: SizeFormula; readonly text: string; readonly span: Span } | null;
}

export interface InputDecl {
  readonly name: string;
  /** One value per batch row for the whole sequence (a vector or a matrix), not one per step (a vector). */
  readonly static: boolean;
  readonly shape: Shape;
}

export interface StateDecl {
  readonly name: string;
  readonly shape: Shape;
  readonly init: number;
}

export interface ParamDecl {
  readonly name: string;
  readonly shape: Shape;
  readonly init: Initializer;
}

/** One equation of the spec, kept so generated code can show the line it implements. */
export interface EquationRecord {
  readonly kind: "intermediate" | "next" | "output" | "const";
  /** The intermediate's name, the state's name (for `c'`), or the output's name. */
  readonly target: string;
  readonly node: NodeId;
  /** The equation as the user wrote it, normalised to one line. */
  readonly text: string;
  readonly span: Span;
}

export interface CellIR {
  readonly name: string;
  readonly file: string;
  readonly doc: readonly string[];
  readonly sizes: readonly SizeDecl[];
  readonly inputs: readonly InputDecl[];
  readonly states: readonly StateDecl[];
  readonly params: readonly ParamDecl[];
  /** In dependency order; nodes[i].id === i. */
  readonly nodes: readonly IrNode[];
  /** Equations in the order their nodes are computed. */
  readonly equations: readonly EquationRecord[];
  /** Each state's value after the step, in the order of `states`. */
  readonly nextState: readonly { readonly state: string; readonly node: NodeId }[];
  readonly outputs: readonly { readonly name: string; readonly node: NodeId; readonly shape: Shape }[];
}

/** A node before it is given its id. */
export type NewNode = IrNode extends infer N ? (N extends IrNode ? Omit<N, "id"> : never) : never;
