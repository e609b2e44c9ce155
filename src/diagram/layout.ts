// A cell's step as a picture: which values feed which. This file computes the
// layout (plain data); svg.ts draws it.
import type { CellIR, IrNode, NodeId } from "../ir/types.ts";

export type BoxKind = "input" | "state" | "const" | "intermediate" | "next" | "output";

export interface Box {
  readonly key: string;
  readonly kind: BoxKind;
  readonly title: string;
  /** The equation, or the declaration's shape. */
  readonly detail: string;
  readonly column: number;
  readonly row: number;
}

export interface Edge {
  readonly from: string;
  readonly to: string;
}

export interface Layout {
  readonly cell: string;
  readonly boxes: readonly Box[];
  readonly edges: readonly Edge[];
  readonly columns: number;
  readonly rows: number;
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
  const equationKey = (kind: string, target: string) => `${kind}:${target}`;
  const edges: Edge[] = [];
  const depth = new Map<string, number>();
  for (const i of ir.inputs) depth.set(`input:${i.name}`, 0);
  for (const s of ir.states) depth.set(`state:${s.name}`, 0);
  const equationBoxes: Omit<Box, "column" | "row">[] = [];
  for (const eq of ir.equations) {
    const key = equationKey(eq.kind, eq.target);
    const sources = new Set<string>();
    sourcesOf(ir, eq.node, owner, sources);
    if (owner.has(eq.node)) sources.add(owner.get(eq.node)!);
    if (!owner.has(eq.node)) owner.set(eq.node, key);
    for (const from of [...sources].sort()) edges.push({ from, to: key });
    depth.set(key, 1 + Math.max(0, ...[...sources].map((s) => depth.get(s) ?? 0)));
    const title = eq.kind === "next" ? `${eq.target}'` : eq.kind === "output" ? `output ${eq.target}` : eq.target;
    const detail = eq.kind === "output" ? eq.text.replace(/^output /, "") : eq.text;
    equationBoxes.push({ key, kind: eq.kind, title, detail });
  }
  // Each equation sits one column right of its deepest source; outputs share
  // the last column, like the right-hand edge of the essay's diagrams.
  const lastColumn = Math.max(...equationBoxes.filter((b) => b.kind !== "output").map((b) => depth.get(b.key)!)) + 1;
  const columnOf = (b: Omit<Box, "column" | "row">) => (b.kind === "output" ? lastColumn : depth.get(b.key)!);
  const leaves: Omit<Box, "column" | "row">[] = [
    ...ir.inputs.map((i) => ({ key: `input:${i.name}`, kind: "input" as const, title: i.name, detail: "input" })),
    ...ir.states.map((s) => ({ key: `state:${s.name}`, kind: "state" as const, title: s.name, detail: "state (previous step)" })),
  ];
  const rowsUsed = new Map<number, number>();
  const boxes: Box[] = [...leaves.map((b) => ({ ...b, column: 0 })), ...equationBoxes.map((b) => ({ ...b, column: columnOf(b) }))].map((b) => {
    const row = rowsUsed.get(b.column) ?? 0;
    rowsUsed.set(b.column, row + 1);
    return { ...b, row };
  });
  return {
    cell: ir.name,
    boxes,
    edges,
    columns: Math.max(...boxes.map((b) => b.column)) + 1,
    rows: Math.max(...rowsUsed.values()),
  };
}
