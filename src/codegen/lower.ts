// Lowering a cell (forward IR + backward IR) at bound sizes, under a target's
// schedule, to the module plan (plan.ts): packed weight groups, where every
// value lives, the scheduled kernels of one forward and one backward step, and
// the kernels before and after the loops. Target-independent; renderers turn
// the plan into text.
import { differentiate, productsOf, type BackwardIR, type BNode } from "../autodiff/index.ts";
import { groupProducts } from "./groups.ts";
import type { SizeBinding } from "../ir/bind.ts";
import { evaluateDim } from "../ir/dims.ts";
import type { CellIR, ElementwiseOp, IrNode, NodeId, Shape } from "../ir/types.ts";
import { hoistMatrixExpressions, isConstantDerived, planDerivedMatrix } from "./derived.ts";
import { CodegenError, DERIVED_NAME, generatedLocal, specIdentifier } from "./names.ts";
import {
  read,
  rowLoc,
  rowScalarLoc,
  sharedLoc,
  timedLoc,
  type AfterLoopKernel,
  type BufferPlan,
  type CellInterface,
  type Expr,
  type GroupPlan,
  type Loc,
  type ModulePlan,
  type PackedProduct,
  type Schedule,
  type Store,
} from "./plan.ts";
import { scheduleStep, substitute, type LGemm, type LNode } from "./schedule.ts";

export type { ModulePlan, GroupPlan, PackedProduct } from "./plan.ts";

/** Generated names of the module's arrays, all derived from validated spec names. */
export const arrays = {
  param: (name: string) => generatedLocal("p", specIdentifier(name)),
  input: (name: string) => generatedLocal("in", specIdentifier(name)),
  hist: (name: string) => generatedLocal("hist", specIdentifier(name)),
  output: (name: string) => generatedLocal("out", specIdentifier(name)),
  upstream: (name: string) => generatedLocal("up", specIdentifier(name)),
  carry: (name: string) => generatedLocal("carry", specIdentifier(name)),
  carryPrev: (name: string) => generatedLocal("carryPrev", specIdentifier(name)),
  /** Where an ended row's carried gradient waits while backward runs the steps past its length. */
  parked: (name: string) => generatedLocal("parked", specIdentifier(name)),
  gradInput: (name: string) => generatedLocal("dIn", specIdentifier(name)),
  gradParam: (name: string) => generatedLocal("dP", specIdentifier(name)),
};

/** The CPU targets' schedule: products as GEMM kernels, one-row products under 4 rows. */
export const CPU_SCHEDULE: Schedule = { target: "ts", hoistInputProjections: true, deferInputGradients: true, rowProductsBelowBatch: 4, fuseProductsIntoReaders: false };

function equationOf(ir: CellIR, id: NodeId) {
  return ir.equations.find((e) => e.node >= id) ?? null;
}

/**
 * Locals' names: an equation's root is named after its target with a trailing
 * '_' (`f_`, `c_next_`, `h_out_`), every other value `_v_<id>`. The two sets
 * cannot meet: a spec name starts with a letter, and every name the generator
 * makes itself (arrays, loop and row variables) starts with '_' and never ends
 * with one, so no spec name (`r1`, `j`, `tmp_5`, `p_W`) can shadow them.
 */
function valueNamer(ir: CellIR): (id: NodeId) => string {
  const used = new Set<string>();
  // The first equation of a value names it (`h' = ...` before `output h = h'`).
  const roots = new Map([...ir.equations].reverse().map((e) => [e.node, e]));
  return (id) => {
    const eq = roots.get(id);
    let name = eq ? `${[specIdentifier(eq.target), ...(eq.kind === "next" ? ["next"] : eq.kind === "output" ? ["out"] : [])].join("_")}_` : generatedLocal("v", id);
    if (used.has(name)) name = `${name}${id}`;
    used.add(name);
    return name;
  };
}

/** Nodes of a step under construction, with the required destinations applied one by one (never mutating a node). */
class StepNodes {
  readonly list: LNode[];
  private readonly byKey: Map<number, LNode>;
  private nextKey: number;
  constructor(nodes: readonly LNode[], firstExtraKey: number) {
    this.list = [...nodes];
    this.byKey = new Map(nodes.map((n) => [n.key, n]));
    this.nextKey = firstExtraKey;
  }
  get(key: number): LNode {
    const n = this.byKey.get(key);
    if (!n) throw new CodegenError(`internal: no value ${key}`);
    return n;
  }
  private replace(key: number, next: LNode): void {
    this.list[this.list.indexOf(this.get(key))] = next;
    this.byKey.set(key, next);
  }
  push(node: Omit<LNode, "key">): number {
    const key = this.nextKey++;
    this.list.push({ ...node, key });
    this.byKey.set(key, this.list[this.list.length - 1]!);
    return key;
  }
  /** Makes the value `key` reach `loc`; returns the key of the node that writes it there (a copy, when the value has no loop of its own). */
  destination(key: number, loc: Loc, mode: "set" | "add", name: string, param: string | null = null): number {
    const n = this.get(key);
    const store: Store = { loc, mode, param };
    if (n.kind === "pointwise" && mode === "set" && !n.loc) this.replace(key, { ...n, loc });
    else if (n.kind === "pointwise") this.replace(key, { ...n, stores: [...n.stores, store] });
    // A copy sets its row: a gradient it adds to (a slice's, padded) goes through a pointwise copy below.
    else if ((n.kind === "concat" || n.kind === "contract") && mode === "set" && !n.loc) this.replace(key, { ...n, loc });
    else {
      if (n.length === 0) throw new CodegenError("a scalar expression cannot be a state, output or gradient destination");
      // Right after the value it copies: a transposed product that reads the copy must come after it (dependency order).
      const copy: LNode = { key: this.nextKey++, kind: "pointwise", length: n.length, loc: mode === "set" ? loc : null, args: [key], expr: { op: "arg", index: 0 }, gemms: [], stores: mode === "add" ? [store] : [], mustMaterialize: false, comment: null, name };
      this.list.splice(this.list.indexOf(n) + 1, 0, copy);
      this.byKey.set(copy.key, copy);
      return copy.key;
    }
    return key;
  }
  /** Every store into one of `arrays` becomes a plain set (the slot is fresh each step). */
  storesAsSet(arrays: ReadonlySet<string>): void {
    for (const n of [...this.list]) {
      if (n.stores.some((s) => arrays.has(s.loc.array) && s.mode === "add")) this.replace(n.key, { ...n, stores: n.stores.map((s) => (arrays.has(s.loc.array) ? { ...s, mode: "set" as const } : s)) });
    }
  }
}

function cellInterface(spec: CellIR, ir: CellIR, sizes: SizeBinding): CellInterface {
  const dims = (shape: Shape) => shape.map((d) => evaluateDim(d, sizes));
  const width = (shape: Shape) => dims(shape).reduce((n, d) => n * d, 1);
  return {
    name: specIdentifier(spec.name),
    sizes: spec.sizes.map((s) => ({ name: specIdentifier(s.name), value: sizes[s.name]! })),
    params: ir.params.map((p) => ({ name: specIdentifier(p.name), shape: dims(p.shape), count: dims(p.shape).reduce((n, d) => n * d, 1), init: p.init, internal: DERIVED_NAME.test(p.name) })),
    inputs: ir.inputs.map((i) => ({ name: specIdentifier(i.name), width: width(i.shape), ...(i.static ? { static: true as const } : {}) })),
    states: ir.states.map((s) => ({ name: specIdentifier(s.name), width: width(s.shape), init: s.init })),
    outputs: ir.outputs.map((o) => ({ name: specIdentifier(o.name), width: width(o.shape) })),
    equations: spec.equations.map((e) => e.text),
  };
}

export function lowerCell(spec: CellIR, sizes: SizeBinding, schedule: Schedule = CPU_SCHEDULE): ModulePlan {
  const { ir, hoisted } = hoistMatrixExpressions(spec);
  const derived = hoisted.map((h) => planDerivedMatrix(spec, h, hoisted, sizes, arrays.param, arrays.gradParam));
  const bir = differentiate(ir);
  // Elements per batch row: a rank-2 value [L, n] is L·n, row-major.
  const length = (shape: Shape) => (shape.length === 0 ? 0 : shape.reduce((n, d) => n * evaluateDim(d, sizes), 1));
  const dim = (d: Parameters<typeof evaluateDim>[0]) => evaluateDim(d, sizes);
  const nodeLength = (id: NodeId) => length(ir.nodes[id]!.shape);
  const irShape = (id: NodeId) => ir.nodes[id]!.shape.map(dim);
  for (const s of ir.states) if (s.shape.length !== 1) throw new CodegenError(`state '${s.name}' must be a vector`);
  for (const i of ir.inputs) if (i.shape.length !== 1 && !i.static) throw new CodegenError(`input '${i.name}' must be a vector`);
  const isStatic = (name: string) => ir.inputs.find((i) => i.name === name)!.static;
  const cell = cellInterface(spec, ir, sizes);

  // --- Forward values ----------------------------------------------------
  const leafLoc = (n: IrNode): Loc | null => {
    // A static input is one row per batch row, read at every step.
    if (n.op === "input") return isStatic(n.name) ? rowLoc(arrays.input(n.name), nodeLength(n.id)) : timedLoc(arrays.input(n.name), nodeLength(n.id));
    if (n.op === "state") return timedLoc(arrays.hist(n.name), nodeLength(n.id));
    if (n.op === "param") return sharedLoc(arrays.param(n.name), n.shape.length === 0);
    return null;
  };
  const paramShape = (name: string) => ir.params.find((p) => p.name === name)!.shape;
  const paramLabel = (name: string) => derived.find((d) => d.name === name)?.label ?? name;

  const productGroups = groupProducts(productsOf(ir)).map((g, index) => {
    const vector = ir.nodes[g.vector]!;
    let rowOffset = 0;
    const products = g.products.map((p) => {
      const packed: PackedProduct = { node: p.node, param: p.param, rows: dim(p.rows), cols: nodeLength(p.vector), paramCols: dim(paramShape(p.param)[1]!), colOffset: dim(p.colOffset), rowOffset };
      rowOffset += packed.rows;
      return packed;
    });
    // A static input's product runs in the step, from its per-step copy (below).
    const precomputed = schedule.hoistInputProjections && vector.op === "input" && !isStatic(vector.name);
    const label = vector.op === "input" || vector.op === "state" || vector.op === "param" ? vector.name : (equationOf(ir, g.vector)?.target ?? `value ${g.vector}`);
    return { index, vector: g.vector, vectorLabel: label, products, rows: rowOffset, depth: nodeLength(g.vector), packed: generatedLocal("w", index), packedT: generatedLocal("wt", index), precomputed, out: generatedLocal(precomputed ? "proj" : "g", index) };
  });
  type ProductGroup = (typeof productGroups)[number];
  const groupOfProduct = new Map<NodeId, { group: ProductGroup; product: PackedProduct }[]>();
  for (const group of productGroups) for (const product of group.products) groupOfProduct.set(product.node, [...(groupOfProduct.get(product.node) ?? []), { group, product }]);
  const productComment = (g: ProductGroup) => `${g.products.map((p) => `${paramLabel(p.param)}${p.cols === p.paramCols ? "" : `[:, ${p.colOffset}:${p.colOffset + p.cols}]`}`).join(", ")} @ ${g.vectorLabel}`;

  const equationTexts = new Map<NodeId, string[]>();
  for (const e of ir.equations) equationTexts.set(e.node, [...(equationTexts.get(e.node) ?? []), e.text]);
  const comment = (id: NodeId) => equationTexts.get(id)?.join("; ") ?? null;
  const fwdGemms: LGemm[] = productGroups
    .filter((g) => !g.precomputed)
    .map((g) => ({ key: g.index, operands: [g.vector], a: null, aOf: g.vector, kernel: { kind: "gemm", group: g.index, transposed: false, w: g.packed, rows: g.rows, depth: g.depth, out: rowLoc(g.out, g.rows), comment: productComment(g) } }));

  const valueName = valueNamer(ir);
  const tapes: { array: string; width: number; node: NodeId }[] = [];
  const productVectors = new Set(productGroups.map((g) => g.vector));
  const forwardNodes: LNode[] = [];
  for (const n of ir.nodes) {
    const base = { key: n.id, length: nodeLength(n.id), stores: [], mustMaterialize: false, comment: comment(n.id), name: valueName(n.id) };
    const argsOf = (n as { args?: readonly number[] }).args ?? [];
    switch (n.op) {
      case "input":
      case "state":
      case "param":
        if ((n.op === "param" || (n.op === "input" && isStatic(n.name))) && productVectors.has(n.id)) {
          // A parameter vector or a static input that a product reads is copied to a per-step buffer, as a
          // per-step input or a state is there: the product kernels and the weight gradient read their vector row by row.
          const array = generatedLocal("tape", n.id);
          tapes.push({ array, width: base.length, node: n.id });
          forwardNodes.push({ ...base, kind: "pointwise", loc: timedLoc(array, base.length), args: [], expr: read(leafLoc(n)!), gemms: [] });
          break;
        }
        forwardNodes.push({ ...base, kind: "leaf", length: Math.max(0, base.length), loc: leafLoc(n), args: [], expr: null, gemms: [] });
        break;
      case "const":
        forwardNodes.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "const", value: n.value }, gemms: [] });
        break;
      case "matvec": {
        const parts = groupOfProduct.get(n.id);
        if (!parts) {
          // Rows of the step times a vector: no product of weights.
          forwardNodes.push({ ...base, kind: "contract", loc: null, ...contraction("rowdot", n.args, irShape), expr: null, gemms: [] });
          break;
        }
        const reads: Expr[] = parts.map(({ group, product }) => read(group.precomputed ? timedLoc(group.out, group.rows, 0, product.rowOffset) : rowLoc(group.out, group.rows, product.rowOffset)));
        const expr = reads.slice(1).reduce<Expr>((sum, r) => ({ op: "add", args: [sum, r] }), reads[0]!);
        forwardNodes.push({ ...base, kind: "pointwise", loc: null, args: [], expr, gemms: parts.filter((p) => !p.group.precomputed).map((p) => p.group.index) });
        break;
      }
      case "concat":
        forwardNodes.push({ ...base, kind: "concat", loc: null, args: n.args, expr: null, gemms: [] });
        break;
      case "rowmap":
      case "vecmat":
        forwardNodes.push({ ...base, kind: "contract", loc: null, ...contraction(n.op, n.args, irShape), expr: null, gemms: [] });
        break;
      case "slice":
        forwardNodes.push({ ...base, kind: "pointwise", loc: null, args: n.args, sliceArg: { offset: dim(n.offset) }, expr: { op: "arg", index: 0 }, gemms: [] });
        break;
      case "reduce": {
        // Kept for every step: backward reads it, and the scalar expressions over it that it recomputes.
        const loc = rowScalarLoc(generatedLocal("tape", n.id), true);
        tapes.push({ array: loc.array, width: 1, node: n.id });
        // max's gradient goes to the first largest element: the forward kernel keeps its index when a gradient reaches it.
        const spread = bir.nodes.some((b) => b.op === "spread" && b.reduced === n.id);
        const argmax = n.fn === "max" && spread ? rowScalarLoc(generatedLocal("argmax", n.id), true) : null;
        if (argmax) tapes.push({ array: argmax.array, width: 1, node: n.id });
        forwardNodes.push({ ...base, kind: "reduce", loc, args: n.args, reduce: { fn: n.fn, argmax }, expr: null, gemms: [] });
        break;
      }
      case "step":
        forwardNodes.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "step" }, gemms: [] });
        break;
      case "dim":
        forwardNodes.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "const", value: dim(n.dim) }, gemms: [] });
        break;
      case "neg":
      case "apply":
      case "where":
      case "add":
      case "sub":
      case "mul":
      case "div":
      case "pow":
      case "mod":
      case "min":
      case "max":
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne":
        forwardNodes.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: argsOf, expr: pointwiseExpr(n), gemms: [] });
        break;
    }
  }
  // Required destinations: next states, outputs, then saved values.
  const fwd = new StepNodes(forwardNodes, forwardNodes.length);
  for (const s of ir.nextState) fwd.destination(s.node, timedLoc(arrays.hist(s.state), nodeLength(s.node), 1), "set", generatedLocal("copy", specIdentifier(s.state)));
  for (const o of ir.outputs) fwd.destination(o.node, timedLoc(arrays.output(o.name), nodeLength(o.node)), "set", generatedLocal("copy", specIdentifier(o.name)));
  // Every group's vector too: the weight-gradient product reads it, even when no gradient reaches the group.
  for (const id of new Set([...bir.saved, ...productGroups.map((g) => g.vector)])) {
    const n = fwd.get(id);
    // Scalars depend on parameters and constants alone: backward recomputes them (see `inlined`).
    if (n.kind === "leaf" || n.kind === "inline" || n.loc) continue;
    const array = generatedLocal("tape", id);
    tapes.push({ array, width: n.length, node: id });
    fwd.destination(id, timedLoc(array, n.length), "set", array);
  }
  const forward = scheduleStep(fwd.list, fwdGemms, (n) => generatedLocal("tmp", n.key));
  const savedLoc = (id: NodeId): Loc => {
    const loc = fwd.get(id).loc;
    const node = ir.nodes[id]!;
    if (!loc || (!loc.timed && loc.perRow && !(node.op === "input" && isStatic(node.name)))) throw new CodegenError(`internal: saved value ${id} has no saved location`);
    return loc;
  };

  // --- Backward values ---------------------------------------------------
  const bnode = (id: number) => bir.nodes[id]!;
  const users = new Map<number, number>();
  for (const b of bir.nodes) for (const a of ("args" in b ? b.args : []) as number[]) users.set(a, (users.get(a) ?? 0) + 1);
  const gradLength = (b: BNode) => length(b.shape);
  // Gradient buffers, shared between groups whose products have the same gradients.
  const gradBuffers: { array: string; width: number; key: string }[] = [];
  const gradOfProduct = (group: ProductGroup, p: PackedProduct) => {
    const outer = bir.params.find((x) => x.param === p.param)!.outer.find((o) => o.product === p.node && o.vector === group.vector);
    return outer ? outer.grad : null;
  };
  const groups: GroupPlan[] = productGroups.map((g) => {
    const key = g.products.map((p) => `${gradOfProduct(g, p)}:${p.rows}`).join(",");
    let buffer = gradBuffers.find((b) => b.key === key);
    if (!buffer) {
      buffer = { array: generatedLocal("gb", gradBuffers.length), width: g.rows, key };
      gradBuffers.push(buffer);
    }
    const mt = bir.nodes.find((b) => b.op === "matvecT" && b.vector === g.vector);
    const vector = ir.nodes[g.vector]!;
    const deferredInput =
      schedule.deferInputGradients && vector.op === "input" && !isStatic(vector.name) && mt && bir.inputs.find((i) => i.input === vector.name)!.node === mt.id && !users.has(mt.id) ? vector.name : null;
    const { vector: _vector, ...rest } = g;
    return { ...rest, operand: savedLoc(g.vector), gradBuffer: buffer.array, deferredInput };
  });
  const groupOfVector = (vector: NodeId) => groups[productGroups.findIndex((g) => g.vector === vector)]!;
  const bwdGemms: LGemm[] = [];
  const mtOut = (id: number) => generatedLocal("mt", id);
  const bComment = (b: BNode) => {
    const eq = ir.equations.find((e) => e.node === b.from);
    return eq ? `adjoint of ${eq.text}` : null;
  };
  const backwardNodes: LNode[] = [];
  // Keys of values with no backward node of their own (the zeros around a slice's gradient), after the nodes'.
  let extraKey = bir.nodes.length;
  const zeros = new Map<number, number>();
  const zeroVector = (length: number): number => {
    if (!zeros.has(length)) {
      const key = extraKey++;
      backwardNodes.push({ key, kind: "pointwise", length, loc: null, args: [], expr: { op: "const", value: 0 }, gemms: [], stores: [], mustMaterialize: false, comment: null, name: generatedLocal("zero", key) });
      zeros.set(length, key);
    }
    return zeros.get(length)!;
  };
  for (const b of bir.nodes) {
    const base = { key: b.id, length: Math.max(0, gradLength(b)), stores: [], mustMaterialize: false, comment: bComment(b), name: generatedLocal("d", b.id), gemms: [] as number[] };
    const arg = (i: number): Expr => ({ op: "arg", index: i });
    switch (b.op) {
      case "seed": {
        const loc = b.source === "output" ? timedLoc(arrays.upstream(b.name), base.length) : rowLoc(arrays.carry(b.name), base.length);
        backwardNodes.push({ ...base, kind: "leaf", loc, args: [], expr: null });
        break;
      }
      case "saved":
        if (fwd.get(b.node).kind === "inline") backwardNodes.push({ ...base, kind: "inline", loc: null, args: [], expr: inlined(fwd.list, b.node) });
        else backwardNodes.push({ ...base, kind: "leaf", loc: ir.nodes[b.node]!.op === "param" ? leafLoc(ir.nodes[b.node]!) : savedLoc(b.node), args: [], expr: null });
        break;
      case "const":
        backwardNodes.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "const", value: b.value } });
        break;
      case "neg":
      case "apply":
      case "where":
      case "add":
      case "sub":
      case "mul":
      case "div":
      case "pow":
      case "mod":
      case "min":
      case "max":
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne":
        backwardNodes.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: b.args, expr: pointwiseExpr(b) });
        break;
      case "derivative":
        backwardNodes.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: b.args, expr: { op: "derivative", fn: b.fn, of: b.of, arg: arg(0) } });
        break;
      case "sum":
        // A reduction kernel when a per-row value reads it; a scalar parameter's share is added element by element instead (see scalarGradientTerms).
        backwardNodes.push({ ...base, kind: "reduce", loc: null, args: b.args, reduce: { fn: "sum", argmax: null }, expr: null });
        break;
      case "pad": {
        // The slice's gradient between zeros: a copy of the parts into one row.
        const [before, inside] = [dim(b.offset), gradLength(bnode(b.args[0]))];
        const after = base.length - before - inside;
        const parts = [...(before > 0 ? [zeroVector(before)] : []), b.args[0], ...(after > 0 ? [zeroVector(after)] : [])];
        backwardNodes.push({ ...base, kind: "concat", loc: null, args: parts, expr: null });
        break;
      }
      case "spread": {
        const argmax = fwd.get(b.reduced).reduce?.argmax;
        const expr: Expr =
          b.fn === "sum"
            ? arg(0)
            : { op: "where", args: [{ op: "eq", args: [{ op: "index", stride: 1, extent: base.length }, read(argmax!)] }, arg(0), { op: "const", value: 0 }] };
        backwardNodes.push({ ...base, kind: "pointwise", loc: null, args: b.args, expr });
        break;
      }
      case "slice":
        backwardNodes.push({ ...base, kind: "pointwise", loc: null, args: b.args, sliceArg: { offset: dim(b.offset) }, expr: arg(0) });
        break;
      case "rowmap":
      case "vecmat":
      case "rowdot":
      case "outer":
      case "crossRows":
      case "sumRows":
        backwardNodes.push({ ...base, kind: "contract", loc: null, ...contraction(b.op === "rowmap" && b.transposed ? "rowmapT" : b.op, b.args, (id) => bnode(id).shape.map(dim)), expr: null });
        break;
      case "matvecT": {
        const group = groupOfVector(b.vector);
        if (group.deferredInput) break;
        const productGroup = productGroups[group.index]!;
        const termGrads = group.products.map((p) => gradOfProduct(productGroup, p)).filter((x): x is number => x !== null);
        bwdGemms.push({
          key: b.id,
          operands: termGrads,
          a: timedLoc(group.gradBuffer, group.rows),
          aOf: null,
          kernel: { kind: "gemm", group: group.index, transposed: true, w: group.packedT, rows: group.depth, depth: group.rows, out: rowLoc(mtOut(b.id), group.depth), comment: `transposed ${productComment(productGroup)}` },
        });
        backwardNodes.push({ ...base, kind: "pointwise", loc: null, args: [], expr: read(rowLoc(mtOut(b.id), base.length)), gemms: [b.id] });
        break;
      }
    }
  }
  const bwd = new StepNodes(backwardNodes, extraKey);
  // Each product's gradient goes to its group's buffer; every step, once.
  const stored = new Set<string>();
  // A transposed product runs once its gradients are in the buffer: after the nodes that write them, which
  // are copies when a gradient is not computed in a loop of its own (an upstream gradient, say).
  const bufferWriter = new Map<number, number>();
  for (const g of groups) {
    for (const p of g.products) {
      const grad = gradOfProduct(productGroups[g.index]!, p);
      const key = `${g.gradBuffer}:${p.rowOffset}`;
      if (grad === null || stored.has(key)) continue;
      stored.add(key);
      // A gradient that goes to several buffers is copied once, by one node with several stores.
      bufferWriter.set(grad, bwd.destination(bufferWriter.get(grad) ?? grad, timedLoc(g.gradBuffer, g.rows, 0, p.rowOffset), "add", generatedLocal("gcopy", grad)));
    }
  }
  // "add" into a fresh zeroed buffer slot is the same as "set"; normalise so the store reads plainly.
  bwd.storesAsSet(new Set(gradBuffers.map((b) => b.array)));
  for (const s of bir.states) if (s.node !== null) bwd.destination(s.node, rowLoc(arrays.carryPrev(s.state), Math.max(0, gradLength(bnode(s.node)))), "set", generatedLocal("dcopy", specIdentifier(s.state)));
  for (const i of bir.inputs) {
    if (i.node === null || groups.some((g) => g.deferredInput === i.input)) continue;
    const width = Math.max(0, gradLength(bnode(i.node)));
    // A static input's gradient is the sum over every step's.
    const [loc, mode] = isStatic(i.input) ? [rowLoc(arrays.gradInput(i.input), width), "add" as const] : [timedLoc(arrays.gradInput(i.input), width), "set" as const];
    bwd.destination(i.node, loc, mode, generatedLocal("dxcopy", specIdentifier(i.input)));
  }
  const constants = new Set(derived.filter(isConstantDerived).map((d) => d.name));
  for (const p of bir.params) {
    // A constant's gradient would go nowhere: it is not stored, and what only computed it is dropped.
    if (p.elementwise === null || constants.has(p.param)) continue;
    if (paramShape(p.param).length === 0) {
      for (const [sum, coefficient] of scalarGradientTerms(bir, bwd.list, p.elementwise)) {
        const summed = (bnode(sum) as { args: readonly number[] }).args[0]!;
        const expr: Expr = coefficient === null ? { op: "arg", index: 0 } : { op: "mul", args: [{ op: "arg", index: 0 }, coefficient] };
        const stores: Store[] = [{ loc: sharedLoc(arrays.gradParam(p.param), true), mode: "add", param: p.param }];
        bwd.push({ kind: "pointwise", length: gradLength(bnode(summed)), loc: null, args: [summed], expr, gemms: [], stores, mustMaterialize: false, comment: null, name: generatedLocal("dps", specIdentifier(p.param), sum) });
      }
      continue;
    }
    bwd.destination(p.elementwise, sharedLoc(arrays.gradParam(p.param), false), "add", generatedLocal("dpcopy", specIdentifier(p.param)), p.param);
  }
  const transposedProducts = bwdGemms.map((g) => ({ ...g, operands: g.operands.map((k) => bufferWriter.get(k) ?? k) }));
  const backward = scheduleStep(bwd.list, transposedProducts, (n) => generatedLocal("bt", n.key));
  const mtTemps = bwdGemms.map((g) => ({ array: mtOut(g.key), width: bwd.get(g.key).length }));

  const after: AfterLoopKernel[] = [
    ...groups.flatMap((g): AfterLoopKernel[] => [{ kind: "weightGradient", group: g.index }, ...(g.deferredInput ? [{ kind: "deferredInputGradient" as const, group: g.index, input: g.deferredInput }] : [])]),
    // Constants have no parameter inside them, so no gradient to send on.
    ...derived.flatMap((d, index) => (isConstantDerived(d) ? [] : [{ kind: "derivedGradient" as const, derived: index }])),
  ];
  const backwardTemps = [...backward.temps, ...mtTemps];
  return deepFreeze({
    cell,
    schedule,
    buffers: bufferList(cell, groups, derived, tapes, forward.temps, gradBuffers, backward.temps, mtTemps),
    groups,
    derived,
    tapes,
    gradBuffers: gradBuffers.map(({ array, width }) => ({ array, width })),
    forward: { before: groups.filter((g) => g.precomputed).map((g) => ({ kind: "projection" as const, group: g.index })), step: { kernels: forward.kernels, temps: forward.temps } },
    backward: { step: { kernels: backward.kernels, temps: backwardTemps }, zeroCarry: bir.states.filter((s) => s.node === null).map((s) => s.state), after },
  });
}

type Contraction = "rowmap" | "rowmapT" | "vecmat" | "rowdot" | "outer" | "crossRows" | "sumRows";

/**
 * A product over rows as a contraction out[m, n] = Σ_k a[m, k] · b[k, n] (plan.ts), from its arguments as the IR
 * or backward IR orders them (see BNode's rowmap ... sumRows): which argument is a, which b, and their strides.
 */
function contraction(op: Contraction, args: readonly number[], bound: (id: number) => readonly number[]): Pick<LNode, "args" | "contract"> {
  const [x, y] = [bound(args[0]!), args.length > 1 ? bound(args[1]!) : []];
  const strides = (outerStride: number, depthStride: number) => ({ outerStride, depthStride });
  switch (op) {
    case "rowmap": {
      // Y[l, i] = Σ_k M[i, k] X[l, k]: args [M, X].
      const [[m, n], [l]] = [x, y] as [number[], number[]];
      return { args: [args[1]!, args[0]!], contract: { rows: l!, cols: m!, depth: n!, a: strides(n!, 1), b: strides(n!, 1) } };
    }
    case "rowmapT": {
      // dX[l, i] = Σ_k G[l, k] M[k, i]: args [M, G].
      const [[m, n], [l]] = [x, y] as [number[], number[]];
      return { args: [args[1]!, args[0]!], contract: { rows: l!, cols: n!, depth: m!, a: strides(m!, 1), b: strides(1, n!) } };
    }
    case "vecmat": {
      // z[i] = Σ_l v[l] X[l, i]: args [v, X].
      const [l, n] = y as [number, number];
      return { args, contract: { rows: 1, cols: n, depth: l, a: strides(0, 1), b: strides(1, n) } };
    }
    case "rowdot": {
      // e[l] = Σ_k X[l, k] u[k]: args [X, u].
      const [l, n] = x as [number, number];
      return { args, contract: { rows: l, cols: 1, depth: n, a: strides(n, 1), b: strides(0, 1) } };
    }
    case "outer":
      // u[m] w[n]: args [u, w].
      return { args, contract: { rows: x[0]!, cols: y[0]!, depth: 1, a: strides(1, 0), b: strides(1, 0) } };
    case "crossRows": {
      // Σ_l G[l, i] X[l, k]: args [G, X].
      const [[l, m], [, n]] = [x, y] as [number[], number[]];
      return { args, contract: { rows: m!, cols: n!, depth: l!, a: strides(1, m!), b: strides(1, n!) } };
    }
    case "sumRows": {
      // Σ_l G[l, i]: args [G].
      const [l, n] = x as [number, number];
      return { args, contract: { rows: n, cols: 1, depth: l, a: strides(1, n), b: null } };
    }
  }
}

type PointwiseNode = Extract<IrNode | BNode, { op: "neg" | "apply" | "where" | ElementwiseOp }>;

/** An elementwise node's value as an expression of its arguments. */
function pointwiseExpr(n: PointwiseNode): Expr {
  const arg = (i: number): Expr => ({ op: "arg", index: i });
  switch (n.op) {
    case "neg":
      return { op: "neg", arg: arg(0) };
    case "apply":
      return { op: "apply", fn: n.fn, arg: arg(0) };
    case "where":
      return { op: "where", args: [arg(0), arg(1), arg(2)] };
    default:
      return { op: n.op, args: [arg(0), arg(1)] };
  }
}

/** The plan is a value: frozen all the way down, so no stage after lowering can change it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

type Temps = readonly { readonly array: string; readonly width: number }[];

/** Every array the module uses, with its role. */
function bufferList(
  cell: CellInterface,
  groups: readonly GroupPlan[],
  derived: ModulePlan["derived"],
  tapes: ModulePlan["tapes"],
  forwardTemps: Temps,
  gradBuffers: Temps,
  backwardTemps: Temps,
  transposedProducts: Temps,
): BufferPlan[] {
  const buffer = (name: string, role: BufferPlan["role"], width: number, extent: BufferPlan["extent"], of: string | null = null): BufferPlan => ({ name, role, width, extent, of });
  return [
    ...cell.params.map((p) => buffer(arrays.param(p.name), p.internal ? "derived" : "param", p.count, "shared", p.internal ? (derived.find((d) => d.name === p.name)?.label ?? null) : p.name)),
    ...cell.inputs.map((i) => buffer(arrays.input(i.name), "input", i.width, i.static ? "row" : "steps", i.name)),
    ...cell.states.map((s) => buffer(arrays.hist(s.name), "history", s.width, "history", s.name)),
    ...cell.outputs.map((o) => buffer(arrays.output(o.name), "output", o.width, "steps", o.name)),
    ...tapes.map((t) => buffer(t.array, "tape", t.width, "steps")),
    ...groups.flatMap((g) => [
      buffer(g.packed, "packed", g.rows * g.depth, "shared"),
      buffer(g.packedT, "packedTransposed", g.rows * g.depth, "shared"),
      g.precomputed ? buffer(g.out, "projection", g.rows, "steps") : buffer(g.out, "product", g.rows, "row"),
    ]),
    ...forwardTemps.map((t) => buffer(t.array, "scratch", t.width, "row")),
    ...cell.outputs.map((o) => buffer(arrays.upstream(o.name), "upstream", o.width, "steps", o.name)),
    ...cell.states.flatMap((s) => [buffer(arrays.carry(s.name), "carry", s.width, "row", s.name), buffer(arrays.carryPrev(s.name), "carryPrevious", s.width, "row", s.name)]),
    ...gradBuffers.map((g) => buffer(g.array, "productGradient", g.width, "steps")),
    ...backwardTemps.map((t) => buffer(t.array, "scratch", t.width, "row")),
    ...transposedProducts.map((t) => buffer(t.array, "transposedProduct", t.width, "row")),
    ...cell.params.map((p) => buffer(arrays.gradParam(p.name), "paramGradient", p.count, "shared", p.internal ? null : p.name)),
    ...cell.inputs.map((i) => buffer(arrays.gradInput(i.name), "inputGradient", i.width, i.static ? "row" : "steps", i.name)),
  ];
}

/** A value of a step that needs no loop (a scalar) as one expression over the leaves it reads. */
function inlined(list: readonly LNode[], key: number): Expr {
  const n = list.find((x) => x.key === key)!;
  if ((n.kind === "leaf" || n.kind === "reduce") && n.loc) return read(n.loc);
  if (n.kind !== "inline") throw new CodegenError(`internal: value ${key} is not a scalar expression`);
  return substitute(n.expr!, n.args.map((a) => inlined(list, a)));
}

/**
 * A scalar gradient as Σ coefficient · sum over the `sum` nodes it is made of (a null coefficient is 1).
 * Scalars depend on parameters, constants and t alone, so every coefficient is the same for every batch
 * row of a step, and a scalar parameter's gradient, Σ_t,b coefficient · Σ_j v_j, can be added element by element.
 */
function scalarGradientTerms(bir: BackwardIR, bwd: readonly LNode[], id: number): Map<number, Expr | null> {
  const node = bir.nodes[id]!;
  const one: Expr = { op: "const", value: 1 };
  const scaled = (terms: Map<number, Expr | null>, by: (c: Expr | null) => Expr) => new Map([...terms].map(([k, c]) => [k, by(c)]));
  const carriesGradient = (b: number): boolean => {
    const n = bir.nodes[b]!;
    return n.op === "sum" || ("args" in n && n.args.some(carriesGradient));
  };
  const merged = (terms: Map<number, Expr | null>, more: Map<number, Expr | null>) => {
    for (const [k, c] of more) terms.set(k, terms.has(k) ? { op: "add", args: [terms.get(k) ?? one, c ?? one] } : c);
    return terms;
  };
  switch (node.op) {
    case "sum":
      return new Map([[id, null]]);
    case "add":
      return merged(scalarGradientTerms(bir, bwd, node.args[0]), scalarGradientTerms(bir, bwd, node.args[1]));
    case "where": {
      // The gradient of where, min or max: each branch's terms, kept where the mask picks that branch.
      const mask = inlined(bwd, node.args[0]);
      const zero: Expr = { op: "const", value: 0 };
      const branch = (arg: number, first: boolean) =>
        carriesGradient(arg) ? scaled(scalarGradientTerms(bir, bwd, arg), (c): Expr => ({ op: "where", args: first ? [mask, c ?? one, zero] : [mask, zero, c ?? one] })) : new Map<number, Expr | null>();
      return merged(branch(node.args[1], true), branch(node.args[2], false));
    }
    case "neg":
      return scaled(scalarGradientTerms(bir, bwd, node.args[0]), (c) => (c === null ? { op: "const", value: -1 } : { op: "neg", arg: c }));
    case "mul": {
      const [gradient, factor] = carriesGradient(node.args[0]) ? node.args : [node.args[1], node.args[0]];
      const f = inlined(bwd, factor);
      return scaled(scalarGradientTerms(bir, bwd, gradient), (c) => (c === null ? f : { op: "mul", args: [c, f] }));
    }
    case "div": {
      const f = inlined(bwd, node.args[1]);
      return scaled(scalarGradientTerms(bir, bwd, node.args[0]), (c) => ({ op: "div", args: [c ?? one, f] }));
    }
    default:
      throw new CodegenError(`internal: a scalar gradient made by '${node.op}'`);
  }
}
