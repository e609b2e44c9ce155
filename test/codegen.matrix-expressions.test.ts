// Matrix expressions inside products, `(W_H * M) @ h`, `(W + V) @ x`,
// `(2 * W) @ x`, `tanh(s * W) @ h`: the interpreter against finite
// differences, and the generated TS modules (f64 and f32) against the
// interpreter, forward and backward. Where the mask M is zero, W_H's gradient
// through `(W_H * M)` is exactly zero.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileJsCell } from "../src/codegen/compile.ts";
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { gradcheck } from "../src/run/gradcheck.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule, type GeneratedModule } from "../src/run/ts-engine.ts";
import { webgpuEngine } from "../src/run/engines.ts";
import type { CellIR } from "../src/ir/types.ts";

function load(file: string): CellIR {
  const parsed = parseDsl(readFileSync(file, "utf8"), file);
  const built = buildCell(parsed.value!);
  if (!built.ir) throw new Error(`${file} does not check`);
  return built.ir;
}

const FILE = "test/fixtures/specs/masked_recurrence.lstm";
const ir = load(FILE);
/** A module reads itself and slower modules: block upper triangular, blocks of 2. */
const mask = (H: number) => Float64Array.from({ length: H * H }, (_, k) => (Math.floor(k / H / 2) <= Math.floor((k % H) / 2) ? 1 : 0));

function request(dims: { I: number; H: number }, seed: number) {
  const sizes = bindSizes(ir, dims);
  const r = randomRequest(ir, { sizes, batch: 2, steps: 4, seed, uniformParams: true });
  r.sequence.params.M = mask(dims.H);
  return { sizes, r };
}


describe("matrix expressions in products", () => {
  it("the interpreter's gradients agree with finite differences", () => {
    for (const dims of [{ I: 1, H: 1 }, { I: 3, H: 4 }]) {
      const { r } = request(dims, 3);
      for (const check of gradcheck(ir, r)) expect(check.worstRelativeError, `${check.tensor} at I=${dims.I}, H=${dims.H}`).toBeLessThan(1e-6);
    }
  });

  for (const precision of ["f64", "f32"] as const) {
    it(`the generated TS module (${precision}) agrees with the interpreter, forward and backward`, async () => {
      for (const dims of [{ I: 1, H: 1 }, { I: 3, H: 4 }, { I: 5, H: 6 }]) {
        const { sizes, r } = request(dims, 5);
        const want = forwardBackward(ir, sizes, r.sequence, r.upstream);
        const module = await loadGeneratedModule(ir, sizes, precision);
        const Float = precision === "f32" ? Float32Array : Float64Array;
        const cast = (t: Record<string, Float64Array>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float.from(v)])) as never;
        const fwd = module.forward(cast(r.sequence.params), cast(r.sequence.inputs), cast(r.sequence.initial), { batch: 2 });
        const grads = module.backward(cast(r.sequence.params), fwd.saved, { outputs: cast(r.upstream.outputs), final: cast(r.upstream.final) });
        const tolerance = precision === "f64" ? 1e-10 : 1e-4;
        const worst = (got: Record<string, ArrayLike<number>>, expected: Record<string, Float64Array>) =>
          Math.max(...Object.entries(expected).map(([k, w]) => Math.max(...Array.from(w, (x, i) => Math.abs(got[k]![i]! - x) / Math.max(1, Math.abs(x))))));
        expect(worst(fwd.outputs, want.outputs)).toBeLessThan(tolerance);
        expect(worst(grads.params, want.grads.params)).toBeLessThan(tolerance);
        expect(worst(grads.inputs, want.grads.inputs)).toBeLessThan(tolerance);
        expect(Object.keys(grads.params).sort()).toEqual(ir.params.map((p) => p.name).sort());
      }
    });
  }

  for (const precision of ["f64", "f32"] as const) {
    // step() computes the matrix expressions once, when it packs: these must follow the parameters they are made of.
    it(`step() (${precision}) gives forward()'s outputs step by step, and follows an operand edited in place after invalidate()`, async () => {
      const { sizes, r } = request({ I: 3, H: 4 }, 7);
      const module = await loadGeneratedModule(ir, sizes, precision);
      const Float = precision === "f32" ? Float32Array : Float64Array;
      const cast = (t: Record<string, Float64Array>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Float.from(v)])) as unknown as Record<string, Float64Array>;
      const { batch, steps } = r.sequence;
      const params = cast(r.sequence.params);
      /** Step t's rows of a [steps, batch, n] record. */
      const at = (t: number, record: Record<string, ArrayLike<number> & { subarray(a: number, b: number): unknown }>) =>
        Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.subarray((t * v.length) / steps!, ((t + 1) * v.length) / steps!)]));
      const stepAll = () => {
        const state = cast(r.sequence.initial);
        return Array.from({ length: steps! }, (_, t) => module.step(params, at(t, cast(r.sequence.inputs)) as never, state));
      };
      const expectSameAsForward = (stepped: Record<string, ArrayLike<number>>[], withParams: Record<string, Float64Array>) => {
        const whole = module.forward(withParams, cast(r.sequence.inputs), cast(r.sequence.initial), { batch });
        stepped.forEach((outputs, t) => expect(outputs).toEqual(at(t, whole.outputs as never)));
      };
      // No forward() between the two runs of step(): forward() makes step() pack again too, which would hide invalidate().
      const before = stepAll();
      params.M!.fill(0.5);
      module.invalidate();
      const after = stepAll();
      expect(after).not.toEqual(before);
      expectSameAsForward(before, cast(r.sequence.params));
      expectSameAsForward(after, params);
    });
  }

  it("the WGSL kernels (Dawn on lavapipe, f32) agree with the interpreter within 1e-4, forward and backward", async () => {
    for (const dims of [{ I: 1, H: 1 }, { I: 3, H: 4 }]) {
      const { sizes, r } = request(dims, 13);
      const want = forwardBackward(ir, sizes, r.sequence, r.upstream);
      const got = await webgpuEngine.run(ir, r, true);
      const worst = (g: Record<string, ArrayLike<number>>, expected: Record<string, Float64Array>) =>
        Math.max(...Object.entries(expected).map(([k, w]) => Math.max(...Array.from(w, (x, i) => Math.abs(g[k]![i]! - x) / Math.max(1, Math.abs(x))))));
      expect(worst(got.outputs, want.outputs)).toBeLessThan(1e-4);
      expect(worst(got.grads!.params, want.grads.params)).toBeLessThan(1e-4);
      expect(worst(got.grads!.inputs, want.grads.inputs)).toBeLessThan(1e-4);
      expect(Object.keys(got.grads!.params).sort()).toEqual(ir.params.map((p) => p.name).sort());
    }
  });

  it("gives W_H exactly zero gradient outside the mask in every engine: interpreter, TS, JS and WGSL", async () => {
    // Only (W_H * M) reads W_H here.
    const masked = load(FILE.replace("masked_recurrence", "masked_only"));
    const sizes = bindSizes(masked, { I: 3, H: 6 });
    const r = randomRequest(masked, { sizes, batch: 2, steps: 5, seed: 9, uniformParams: true });
    r.sequence.params.M = mask(6);
    const { js } = await compileJsCell(masked, { precision: "f64", dims: sizes });
    const dir = mkdtempSync(join(tmpdir(), "lstmc-masked-"));
    writeFileSync(join(dir, js.fileName), js.text);
    const jsModule = (await import(pathToFileURL(join(dir, js.fileName)).href)) as GeneratedModule;
    rmSync(dir, { recursive: true, force: true });
    const viaModule = async (module: GeneratedModule) => {
      const fwd = module.forward(r.sequence.params, r.sequence.inputs, r.sequence.initial, { batch: 2 });
      return module.backward(r.sequence.params, fwd.saved, r.upstream).params.W_H!;
    };
    const engines: Record<string, ArrayLike<number>> = {
      interpreter: forwardBackward(masked, sizes, r.sequence, r.upstream).grads.params.W_H!,
      ts: await viaModule(await loadGeneratedModule(masked, sizes, "f64")),
      js: await viaModule(jsModule),
      wgsl: (await webgpuEngine.run(masked, r, true)).grads!.params.W_H!,
    };
    const outside = [...r.sequence.params.M!.keys()].filter((k) => r.sequence.params.M![k] === 0);
    expect(outside.length).toBeGreaterThan(0);
    for (const [engine, grad] of Object.entries(engines)) {
      for (const k of outside) expect(grad[k], `${engine} W_H[${k}]`).toBe(0);
      expect(Math.max(...Array.from(grad, Math.abs)), engine).toBeGreaterThan(0);
    }
  });
});
