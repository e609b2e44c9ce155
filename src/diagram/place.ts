// Places a diagram's nodes and routes its edges with ELK's layered algorithm
// (Sugiyama layering, crossing minimisation, orthogonal edge routing), so no
// line runs through a node. Both diagram styles describe their picture as a
// PlaceGraph and draw what comes back. ELK is deterministic for the same input
// in the same order, so the same cell always gives the same picture.
import elkjs, { type ElkExtendedEdge, type ElkNode, type LayoutOptions } from "elkjs/lib/elk.bundled.js";

export interface PlaceNode {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Pinned to the first (leftmost) or last (rightmost) layer. */
  readonly band?: "first" | "last";
}

export interface PlaceEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Kept as straight as the layout allows (the essay's conveyor lines). */
  readonly straight?: boolean;
}

export interface PlaceGraph {
  readonly nodes: readonly PlaceNode[];
  readonly edges: readonly PlaceEdge[];
  /** Gaps in pixels: between nodes of a layer, and between layers. */
  readonly spacing: { readonly node: number; readonly layer: number };
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface PlacedNode extends PlaceNode, Point {}

export interface PlacedEdge extends PlaceEdge {
  /** The orthogonal route from the source's border to the target's border. */
  readonly points: readonly Point[];
}

export interface Placed {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
}

const LAYER_CONSTRAINT = { first: "FIRST", last: "LAST" } as const;

function elkGraph(graph: PlaceGraph): ElkNode {
  const layoutOptions: LayoutOptions = {
    "elk.algorithm": "layered",
    "elk.direction": "RIGHT",
    "elk.edgeRouting": "ORTHOGONAL",
    "elk.padding": "[top=0,left=0,bottom=0,right=0]",
    "elk.spacing.nodeNode": String(graph.spacing.node),
    "elk.layered.spacing.nodeNodeBetweenLayers": String(graph.spacing.layer),
    "elk.spacing.edgeNode": String(graph.spacing.node / 2),
    "elk.spacing.edgeEdge": "8",
    "elk.layered.spacing.edgeNodeBetweenLayers": String(graph.spacing.layer / 3),
    // The order nodes are listed in is the order they are stacked, top to bottom, where crossings allow.
    "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    "elk.layered.crossingMinimization.forceNodeModelOrder": "true",
    "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  };
  // Straight edges run between ports fixed at the middle of their nodes' sides, so a conveyor has no jogs.
  const straight = graph.edges.filter((e) => e.straight);
  const westPort = new Set(straight.map((e) => e.to));
  const eastPort = new Set(straight.map((e) => e.from));
  const ports = (n: PlaceNode) => [
    ...(westPort.has(n.id) ? [{ id: `${n.id}:west`, x: 0, y: n.height / 2, width: 0, height: 0, layoutOptions: { "elk.port.side": "WEST" } }] : []),
    ...(eastPort.has(n.id) ? [{ id: `${n.id}:east`, x: n.width, y: n.height / 2, width: 0, height: 0, layoutOptions: { "elk.port.side": "EAST" } }] : []),
  ];
  return {
    id: "root",
    layoutOptions,
    children: graph.nodes.map((n) => ({
      id: n.id,
      width: n.width,
      height: n.height,
      ports: ports(n),
      layoutOptions: {
        ...(n.band ? { "elk.layered.layering.layerConstraint": LAYER_CONSTRAINT[n.band] } : {}),
        ...(ports(n).length > 0 ? { "elk.portConstraints": "FIXED_POS" } : {}),
      },
    })),
    edges: graph.edges.map((e) => ({
      id: e.id,
      sources: [e.straight ? `${e.from}:east` : e.from],
      targets: [e.straight ? `${e.to}:west` : e.to],
      ...(e.straight ? { layoutOptions: { "elk.layered.priority.straightness": "10", "elk.layered.priority.direction": "10" } } : {}),
    })),
  };
}

/** Whole and half pixels only, so the SVG's numbers stay short and stable. */
const snap = (v: number) => Math.round(v * 2) / 2;

function route(edge: ElkExtendedEdge): Point[] {
  const section = edge.sections?.[0];
  if (!section) throw new Error(`ELK did not route edge ${edge.id}`);
  return [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => ({ x: snap(p.x), y: snap(p.y) }));
}

export async function placeGraph(graph: PlaceGraph): Promise<Placed> {
  // A CommonJS module: its constructor is also exported as `default`, which is what its types describe.
  const laid = await new elkjs.default().layout(elkGraph(graph));
  const position = new Map((laid.children ?? []).map((c) => [c.id, { x: snap(c.x ?? 0), y: snap(c.y ?? 0) }]));
  const routes = new Map((laid.edges ?? []).map((e) => [e.id, route(e)]));
  return {
    width: snap(laid.width ?? 0),
    height: snap(laid.height ?? 0),
    nodes: graph.nodes.map((n) => ({ ...n, ...position.get(n.id)! })),
    edges: graph.edges.map((e) => ({ ...e, points: routes.get(e.id)! })),
  };
}
