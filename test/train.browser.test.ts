// The train-in-browser example in headless Chromium: built as a user would
// (compile, strip types, bundle), served statically, trained on the page on
// WebGPU (SwiftShader here) and on the CPU module; the loss must fall. Without
// Chromium the test is skipped, unless CI is set, where it fails.
import { describe, expect, it } from "vitest";
import { buildExample } from "../examples/train-in-browser/build.ts";
import { DEFAULT_CHROMIUM, findChromium, withBrowserPage } from "../src/gpu/browser.ts";

const chromium = findChromium();
// Built once for both cases.
let built: Promise<string> | undefined;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.runIf(chromium !== undefined || process.env.CI)("train-in-browser example", () => {
  it.each([
    ["webgpu", false],
    ["cpu", true],
  ] as const)("trains the long-gap LSTM on %s with a falling loss", async (engine, forceCpu) => {
    if (!chromium) throw new Error(`Chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM}; install it with: bash scripts/install-webgpu-cpu.sh --chromium`);
    const dist = await (built ??= buildExample());
    const result = await withBrowserPage(dist, async (page, _url, info) => {
      const r = (await page.evaluate(`window.lstmcTrain({ steps: 60, gap: 5, forceCpu: ${forceCpu} })`)) as { engine: string; losses: number[]; kernels: Record<string, string> };
      return { ...r, problems: info.problems };
    });
    expect(result.problems).toEqual([]);
    expect(result.engine).toBe(engine);
    // Chromium compiles the f32 module's WebAssembly (products, and both step loops) and the CPU engine runs on it.
    expect(result.kernels).toEqual({ products: expect.stringMatching(/^wasm/), forwardLoop: "wasm", backwardLoop: "wasm" });
    expect(result.losses).toHaveLength(60);
    // ln 4 ≈ 1.39 at chance; seed 1 reaches well under half of it by the last steps.
    expect(mean(result.losses.slice(-10))).toBeLessThan(0.5 * mean(result.losses.slice(0, 5)));
  }); // SwiftShader runs the kernels on the CPU: slow on a loaded 2-core machine
});
