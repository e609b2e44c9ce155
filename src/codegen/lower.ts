// Lowering a cell (forward IR + backward IR) at bound sizes to the module
// plan: packed weight groups, where every value lives, and the scheduled
// kernels of one forward step and one backward step. Target-independent;
// renderers turn the plan into text.
import { differentiate, type BackwardIR, type BNode } from "../autodiff/index.ts";
import type { SizeBinding } from "../ir/bind.ts";
import { evaluateDim } from "../ir/dims.ts";
import type { CellIR, IrNode, NodeId } from "../ir/types.ts";
import { hoistMatrixExpressions, planDerivedMatrix, type DerivedMatrixPlan } from "./derived.ts";
import { CodegenError, DERIVED_NAME, generatedLocal, specIdentifier } from "./names.ts";
import { read, rowLoc, scheduleStep, sharedLoc, substitute, timedLoc, type Expr, type LGemm, type LNode, type Loc, type ScheduledStep } from "./schedule.ts";

export interface PackedProduct {
  readonly node: NodeId;
  readonly param: string;
  readonly rows: number;
  readonly cols: number;
  /** Columns of the parameter matrix. */
  readonly paramCols: number;
  readonly colOffset: number;
  readonly rowOffset: number;
}

export interface GroupPlan {
  readonly index: number;
  readonly vector: NodeId;
  readonly vectorLabel: string;
  readonly products: readonly PackedProduct[];
  /** Rows of the packed matrix (Σ rows) and its depth (the vector's length). */
  readonly rows: number;
  readonly depth: number;
  /** [rows, depth] packed weights, and their transpose [depth, rows]. */
  readonly packed: string;
  readonly packedT: string;
  /** Reads an input: computed for every step before the time loop. */
  readonly precomputed: boolean;
  /** Forward output: [T·B, rows] when precomputed, else [B, rows] per step. */
  readonly out: string;
  /** Where the forward pass keeps the vector, for all steps ([T·B, depth] from `operand`). */
  readonly operand: Loc;
  /** Backward: the gradient buffer [T·B, rows] holding each product's gradient per step. */
  readonly gradBuffer: string;
  /** Backward: when set, dL/d(input) is this group's transposed product alone, done after the time loop. */
  readonly deferredInput: string | null;
}

export interface ModulePlan {
  /** The cell as lowered: every product reads a parameter (matrix expressions are hoisted into `derived`). */
  readonly ir: CellIR;
  /** The spec's own parameters (those a user passes), in declaration order. */
  readonly publicParams: CellIR["params"];
  /** The spec's equations as written, for the module header. */
  readonly equations: readonly string[];
  /** Matrix expressions that products read, computed once per call. */
  readonly derived: readonly DerivedMatrixPlan[];
  readonly backwardIr: BackwardIR;
  readonly sizes: SizeBinding;
  readonly groups: readonly GroupPlan[];
  readonly forward: ScheduledStep;
  /** Saved values with no other home: [T, B, width] each. */
  readonly tapes: readonly { readonly array: string; readonly width: number; readonly node: NodeId }[];
  readonly backward: ScheduledStep;
  /** Distinct gradient buffers (groups with identical gradients share one). */
  readonly gradBuffers: readonly { readonly array: string; readonly width: number }[];
  readonly length: (shape: readonly unknown[] & IrNode["shape"]) => number;
}

/** Generated names of the module's arrays, all derived from validated spec names. */
export const arrays = {
  param: (name: string) => generatedLocal("p", specIdentifier(name)),
  input: (name: string) => generatedLocal("in", specIdentifier(name)),
  hist: (name: string) => generatedLocal("hist", specIdentifier(name)),
  output: (name: string) => generatedLocal("out", specIdentifier(name)),
  upstream: (name: string) => generatedLocal("up", specIdentifier(name)),
  carry: (name: string) => generatedLocal("carry", specIdentifier(name)),
  carryPrev: (name: string) => generatedLocal("carryPrev", specIdentifier(name)),
  gradInput: (name: string) => generatedLocal("dIn", specIdentifier(name)),
  gradParam: (name: string) => generatedLocal("dP", specIdentifier(name)),
};

function equationOf(ir: CellIR, id: NodeId) {
  return ir.equations.find((e) => e.node >= id) ?? null;
}

/** Locals' names: the equation's target for an equation's root (`_f`, `_c_next`), else `_v<id>`. */
function valueNamer(ir: CellIR): (id: NodeId) => string {
  const used = new Set<string>();
  return (id) => {
    const eq = ir.equations.find((e) => e.node === id);
    let name = eq ? generatedLocal(specIdentifier(eq.target), ...(eq.kind === "next" ? ["next"] : eq.kind === "output" ? ["out"] : [])) : generatedLocal("v", id);
    if (used.has(name)) name = `${name}_${id}`;
    used.add(name);
    return name;
  };
}

export function lowerCell(spec: CellIR, sizes: SizeBinding): ModulePlan {
  const { ir, hoisted } = hoistMatrixExpressions(spec);
  const derived = hoisted.map((h) => planDerivedMatrix(spec, h, sizes, arrays.param, arrays.gradParam));
  const bir = differentiate(ir);
  const length = (shape: IrNode["shape"]) => (shape.length === 0 ? 0 : shape.length === 1 ? evaluateDim(shape[0]!, sizes) : -1);
  const dim = (d: Parameters<typeof evaluateDim>[0]) => evaluateDim(d, sizes);
  const nodeLength = (id: NodeId) => length(ir.nodes[id]!.shape);
  const savedSet = new Set(bir.saved);
  for (const s of ir.states) if (s.shape.length !== 1) throw new CodegenError(`state '${s.name}' must be a vector`);
  for (const i of ir.inputs) if (i.shape.length !== 1) throw new CodegenError(`input '${i.name}' must be a vector`);

  // --- Forward values ----------------------------------------------------
  const fwd: LNode[] = [];
  const leafLoc = (n: IrNode): Loc | null => {
    if (n.op === "input") return timedLoc(arrays.input(n.name), nodeLength(n.id));
    if (n.op === "state") return timedLoc(arrays.hist(n.name), nodeLength(n.id));
    if (n.op === "param") return n.shape.length === 2 ? null : sharedLoc(arrays.param(n.name), n.shape.length === 0);
    return null;
  };
  const paramShape = (name: string) => ir.params.find((p) => p.name === name)!.shape;

  const groups: GroupPlan[] = bir.groups.map((g, index) => {
    const vector = ir.nodes[g.vector]!;
    let rowOffset = 0;
    const products = g.products.map((p) => {
      const packed: PackedProduct = { node: p.node, param: p.param, rows: dim(p.rows), cols: nodeLength(p.vector), paramCols: dim(paramShape(p.param)[1]!), colOffset: dim(p.colOffset), rowOffset };
      rowOffset += packed.rows;
      return packed;
    });
    const precomputed = vector.op === "input";
    const label = vector.op === "input" || vector.op === "state" || vector.op === "param" ? vector.name : (equationOf(ir, g.vector)?.target ?? `value ${g.vector}`);
    return {
      index,
      vector: g.vector,
      vectorLabel: label,
      products,
      rows: rowOffset,
      depth: nodeLength(g.vector),
      packed: generatedLocal("w", index),
      packedT: generatedLocal("wt", index),
      precomputed,
      out: generatedLocal(precomputed ? "proj" : "g", index),
      operand: timedLoc("", 0), // set below, once the forward locations are known
      gradBuffer: "",
      deferredInput: null,
    };
  });
  const groupOfProduct = new Map<NodeId, { group: GroupPlan; product: PackedProduct }[]>();
  for (const group of groups) for (const product of group.products) groupOfProduct.set(product.node, [...(groupOfProduct.get(product.node) ?? []), { group, product }]);

  const comment = (id: NodeId) => {
    const texts = ir.equations.filter((e) => e.node === id).map((e) => e.text);
    return texts.length > 0 ? texts.join("; ") : null;
  };
  const fwdGemms: LGemm[] = [];
  for (const g of groups) {
    if (g.precomputed) continue;
    fwdGemms.push({
      key: g.index,
      operands: [g.vector],
      kernel: (locOf) => ({ kind: "gemm", a: locOf(g.vector), w: g.packed, rows: g.rows, depth: g.depth, out: rowLoc(g.out, g.rows), comment: productComment(g) }),
    });
  }
  const paramLabel = (name: string) => derived.find((d) => d.name === name)?.label ?? name;
  const productComment = (g: GroupPlan) => `${g.products.map((p) => `${paramLabel(p.param)}${p.cols === p.paramCols ? "" : `[:, ${p.colOffset}:${p.colOffset + p.cols}]`}`).join(", ")} @ ${g.vectorLabel}`;

  const valueName = valueNamer(ir);
  const tapes: { array: string; width: number; node: NodeId }[] = [];
  const productVectors = new Set(groups.map((g) => g.vector));
  for (const n of ir.nodes) {
    const base = { key: n.id, length: nodeLength(n.id), stores: [], mustMaterialize: false, comment: comment(n.id), name: valueName(n.id) };
    const argsOf = (n as { args?: readonly number[] }).args ?? [];
    switch (n.op) {
      case "input":
      case "state":
      case "param":
        if (n.op === "param" && productVectors.has(n.id)) {
          // A parameter vector that a product reads is copied to a per-step buffer, as an input or a state is
          // there: the product kernels and the weight gradient read their vector row by row.
          const array = generatedLocal("tape", n.id);
          tapes.push({ array, width: base.length, node: n.id });
          fwd.push({ ...base, kind: "pointwise", loc: timedLoc(array, base.length), args: [], expr: read(sharedLoc(arrays.param(n.name), false)), gemms: [] });
          break;
        }
        fwd.push({ ...base, kind: "leaf", length: Math.max(0, base.length), loc: leafLoc(n), args: [], expr: null, gemms: [] });
        break;
      case "const":
        fwd.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "const", value: n.value }, gemms: [] });
        break;
      case "matvec": {
        const parts = groupOfProduct.get(n.id)!;
        const reads: Expr[] = parts.map(({ group, product }) => read(group.precomputed ? timedLoc(group.out, group.rows, 0, product.rowOffset) : rowLoc(group.out, group.rows, product.rowOffset)));
        const expr = reads.slice(1).reduce<Expr>((sum, r) => ({ op: "add", args: [sum, r] }), reads[0]!);
        fwd.push({ ...base, kind: "pointwise", loc: null, args: [], expr, gemms: parts.filter((p) => !p.group.precomputed).map((p) => p.group.index) });
        break;
      }
      case "concat":
        fwd.push({ ...base, kind: "concat", loc: null, args: n.args, expr: null, gemms: [] });
        break;
      default: {
        const arg = (i: number): Expr => ({ op: "arg", index: i });
        const expr: Expr =
          n.op === "neg" ? { op: "neg", arg: arg(0) } : n.op === "apply" ? { op: "apply", fn: n.fn, arg: arg(0) } : { op: n.op, args: [arg(0), arg(1)] };
        fwd.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: argsOf, expr, gemms: [] });
      }
    }
  }
  const fwdNode = (id: NodeId) => fwd.find((n) => n.key === id)!;
  // Required destinations: next states, outputs, then saved values.
  let extraKey = fwd.length;
  /** Makes the value `key` reach `loc`; returns the node that writes it there. */
  const destination = (list: LNode[], key: number, loc: Loc, mode: "set" | "add", name: string): number => {
    const n = list.find((x) => x.key === key)!;
    if (n.kind === "pointwise" && mode === "set" && !n.loc) n.loc = loc;
    else if (n.kind === "pointwise") n.stores.push({ loc, mode });
    else if (n.kind === "concat" && !n.loc) n.loc = loc;
    else {
      if (n.kind === "inline" && n.length === 0) throw new CodegenError("a scalar expression cannot be a state, output or gradient destination");
      // Right after the value it copies: a transposed product that reads the copy must come after it (dependency order).
      list.splice(list.indexOf(n) + 1, 0, { key: extraKey, kind: "pointwise", length: n.length, loc: mode === "set" ? loc : null, args: [key], expr: { op: "arg", index: 0 }, gemms: [], stores: mode === "add" ? [{ loc, mode }] : [], mustMaterialize: false, comment: null, name });
      return extraKey++;
    }
    return key;
  };
  for (const s of ir.nextState) destination(fwd, s.node, timedLoc(arrays.hist(s.state), nodeLength(s.node), 1), "set", generatedLocal("copy", specIdentifier(s.state)));
  for (const o of ir.outputs) destination(fwd, o.node, timedLoc(arrays.output(o.name), nodeLength(o.node)), "set", generatedLocal("copy", specIdentifier(o.name)));
  // Every group's vector too: the weight-gradient product reads it, even when no gradient reaches the group.
  for (const id of new Set([...bir.saved, ...groups.map((g) => g.vector)])) {
    const n = fwdNode(id);
    // Scalars depend on parameters and constants alone: backward recomputes them (see `inlined`).
    if (n.kind === "leaf" || n.kind === "inline") continue;
    if (n.loc) continue;
    const array = generatedLocal("tape", id);
    tapes.push({ array, width: n.length, node: id });
    n.loc = timedLoc(array, n.length);
  }
  const forward = scheduleStep(fwd, fwdGemms, (n) => generatedLocal("tmp", n.key));
  const savedLoc = (id: NodeId): Loc => {
    const n = fwdNode(id);
    if (!n.loc || (!n.loc.timed && n.loc.perRow)) throw new CodegenError(`internal: saved value ${id} has no saved location`);
    return n.loc;
  };

  // --- Backward values ---------------------------------------------------
  const bwd: LNode[] = [];
  const bnode = (id: number) => bir.nodes[id]!;
  const users = new Map<number, number>();
  for (const b of bir.nodes) for (const a of ("args" in b ? b.args : []) as number[]) users.set(a, (users.get(a) ?? 0) + 1);
  const gradLength = (b: BNode) => length(b.shape);
  // Gradient buffers, shared between groups whose products have the same gradients.
  const gradBuffers: { array: string; width: number; key: string }[] = [];
  const gradOfProduct = (group: GroupPlan, p: PackedProduct) => {
    const outer = bir.params.find((x) => x.param === p.param)!.outer.find((o) => o.product === p.node && o.vector === group.vector);
    return outer ? outer.grad : null;
  };
  const finalGroups: GroupPlan[] = groups.map((g) => {
    const key = g.products.map((p) => `${gradOfProduct(g, p)}:${p.rows}`).join(",");
    let buffer = gradBuffers.find((b) => b.key === key);
    if (!buffer) {
      buffer = { array: generatedLocal("gb", gradBuffers.length), width: g.rows, key };
      gradBuffers.push(buffer);
    }
    const mt = bir.nodes.find((b) => b.op === "matvecT" && b.vector === g.vector);
    const vector = ir.nodes[g.vector]!;
    const deferredInput =
      vector.op === "input" && mt && bir.inputs.find((i) => i.input === vector.name)!.node === mt.id && !users.has(mt.id) ? vector.name : null;
    return { ...g, operand: savedLoc(g.vector), gradBuffer: buffer.array, deferredInput };
  });
  const bwdGemms: LGemm[] = [];
  const mtOut = (id: number) => generatedLocal("mt", id);
  const bComment = (b: BNode) => {
    const eq = ir.equations.find((e) => e.node === b.from);
    return eq ? `adjoint of ${eq.text}` : null;
  };
  for (const b of bir.nodes) {
    const base = { key: b.id, length: Math.max(0, gradLength(b)), stores: [], mustMaterialize: false, comment: bComment(b), name: generatedLocal("d", b.id), gemms: [] as number[] };
    const arg = (i: number): Expr => ({ op: "arg", index: i });
    switch (b.op) {
      case "seed": {
        const loc = b.source === "output" ? timedLoc(arrays.upstream(b.name), base.length) : rowLoc(arrays.carry(b.name), base.length);
        bwd.push({ ...base, kind: "leaf", loc, args: [], expr: null });
        break;
      }
      case "saved":
        if (fwdNode(b.node).kind === "inline") bwd.push({ ...base, kind: "inline", loc: null, args: [], expr: inlined(fwd, b.node) });
        else bwd.push({ ...base, kind: "leaf", loc: ir.nodes[b.node]!.op === "param" ? leafLoc(ir.nodes[b.node]!) : savedLoc(b.node), args: [], expr: null });
        break;
      case "const":
        bwd.push({ ...base, kind: "inline", loc: null, args: [], expr: { op: "const", value: b.value } });
        break;
      case "add":
      case "sub":
      case "mul":
      case "div":
        bwd.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: b.args, expr: { op: b.op, args: [arg(0), arg(1)] } });
        break;
      case "neg":
        bwd.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: b.args, expr: { op: "neg", arg: arg(0) } });
        break;
      case "derivative":
        bwd.push({ ...base, kind: base.length === 0 ? "inline" : "pointwise", loc: null, args: b.args, expr: { op: "derivative", fn: b.fn, of: b.of, arg: arg(0) } });
        break;
      case "sum":
        // Never read within a step: its share of each scalar parameter's gradient is added element by element (see scalarGradientTerms).
        bwd.push({ ...base, kind: "leaf", loc: null, args: [], expr: null });
        break;
      case "slice":
        bwd.push({ ...base, kind: "pointwise", loc: null, args: b.args, sliceArg: { offset: dim(b.offset) }, expr: arg(0) });
        break;
      case "matvecT": {
        const group = finalGroups.find((g) => g.vector === b.vector)!;
        if (group.deferredInput) break;
        const termGrads = group.products.map((p) => gradOfProduct(group, p)).filter((x): x is number => x !== null);
        bwdGemms.push({
          key: b.id,
          operands: termGrads,
          kernel: () => ({ kind: "gemm", a: timedLoc(group.gradBuffer, group.rows), w: group.packedT, rows: group.depth, depth: group.rows, out: rowLoc(mtOut(b.id), group.depth), comment: `transposed ${productComment(group)}` }),
        });
        bwd.push({ ...base, kind: "pointwise", loc: null, args: [], expr: read(rowLoc(mtOut(b.id), base.length)), gemms: [b.id] });
        break;
      }
    }
  }
  extraKey = bir.nodes.length;
  // Each product's gradient goes to its group's buffer; every step, once.
  const stored = new Set<string>();
  // A transposed product runs once its gradients are in the buffer: after the nodes that write them, which
  // are copies when a gradient is not computed in a loop of its own (an upstream gradient, say).
  const bufferWriter = new Map<number, number>();
  for (const g of finalGroups) {
    for (const p of g.products) {
      const grad = gradOfProduct(g, p);
      const key = `${g.gradBuffer}:${p.rowOffset}`;
      if (grad === null || stored.has(key)) continue;
      stored.add(key);
      // A gradient that goes to several buffers is copied once, by one node with several stores.
      bufferWriter.set(grad, destination(bwd, bufferWriter.get(grad) ?? grad, timedLoc(g.gradBuffer, g.rows, 0, p.rowOffset), "add", generatedLocal("gcopy", grad)));
    }
  }
  // "add" into a fresh zeroed buffer slot is the same as "set"; normalise so the store reads plainly.
  for (const n of bwd) for (let i = 0; i < n.stores.length; i++) if (n.stores[i]!.loc.array.startsWith("_gb")) n.stores[i] = { ...n.stores[i]!, mode: "set" };
  for (const s of bir.states) if (s.node !== null) destination(bwd, s.node, rowLoc(arrays.carryPrev(s.state), Math.max(0, gradLength(bnode(s.node)))), "set", generatedLocal("dcopy", specIdentifier(s.state)));
  for (const i of bir.inputs) {
    if (i.node === null || finalGroups.some((g) => g.deferredInput === i.input)) continue;
    destination(bwd, i.node, timedLoc(arrays.gradInput(i.input), Math.max(0, gradLength(bnode(i.node)))), "set", generatedLocal("dxcopy", specIdentifier(i.input)));
  }
  for (const p of bir.params) {
    if (p.elementwise === null) continue;
    if (paramShape(p.param).length === 0) {
      for (const [sum, coefficient] of scalarGradientTerms(bir, bwd, p.elementwise)) {
        const summed = (bnode(sum) as { args: readonly number[] }).args[0]!;
        const expr: Expr = coefficient === null ? { op: "arg", index: 0 } : { op: "mul", args: [{ op: "arg", index: 0 }, coefficient] };
        const stores = [{ loc: sharedLoc(arrays.gradParam(p.param), true), mode: "add" as const }];
        bwd.push({ key: extraKey++, kind: "pointwise", length: gradLength(bnode(summed)), loc: null, args: [summed], expr, gemms: [], stores, mustMaterialize: false, comment: null, name: generatedLocal("dps", specIdentifier(p.param), sum) });
      }
      continue;
    }
    destination(bwd, p.elementwise, sharedLoc(arrays.gradParam(p.param), false), "add", generatedLocal("dpcopy", specIdentifier(p.param)));
  }
  const transposedProducts = bwdGemms.map((g) => ({ ...g, operands: g.operands.map((k) => bufferWriter.get(k) ?? k) }));
  const backward = scheduleStep(bwd, transposedProducts, (n) => (n.gemms.length > 0 ? generatedLocal("bt", n.key) : generatedLocal("bt", n.key)));
  const mtTemps = bwdGemms.map((g) => ({ array: mtOut(g.key), width: bwd.find((n) => n.key === g.key)!.length }));

  return {
    ir,
    publicParams: ir.params.filter((p) => !DERIVED_NAME.test(p.name)),
    equations: spec.equations.map((e) => e.text),
    derived,
    backwardIr: bir,
    sizes,
    groups: finalGroups,
    forward,
    tapes,
    backward: { ...backward, temps: [...backward.temps, ...mtTemps] },
    gradBuffers: gradBuffers.map(({ array, width }) => ({ array, width })),
    length: length as ModulePlan["length"],
  };
}

/** A value of a step that needs no loop (a scalar) as one expression over the leaves it reads. */
function inlined(list: readonly LNode[], key: number): Expr {
  const n = list.find((x) => x.key === key)!;
  if (n.kind === "leaf" && n.loc) return read(n.loc);
  if (n.kind !== "inline") throw new CodegenError(`internal: value ${key} is not a scalar expression`);
  return substitute(n.expr!, n.args.map((a) => inlined(list, a)));
}

/**
 * A scalar gradient as Σ coefficient · sum over the `sum` nodes it is made of (a null coefficient is 1).
 * Scalars depend on parameters and constants alone, so every coefficient is the same at every step and
 * batch row, and a scalar parameter's gradient, Σ_t,b coefficient · Σ_j v_j, can be added element by element.
 */
function scalarGradientTerms(bir: BackwardIR, bwd: readonly LNode[], id: number): Map<number, Expr | null> {
  const node = bir.nodes[id]!;
  const one: Expr = { op: "const", value: 1 };
  const scaled = (terms: Map<number, Expr | null>, by: (c: Expr | null) => Expr) => new Map([...terms].map(([k, c]) => [k, by(c)]));
  const carriesGradient = (b: number): boolean => {
    const n = bir.nodes[b]!;
    return n.op === "sum" || ("args" in n && n.args.some(carriesGradient));
  };
  switch (node.op) {
    case "sum":
      return new Map([[id, null]]);
    case "add": {
      const terms = scalarGradientTerms(bir, bwd, node.args[0]);
      for (const [k, c] of scalarGradientTerms(bir, bwd, node.args[1])) terms.set(k, terms.has(k) ? { op: "add", args: [terms.get(k) ?? one, c ?? one] } : c);
      return terms;
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
