// A cell's step as a dataflow graph (`lstmc diagram --style graph`): one box per
// input, state and equation, and an edge for each value an equation reads. This
// file finds the boxes and edges (plain data); svg.ts places and draws them.
import type { CellIR, IrNode, NodeId } from "../ir/types.ts";

export type BoxKind = "input" | "state" | "const" | "intermediate" | "next" | "output";

export interface Box {
  readonly key: string;
  readonly kind: BoxKind;
  readonly title: string;
  /** The equation, or the declaration's shape. */
  readonly detail: string;
}

export interface Edge {
  readonly from: string;
  readonly to: string;
}

export interface Layout {
  readonly cell: string;
  readonly boxes: readonly Box[];
  readonly edges: readonly Edge[];
}

/** The boxes an IR node's value comes from: leaves and the equations it reads. */
function sourcesOf(ir: CellIR, node: NodeId, owner: Map<NodeId, string>, into: Set<string>, seen = new Set<NodeId>()): void {
  if (seen.has(node)) return;
  seen.add(node);
  const n: IrNode = ir.nodes[node]!;
  if (n.op === "input") into.add(`input:${n.name}`);
  else if (n.op === "state") into.add(`state:${n.name}`);
  if (!("args" in n)) return;
  for (const arg of n.args) {
    const boxKey = owner.get(arg);
    if (boxKey) into.add(boxKey);
    else sourcesOf(ir, arg, owner, into, seen);
  }
}

export function layoutCell(ir: CellIR): Layout {
  // Which box owns each equation's result node, so references stop there.
  const owner = new Map<NodeId, string>();
  const edges: Edge[] = [];
  const equationBoxes: Box[] = [];
  for (const eq of ir.equations) {
    const key = `${eq.kind}:${eq.target}`;
    const sources = new Set<string>();
    // An equation that names another's value (`output h = h'`) reads that box alone.
    if (owner.has(eq.node)) sources.add(owner.get(eq.node)!);
    else sourcesOf(ir, eq.node, owner, sources);
    // Outputs leave the picture on the right: they are never read, even when two share a value.
    if (eq.kind !== "output" && !owner.has(eq.node)) owner.set(eq.node, key);
    for (const from of [...sources].sort()) edges.push({ from, to: key });
    const title = eq.kind === "next" ? `${eq.target}'` : eq.kind === "output" ? `output ${eq.target}` : eq.target;
    const detail = eq.kind === "output" ? eq.text.replace(/^output /, "") : eq.text;
    equationBoxes.push({ key, kind: eq.kind, title, detail });
  }
  const leaves: Box[] = [
    ...ir.inputs.map((i) => ({ key: `input:${i.name}`, kind: "input" as const, title: i.name, detail: "input" })),
    ...ir.states.map((s) => ({ key: `state:${s.name}`, kind: "state" as const, title: s.name, detail: "state (previous step)" })),
  ];
  return { cell: ir.name, boxes: [...leaves, ...equationBoxes], edges };
}
