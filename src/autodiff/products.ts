// The matrix-vector products of a cell, grouped by the vector they read.
// A product `M @ [a, b]` over a concatenation is split into one product per
// part, on a column slice of M, so every group reads one plain vector.
// How products are grouped into packed GEMMs is the code generators' schedule
// (src/codegen/groups.ts), not part of the math.
import { addDims, constantDim } from "../ir/dims.ts";
import { stepValues } from "../ir/dependence.ts";
import type { CellIR, Dim, NodeId } from "../ir/types.ts";

export class AutodiffError extends Error {}

export interface Product {
  /** The matvec node this product is (part of). */
  readonly node: NodeId;
  readonly param: string;
  /** The matrix's row count (the matvec's length). */
  readonly rows: Dim;
  /** The first column of the matrix this product reads. */
  readonly colOffset: Dim;
  /** The vector node it multiplies: never a concat. */
  readonly vector: NodeId;
}

/** The vector parts of a node, looking through (nested) concatenations. */
function parts(ir: CellIR, id: NodeId): NodeId[] {
  const node = ir.nodes[id]!;
  return node.op === "concat" ? node.args.flatMap((a) => parts(ir, a)) : [id];
}

/** Products of a parameter matrix; a matrix that is a value of the step (rows of an input, say) times a vector is no product of weights. */
export function productsOf(ir: CellIR): Product[] {
  const products: Product[] = [];
  const varying = stepValues(ir);
  for (const node of ir.nodes) {
    if (node.op !== "matvec" || varying.has(node.args[0])) continue;
    const matrix = ir.nodes[node.args[0]]!;
    if (matrix.op !== "param") throw new AutodiffError(`the matrix of a product must be a parameter (line ${node.span.line}); an expression there is not supported yet`);
    let colOffset = constantDim(0);
    for (const vector of parts(ir, node.args[1])) {
      products.push({ node: node.id, param: matrix.name, rows: node.shape[0]!, colOffset, vector });
      colOffset = addDims(colOffset, ir.nodes[vector]!.shape[0]!);
    }
  }
  return products;
}
