// Reverse-mode differentiation of one step: CellIR -> BackwardIR. Walks the
// forward nodes in reverse, summing each node's incoming gradients once, and
// emits each argument's share with the usual local rules. Simplifications:
// constants get no gradient; factors of 0 drop a term and factors of ±1 vanish;
// σ', tanh', exp' ... are computed from the saved forward output, not
// recomputed; the gradients that reach a vector through products are one
// fused transposed product per vector.
import { addDims, constantDim } from "../ir/dims.ts";
import type { CellIR, IrNode, NodeId, Shape, UnaryFunction } from "../ir/types.ts";
import { productsOf, AutodiffError, type Product } from "./products.ts";
import type { BackwardIR, BNode, BNodeId, OuterGradient, TransposedTerm } from "./types.ts";

export { AutodiffError };

type NewBNode = BNode extends infer N ? (N extends BNode ? Omit<N, "id"> : never) : never;

/** Functions whose derivative is read from the saved input rather than the output. */
const DERIVATIVE_FROM_INPUT: ReadonlySet<UnaryFunction> = new Set(["log", "abs"]);

export function differentiate(ir: CellIR): BackwardIR {
  const nodes: BNode[] = [];
  const add = (n: NewBNode): BNodeId => {
    const id = nodes.length;
    nodes.push({ ...n, id } as BNode);
    return id;
  };
  const savedMemo = new Map<NodeId, BNodeId>();
  // Vectors of products: their outer products need them, though no node reads them.
  const savedVectors = new Set<NodeId>();
  const saved = (node: NodeId): BNodeId => {
    if (!savedMemo.has(node)) savedMemo.set(node, add({ op: "saved", node, shape: ir.nodes[node]!.shape, from: node }));
    return savedMemo.get(node)!;
  };
  const constValue = (id: NodeId): number | null => {
    const n = ir.nodes[id]!;
    return n.op === "const" ? n.value : null;
  };
  const isScalar = (shape: Shape) => shape.length === 0;

  // Gradient contributions still to be summed, per forward node.
  const incoming = new Map<NodeId, BNodeId[]>();
  const contribute = (target: NodeId, g: BNodeId, from: NodeId) => {
    if (ir.nodes[target]!.op === "const") return;
    // A scalar broadcast over a vector receives the sum of the vector's gradient; a vector broadcast over rows, the sum of the rows'.
    const [rank, gradRank] = [ir.nodes[target]!.shape.length, nodes[g]!.shape.length];
    const grad = rank === 0 && gradRank > 0 ? add({ op: "sum", args: [g], shape: [], from }) : rank === 1 && gradRank === 2 ? add({ op: "sumRows", args: [g], shape: ir.nodes[target]!.shape, from }) : g;
    if (!incoming.has(target)) incoming.set(target, []);
    incoming.get(target)!.push(grad);
  };
  /** g · (the forward value of `factor`), simplified when the factor is a known constant; null when it is zero. */
  const times = (g: BNodeId, factor: NodeId, from: NodeId): BNodeId | null => {
    const c = constValue(factor);
    if (c === 0) return null;
    if (c === 1) return g;
    if (c === -1) return add({ op: "neg", args: [g], shape: nodes[g]!.shape, from });
    const f = c === null ? saved(factor) : add({ op: "const", value: c, shape: [], from });
    return add({ op: "mul", args: [g, f], shape: broadcastShape(nodes[g]!.shape, ir.nodes[factor]!.shape), from });
  };
  const negate = (g: BNodeId, from: NodeId) => add({ op: "neg", args: [g], shape: nodes[g]!.shape, from });

  const products = productsOf(ir);
  const productsByNode = new Map<NodeId, Product[]>();
  for (const p of products) productsByNode.set(p.node, [...(productsByNode.get(p.node) ?? []), p]);
  // Transposed-product terms waiting for their vector node to be reached.
  const pendingTerms = new Map<NodeId, TransposedTerm[]>();
  const outer = new Map<string, OuterGradient[]>();
  const paramElementwise = new Map<string, BNodeId>();
  const inputGrads = new Map<string, BNodeId>();
  const stateGrads = new Map<string, BNodeId>();

  for (const o of ir.outputs) contribute(o.node, add({ op: "seed", source: "output", name: o.name, shape: ir.nodes[o.node]!.shape, from: o.node }), o.node);
  for (const s of ir.nextState) contribute(s.node, add({ op: "seed", source: "state", name: s.state, shape: ir.nodes[s.node]!.shape, from: s.node }), s.node);

  for (let id = ir.nodes.length - 1; id >= 0; id--) {
    const node = ir.nodes[id]!;
    const terms = pendingTerms.get(id);
    if (terms) contribute(id, add({ op: "matvecT", vector: id, terms, shape: node.shape, from: terms[0]!.product }), id);
    const parts = incoming.get(id);
    if (!parts) continue;
    const g = parts.slice(1).reduce((sum, p) => add({ op: "add", args: [sum, p], shape: node.shape, from: id }), parts[0]!);
    backpropagate(node, g);
  }

  function backpropagate(node: IrNode, g: BNodeId): void {
    const from = node.id;
    switch (node.op) {
      case "param":
        paramElementwise.set(node.name, g);
        return;
      case "input":
        inputGrads.set(node.name, g);
        return;
      case "state":
        stateGrads.set(node.name, g);
        return;
      case "const":
        return;
      case "add":
        contribute(node.args[0], g, from);
        contribute(node.args[1], g, from);
        return;
      case "sub":
        contribute(node.args[0], g, from);
        if (constValue(node.args[1]) === null) contribute(node.args[1], negate(g, from), from);
        return;
      case "neg":
        contribute(node.args[0], negate(g, from), from);
        return;
      case "mul": {
        const [a, b] = node.args;
        if (constValue(a) === null) {
          const ga = times(g, b, from);
          if (ga !== null) contribute(a, ga, from);
        }
        if (constValue(b) === null) {
          const gb = times(g, a, from);
          if (gb !== null) contribute(b, gb, from);
        }
        return;
      }
      case "div": {
        const [a, b] = node.args;
        const shape = nodes[g]!.shape;
        if (constValue(a) === null) {
          const c = constValue(b);
          const ga = c === 1 ? g : add({ op: "div", args: [g, c === null ? saved(b) : add({ op: "const", value: c, shape: [], from })], shape, from });
          contribute(a, ga, from);
        }
        // A size (mean's n) is no function of anything: it takes no gradient.
        if (constValue(b) === null && ir.nodes[b]!.op !== "dim") {
          // d(a/b)/db = -(a/b)/b, from the saved quotient.
          const quotient = add({ op: "mul", args: [g, saved(node.id)], shape, from });
          contribute(b, negate(add({ op: "div", args: [quotient, saved(b)], shape, from }), from), from);
        }
        return;
      }
      case "apply": {
        if (node.fn === "identity") {
          contribute(node.args[0], g, from);
          return;
        }
        const fromInput = DERIVATIVE_FROM_INPUT.has(node.fn);
        const source = saved(fromInput ? node.args[0] : node.id);
        const derivative = add({ op: "derivative", fn: node.fn, of: fromInput ? "input" : "output", args: [source], shape: node.shape, from });
        contribute(node.args[0], add({ op: "mul", args: [g, derivative], shape: node.shape, from }), from);
        return;
      }
      case "concat": {
        let offset = constantDim(0);
        for (const part of node.args) {
          const shape = ir.nodes[part]!.shape;
          contribute(part, add({ op: "slice", args: [g], offset, shape, from }), from);
          offset = addDims(offset, shape[0]!);
        }
        return;
      }
      case "slice":
        contribute(node.args[0], add({ op: "pad", args: [g], offset: node.offset, shape: ir.nodes[node.args[0]]!.shape, from }), from);
        return;
      case "reduce":
        contribute(node.args[0], add({ op: "spread", fn: node.fn, reduced: node.id, args: [g], shape: ir.nodes[node.args[0]]!.shape, from }), from);
        return;
      case "rowmap": {
        // Y[l] = M X[l]: dX[l] = Mᵀ dY[l]; dM = Σ_l dY[l] ⊗ X[l].
        const [m, x] = node.args;
        contribute(m, add({ op: "crossRows", args: [g, saved(x)], shape: ir.nodes[m]!.shape, from }), from);
        contribute(x, add({ op: "rowmap", transposed: true, args: [saved(m), g], shape: ir.nodes[x]!.shape, from }), from);
        return;
      }
      case "vecmat": {
        // z = Σ_l v[l] X[l]: dv[l] = X[l] · dz; dX = v ⊗ dz.
        const [v, x] = node.args;
        contribute(v, add({ op: "rowdot", args: [saved(x), g], shape: ir.nodes[v]!.shape, from }), from);
        contribute(x, add({ op: "outer", args: [saved(v), g], shape: ir.nodes[x]!.shape, from }), from);
        return;
      }
      case "matvec": {
        const weights = productsByNode.get(node.id);
        if (!weights) {
          // Rows of the step times a vector, e[l] = X[l] · u: dX = de ⊗ u; du = Σ_l de[l] X[l].
          const [x, u] = node.args;
          contribute(x, add({ op: "outer", args: [g, saved(u)], shape: ir.nodes[x]!.shape, from }), from);
          contribute(u, add({ op: "vecmat", args: [g, saved(x)], shape: ir.nodes[u]!.shape, from }), from);
          return;
        }
        for (const p of weights) {
          const term: TransposedTerm = { param: p.param, rows: p.rows, colOffset: p.colOffset, grad: g, product: p.node };
          pendingTerms.set(p.vector, [...(pendingTerms.get(p.vector) ?? []), term]);
          outer.set(p.param, [...(outer.get(p.param) ?? []), { grad: g, vector: p.vector, colOffset: p.colOffset, product: p.node }]);
          savedVectors.add(p.vector);
        }
        return;
      }
      case "pow":
        powGradients(node, g);
        return;
      case "mod": {
        // a mod b = a - b·floor(a / b): floor passes no gradient.
        const [a, b] = node.args;
        if (constValue(a) === null) contribute(a, g, from);
        if (constValue(b) === null) {
          const quotient = add({ op: "apply", fn: "floor", args: [add({ op: "div", args: [saved(a), saved(b)], shape: node.shape, from })], shape: node.shape, from });
          contribute(b, negate(add({ op: "mul", args: [g, quotient], shape: node.shape, from }), from), from);
        }
        return;
      }
      case "min":
      case "max": {
        // Where the two are equal the first argument takes the gradient, as in the interpreter.
        const [a, b] = node.args;
        const first = add({ op: node.op === "min" ? "le" : "ge", args: [saved(a), saved(b)], shape: node.shape, from });
        selectGradients(first, a, b, g, from);
        return;
      }
      case "where":
        selectGradients(saved(node.args[0]), node.args[1], node.args[2], g, from);
        return;
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne":
      case "step":
      case "dim":
      case "index":
        // Comparisons pass no gradient; the step index, sizes and index vectors are not functions of anything.
        return;
    }
  }

  /** g to `a` where `mask` ≠ 0 and to `b` elsewhere (where, min, max). */
  function selectGradients(mask: BNodeId, a: NodeId, b: NodeId, g: BNodeId, from: NodeId): void {
    const shape = nodes[g]!.shape;
    const zero = () => add({ op: "const", value: 0, shape: [], from });
    if (constValue(a) === null) contribute(a, add({ op: "where", args: [mask, g, zero()], shape, from }), from);
    if (constValue(b) === null) contribute(b, add({ op: "where", args: [mask, zero(), g], shape, from }), from);
  }

  /** d(a^b)/da = b·a^(b-1); d(a^b)/db = a^b·ln a where a > 0, else 0 (the interpreter's rule). */
  function powGradients(node: IrNode & { readonly args: readonly [NodeId, NodeId] }, g: BNodeId): void {
    const from = node.id;
    const [a, b] = [node.args[0], node.args[1]];
    const shape = node.shape;
    const constant = (value: number) => add({ op: "const", value, shape: [], from });
    if (constValue(a) === null) {
      const c = constValue(b);
      const exponent = c === null ? saved(b) : constant(c);
      const lowered = add({ op: "pow", args: [saved(a), add({ op: "sub", args: [exponent, constant(1)], shape: ir.nodes[b]!.shape, from })], shape, from });
      contribute(a, add({ op: "mul", args: [g, add({ op: "mul", args: [exponent, lowered], shape, from })], shape, from }), from);
    }
    if (constValue(b) === null) {
      const positive = add({ op: "gt", args: [saved(a), constant(0)], shape: ir.nodes[a]!.shape, from });
      const logBase = add({ op: "apply", fn: "log", args: [saved(a)], shape: ir.nodes[a]!.shape, from });
      const share = add({ op: "mul", args: [add({ op: "mul", args: [g, saved(node.id)], shape, from }), logBase], shape, from });
      contribute(b, add({ op: "where", args: [positive, share, constant(0)], shape, from }), from);
    }
  }

  // Terms were gathered in reverse node order; keep them in the forward (packing) order (the sort is stable).
  const reordered = nodes.map((n) => (n.op === "matvecT" ? { ...n, terms: [...n.terms].sort((x, y) => x.product - y.product) } : n));
  const outerOrdered = (param: string) => [...(outer.get(param) ?? [])].reverse();

  return {
    cell: ir.name,
    nodes: reordered,
    params: ir.params.map((p) => ({ param: p.name, elementwise: paramElementwise.get(p.name) ?? null, outer: outerOrdered(p.name) })),
    inputs: ir.inputs.map((i) => ({ input: i.name, node: inputGrads.get(i.name) ?? null })),
    states: ir.states.map((s) => ({ state: s.name, node: stateGrads.get(s.name) ?? null })),
    saved: [...new Set([...savedMemo.keys(), ...savedVectors])].sort((a, b) => a - b),
  };
}

function broadcastShape(a: Shape, b: Shape): Shape {
  return a.length === 0 ? b : a;
}

