// The IR's forms that the code generators do not compile yet, named as a user
// wrote them. Static inputs and rank-2 values of inputs come in a later
// version of the back half; until then `check --target` and `compile` refuse
// a cell that uses one, at the line that uses it, and `run` (the interpreter)
// runs it.
import type { CellIR, IrNode } from "../ir/types.ts";

const NOT_COMPILED: Partial<Record<IrNode["op"], string>> = {
  rowmap: "a matrix applied to each row (M @ X with X a matrix)",
  vecmat: "a weighted sum of rows (v @ X)",
};

/** The name of the form a node is, when the code generators cannot compile it yet; null otherwise. */
export function formNotCompiled(ir: CellIR, node: IrNode): string | null {
  return null;
}

function dependsOnNonParameter(ir: CellIR, node: IrNode): boolean {
  if (node.op === "input" || node.op === "state" || node.op === "step") return true;
  return "args" in node && node.args.some((a) => dependsOnNonParameter(ir, ir.nodes[a]!));
}
