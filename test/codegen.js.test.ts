// The JavaScript target is the TypeScript module with its types erased: plain
// `node` imports it with no loader, and it computes the same bits as the TS
// module, forward, backward and step, in both precisions, for every library spec.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { compileJsCell } from "../src/codegen/compile.ts";
import { bindSizes, freeSizes } from "../src/ir/bind.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule, type GeneratedModule } from "../src/run/ts-engine.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";
import { stepInputs } from "./helpers/ir.ts";

const dir = mkdtempSync(join(tmpdir(), "lstmc-js-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Tensors = Record<string, ArrayLike<number>>;

/** Names of the elements that differ in bits (NaN equals NaN; -0 differs from 0). */
function bitDifferences(got: Tensors, want: Tensors): string[] {
  const out: string[] = [];
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g || g.length !== w.length) {
      out.push(`${name}: length`);
      continue;
    }
    for (let i = 0; i < w.length; i++) if (!Object.is(g[i], w[i])) out.push(`${name}[${i}]: ${g[i]} vs ${w[i]}`);
  }
  return out;
}

describe.each(specFiles())("the JavaScript module of %s", (file) => {
  const ir = loadSpec(file);
  for (const precision of ["f64", "f32"] as const) {
    it(`computes the TypeScript module's bits (${precision}): forward, backward and step`, async () => {
      const sizes = bindSizes(ir, freeSizes(ir, { I: 5, H: 7 }));
      const { js, dts } = await compileJsCell(ir, { precision, dims: sizes });
      const path = join(dir, `${precision}-${js.fileName}`);
      writeFileSync(path, js.text);
      writeFileSync(join(dir, `${precision}-${dts.fileName}`), dts.text);
      const jsModule = (await import(pathToFileURL(path).href)) as GeneratedModule;
      const tsModule = await loadGeneratedModule(ir, sizes, precision);
      const Float = precision === "f32" ? Float32Array : Float64Array;
      const cast = (t: Record<string, Float64Array>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float.from(v)])) as never;
      const request = randomRequest(ir, { sizes, batch: 3, steps: 4, seed: 11, uniformParams: true });
      const { params, inputs, initial } = request.sequence;
      const results = [jsModule, tsModule].map((m) => {
        const fwd = m.forward(cast(params), cast(inputs), cast(initial), { batch: 3 });
        const grads = m.backward(cast(params), fwd.saved, { outputs: cast(request.upstream.outputs), final: cast(request.upstream.final) });
        const state = m.createState(3);
        const stepped = m.step(cast(params), cast(stepInputs(ir, inputs, 0, 4)), state, 0);
        return { fwd, grads, state, stepped };
      });
      const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
      expect(bitDifferences(a.fwd.outputs, b.fwd.outputs)).toEqual([]);
      expect(bitDifferences(a.fwd.final, b.fwd.final)).toEqual([]);
      for (const group of ["params", "inputs", "initial"] as const) expect(bitDifferences(a.grads[group], b.grads[group]), group).toEqual([]);
      expect(bitDifferences(a.stepped, b.stepped)).toEqual([]);
      expect(bitDifferences(a.state, b.state)).toEqual([]);
    });
  }
});

describe("the JavaScript target for a consumer", () => {
  it("is imported by plain node, with no loader and no package.json", async () => {
    const { js } = await compileJsCell(loadSpec("specs/gru.lstm"), { precision: "f32" });
    const project = mkdtempSync(join(dir, "consumer-"));
    writeFileSync(join(project, js.fileName), js.text);
    const printed = execFileSync(process.execPath, ["-e", `import('./gru.js').then(m => console.log(m.forward(m.initParams(1), { x: new Float32Array(m.I) }).outputs.h.length, m.H))`], { cwd: project, encoding: "utf8" });
    const [length, H] = printed.trim().split(" ").map(Number);
    expect(length).toBe(H);
    expect(H).toBeGreaterThan(0);
  });

  it("declares the same API in its .d.ts as the TypeScript module exports", async () => {
    const { dts } = await compileJsCell(loadSpec("specs/lstm.lstm"), { precision: "f32" });
    for (const name of ["initParams", "forward", "backward", "step", "createState", "fromOnnx", "fromTorch"]) expect(dts.text).toMatch(new RegExp(`export declare function ${name}\\b`));
    for (const name of ["Params", "Inputs", "States", "Outputs", "Saved", "Gradients"]) expect(dts.text).toMatch(new RegExp(`export interface ${name}\\b`));
  });
});
