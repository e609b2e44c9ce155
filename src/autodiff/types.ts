// The backward IR: the adjoint equations of one step, as plain data. Values
// are the gradients of one step's nodes, written in terms of the upstream
// gradients (seeds) and the forward values that step saved. Every renderer
// lowers from this; nothing here knows a target language.
import type { Dim, ElementwiseOp, NodeId, Reduction, Shape, UnaryFunction } from "../ir/types.ts";

export type BNodeId = number;

interface BNodeBase {
  readonly id: BNodeId;
  readonly shape: Shape;
  /** The forward node whose derivative rule produced this value (for comments). */
  readonly from: NodeId;
}

export interface TransposedTerm {
  readonly param: string;
  readonly rows: Dim;
  readonly colOffset: Dim;
  /** The gradient of the product's matvec node. */
  readonly grad: BNodeId;
  readonly product: NodeId;
}

export type BNode =
  /** dL/d(output `name`) at this step, or dL/d(state `name` after this step). */
  | (BNodeBase & { readonly op: "seed"; readonly source: "output" | "state"; readonly name: string })
  /** The forward value of node `node` at this step. */
  | (BNodeBase & { readonly op: "saved"; readonly node: NodeId })
  | (BNodeBase & { readonly op: "const"; readonly value: number })
  /** Elementwise, as the forward op (comparisons build the masks of min, max and where). */
  | (BNodeBase & { readonly op: ElementwiseOp; readonly args: readonly [BNodeId, BNodeId] })
  /** args[1] where args[0] ≠ 0, else args[2]. */
  | (BNodeBase & { readonly op: "where"; readonly args: readonly [BNodeId, BNodeId, BNodeId] })
  /** y = f(x) (log in pow's exponent gradient, floor in mod's). */
  | (BNodeBase & { readonly op: "apply"; readonly fn: UnaryFunction; readonly args: readonly [BNodeId] })
  | (BNodeBase & { readonly op: "neg"; readonly args: readonly [BNodeId] })
  /** f'(x) for y = f(x), from the saved y (`of: "output"`) or the saved x (`of: "input"`). */
  | (BNodeBase & { readonly op: "derivative"; readonly fn: UnaryFunction; readonly of: "output" | "input"; readonly args: readonly [BNodeId] })
  /** The sum of a vector's elements (gradient of a broadcast scalar). */
  | (BNodeBase & { readonly op: "sum"; readonly args: readonly [BNodeId] })
  /** Elements [offset, offset + length) of a vector (one part of a concat's gradient). */
  | (BNodeBase & { readonly op: "slice"; readonly args: readonly [BNodeId]; readonly offset: Dim })
  /** A vector of `shape` that is the gradient g in [offset, offset + length of g) and 0 elsewhere (a slice's gradient). */
  | (BNodeBase & { readonly op: "pad"; readonly args: readonly [BNodeId]; readonly offset: Dim })
  /**
   * A reduction's scalar gradient g reaching its vector: g at every element (sum), or g at the first largest
   * element of the vector forward node `reduced` reduced and 0 elsewhere (max, as the interpreter).
   */
  | (BNodeBase & { readonly op: "spread"; readonly fn: Reduction; readonly reduced: NodeId; readonly args: readonly [BNodeId] })
  /**
   * Products over the rows of rank-2 values ([L, n], one set of rows per batch row), each summed in index order:
   * `rowmap` Σ_k M[i, k] X[l, k] -> [L, m] (transposed: Σ_k M[k, i] X[l, k]), `vecmat` Σ_l v[l] X[l, n] -> [n],
   * `rowdot` Σ_k X[l, k] u[k] -> [L], `outer` u[m] w[n] -> [m, n], `crossRows` Σ_l G[l, i] X[l, k] -> [m, n], and
   * `sumRows` Σ_l G[l, n] -> [n] (the gradient of a vector broadcast over rows).
   */
  | (BNodeBase & { readonly op: "rowmap"; readonly transposed: boolean; readonly args: readonly [BNodeId, BNodeId] })
  | (BNodeBase & { readonly op: "vecmat" | "rowdot" | "outer" | "crossRows"; readonly args: readonly [BNodeId, BNodeId] })
  | (BNodeBase & { readonly op: "sumRows"; readonly args: readonly [BNodeId] })
  /** Σ_k M_k[:, cols]ᵀ g_k: the gradient reaching `vector` through every product that reads it. */
  | (BNodeBase & { readonly op: "matvecT"; readonly vector: NodeId; readonly terms: readonly TransposedTerm[] });

/** dM[:, colOffset...] += grad ⊗ vector. */
export interface OuterGradient {
  readonly grad: BNodeId;
  readonly vector: NodeId;
  readonly colOffset: Dim;
  readonly product: NodeId;
}

export interface ParamGradient {
  readonly param: string;
  /** The per-step elementwise gradient, summed over every use (null: none). */
  readonly elementwise: BNodeId | null;
  /** One outer product per product that reads this matrix. */
  readonly outer: readonly OuterGradient[];
}

export interface BackwardIR {
  readonly cell: string;
  /** In dependency order; nodes[i].id === i. */
  readonly nodes: readonly BNode[];
  readonly params: readonly ParamGradient[];
  /** dL/d(input) at this step; null when the input does not reach the loss. */
  readonly inputs: readonly { readonly input: string; readonly node: BNodeId | null }[];
  /** dL/d(state before this step), which seeds the previous step. */
  readonly states: readonly { readonly state: string; readonly node: BNodeId | null }[];
  /** Forward nodes whose values backward reads (saved by the forward pass), ascending. */
  readonly saved: readonly NodeId[];
}
