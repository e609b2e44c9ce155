// A cell's step in the visual language of "Understanding LSTM Networks": learned
// layers (a nonlinearity over an affine map of products) are boxes, everything
// else is a pointwise operation; several values feeding one layer merge into a
// line first (concatenation); a state carried through pointwise operations
// only is a conveyor running straight from left to right. This file finds that
// structure in the IR (plain data); essay-svg.ts places and draws it.
import type { CellIR, IrNode, NodeId } from "../ir/types.ts";

export type EssayNodeKind =
  /** A learned layer: an optional nonlinearity over an affine map with matrix products. */
  | "layer"
  /** An operation applied element by element (×, +, tanh, …), or any form the diagram has no picture for. */
  | "pointwise"
  /** Where lines join: the values a layer reads, concatenated. */
  | "merge"
  /** An input or a state's value before the step, entering on the left. */
  | "enter"
  /** A state's value after the step, or an output, leaving on the right. */
  | "leave";

export interface EssayNode {
  readonly id: string;
  readonly kind: EssayNodeKind;
  /** What is written in the node: σ, tanh, ×, 1−, or a value's name. */
  readonly label: string;
  /** The time subscript of an entering or leaving value (t−1 or t); the equation's name for a layer. */
  readonly note: string;
  /** The equation or declaration the node draws, shown as its tooltip. */
  readonly detail: string;
}

export interface EssayEdge {
  readonly from: string;
  readonly to: string;
  /** Part of a state's conveyor: drawn heavy and kept straight. */
  readonly conveyor: boolean;
}

export interface EssayDiagram {
  readonly cell: string;
  /** Top to bottom where the layout allows: conveyor states first, inputs last. */
  readonly nodes: readonly EssayNode[];
  readonly edges: readonly EssayEdge[];
  /** The states drawn as conveyors, in declaration order. */
  readonly conveyors: readonly string[];
}

const FUNCTION_SYMBOL: Readonly<Record<string, string>> = { sigmoid: "σ", identity: "id", relu: "ReLU" };
const OPERATOR_SYMBOL: Readonly<Record<string, string>> = {
  add: "+",
  sub: "−",
  mul: "×",
  div: "÷",
  neg: "−",
  pow: "^",
  lt: "<",
  le: "≤",
  gt: ">",
  ge: "≥",
  eq: "=",
  ne: "≠",
  // A matrix on each row, and a weighted sum of rows (attention's Σ α_j a_j).
  rowmap: "@ rows",
  vecmat: "Σ α·row",
  slice: "[:]",
  step: "t",
  index: "iota",
};

const argsOf = (node: IrNode): readonly NodeId[] => ("args" in node ? node.args : []);

/** Per node: whether its value is fixed for the step (parameters, constants, forms without arguments), written into the node that reads it. */
const FIXED = new WeakMap<CellIR, readonly boolean[]>();

function isFixed(ir: CellIR, id: NodeId): boolean {
  let fixed = FIXED.get(ir);
  if (!fixed) {
    // Nodes come in dependency order, so one pass settles every node.
    const found: boolean[] = [];
    for (const node of ir.nodes) found.push(node.op !== "input" && node.op !== "state" && argsOf(node).every((a) => found[a]));
    FIXED.set(ir, (fixed = found));
  }
  return fixed[id]!;
}

/** A fixed value as a short text: its name, its number, or "(…)" for a formula over them. */
function fixedText(ir: CellIR, id: NodeId): string {
  const node = ir.nodes[id]! as IrNode & { name?: string; value?: number };
  return node.name ?? (node.value !== undefined ? String(node.value) : "(…)");
}

function nameOf(node: IrNode): string {
  if (node.op === "apply") return FUNCTION_SYMBOL[node.fn] ?? node.fn;
  if (node.op === "reduce") return node.fn === "sum" ? "Σ" : "max";
  return OPERATOR_SYMBOL[node.op] ?? node.op;
}

/** An affine map's pieces: the values it reads and whether it multiplies by a matrix. */
interface Affine {
  readonly reads: readonly NodeId[];
  readonly hasProduct: boolean;
}

/**
 * Splits a sum of matrix products, biases and scaled terms into the values it
 * reads. It stops at named equations (`stop`), which are drawn on their own.
 */
function affineOf(ir: CellIR, id: NodeId, stop: { has(id: NodeId): boolean }): Affine {
  const node = ir.nodes[id]!;
  const join = (parts: Affine[]): Affine => ({ reads: parts.flatMap((p) => p.reads), hasProduct: parts.some((p) => p.hasProduct) });
  const value = (v: NodeId): Affine => (isFixed(ir, v) ? { reads: [], hasProduct: false } : { reads: [v], hasProduct: false });
  if (isFixed(ir, id)) return { reads: [], hasProduct: false };
  if (node.op === "matvec") {
    const vector = ir.nodes[node.args[1]]!;
    const reads = vector.op === "concat" && !stop.has(vector.id) ? join(vector.args.map(value)) : value(node.args[1]);
    return { ...join([value(node.args[0]), reads]), hasProduct: true };
  }
  const inner = (v: NodeId) => (stop.has(v) ? value(v) : affineOf(ir, v, stop));
  if (node.op === "add" || node.op === "sub" || node.op === "neg") return join(node.args.map(inner));
  if ((node.op === "mul" || node.op === "div") && node.args.some((a) => isFixed(ir, a))) return join(node.args.map(inner));
  return { reads: [id], hasProduct: false };
}

/** The diagram being built, nodes and edges in the order they are found, and what it is built from. */
interface Drawing {
  readonly ir: CellIR;
  /** The equation each named value comes from; these are drawn as nodes of their own, never absorbed into a layer. */
  readonly equations: ReadonlyMap<NodeId, { readonly target: string; readonly text: string }>;
  readonly nodes: Map<string, EssayNode>;
  readonly edges: EssayEdge[];
  readonly visualOf: Map<NodeId, string | null>;
}

function addNode(d: Drawing, node: EssayNode): string {
  if (!d.nodes.has(node.id)) d.nodes.set(node.id, node);
  return node.id;
}

function connect(d: Drawing, from: string | null, to: string): void {
  if (from !== null && !d.edges.some((e) => e.from === from && e.to === to)) d.edges.push({ from, to, conveyor: false });
}

/** The node drawing an IR value, created with everything it reads; null for fixed values, written into their readers. */
function draw(d: Drawing, id: NodeId): string | null {
  if (!d.visualOf.has(id)) d.visualOf.set(id, isFixed(d.ir, id) ? null : drawValue(d, id));
  return d.visualOf.get(id)!;
}

function drawValue(d: Drawing, id: NodeId): string {
  const node = d.ir.nodes[id]!;
  if (node.op === "input" || node.op === "state") {
    const note = node.op === "input" ? "t" : "t−1";
    return addNode(d, { id: `${node.op}:${node.name}`, kind: "enter", label: node.name, note, detail: `${node.op} ${node.name}` });
  }
  if (node.op === "concat") return mergeOf(d, node.args)!;
  const equation = d.equations.get(id);
  const detail = equation?.text ?? nameOf(node);
  const affine = affineOf(d.ir, node.op === "apply" ? node.args[0] : id, d.equations);
  if (affine.hasProduct) {
    // A nonlinearity over products is the essay's yellow box; products alone are a linear layer.
    const visual = addNode(d, { id: `n${id}`, kind: "layer", label: node.op === "apply" ? nameOf(node) : "W", note: equation?.target ?? "", detail });
    connect(d, mergeOf(d, affine.reads), visual);
    return visual;
  }
  const visual = addNode(d, { id: `n${id}`, kind: "pointwise", label: pointwiseLabel(d.ir, node), note: "", detail });
  for (const arg of argsOf(node)) connect(d, draw(d, arg), visual);
  return visual;
}

/** `×`, `1−` (a constant on the left), `×p` (a parameter on the right). */
function pointwiseLabel(ir: CellIR, node: IrNode): string {
  const args = argsOf(node);
  const symbol = nameOf(node);
  if (args.length !== 2) return symbol;
  const [left, right] = args.map((a) => (isFixed(ir, a) ? fixedText(ir, a) : ""));
  return symbol.length > 1 && /\w/.test(symbol) ? [left, symbol, right].filter((p) => p !== "").join(" ") : `${left}${symbol}${right}`;
}

/** One node for what several values feed: a merge when there are two or more, shared by every layer reading the same values. */
function mergeOf(d: Drawing, reads: readonly NodeId[]): string | null {
  const sources = [...new Set(reads.map((r) => draw(d, r)).filter((v): v is string => v !== null))];
  if (sources.length < 2) return sources[0] ?? null;
  const id = `merge:${sources.join(",")}`;
  if (!d.nodes.has(id)) {
    addNode(d, { id, kind: "merge", label: "", note: "", detail: `[${sources.map((s) => d.nodes.get(s)!.label).join(", ")}]` });
    for (const s of sources) connect(d, s, id);
  }
  return id;
}

/** The edges from a state's old value to its new one through pointwise operations only, or null. */
function conveyorPath(d: Drawing, state: string): EssayEdge[] | null {
  const goal = `next:${state}`;
  // The drawing is acyclic, so a node once found not to lead to the goal never will: each is searched once.
  const deadEnds = new Set<string>();
  const search = (at: string): EssayEdge[] | null => {
    for (const edge of d.edges.filter((e) => e.from === at)) {
      if (edge.to === goal) return [edge];
      if (d.nodes.get(edge.to)!.kind !== "pointwise" || deadEnds.has(edge.to)) continue;
      const rest = search(edge.to);
      if (rest) return [edge, ...rest];
      deadEnds.add(edge.to);
    }
    return null;
  };
  return search(`state:${state}`);
}

/**
 * Stacking order, top to bottom, as in the essay: conveyors and what lies on
 * them, the rest (outputs among it), the other states (in and out) along the
 * bottom, inputs lowest.
 */
function band(node: EssayNode, onConveyor: ReadonlySet<string>): number {
  if (onConveyor.has(node.id)) return 0;
  if (node.id.startsWith("input:")) return 3;
  if (node.id.startsWith("state:") || node.id.startsWith("next:")) return 2;
  return 1;
}

export function essayDiagram(ir: CellIR): EssayDiagram {
  // A value both an intermediate and a new state or output is shown under the intermediate's name.
  const equations = new Map(ir.equations.filter((e) => e.kind === "intermediate").map((e) => [e.node, { target: e.target, text: e.text }]));
  for (const e of ir.equations) if (!equations.has(e.node)) equations.set(e.node, { target: e.target, text: e.text });
  const d: Drawing = { ir, equations, nodes: new Map(), edges: [], visualOf: new Map() };
  for (const next of ir.nextState) {
    const to = addNode(d, { id: `next:${next.state}`, kind: "leave", label: next.state, note: "t", detail: `state ${next.state} after the step` });
    connect(d, draw(d, next.node), to);
  }
  for (const out of ir.outputs) {
    const to = addNode(d, { id: `output:${out.name}`, kind: "leave", label: out.name, note: "out", detail: `output ${out.name}` });
    connect(d, draw(d, out.node), to);
  }
  const paths = new Map(ir.states.map((s) => [s.name, conveyorPath(d, s.name)]));
  const conveyorEdges = new Set([...paths.values()].flatMap((p) => p ?? []));
  const onConveyor = new Set([...conveyorEdges].flatMap((e) => [e.from, e.to]));
  const nodes = [...d.nodes.values()];
  return {
    cell: ir.name,
    nodes: nodes.map((n, i) => ({ n, i })).sort((a, b) => band(a.n, onConveyor) - band(b.n, onConveyor) || a.i - b.i).map(({ n }) => n),
    edges: d.edges.map((e) => ({ ...e, conveyor: conveyorEdges.has(e) })),
    conveyors: ir.states.filter((s) => paths.get(s.name) !== null).map((s) => s.name),
  };
}
