// Every library diagram as a reader sees it: docs/diagrams/*.svg rendered to PNG
// by headless Chromium, then the PNG's pixels counted. A picture that parses but
// draws nothing (a bad viewBox, a missing fill) fails here. Without Chromium the
// test is skipped, unless CI is set, where it fails.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHROMIUM, findChromium, withBrowserPage } from "../src/gpu/browser.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import { essayDiagram } from "../src/diagram/essay.ts";
import { LAYER_FILL, POINTWISE_FILL } from "../src/diagram/essay-svg.ts";

const ROOT = join(import.meta.dirname, "..");
const DIAGRAMS = join(ROOT, "docs", "diagrams");
const chromium = findChromium();

interface PixelCounts {
  total: number;
  /** Pixels that are not the white page. */
  drawn: number;
  layer: number;
  pointwise: number;
}

/** Runs in the page: decodes a PNG and counts its pixels near white, the layer fill and the pointwise fill. */
const COUNT_PIXELS = `async ({ png, layer, pointwise }) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const near = (i, colour) => colour.every((c, k) => Math.abs(data[i + k] - c) <= 6);
  const [white, yellow, pink] = [[255, 255, 255], rgb(layer), rgb(pointwise)];
  const counts = { total: data.length / 4, drawn: 0, layer: 0, pointwise: 0 };
  for (let i = 0; i < data.length; i += 4) {
    if (!near(i, white)) counts.drawn++;
    if (near(i, yellow)) counts.layer++;
    if (near(i, pink)) counts.pointwise++;
  }
  return counts;
}`;

describe.runIf(chromium !== undefined || process.env.CI)("docs/diagrams rendered by Chromium", () => {
  it("draws every library diagram with its yellow layers and pink pointwise operations", async () => {
    if (!chromium) throw new Error(`Chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM}; install it with: bash scripts/install-webgpu-cpu.sh --chromium`);
    const files = readdirSync(DIAGRAMS).filter((f) => f.endsWith(".svg")).sort();
    expect(files.length).toBeGreaterThan(0);
    const counts = await withBrowserPage(DIAGRAMS, async (page, baseUrl) => {
      const found: Record<string, PixelCounts> = {};
      for (const file of files) {
        await page.goto(`${baseUrl}/${file}`);
        const png = await page.locator("svg").screenshot({ type: "png" });
        await page.goto(`${baseUrl}/`);
        found[file] = (await page.evaluate(`(${COUNT_PIXELS})(${JSON.stringify({ png: png.toString("base64"), layer: LAYER_FILL, pointwise: POINTWISE_FILL })})`)) as PixelCounts;
      }
      return found;
    });
    for (const file of files) {
      const spec = file.replace(/\.svg$/, ".lstm");
      const diagram = essayDiagram(buildCell(parseDsl(readFileSync(join(ROOT, "specs", spec), "utf8"), spec).value!).ir!);
      const count = (kind: string) => diagram.nodes.filter((n) => n.kind === kind).length;
      const pixels = counts[file]!;
      expect(pixels.drawn / pixels.total, file).toBeGreaterThan(0.03);
      // A layer box is at least 44 × 32 and a pointwise circle 30 across; their labels cover part of each.
      expect(pixels.layer, file).toBeGreaterThanOrEqual(800 * count("layer"));
      expect(pixels.pointwise, file).toBeGreaterThanOrEqual(400 * count("pointwise"));
    }
  });
});
