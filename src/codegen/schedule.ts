// The schedule: how one step's values become loops. Target-independent. A
// step is a graph of values (LNodes); each is a leaf already in memory, a
// scalar expression inlined where used, a pointwise value, a concat copy, or a
// reduction of a vector to one number per row (read from memory by what uses
// it, as are the scalar expressions over it), or a contraction over the rows
// of rank-2 values (read from memory too). Matrix products run as GEMM
// kernels between pointwise phases. Pointwise values of the same length whose
// inputs are ready fuse into one loop; a value is written to memory only when
// something outside its loop reads it.
import { CodegenError } from "./names.ts";
import type { Reduction } from "../ir/types.ts";
import { read, rowLoc, rowScalarLoc, type ContractKernel, type Expr, type GemmKernel, type Loc, type PointwiseItem, type StepKernel, type StepPlan, type Store } from "./plan.ts";

export { read, rowLoc, sharedLoc, timedLoc } from "./plan.ts";

export interface LNode {
  readonly key: number;
  readonly kind: "leaf" | "inline" | "pointwise" | "concat" | "reduce" | "contract";
  /** Elements per batch row; 0 for a scalar. */
  readonly length: number;
  /** Fixed location (leaves, and values with a required destination); else a temporary if needed. */
  readonly loc: Loc | null;
  readonly args: readonly number[];
  /** Arguments read from memory at an offset (slices) rather than fused. */
  readonly sliceArg?: { readonly offset: number };
  /** A reduction of its one argument; `argmax` (max only) also receives the first largest element's index. */
  readonly reduce?: { readonly fn: Reduction; readonly argmax: Loc | null };
  /** A contraction of its arguments (a, then b when it has two): the kernel less where its operands and result live. */
  readonly contract?: Omit<ContractKernel, "kind" | "a" | "b" | "out" | "comment"> & { readonly a: Strides; readonly b: Strides | null };
  /** Pointwise: the value, in terms of args; may read GEMM outputs directly. */
  readonly expr: Expr | null;
  /** GEMMs whose output this value reads. */
  readonly gemms: readonly number[];
  readonly stores: readonly Store[];
  readonly mustMaterialize: boolean;
  readonly comment: string | null;
  readonly name: string;
}

type Strides = { readonly outerStride: number; readonly depthStride: number };

/** A product of the step: the kernel, with its left operand either fixed or the location of value `aOf`. */
export interface LGemm {
  readonly key: number;
  /** Values that must be in memory before the GEMM runs. */
  readonly operands: readonly number[];
  readonly kernel: Omit<GemmKernel, "a">;
  readonly a: Loc | null;
  readonly aOf: number | null;
}

/** A scheduled step, and where each value it keeps in memory lives. */
export interface ScheduledStep extends StepPlan {
  readonly locations: ReadonlyMap<number, Loc>;
}

export function scheduleStep(nodes: readonly LNode[], gemms: readonly LGemm[], tempName: (node: LNode) => string): ScheduledStep {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const node = (k: number) => byKey.get(k)!;
  const level = new Map<number, number>();
  const gemmLevel = new Map<number, number>();
  const fusable = (consumer: LNode, arg: LNode) => consumer.kind === "pointwise" && !consumer.sliceArg && arg.kind === "pointwise" && arg.length === consumer.length;
  // A reduction's result, like a pointwise value's, is in memory after its kernel; a scalar expression is ready with what it reads.
  const avail = (n: LNode): number => (n.kind === "pointwise" || n.kind === "reduce" || n.kind === "contract" ? level.get(n.key)! + 1 : n.kind === "concat" || n.kind === "inline" ? level.get(n.key)! : 0);

  // Nodes come in dependency order, and a GEMM's operands precede every reader of its output.
  const gemmByKey = new Map(gemms.map((g) => [g.key, g]));
  const resolveGemm = (key: number) => {
    if (!gemmLevel.has(key)) gemmLevel.set(key, Math.max(0, ...gemmByKey.get(key)!.operands.map((k) => avail(node(k)))));
    return gemmLevel.get(key)!;
  };
  for (const n of nodes) {
    if (n.kind === "leaf") continue;
    let l = 0;
    if (n.kind !== "pointwise") {
      for (const a of n.args) l = Math.max(l, avail(node(a)));
    } else {
      for (const g of n.gemms) l = Math.max(l, resolveGemm(g));
      for (const a of n.args) l = Math.max(l, fusable(n, node(a)) ? level.get(a)! : avail(node(a)));
    }
    level.set(n.key, l);
  }
  for (const g of gemms) resolveGemm(g.key);

  // What must be in memory, and what is worth computing.
  const materialize = new Set<number>();
  for (const n of nodes) if (n.kind === "pointwise" && (n.mustMaterialize || n.stores.length > 0 || n.loc)) materialize.add(n.key);
  // A concatenation or reduction with a location before scheduling is a required destination (a next state, an output, a saved value).
  for (const n of nodes) if ((n.kind === "concat" || n.kind === "reduce" || n.kind === "contract") && n.loc) materialize.add(n.key);
  for (const n of nodes) {
    // A reduction's or contraction's operands are kept only when it is live (below).
    if (n.kind === "reduce" || n.kind === "contract") continue;
    for (const a of n.args) {
      const arg = node(a);
      if (arg.kind === "concat") materialize.add(a);
      if (arg.kind !== "pointwise") continue;
      if (!(fusable(n, arg) && level.get(n.key) === level.get(a))) materialize.add(a);
    }
  }
  for (const g of gemms) for (const k of g.operands) if (node(k).kind === "pointwise" || node(k).kind === "concat") materialize.add(k);
  const live = new Set<number>(materialize);
  for (const n of nodes) if (n.kind === "concat" && materialize.has(n.key)) live.add(n.key);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!live.has(n.key)) continue;
    if (n.kind === "reduce" || n.kind === "contract") {
      materialize.add(n.key);
      for (const a of n.args) if (node(a).kind === "pointwise" || node(a).kind === "concat") materialize.add(a);
    }
    for (const a of n.args) live.add(a);
  }

  const temps: { array: string; width: number }[] = [];
  const locations = new Map<number, Loc>();
  for (const n of nodes) {
    if (n.loc) locations.set(n.key, n.loc);
    else if (materialize.has(n.key)) {
      const array = tempName(n);
      locations.set(n.key, n.kind === "reduce" ? rowScalarLoc(array, false) : rowLoc(array, n.length));
      temps.push({ array, width: n.kind === "reduce" ? 1 : n.length });
    }
  }
  const locOf = (k: number) => {
    const loc = locations.get(k);
    if (!loc) throw new CodegenError(`internal: value ${k} has no location`);
    return loc;
  };

  /** The expression of an argument as seen from a consumer at `lvl` (a local when fused). */
  const argExpr = (consumer: LNode, a: number): Expr => {
    const arg = node(a);
    if (arg.kind === "inline") return substitute(arg.expr!, arg.args.map((x) => argExpr(arg, x)));
    if (arg.kind === "pointwise" && fusable(consumer, arg) && level.get(consumer.key) === level.get(a)) return { op: "local", name: arg.name };
    return memoryRead(consumer, arg);
  };
  /** A value in memory as its consumer reads it: a vector [n] read by a pointwise value over rows [L, n] is broadcast. */
  const memoryRead = (consumer: LNode, arg: LNode): Expr => {
    const loc = locOf(arg.key);
    if (consumer.kind !== "pointwise" || arg.length === 0 || arg.length === consumer.length || loc.scalar) return read(loc);
    if (consumer.length % arg.length !== 0) throw new CodegenError(`internal: value ${arg.key} (${arg.length}) broadcast over ${consumer.length} elements`);
    return { op: "read", loc, extra: 0, period: arg.length };
  };

  // Each level's GEMMs, copies and pointwise values in node order, sorted out once (not rescanned per level).
  const maxLevel = Math.max(0, ...level.values(), ...gemmLevel.values());
  const atLevel = Array.from({ length: maxLevel + 1 }, () => ({ gemms: [] as LGemm[], nodes: [] as LNode[] }));
  for (const g of gemms) atLevel[gemmLevel.get(g.key)!]!.gemms.push(g);
  for (const n of nodes) if ((n.kind === "concat" || n.kind === "pointwise" || n.kind === "reduce" || n.kind === "contract") && live.has(n.key)) atLevel[level.get(n.key)!]!.nodes.push(n);
  const kernels: StepKernel[] = [];
  for (const { gemms: levelGemms, nodes: levelNodes } of atLevel) {
    for (const g of levelGemms) kernels.push({ ...g.kernel, a: g.a ?? locOf(g.aOf!) });
    for (const n of levelNodes) {
      if (n.kind !== "concat") continue;
      kernels.push({ kind: "copy", parts: n.args.map((a) => ({ loc: locOf(a), length: node(a).length })), out: locOf(n.key), comment: n.comment });
    }
    for (const n of levelNodes) {
      if (n.kind !== "reduce") continue;
      const [a] = n.args as [number];
      kernels.push({ kind: "reduce", fn: n.reduce!.fn, length: node(a).length, element: argExpr(n, a), out: locOf(n.key), argmax: n.reduce!.argmax, comment: n.comment });
    }
    for (const n of levelNodes) {
      if (n.kind !== "contract") continue;
      const { a, b, ...shape } = n.contract!;
      kernels.push({ kind: "contract", ...shape, a: { loc: locOf(n.args[0]!), ...a }, b: b && { loc: locOf(n.args[1]!), ...b }, out: locOf(n.key), comment: n.comment });
    }
    const clusters = new Map<number, PointwiseItem[]>();
    for (const n of levelNodes) {
      if (n.kind !== "pointwise") continue;
      const args = n.sliceArg ? [read(locOf(n.args[0]!), n.sliceArg.offset)] : n.args.map((a) => argExpr(n, a));
      const stores: Store[] = [...(materialize.has(n.key) ? [{ loc: locOf(n.key), mode: "set" as const, param: null }] : []), ...n.stores];
      if (!clusters.has(n.length)) clusters.set(n.length, []);
      clusters.get(n.length)!.push({ local: n.name, expr: substitute(n.expr!, args), stores, comment: n.comment });
    }
    for (const [length, items] of clusters) kernels.push({ kind: "pointwise", length, items });
  }
  return { kernels, temps, locations };
}

export function substitute(e: Expr, args: readonly Expr[]): Expr {
  switch (e.op) {
    case "arg":
      return args[e.index]!;
    case "read":
    case "local":
    case "const":
    case "step":
    case "index":
      return e;
    case "where":
      return { op: "where", args: [substitute(e.args[0], args), substitute(e.args[1], args), substitute(e.args[2], args)] };
    case "neg":
    case "apply":
    case "derivative":
      return { ...e, arg: substitute(e.arg, args) };
    default:
      return { op: e.op, args: [substitute(e.args[0], args), substitute(e.args[1], args)] };
  }
}
