// lstmc/vite: a tiny app imports a spec with a query, Vite builds it, and it
// runs in headless Chromium; a broken spec fails the build at the spec's
// line and column; an edit to the spec recompiles the module in the dev server.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, createServer } from "vite";
import { describe, expect, it, test, vi } from "vitest";
import { findChromium, withBrowserPage } from "../src/gpu/browser.ts";
import lstmc from "../src/plugins/vite.ts";
import { cliModelOutputs, maxDifference } from "./helpers/cli-model-run.ts";

const ROOT = join(import.meta.dirname, "..");
const chromium = findChromium();

function app(main: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-vite-"));
  for (const spec of ["gru.lstm", "bilstm.lstm", "lstm.lstm"]) copyFileSync(join(ROOT, "specs", spec), join(dir, spec));
  writeFileSync(join(dir, "index.html"), `<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>`);
  writeFileSync(join(dir, "main.js"), main);
  return dir;
}

function viteBuild(dir: string) {
  return build({ root: dir, logLevel: "silent", plugins: [lstmc()], build: { outDir: join(dir, "dist") } });
}

const APP = `
  import * as cell from "./gru.lstm?dims=I=4,H=3&target=ts";
  import { createCell } from "./gru.lstm?dims=I=4,H=3&target=wgsl";
  const { outputs } = cell.forward(cell.initParams(1), { x: new Float32Array(cell.I) });
  document.body.dataset.result = JSON.stringify({ H: cell.H, h: Array.from(outputs.h), webgpuHost: typeof createCell });
`;

describe("lstmc/vite", () => {
  // Without Chromium the browser run is skipped, as in test/browser-infra.test.ts, unless CI is set.
  test.runIf(chromium || process.env.CI)("builds an app whose compiled cell runs in headless Chromium", async () => {
    const dir = app(APP);
    await viteBuild(dir);
    const result = await withBrowserPage(join(dir, "dist"), async (page, _url, info) => {
      await page.waitForFunction(() => document.body.dataset.result !== undefined);
      return { value: JSON.parse((await page.evaluate(() => document.body.dataset.result))!), problems: info.problems };
    });
    expect(result.problems).toEqual([]);
    expect(result.value.H).toBe(3);
    expect(result.value.webgpuHost).toBe("function");
    expect(result.value.h).toHaveLength(3);
    for (const v of result.value.h) expect(Math.abs(v)).toBeLessThan(1);
  });

  it("fails the build at the spec's line and column", async () => {
    const dir = app(`import * as cell from "./gru.lstm?dims=I=4,H=3"; console.log(cell.H);`);
    const spec = join(dir, "gru.lstm");
    writeFileSync(spec, readFileSync(spec, "utf8").replace("U_z @ h + b_z", "U_z @ hh + b_z"));
    const failure = await viteBuild(dir).then(
      () => expect.unreachable("the build should fail"),
      (e: { message: string; errors: { loc: unknown; frame: string }[] }) => e,
    );
    expect(failure.message).toContain(`${spec}:23:25: E101:`);
    // Vite 8 (Rolldown) gathers the plugin errors; Rollup's loc.column is 0-based.
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]!.loc).toEqual({ file: spec, line: 23, column: 24 });
    expect(failure.errors[0]!.frame).toBe("23 |   z = σ(W_z @ x + U_z @ hh + b_z)\n   |                         ^");
  });

  it("recompiles the spec's module in the dev server when the spec changes", async () => {
    const dir = app(`import * as cell from "./gru.lstm"; console.log(cell.H);`);
    const server = await createServer({ root: dir, logLevel: "silent", plugins: [lstmc()], server: { ws: false } });
    try {
      const transformed = async () => (await server.environments.client.transformRequest("/gru.lstm"))!.code;
      expect(await transformed()).toMatch(/export const H = 16;/);
      const spec = join(dir, "gru.lstm");
      writeFileSync(spec, readFileSync(spec, "utf8").replace("H = 16", "H = 5"));
      await vi.waitFor(async () => expect(await transformed()).toMatch(/export const H = 5;/), { timeout: 300_000, interval: 200 });
    } finally {
      await server.close();
    }
  });

  it("serves a model as one module that gives the CLI's numbers", async () => {
    const dir = app(`import * as model from "./bilstm.lstm"; console.log(model.H);`);
    const server = await createServer({ root: dir, logLevel: "silent", plugins: [lstmc()], server: { ws: false } });
    try {
      const model = (await server.ssrLoadModule("/bilstm.lstm?dims=I=3,H=2&precision=f64")) as GeneratedModel;
      const params = model.initParams(11);
      const x = Float64Array.from({ length: 3 * 1 * 3 }, (_, i) => Math.sin(2 * i));
      const { outputs } = model.forward(params, { x }, {}, { batch: 1 });
      const expected = cliModelOutputs("specs/bilstm.lstm", { dims: { I: 3, H: 2 }, batch: 1, steps: 3, params, inputs: { x } });
      expect(outputs["h"]).toHaveLength(3 * 2 * 2);
      expect(maxDifference(outputs["h"]!, expected["h"]!)).toBeLessThan(1e-9);
    } finally {
      await server.close();
    }
  });

  it("recompiles a model's module in the dev server when a cell file it uses changes", async () => {
    const dir = app(`import * as model from "./bilstm.lstm"; console.log(model.H);`);
    const server = await createServer({ root: dir, logLevel: "silent", plugins: [lstmc()], server: { ws: false } });
    try {
      const paramNames = async () => {
        const model = (await server.ssrLoadModule("/bilstm.lstm?dims=I=2,H=2")) as GeneratedModel;
        return Object.keys(model.initParams(1));
      };
      expect(await paramNames()).toContain("fwd.b_f");
      const cell = join(dir, "lstm.lstm");
      writeFileSync(cell, readFileSync(cell, "utf8").replaceAll("b_f", "b_forget"));
      await vi.waitFor(async () => expect(await paramNames()).toContain("fwd.b_forget"), { timeout: 300_000, interval: 200 });
    } finally {
      await server.close();
    }
  });
});

interface GeneratedModel {
  initParams(seed: number): Record<string, Float64Array>;
  forward(params: Record<string, Float64Array>, inputs: Record<string, Float64Array>, initial: object, options: { batch: number }): { outputs: Record<string, Float64Array> };
}
