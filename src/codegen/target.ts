// What a code-generation target is: a table. The shared renderer below walks a
// step of the plan once for every target: which kernels the step has, in what
// order, and what each pointwise kernel computes element by element (through
// the one expression walker). A target supplies only what differs between a CPU
// and a GPU: its expression syntax, how a kernel reads and stores memory
// (indexing), the loop over batch rows and elements around a kernel's body,
// what separates two kernels of a step (nothing on a CPU; a barrier in a GPU
// workgroup), and how a product, a copy, a reduction or a contraction runs. A
// new kernel kind is one case here and one entry per target.
import { renderExpression, type ExpressionSyntax, type ReadExpr } from "./expression.ts";
import { commentText } from "./names.ts";
import type { ContractKernel, ContractOperand, CopyKernel, Expr, GemmKernel, Loc, PointwiseItem, ReduceKernel, StepKernel, StepPlan, Store } from "./plan.ts";

/** One kernel's view of memory. A fresh scope per kernel: the row bases or fused products its reads collect are its own. */
export interface KernelScope {
  /** A local's declaration: `const x = v;` in TypeScript, `let x = v;` in WGSL. */
  readonly declare: (local: string, value: string) => string;
  /** An element read, indexed for the current (step, row, element). */
  readonly read: (read: ReadExpr) => string;
  /** Element `index` (an integer expression) of a location's row, or of the whole array when it is shared. */
  readonly readAt: (loc: Loc, index: string) => string;
  /** The statement that stores `local` where `store` says. */
  readonly store: (store: Store, local: string) => string;
  /** The kernel's body inside the target's loop over batch rows and the elements [0, length). */
  loop(length: number, body: readonly string[]): string[];
  /** The body once per batch row, run by one thread where a row's elements run on many (a reduction). */
  perRow(body: readonly string[]): string[];
  /** After the kernel: what makes its stores visible to the next kernel of the step. */
  barrier(): string[];
}

export interface Target {
  readonly syntax: ExpressionSyntax;
  scope(): KernelScope;
  /** A step's product: a call on a CPU; nothing where products are fused into the threads that read them. */
  gemm(kernel: GemmKernel): string[];
  /** Concatenation of vectors into one row, in the kernel's scope. */
  copy(kernel: CopyKernel, scope: KernelScope): string[];
  /** A reduction, in element order, in the kernel's scope; `element` is element j of the vector, rendered. */
  reduce(kernel: ReduceKernel, scope: KernelScope, element: string): string[];
  /** A contraction, each result element summed in k order by the thread computing it, in the kernel's scope. */
  contract(kernel: ContractKernel, scope: KernelScope): string[];
}

export interface RenderedKernel {
  readonly kind: StepKernel["kind"];
  /** Elements per batch row the kernel's loop covers (0 for a product). */
  readonly length: number;
  readonly lines: readonly string[];
  /** What follows the kernel before the next one starts. */
  readonly barrier: readonly string[];
}

/** Elements per batch row a kernel computes: a reduction computes one. */
export const kernelLength = (k: StepKernel): number =>
  k.kind === "gemm" ? 0 : k.kind === "copy" ? k.parts.reduce((n, p) => n + p.length, 0) : k.kind === "reduce" ? 1 : k.kind === "contract" ? k.rows * k.cols : k.length;

/** A step's kernels, in order, each as its target's lines. Products a target fuses into their readers render as nothing. */
export function renderStep(step: StepPlan, target: Target): RenderedKernel[] {
  const rendered: RenderedKernel[] = [];
  for (const k of step.kernels) {
    if (k.kind === "gemm") {
      const lines = target.gemm(k);
      if (lines.length > 0) rendered.push({ kind: k.kind, length: 0, lines, barrier: [] });
      continue;
    }
    const scope = target.scope();
    const lines =
      k.kind === "copy"
        ? target.copy(k, scope)
        : k.kind === "reduce"
          ? target.reduce(k, scope, renderExpression(k.element, target.syntax, scope.read))
          : k.kind === "contract"
            ? target.contract(k, scope)
            : scope.loop(k.length, pointwiseBody(k.items, target.syntax, scope));
    rendered.push({ kind: k.kind, length: kernelLength(k), lines, barrier: scope.barrier() });
  }
  return rendered;
}

/** The body of a pointwise kernel: for each value, its comment, its local and its stores. */
export function pointwiseBody(items: readonly PointwiseItem[], syntax: ExpressionSyntax, scope: KernelScope): string[] {
  const lines: string[] = [];
  for (const item of items) {
    if (item.comment) lines.push(`// ${commentText(item.comment)}`);
    lines.push(scope.declare(item.local, renderExpression(item.expr, syntax, scope.read)));
    for (const s of item.stores) lines.push(scope.store(s, item.local));
  }
  return lines;
}

/** Whether a step's kernels read the step index t (then a one-step call must be told which step it is). */
export function stepsRead(step: StepPlan): boolean {
  const reads = (e: Expr): boolean => e.op === "step" || ("args" in e && e.args.some(reads)) || ("arg" in e && reads(e.arg));
  return step.kernels.some((k) => k.kind === "pointwise" && k.items.some((item) => reads(item.expr)));
}

/** Where element (outer, k) of a contraction's operand is, as index text in a target's integer literals (zero strides dropped). */
export function operandIndex(operand: ContractOperand, outer: string, k: string, literal: (n: number) => string): string {
  const term = (variable: string, stride: number) => (stride === 0 ? [] : stride === 1 ? [variable] : [`${variable} * ${literal(stride)}`]);
  const terms = [...term(outer, operand.outerStride), ...term(k, operand.depthStride)];
  return terms.length === 0 ? literal(0) : terms.join(" + ");
}
