// Geometry checks on a placed diagram, shared by the diagram tests.
import type { Placed, PlacedNode, Point } from "../../src/diagram/place.ts";

/** Whether the segment a–b runs through the inside of the node (its border shrunk by one pixel). */
function segmentEntersNode(a: Point, b: Point, node: PlacedNode): boolean {
  const [left, right, top, bottom] = [node.x + 1, node.x + node.width - 1, node.y + 1, node.y + node.height - 1];
  if (a.y === b.y) return a.y > top && a.y < bottom && Math.max(a.x, b.x) > left && Math.min(a.x, b.x) < right;
  if (a.x === b.x) return a.x > left && a.x < right && Math.max(a.y, b.y) > top && Math.min(a.y, b.y) < bottom;
  throw new Error(`segment (${a.x},${a.y})–(${b.x},${b.y}) is not orthogonal`);
}

/** Every (edge, node) pair where a segment of the edge passes through a node other than its own two ends. */
export function crossings(placed: Placed): string[] {
  return placed.edges.flatMap((edge) =>
    edge.points.slice(1).flatMap((b, i) =>
      placed.nodes.filter((n) => n.id !== edge.from && n.id !== edge.to && segmentEntersNode(edge.points[i]!, b, n)).map((n) => `${edge.from} → ${edge.to} crosses ${n.id}`),
    ),
  );
}
