// What both diagram styles' SVG shares: escaping, the document around the
// picture, and a routed edge as a path.
import type { Point } from "./place.ts";

export const MARGIN = 30;
export const TITLE_HEIGHT = 40;

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A rough width in pixels of text at `fontSize`: enough to size a node around it. */
export function textWidth(text: string, fontSize: number): number {
  return Math.ceil([...text].length * fontSize * 0.62);
}

/** The SVG document: a white page, the title, and `body` drawn below the title inside the margin. */
export function svgDocument(picture: { width: number; height: number }, title: string, defs: string, body: readonly string[]): string {
  // Wide enough for the title too: a small cell's picture is narrower than its name.
  const width = Math.max(picture.width, textWidth(title, 20)) + 2 * MARGIN;
  const height = picture.height + 2 * MARGIN + TITLE_HEIGHT;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<defs>${defs}</defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 16}" font-size="20" font-weight="bold">${escapeXml(title)}</text>`,
    `<g transform="translate(${MARGIN} ${MARGIN + TITLE_HEIGHT})">`,
    ...body,
    `</g>`,
    `</svg>`,
  ].join("\n")}\n`;
}

export function arrowMarker(id: string, colour: string): string {
  return `<marker id="${id}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${colour}"/></marker>`;
}

export function pathData(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"} ${p.x} ${p.y}`).join(" ");
}
