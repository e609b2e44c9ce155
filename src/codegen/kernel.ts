// The body of a pointwise kernel, written once for every target: for each
// value, its comment, its local and its stores. A target says how a local is
// declared, how memory is read (indexing) and how a store is written; the
// loops or threads around the body are the target's own.
import { commentText } from "./names.ts";
import { renderExpression, type ExpressionSyntax, type ReadExpr } from "./expression.ts";
import type { PointwiseItem, Store } from "./plan.ts";

export interface KernelTarget {
  readonly syntax: ExpressionSyntax;
  /** A local's declaration: `const x = v;` in TypeScript, `let x = v;` in WGSL. */
  readonly declare: (local: string, value: string) => string;
  /** An element read, indexed for the current (step, row, element). */
  readonly read: (read: ReadExpr) => string;
  /** The statement that stores `local` where `store` says. */
  readonly store: (store: Store, local: string) => string;
}

export function pointwiseBody(items: readonly PointwiseItem[], target: KernelTarget): string[] {
  const lines: string[] = [];
  for (const item of items) {
    if (item.comment) lines.push(`// ${commentText(item.comment)}`);
    lines.push(target.declare(item.local, renderExpression(item.expr, target.syntax, target.read)));
    for (const s of item.stores) lines.push(target.store(s, item.local));
  }
  return lines;
}
