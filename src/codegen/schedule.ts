// The schedule: how one step's values become loops. Target-independent. A
// step is a graph of values (LNodes); each is a leaf already in memory, a
// scalar expression inlined where used, a pointwise value, or a concat copy.
// Matrix products run as GEMM kernels between pointwise phases. Pointwise
// values of the same length whose inputs are ready fuse into one loop; a value
// is written to memory only when something outside its loop reads it.
import type { UnaryFunction } from "../ir/types.ts";
import { CodegenError } from "./names.ts";

/** Where a vector lives. Element j of batch row b at step t is at
 *  ((t + shift)·B + b)·width + offset + j when timed, b·width + offset + j
 *  when per row, and offset + j otherwise (j is dropped for scalars). */
export interface Loc {
  readonly array: string;
  readonly timed: boolean;
  readonly shift: number;
  readonly perRow: boolean;
  readonly width: number;
  readonly offset: number;
  readonly scalar: boolean;
}

export const timedLoc = (array: string, width: number, shift = 0, offset = 0): Loc => ({ array, timed: true, shift, perRow: true, width, offset, scalar: false });
export const rowLoc = (array: string, width: number, offset = 0): Loc => ({ array, timed: false, shift: 0, perRow: true, width, offset, scalar: false });
export const sharedLoc = (array: string, scalar: boolean, offset = 0): Loc => ({ array, timed: false, shift: 0, perRow: false, width: 0, offset, scalar });

export type Expr =
  | { readonly op: "read"; readonly loc: Loc; readonly extra: number }
  | { readonly op: "arg"; readonly index: number }
  | { readonly op: "local"; readonly name: string }
  | { readonly op: "const"; readonly value: number }
  | { readonly op: "add" | "sub" | "mul" | "div"; readonly args: readonly [Expr, Expr] }
  | { readonly op: "neg"; readonly arg: Expr }
  | { readonly op: "apply"; readonly fn: UnaryFunction; readonly arg: Expr }
  | { readonly op: "derivative"; readonly fn: UnaryFunction; readonly of: "output" | "input"; readonly arg: Expr };

export const read = (loc: Loc, extra = 0): Expr => ({ op: "read", loc, extra });

export interface Store {
  readonly loc: Loc;
  readonly mode: "set" | "add";
}

export interface PointwiseItem {
  readonly local: string;
  readonly expr: Expr;
  readonly stores: readonly Store[];
  readonly comment: string | null;
}

/** C[b, :] (+)= A[b, :] · Wᵀ for the B rows of one step: W is [rows, depth], row-major. */
export interface GemmKernel {
  readonly kind: "gemm";
  readonly a: Loc;
  readonly w: string;
  readonly rows: number;
  readonly depth: number;
  readonly out: Loc;
  readonly comment: string;
}

export type Kernel =
  | { readonly kind: "pointwise"; readonly length: number; readonly items: readonly PointwiseItem[] }
  | GemmKernel
  | { readonly kind: "copy"; readonly parts: readonly { readonly loc: Loc; readonly length: number }[]; readonly out: Loc; readonly comment: string | null };

export interface LNode {
  readonly key: number;
  readonly kind: "leaf" | "inline" | "pointwise" | "concat";
  /** Elements per batch row; 0 for a scalar. */
  readonly length: number;
  /** Fixed location (leaves, and values with a required destination); else a temporary if needed. */
  loc: Loc | null;
  readonly args: readonly number[];
  /** Arguments read from memory at an offset (slices) rather than fused. */
  readonly sliceArg?: { readonly offset: number };
  /** Pointwise: the value, in terms of args; may read GEMM outputs directly. */
  readonly expr: Expr | null;
  /** GEMMs whose output this value reads. */
  readonly gemms: readonly number[];
  readonly stores: Store[];
  mustMaterialize: boolean;
  readonly comment: string | null;
  readonly name: string;
}

export interface LGemm {
  readonly key: number;
  /** Values that must be in memory before the GEMM runs. */
  readonly operands: readonly number[];
  readonly kernel: (locOf: (key: number) => Loc) => GemmKernel;
}

export interface ScheduledStep {
  readonly kernels: readonly Kernel[];
  /** Per-step scratch vectors [B, width] the step needs. */
  readonly temps: readonly { readonly array: string; readonly width: number }[];
  readonly locOf: (key: number) => Loc;
}

export function scheduleStep(nodes: readonly LNode[], gemms: readonly LGemm[], tempName: (node: LNode) => string): ScheduledStep {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const node = (k: number) => byKey.get(k)!;
  const level = new Map<number, number>();
  const gemmLevel = new Map<number, number>();
  const fusable = (consumer: LNode, arg: LNode) => consumer.kind === "pointwise" && !consumer.sliceArg && arg.kind === "pointwise" && arg.length === consumer.length;
  const avail = (n: LNode): number => (n.kind === "pointwise" ? level.get(n.key)! + 1 : n.kind === "concat" ? level.get(n.key)! : 0);

  // Nodes come in dependency order, and a GEMM's operands precede every reader of its output.
  const gemmByKey = new Map(gemms.map((g) => [g.key, g]));
  const resolveGemm = (key: number) => {
    if (!gemmLevel.has(key)) gemmLevel.set(key, Math.max(0, ...gemmByKey.get(key)!.operands.map((k) => avail(node(k)))));
    return gemmLevel.get(key)!;
  };
  for (const n of nodes) {
    if (n.kind === "leaf" || n.kind === "inline") continue;
    let l = 0;
    if (n.kind === "concat") {
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
  // A concatenation with a location before scheduling is a required destination (a next state, an output, a saved value).
  for (const n of nodes) if (n.kind === "concat" && n.loc) materialize.add(n.key);
  for (const n of nodes) {
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
    for (const a of n.args) live.add(a);
  }

  const temps: { array: string; width: number }[] = [];
  for (const n of nodes) {
    if (!materialize.has(n.key) || n.loc) continue;
    const array = tempName(n);
    n.loc = rowLoc(array, n.length);
    temps.push({ array, width: n.length });
  }
  const locOf = (k: number) => {
    const loc = node(k).loc;
    if (!loc) throw new CodegenError(`internal: value ${k} has no location`);
    return loc;
  };

  /** The expression of an argument as seen from a consumer at `lvl` (a local when fused). */
  const argExpr = (consumer: LNode, a: number): Expr => {
    const arg = node(a);
    if (arg.kind === "leaf" || arg.kind === "concat") return read(locOf(a));
    if (arg.kind === "inline") return substitute(arg.expr!, arg.args.map((x) => argExpr(arg, x)));
    if (fusable(consumer, arg) && level.get(consumer.key) === level.get(a)) return { op: "local", name: arg.name };
    return read(locOf(a));
  };

  const kernels: Kernel[] = [];
  const maxLevel = Math.max(0, ...level.values(), ...gemmLevel.values());
  for (let l = 0; l <= maxLevel; l++) {
    for (const g of gemms) if (gemmLevel.get(g.key) === l) kernels.push(g.kernel(locOf));
    for (const n of nodes) {
      if (n.kind !== "concat" || level.get(n.key) !== l || !live.has(n.key)) continue;
      kernels.push({ kind: "copy", parts: n.args.map((a) => ({ loc: locOf(a), length: node(a).length })), out: locOf(n.key), comment: n.comment });
    }
    const clusters = new Map<number, PointwiseItem[]>();
    for (const n of nodes) {
      if (n.kind !== "pointwise" || level.get(n.key) !== l || !live.has(n.key)) continue;
      const args = n.sliceArg ? [read(locOf(n.args[0]!), n.sliceArg.offset)] : n.args.map((a) => argExpr(n, a));
      const stores: Store[] = [...(materialize.has(n.key) ? [{ loc: locOf(n.key), mode: "set" as const }] : []), ...n.stores];
      if (!clusters.has(n.length)) clusters.set(n.length, []);
      clusters.get(n.length)!.push({ local: n.name, expr: substitute(n.expr!, args), stores, comment: n.comment });
    }
    for (const [length, items] of clusters) kernels.push({ kind: "pointwise", length, items });
  }
  return { kernels, temps, locOf };
}

export function substitute(e: Expr, args: readonly Expr[]): Expr {
  switch (e.op) {
    case "arg":
      return args[e.index]!;
    case "read":
    case "local":
    case "const":
      return e;
    case "add":
    case "sub":
    case "mul":
    case "div":
      return { op: e.op, args: [substitute(e.args[0], args), substitute(e.args[1], args)] };
    case "neg":
    case "apply":
    case "derivative":
      return { ...e, arg: substitute(e.arg, args) };
  }
}
