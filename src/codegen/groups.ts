// The schedule's packing of products: every product that reads one vector is
// one group, run as a single pass over a packed matrix forward, and its
// transposed product (the gradient reaching the vector) as one pass backward.
import type { NodeId } from "../ir/types.ts";
import type { Product } from "../autodiff/index.ts";

export interface ProductGroup {
  readonly vector: NodeId;
  /** In node order; row offsets in the packed matrix are the running sum of `rows`. */
  readonly products: readonly Product[];
}

export function groupProducts(products: readonly Product[]): ProductGroup[] {
  const groups = new Map<NodeId, Product[]>();
  for (const p of products) {
    if (!groups.has(p.vector)) groups.set(p.vector, []);
    groups.get(p.vector)!.push(p);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([vector, ps]) => ({ vector, products: ps }));
}
