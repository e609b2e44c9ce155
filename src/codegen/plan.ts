// The module plan: what lowering hands every renderer. Plain data only: no
// functions, nothing mutated after it is built, JSON-serialisable
// (`lstmc compile --emit plan` prints it). Every buffer has a stated role;
// kernels name weight groups by index. A renderer reads the plan and a
// target's syntax table; it never inspects the IR or recovers meaning from a
// generated name.
import type { ElementwiseOp, Initializer, Reduction, UnaryFunction } from "../ir/types.ts";

/** Where a vector lives. Element j of batch row b at step t is at
 *  ((t + shift)·B + b)·width + offset + j when timed, b·width + offset + j
 *  when per row, and offset + j otherwise (j is dropped for scalars). */
export interface Loc {
  readonly array: string;
  readonly timed: boolean;
  readonly shift: number;
  readonly perRow: boolean;
  readonly width: number;
  readonly offset: number;
  readonly scalar: boolean;
}

export const timedLoc = (array: string, width: number, shift = 0, offset = 0): Loc => ({ array, timed: true, shift, perRow: true, width, offset, scalar: false });
export const rowLoc = (array: string, width: number, offset = 0): Loc => ({ array, timed: false, shift: 0, perRow: true, width, offset, scalar: false });
export const sharedLoc = (array: string, scalar: boolean, offset = 0): Loc => ({ array, timed: false, shift: 0, perRow: false, width: 0, offset, scalar });
/** One number per batch row (per step when timed): a reduction's result. */
export const rowScalarLoc = (array: string, timed: boolean): Loc => ({ array, timed, shift: 0, perRow: true, width: 1, offset: 0, scalar: true });

export type Expr =
  /** With `period`, element j reads element j mod period: a vector [n] broadcast over the rows of an [L, n] value. */
  | { readonly op: "read"; readonly loc: Loc; readonly extra: number; readonly period?: number }
  | { readonly op: "arg"; readonly index: number }
  | { readonly op: "local"; readonly name: string }
  | { readonly op: "const"; readonly value: number }
  | { readonly op: ElementwiseOp; readonly args: readonly [Expr, Expr] }
  /** args[1] where args[0] ≠ 0, else args[2]. */
  | { readonly op: "where"; readonly args: readonly [Expr, Expr, Expr] }
  /** The step index t of the loop the expression runs in. */
  | { readonly op: "step" }
  /** The element's coordinate floor(j / stride) mod extent, j its row-major position in the array being computed. */
  | { readonly op: "index"; readonly stride: number; readonly extent: number }
  | { readonly op: "neg"; readonly arg: Expr }
  | { readonly op: "apply"; readonly fn: UnaryFunction; readonly arg: Expr }
  | { readonly op: "derivative"; readonly fn: UnaryFunction; readonly of: "output" | "input"; readonly arg: Expr };

export const read = (loc: Loc, extra = 0): Expr => ({ op: "read", loc, extra });

export interface Store {
  readonly loc: Loc;
  readonly mode: "set" | "add";
  /** Set when the store adds into a parameter's gradient (shared by every step and row): that parameter. */
  readonly param: string | null;
}

export interface PointwiseItem {
  readonly local: string;
  readonly expr: Expr;
  readonly stores: readonly Store[];
  readonly comment: string | null;
}

/** C[b, :] (+)= A[b, :] · Wᵀ for the B rows of one step; W is a group's packed matrix or its transpose. */
export interface GemmKernel {
  readonly kind: "gemm";
  readonly group: number;
  /** The backward product: the group's transposed matrix times the step's product gradients. */
  readonly transposed: boolean;
  readonly a: Loc;
  readonly w: string;
  readonly rows: number;
  readonly depth: number;
  readonly out: Loc;
  readonly comment: string;
}

export interface PointwiseKernel {
  readonly kind: "pointwise";
  readonly length: number;
  readonly items: readonly PointwiseItem[];
}

export interface CopyKernel {
  readonly kind: "copy";
  readonly parts: readonly { readonly loc: Loc; readonly length: number }[];
  readonly out: Loc;
  readonly comment: string | null;
}

/**
 * A vector of `length` elements reduced to one number per batch row, in element order: the sum, or the
 * first largest element (whose index, as a number, also goes to `argmax` when set: max's gradient needs it).
 */
export interface ReduceKernel {
  readonly kind: "reduce";
  readonly fn: Reduction;
  readonly length: number;
  /** Element j of the vector (reads of memory only). */
  readonly element: Expr;
  readonly out: Loc;
  readonly argmax: Loc | null;
  readonly comment: string | null;
}

/** Element (m, k) of a contraction's operand (for the right one, (k, n)): at outer·m + depth·k of its row (of the array, when shared). */
export interface ContractOperand {
  readonly loc: Loc;
  readonly outerStride: number;
  readonly depthStride: number;
}

/**
 * Per batch row, out[m, n] = Σ_k a[m, k] · b[k, n], summed in k order (no `b`: each factor is 1), stored
 * row-major (element m·cols + n): the products over the rows of rank-2 values (a matrix applied to each row, a
 * weighted sum of rows, rows times a vector) and their gradients (outer products, sums over rows).
 */
export interface ContractKernel {
  readonly kind: "contract";
  readonly rows: number;
  readonly cols: number;
  readonly depth: number;
  readonly a: ContractOperand;
  readonly b: ContractOperand | null;
  readonly out: Loc;
  readonly comment: string | null;
}

/** A kernel inside the time loop. */
export type StepKernel = PointwiseKernel | GemmKernel | CopyKernel | ReduceKernel | ContractKernel;

/** One step of the loop: its kernels in order, and the per-step scratch rows [B, width] they use. */
export interface StepPlan {
  readonly kernels: readonly StepKernel[];
  readonly temps: readonly { readonly array: string; readonly width: number }[];
}

/** Before the forward loop: a group that reads an input, for every step at once ([T·B, depth] -> [T·B, rows]). */
export interface ProjectionKernel {
  readonly kind: "projection";
  readonly group: number;
}

/** After the backward loop: a group's matrices' gradients, Σ over steps and rows of gradᵀ · vector. */
export interface WeightGradientKernel {
  readonly kind: "weightGradient";
  readonly group: number;
}

/** After the backward loop: dL/d(input) when it is one group's transposed product alone, for every step at once. */
export interface DeferredInputGradientKernel {
  readonly kind: "deferredInputGradient";
  readonly group: number;
  readonly input: string;
}

/** After the weight gradients: a derived matrix's gradient sent on to the parameters inside it (index into `derived`). */
export interface DerivedGradientKernel {
  readonly kind: "derivedGradient";
  readonly derived: number;
}

export type AfterLoopKernel = WeightGradientKernel | DeferredInputGradientKernel | DerivedGradientKernel;

export type BufferRole =
  | "param" // a parameter as the user passes it
  | "derived" // a matrix expression a product reads, computed once per call
  | "input" // [T, B, n]; a static input [B, n]
  | "history" // a state before every step and after the last: [T + 1, B, n]
  | "output" // [T, B, n]
  | "tape" // a forward value backward reads: [T, B, n]
  | "packed" // a group's matrices packed [rows, depth]
  | "packedTransposed" // ... and transposed [depth, rows]
  | "projection" // a hoisted product of an input group: [T, B, rows]
  | "product" // a group's product within a step: [B, rows]
  | "scratch" // a step's temporary row: [B, n]
  | "upstream" // the gradient arriving at an output: [T, B, n]
  | "carry" // dL/d(state after this step): [B, n]
  | "carryPrevious" // dL/d(state before this step): [B, n]
  | "productGradient" // a group's product gradients of every step: [T, B, rows]
  | "transposedProduct" // a backward product within a step: [B, depth]
  | "paramGradient"
  | "inputGradient";

export interface BufferPlan {
  readonly name: string;
  readonly role: BufferRole;
  /** Floats per row; for shared buffers (parameters, packed matrices), floats in all. */
  readonly width: number;
  readonly extent: "steps" | "history" | "row" | "shared";
  /** The spec name the buffer belongs to (parameter, input, state, output), if any. */
  readonly of: string | null;
}

export interface PackedProduct {
  readonly node: number;
  readonly param: string;
  readonly rows: number;
  readonly cols: number;
  /** Columns of the parameter matrix. */
  readonly paramCols: number;
  readonly colOffset: number;
  readonly rowOffset: number;
}

/** The products that read one vector, packed into one matrix. */
export interface GroupPlan {
  readonly index: number;
  readonly vectorLabel: string;
  readonly products: readonly PackedProduct[];
  /** Rows of the packed matrix (Σ rows) and its depth (the vector's length). */
  readonly rows: number;
  readonly depth: number;
  readonly packed: string;
  readonly packedT: string;
  /** Reads an input: projected for every step before the time loop. */
  readonly precomputed: boolean;
  /** Forward output: [T·B, rows] when precomputed, else [B, rows] per step. */
  readonly out: string;
  /** Where the forward pass keeps the vector for every step. */
  readonly operand: Loc;
  /** The buffer holding each product's gradient per step (groups with the same gradients share one). */
  readonly gradBuffer: string;
  /** When set, dL/d(this input) is this group's transposed product alone, done after the loop. */
  readonly deferredInput: string | null;
}

/** One derived matrix: its value and, per parameter inside it, its gradient, element j by element j. */
export interface DerivedMatrixPlan {
  readonly name: string;
  /** The expression as a reader would write it, for comments: `(W_H * M)`. */
  readonly label: string;
  /** The array holding the matrix (row-major, like every parameter) and the array of its gradient. */
  readonly array: string;
  readonly gradient: string;
  readonly length: number;
  /** Element j of the matrix, reading element j of matrix parameters and element 0 of scalars. */
  readonly value: Expr;
  /** dL/d(matrix)[j] · d(matrix)[j]/d(param); a scalar parameter's gradient is the sum over j. */
  readonly partials: readonly { readonly param: string; readonly scalar: boolean; readonly expr: Expr }[];
}

/** What the module's API looks like: the cell's names and their sizes, bound. */
export interface CellInterface {
  readonly name: string;
  readonly sizes: readonly { readonly name: string; readonly value: number }[];
  readonly params: readonly {
    readonly name: string;
    /** Bound dimensions: [] scalar, [n] vector, [rows, cols] matrix. */
    readonly shape: readonly number[];
    readonly count: number;
    readonly init: Initializer;
    /** A derived matrix: computed by the module, never passed by the user. */
    readonly internal: boolean;
  }[];
  /** A static input's width is its whole matrix (L·A for [L, A]): one per batch row, the same at every step. */
  readonly inputs: readonly { readonly name: string; readonly width: number; readonly static?: true }[];
  readonly states: readonly { readonly name: string; readonly width: number; readonly init: number }[];
  readonly outputs: readonly { readonly name: string; readonly width: number }[];
  /** The spec's equations as written, for the module header. */
  readonly equations: readonly string[];
}

/**
 * A target's layout decisions, passed into lowering (the Halide split: the
 * cell's equations are the algorithm, this is the schedule).
 */
export interface Schedule {
  readonly target: string;
  /** Products of inputs run for every step at once before the loop. */
  readonly hoistInputProjections: boolean;
  /** An input's gradient that is one transposed product alone runs for every step at once after the loop. */
  readonly deferInputGradients: boolean;
  /** Below this batch, a step's product runs as one specialised matrix-vector product per row (0: never). */
  readonly rowProductsBelowBatch: number;
  /** Products are computed by the threads that read their elements (GPU), not as kernels of their own. */
  readonly fuseProductsIntoReaders: boolean;
}

export interface ModulePlan {
  readonly cell: CellInterface;
  readonly schedule: Schedule;
  readonly buffers: readonly BufferPlan[];
  readonly groups: readonly GroupPlan[];
  readonly derived: readonly DerivedMatrixPlan[];
  /** Saved values with no other home: [T, B, width] each, in `saved.tape` order. */
  readonly tapes: readonly { readonly array: string; readonly width: number; readonly node: number }[];
  /** Distinct product-gradient buffers, [T·B, width] each. */
  readonly gradBuffers: readonly { readonly array: string; readonly width: number }[];
  readonly forward: { readonly before: readonly ProjectionKernel[]; readonly step: StepPlan };
  readonly backward: {
    readonly step: StepPlan;
    /** States whose gradient does not flow back through the step: their carry is zero before every earlier step. */
    readonly zeroCarry: readonly string[];
    readonly after: readonly AfterLoopKernel[];
  };
}
