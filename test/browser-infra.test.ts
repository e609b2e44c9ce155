/**
 * WebGPU in headless Debian Chromium (SwiftShader, no GPU needed).
 * Needs `bash scripts/install-webgpu-cpu.sh --chromium` once (as root). Without
 * Chromium the tests are skipped, unless CI is set, where they fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  DEFAULT_CHROMIUM,
  browserAdapterInfo,
  findChromium,
  runKernelInPage,
  withBrowserPage,
} from "../src/gpu/browser.ts";

const IN_CI = !!process.env.CI;
const TIMEOUT = 60_000;
const chromiumPath = findChromium();

const TANH_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < arrayLength(&xs)) {
    ys[i] = 2.0 * tanh(xs[i]);
  }
}
`;

if (!chromiumPath) {
  const msg =
    `Chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM}; ` +
    `install it with: bash scripts/install-webgpu-cpu.sh --chromium`;
  if (IN_CI) {
    test("Chromium is installed", () => {
      throw new Error(msg);
    });
  } else {
    console.warn(`[browser-infra] SKIPPED: ${msg}`);
    test.skip(`browser WebGPU tests skipped: ${msg}`, () => {});
  }
} else {
  describe(`WebGPU in headless Chromium (${chromiumPath})`, () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-static-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test(
      "y = 2*tanh(x) on 4096 floats matches JS within 1e-6",
      async () => {
        const n = 4096;
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = -20 + (40 * i) / (n - 1);
        x[0] = 0;
        x[1] = -1e-7;
        const t0 = performance.now();
        const r = await withBrowserPage(dir, async (page, _baseUrl, info) => {
          const t1 = performance.now();
          const res = await runKernelInPage(page, TANH_WGSL, [x], n, n / 64);
          console.log(
            `[browser-infra] launch+goto ${(t1 - t0).toFixed(0)} ms; in page: adapter+device ${res.timings.adapterDeviceMs.toFixed(1)} ms, ` +
              `compile+dispatch+readback ${res.timings.dispatchMs.toFixed(1)} ms`,
          );
          expect(info.problems).toEqual([]);
          return res;
        });
        console.log(
          `[browser-infra] adapter: ${r.adapter.vendor} ${r.adapter.architecture} fallback=${r.adapter.isFallbackAdapter} ` +
            `features=[${r.adapter.features.join(",")}]; total ${(performance.now() - t0).toFixed(0)} ms`,
        );
        expect(r.compileErrors).toEqual([]);
        expect(r.compileWarnings).toEqual([]);
        expect(r.output.length).toBe(n);
        let maxErr = 0;
        for (let i = 0; i < n; i++) {
          const v = r.output[i];
          const e = typeof v === "number" ? Math.abs(v - 2 * Math.tanh(x[i]!)) : NaN;
          if (!(e <= maxErr)) maxErr = e;
        }
        console.log(`[browser-infra] tanh max abs err ${maxErr.toExponential(2)}`);
        expect(maxErr).toBeLessThanOrEqual(1e-6);
      },
      TIMEOUT,
    );

    test(
      "a served ES module can be imported by the page and reports compile errors with line:col",
      async () => {
        writeFileSync(
          join(dir, "mod.mjs"),
          `export const answer = 42;\nexport async function check(code) {\n` +
            `  const a = await navigator.gpu.requestAdapter(); const d = await a.requestDevice();\n` +
            `  const info = await d.createShaderModule({ code }).getCompilationInfo();\n` +
            `  return info.messages.map((m) => m.type + " " + m.lineNum + ":" + m.linePos);\n}\n`,
        );
        const r = await withBrowserPage(dir, async (page, baseUrl) => {
          const adapter = await browserAdapterInfo(page);
          const url = JSON.stringify(`${baseUrl}/mod.mjs`);
          const bad = JSON.stringify("@compute @workgroup_size(1)\nfn main() {\n  let a: f32 = 1u;\n  _ = a;\n}\n");
          const msgs = await page.evaluate(`import(${url}).then(async (m) => [m.answer, await m.check(${bad})])`);
          const mime = await page.evaluate(`fetch(${url}).then((r) => r.headers.get("content-type"))`);
          return { adapter, msgs, mime };
        });
        expect(r.adapter).not.toBeNull();
        expect(r.mime).toMatch(/^text\/javascript/);
        expect(r.msgs).toEqual([42, ["error 3:7"]]);
      },
      TIMEOUT,
    );
  });
}
