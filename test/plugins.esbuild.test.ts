// lstmc/esbuild: an app imports specs with a query, esbuild bundles it, and
// the bundle runs in Node; a broken spec fails the build with esbuild
// messages that carry the spec's file, line and column.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, context, type BuildFailure, type BuildResult, type PluginBuild } from "esbuild";
import { describe, expect, it, vi } from "vitest";
import lstmc from "../src/plugins/esbuild.ts";
import { cliModelOutputs, maxDifference } from "./helpers/cli-model-run.ts";

const ROOT = join(import.meta.dirname, "..");

function app(main: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-esbuild-"));
  for (const spec of ["gru.lstm", "bilstm.lstm", "lstm.lstm"]) copyFileSync(join(ROOT, "specs", spec), join(dir, spec));
  writeFileSync(join(dir, "main.ts"), main);
  return dir;
}

function bundle(dir: string) {
  return build({ entryPoints: [join(dir, "main.ts")], bundle: true, format: "esm", platform: "node", outfile: join(dir, "out.mjs"), plugins: [lstmc()], logLevel: "silent" });
}

async function buildFailure(dir: string): Promise<BuildFailure> {
  return bundle(dir).then(
    () => expect.unreachable("the build should fail"),
    (e: BuildFailure) => e,
  );
}

describe("lstmc/esbuild", () => {
  it("bundles a spec imported with sizes, once per distinct query, into a module that runs", async () => {
    const dir = app(`
      import * as cell from "./gru.lstm?dims=I=4,H=3&target=ts";
      import * as small from "./gru.lstm?dims=I=2,H=2";
      const { outputs } = cell.forward(cell.initParams(1), { x: new Float32Array(cell.I) });
      console.log(JSON.stringify({ H: cell.H, outputLength: outputs.h.length, smallH: small.H }));
    `);
    await bundle(dir);
    expect(JSON.parse(execFileSync(process.execPath, [join(dir, "out.mjs")], { encoding: "utf8" }))).toEqual({ H: 3, outputLength: 3, smallH: 2 });
  });

  it("fails with the spec's file, line, column and line text for an unknown name", async () => {
    const dir = app(`import * as cell from "./gru.lstm?dims=I=4,H=3"; console.log(cell.H);`);
    const spec = join(dir, "gru.lstm");
    writeFileSync(spec, readFileSync(spec, "utf8").replace("U_z @ h + b_z", "U_z @ hh + b_z"));
    const failure = await buildFailure(dir);
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]!.text).toMatch(/^E101: .*hh/);
    // esbuild shows paths relative to the working directory; column is 0-based there.
    expect(join(process.cwd(), failure.errors[0]!.location!.file)).toBe(spec);
    expect(failure.errors[0]!.location).toMatchObject({ line: 23, column: 24, lineText: "  z = σ(W_z @ x + U_z @ hh + b_z)" });
  });

  it("fails on a size binding the query cannot give", async () => {
    const failure = await buildFailure(app(`import * as cell from "./gru.lstm?dims=I=four"; console.log(cell.H);`));
    expect(failure.errors[0]!.text).toMatch(/gru\.lstm\?dims=I=four: .*I=four/);
  });

  it("bundles a model into one module that gives the CLI's numbers", async () => {
    const dir = app(`
      import * as model from "./bilstm.lstm?dims=I=3,H=4&precision=f64";
      const params = model.initParams(3);
      const x = Float64Array.from({ length: 2 * 2 * model.I }, (_, i) => Math.cos(i));
      const { outputs } = model.forward(params, { x }, {}, { batch: 2 });
      const plain = (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
      console.log(JSON.stringify({ params: plain(params), x: Array.from(x), h: Array.from(outputs.h) }));
    `);
    await bundle(dir);
    const { params, x, h } = JSON.parse(execFileSync(process.execPath, [join(dir, "out.mjs")], { encoding: "utf8" })) as { params: Record<string, number[]>; x: number[]; h: number[] };
    const expected = cliModelOutputs("specs/bilstm.lstm", { dims: { I: 3, H: 4 }, batch: 2, steps: 2, params, inputs: { x } });
    expect(h).toHaveLength(2 * 2 * 8);
    expect(maxDifference(h, expected["h"]!)).toBeLessThan(1e-9);
  });

  it("fails a model's build in the cell file that has the error, with that file's line text", async () => {
    const dir = app(`import * as model from "./bilstm.lstm"; console.log(model.H);`);
    const cell = join(dir, "lstm.lstm");
    writeFileSync(cell, readFileSync(cell, "utf8").replace("U_f @ h", "U_f @ hh"));
    const failure = await buildFailure(dir);
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]!.text).toMatch(/^E101: .*hh/);
    expect(join(process.cwd(), failure.errors[0]!.location!.file)).toBe(cell);
    expect(failure.errors[0]!.location!.lineText).toContain("U_f @ hh");
  });

  it("bundles a model imported for the wgsl target as its WebGPU module", async () => {
    const dir = app(`import { createModel, initParams } from "./bilstm.lstm?target=wgsl&dims=I=2,H=3"; console.log(typeof createModel, Object.keys(initParams(1)).length);`);
    await bundle(dir);
    const printed = execFileSync(process.execPath, [join(dir, "out.mjs")], { encoding: "utf8" });
    expect(printed.trim()).toBe("function 24");
  });

  it("rebuilds a model in watch mode when a cell file it uses changes", async () => {
    const dir = app(`import * as model from "./bilstm.lstm?dims=I=2,H=2"; console.log(Object.keys(model.initParams(1)).join(","));`);
    const results: BuildResult[] = [];
    const rebuilt = (count: number) => vi.waitFor(() => expect(results.length).toBeGreaterThanOrEqual(count), { timeout: 120_000, interval: 100 });
    const record = { name: "record", setup: (b: PluginBuild) => b.onEnd((r) => void results.push(r)) };
    const ctx = await context({ entryPoints: [join(dir, "main.ts")], bundle: true, format: "esm", platform: "node", outfile: join(dir, "out.mjs"), plugins: [lstmc(), record], logLevel: "silent" });
    try {
      await ctx.watch();
      await rebuilt(1);
      const paramNames = () => execFileSync(process.execPath, [join(dir, "out.mjs")], { encoding: "utf8" });
      expect(paramNames()).toContain("fwd.b_f,");
      const cell = join(dir, "lstm.lstm");
      writeFileSync(cell, readFileSync(cell, "utf8").replaceAll("b_f", "b_forget"));
      await rebuilt(2);
      expect(results.at(-1)!.errors).toEqual([]);
      expect(paramNames()).toContain("fwd.b_forget,");
    } finally {
      await ctx.dispose();
    }
  });
});
