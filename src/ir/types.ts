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
] as const;
export type UnaryFunction = (typeof UNARY_FUNCTIONS)[number];

/** ONNX's HardSigmoid defaults: max(0, min(1, alpha·x + beta)). */
export const HARD_SIGMOID_ALPHA = 0.2;
export const HARD_SIGMOID_BETA = 0.5;

export type ElementwiseOp = "add" | "sub" | "mul" | "div";

interface NodeBase {
  readonly id: NodeId;
  readonly shape: Shape;
  readonly span: Span;
}

export type IrNode =
  | (NodeBase & { readonly op: "input" | "state" | "param"; readonly name: string })
  | (NodeBase & { readonly op: "const"; readonly value: number })
  /** Elementwise; either argument may be a scalar, which is broadcast. */
  | (NodeBase & { readonly op: ElementwiseOp; readonly args: readonly [NodeId, NodeId] })
  | (NodeBase & { readonly op: "neg"; readonly args: readonly [NodeId] })
  /** [m, n] @ [n] -> [m] */
  | (NodeBase & { readonly op: "matvec"; readonly args: readonly [NodeId, NodeId] })
  /** Vectors joined end to end. */
  | (NodeBase & { readonly op: "concat"; readonly args: readonly NodeId[] })
  | (NodeBase & { readonly op: "apply"; readonly fn: UnaryFunction; readonly args: readonly [NodeId] });

export type Initializer =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "glorot" }
  | { readonly kind: "orthogonal" };

export interface SizeDecl {
  readonly name: string;
  readonly default: number | null;
}

export interface InputDecl {
  readonly name: string;
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
  readonly kind: "intermediate" | "next" | "output";
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
