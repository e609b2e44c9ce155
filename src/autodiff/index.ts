// src/autodiff: one step's IR -> the backward IR of that step.
export { differentiate, AutodiffError } from "./differentiate.ts";
export { productsOf, type Product } from "./products.ts";
export type { BackwardIR, BNode, BNodeId, ParamGradient, OuterGradient, TransposedTerm } from "./types.ts";
