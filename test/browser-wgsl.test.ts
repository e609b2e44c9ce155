/**
 * A generated WebGPU host module in a real browser: compiled to JavaScript with
 * esbuild, served as a static file, imported by the page as a user's web app
 * would, and run on headless Chromium's WebGPU (SwiftShader). Forward and
 * backward must agree with the interpreter within 1e-4. Without Chromium the
 * tests are skipped, unless CI is set, where they fail.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transform } from "esbuild";
import { afterAll, describe, expect, test } from "vitest";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { DEFAULT_CHROMIUM, findChromium, withBrowserPage } from "../src/gpu/browser.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { LSTMC } from "./helpers/cli.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";

const IN_CI = !!process.env.CI;
const chromiumPath = findChromium();
const SPECS = ["lstm", "gru", "peephole"];

type Plain = Record<string, number[]>;
const plain = (tensors: Record<string, ArrayLike<number>>): Plain => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Array.from(v)]));

function worstRelative(got: Plain, want: Record<string, Float64Array>): number {
  let worst = 0;
  for (const [name, w] of Object.entries(want)) {
    const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
    w.forEach((x, i) => {
      const e = Math.abs(got[name]![i]! - x) / scale;
      worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
    });
  }
  return worst;
}

/** What the page runs, as a user's app would: import the module, make a device, run forward and backward. */
const PAGE_SCRIPT = `async (d) => {
  const toF32 = (t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float32Array.from(v)]));
  const toPlain = (t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(v)]));
  const mod = await import(d.module);
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter in the page");
  const device = await adapter.requestDevice();
  const cell = mod.createCell(device);
  const params = cell.uploadParams(toF32(d.params));
  const fwd = await cell.forward(params, toF32(d.inputs), toF32(d.initial), { batch: d.batch });
  const grads = await cell.backward(params, fwd.saved, { outputs: toF32(d.upstream.outputs), final: toF32(d.upstream.final) });
  cell.destroy();
  return { outputs: toPlain(fwd.outputs), final: toPlain(fwd.final), params: toPlain(grads.params), inputs: toPlain(grads.inputs), initial: toPlain(grads.initial) };
}`;

type Case = { name: string; ir: ReturnType<typeof loadLibraryCell>; sizes: ReturnType<typeof bindSizes>; request: ReturnType<typeof randomRequest> };

/** Runs a case's module (served as /NAME.webgpu.js) in the page; the worst relative error of each part against the interpreter. */
async function errorsInPage(page: { evaluate(script: string): Promise<unknown> }, { name, ir, sizes, request }: Case): Promise<Record<string, number>> {
  const data = {
    module: `/${name}.webgpu.js`,
    batch: request.sequence.batch,
    params: plain(request.sequence.params),
    inputs: plain(request.sequence.inputs),
    initial: plain(request.sequence.initial),
    upstream: { outputs: plain(request.upstream.outputs), final: plain(request.upstream.final) },
  };
  // A string, not a function: the test runner would rewrite a function's import().
  const result = (await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(data)})`)) as Record<"outputs" | "final" | "params" | "inputs" | "initial", Plain>;
  const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
  return {
    outputs: worstRelative(result.outputs, want.outputs),
    final: worstRelative(result.final, want.final),
    params: worstRelative(result.params, want.grads.params),
    inputs: worstRelative(result.inputs, want.grads.inputs),
    initial: worstRelative(result.initial, want.grads.initial),
  };
}

if (!chromiumPath) {
  const msg = `Chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM}; install it with: bash scripts/install-webgpu-cpu.sh --chromium`;
  if (IN_CI) {
    test("Chromium is installed", () => {
      throw new Error(msg);
    });
  } else {
    test.skip(`browser WGSL tests skipped: ${msg}`, () => {});
  }
} else {
  describe(`generated WebGPU modules in headless Chromium (${chromiumPath})`, () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-browser-wgsl-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test("lstm, gru and peephole: forward and backward in the page agree with the interpreter within 1e-4", async () => {
      const cases: Case[] = [];
      for (const name of SPECS) {
        const ir = loadLibraryCell(`specs/${name}.lstm`);
        const sizes = bindSizes(ir, { I: 3, H: 6 });
        const compiled = await compileWgslCell(ir, { dims: sizes });
        const js = await transform(compiled.host.text, { loader: "ts", format: "esm", target: "es2022" });
        writeFileSync(join(dir, `${name}.webgpu.js`), js.code);
        const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 9, uniformParams: true });
        cases.push({ name, ir, sizes, request });
      }
      writeFileSync(join(dir, "index.html"), "<!doctype html><title>lstmc</title>");
      await withBrowserPage(dir, async (page, _baseUrl, info) => {
        for (const c of cases) {
          const errors = await errorsInPage(page, c);
          expect(Math.max(...Object.values(errors)), `${c.name}: ${JSON.stringify(errors)}`).toBeLessThan(1e-4);
        }
        expect(info.problems.filter((p) => !/WebGPU has been disabled via blocklist/.test(p))).toEqual([]);
      });
    });

    test("the module `lstmc compile specs/attention_lstm.lstm --target wgsl` writes: forward and backward in the page agree with the interpreter within 1e-4, the static input's gradient included", async () => {
      const out = join(dir, "attention");
      const compiled = spawnSync(process.execPath, [LSTMC, "compile", "specs/attention_lstm.lstm", "--target", "wgsl", "--out", out], { encoding: "utf8" });
      expect(compiled.status, compiled.stderr).toBe(0);
      const js = await transform(readFileSync(join(out, "attention_lstm.webgpu.ts"), "utf8"), { loader: "ts", format: "esm", target: "es2022" });
      writeFileSync(join(dir, "attention_lstm.webgpu.js"), js.code);
      writeFileSync(join(dir, "index.html"), "<!doctype html><title>lstmc</title>");
      const ir = loadLibraryCell("specs/attention_lstm.lstm");
      // The spec's own sizes, which the command compiled for.
      const sizes = bindSizes(ir, {});
      const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 11, uniformParams: true });
      await withBrowserPage(dir, async (page, _baseUrl, info) => {
        const errors = await errorsInPage(page, { name: "attention_lstm", ir, sizes, request });
        expect(Math.max(...Object.values(errors)), JSON.stringify(errors)).toBeLessThan(1e-4);
        expect(info.problems.filter((p) => !/WebGPU has been disabled via blocklist/.test(p))).toEqual([]);
      });
    });
  });
}
