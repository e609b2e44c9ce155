// Which values change from step to step: those that read an input, a state or
// the step index t. A matrix among them is a rank-2 value of the step (rows
// per batch row), not a parameter expression computed once per call.
import type { CellIR, NodeId } from "./types.ts";

/** Every node whose value depends on an input, a state or t. */
export function stepValues(ir: CellIR): ReadonlySet<NodeId> {
  const varying = new Set<NodeId>();
  for (const n of ir.nodes) {
    if (n.op === "input" || n.op === "state" || n.op === "step" || ("args" in n && n.args.some((a) => varying.has(a)))) varying.add(n.id);
  }
  return varying;
}
