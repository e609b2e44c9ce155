// f32 modules run their matrix products in a WebAssembly SIMD kernel whose
// workspaces live in its memory. These tests pin down what that adds: the JS
// fallback where WebAssembly is missing, and that growing the memory (which
// detaches every view into it) never loses or corrupts a workspace; the relaxed-SIMD
// copy of the kernel where the engine has it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compileCell, compileJsCell } from "../src/codegen/compile.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { loadSpec } from "../scripts/generate.ts";

type Tensors = Record<string, Float32Array>;
interface Module {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: { batch?: number }): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: { outputs?: Tensors }): { params: Tensors; inputs: Tensors; initial: Tensors };
  step(params: Tensors, inputs: Tensors, state: Tensors): Tensors;
  createState(batch?: number): Tensors;
  initParams(seed: number): Tensors;
  invalidate(): void;
}

/** Compiles specs/lstm.lstm (f32) and imports it, with `prefix` put before its text. */
async function load(prefix: string, sizes: { I: number; H: number }): Promise<Module> {
  const ir = loadSpec("specs/lstm.lstm");
  const compiled = await compileCell(ir, { target: "ts", precision: "f32", dims: bindSizes(ir, sizes) });
  const dir = mkdtempSync(join(tmpdir(), "lstmc-wasm-"));
  try {
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    const file = join(dir, compiled.fileName);
    writeFileSync(file, prefix + compiled.text);
    return (await import(pathToFileURL(file).href)) as Module;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const random = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => Math.sin(seed * 7919 + i * 12.9898) * 0.5);

function run(module: Module, batch: number, steps: number, I: number) {
  const params = module.initParams(3);
  const x = random(steps * batch * I, batch + steps);
  const result = module.forward(params, { x }, {}, { batch });
  const grads = module.backward(params, result.saved, { outputs: { h: random(result.outputs.h!.length, 5) } });
  return { h: result.outputs.h!, dx: grads.inputs.x!, dW: grads.params.W_i! };
}

const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);

describe("f32 modules' WebAssembly kernel", () => {
  const sizes = { I: 37, H: 45 };

  it("falls back to the JS kernel where WebAssembly is missing, with the same results within float32 rounding", async () => {
    const simd = await load("", sizes);
    const plain = await load("const WebAssembly = undefined;\n", sizes);
    for (const [batch, steps] of [[1, 4], [5, 3]] as const) {
      const a = run(simd, batch, steps, sizes.I);
      const b = run(plain, batch, steps, sizes.I);
      expect(worst(a.h, b.h)).toBeLessThan(1e-5);
      expect(worst(a.dx, b.dx)).toBeLessThan(1e-5);
      expect(worst(a.dW, b.dW)).toBeLessThan(1e-5);
    }
  });

  it("keeps every result exact while its memory grows between and inside calls", async () => {
    const module = await load("", sizes);
    const small = run(module, 2, 3, sizes.I);
    // Each call needs more memory than the last: forward's, step's and backward's workspaces are all detached and re-made.
    run(module, 7, 40, sizes.I);
    const state = module.createState(9);
    module.step(module.initParams(3), { x: random(9 * sizes.I, 1) }, state);
    run(module, 33, 60, sizes.I);
    const again = run(module, 2, 3, sizes.I);
    expect(again.h).toEqual(small.h);
    expect(again.dx).toEqual(small.dx);
    expect(again.dW).toEqual(small.dW);
  });

  it("gives step() the same numbers as forward() after the memory has grown", async () => {
    const module = await load("", sizes);
    const params = module.initParams(4);
    const batch = 6;
    const x = random(3 * batch * sizes.I, 2);
    const whole = module.forward(params, { x }, {}, { batch });
    run(module, 40, 50, sizes.I);
    const state = module.createState(batch);
    for (let t = 0; t < 3; t++) {
      const h = module.step(params, { x: x.subarray(t * batch * sizes.I, (t + 1) * batch * sizes.I) }, state).h!;
      expect(h).toEqual(whole.outputs.h!.subarray(t * batch * sizes.H, (t + 1) * batch * sizes.H));
    }
  });
});

// step() packs the parameters' matrices once per params object (see invalidate() in the module's API comment):
// these pin down when it must pack again, and that forward() packing its own in between never leaks into step().
describe("step()'s packed parameters", () => {
  const sizes = { I: 7, H: 9 };
  const batch = 2;
  const x = random(batch * sizes.I, 8);

  function oneStep(module: Module, params: Tensors) {
    return module.step(params, { x }, module.createState(batch)).h!;
  }

  it("reads a parameter array changed in place after invalidate(), and a changed copy in a new object at once", async () => {
    const module = await load("", sizes);
    const params = module.initParams(5);
    const before = oneStep(module, params);
    const edited = { ...params, W_g: params.W_g!.map((v) => v * -2) };
    const expected = oneStep(module, edited);
    expect(expected).not.toEqual(before);
    params.W_g!.set(edited.W_g!);
    module.invalidate();
    expect(oneStep(module, params)).toEqual(expected);
  });

  it("keeps the numbers it packed until invalidate(): in-place edits are not seen before", async () => {
    const module = await load("", sizes);
    const params = module.initParams(5);
    const before = oneStep(module, params);
    params.W_i!.fill(0.25);
    expect(oneStep(module, params)).toEqual(before);
    module.invalidate();
    expect(oneStep(module, params)).not.toEqual(before);
  });

  it("packs its own parameters again after forward() ran on others", async () => {
    const module = await load("", sizes);
    const mine = module.initParams(5);
    const other = module.initParams(6);
    const before = oneStep(module, mine);
    module.forward(other, { x }, {}, { batch });
    expect(oneStep(module, mine)).toEqual(before);
  });
});

// Relaxed SIMD is behind a flag in Node 20, so each engine runs in its own node process on the same compiled module.
describe("f32 modules' relaxed-SIMD kernel", () => {
  const sizes = { I: 37, H: 45 };
  const batch = 3;
  const steps = 4;

  /** forward, backward and step() of specs/lstm.lstm in a child node with `flags`, as plain arrays. */
  async function runIn(dir: string, flags: string[]) {
    const out = execFileSync(process.execPath, [...flags, join(dir, "driver.mjs")], { encoding: "utf8" });
    return JSON.parse(out) as { h: number[]; dx: number[]; dW: number[]; stepped: number[]; products: string };
  }

  it("runs where the engine has relaxed SIMD, within float32 rounding of the plain SIMD kernel, and step() still equals forward()", async () => {
    const ir = loadSpec("specs/lstm.lstm");
    const { js } = await compileJsCell(ir, { precision: "f32", dims: bindSizes(ir, sizes) });
    const dir = mkdtempSync(join(tmpdir(), "lstmc-relaxed-"));
    try {
      writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
      writeFileSync(join(dir, "cell.js"), js.text);
      writeFileSync(
        join(dir, "driver.mjs"),
        `import * as m from "./cell.js";
const random = (length, seed) => Float32Array.from({ length }, (_, i) => Math.sin(seed * 7919 + i * 12.9898) * 0.5);
const params = m.initParams(3);
const x = random(${steps * batch * sizes.I}, 1);
const result = m.forward(params, { x }, {}, { batch: ${batch} });
const grads = m.backward(params, result.saved, { outputs: { h: random(result.outputs.h.length, 5) } });
const state = m.createState(${batch});
const stepped = [];
for (let t = 0; t < ${steps}; t++) stepped.push(...m.step(params, { x: x.subarray(t * ${batch * sizes.I}, (t + 1) * ${batch * sizes.I}) }, state).h);
console.log(JSON.stringify({ h: [...result.outputs.h], dx: [...grads.inputs.x], dW: [...grads.params.W_i], stepped, products: m.kernels.products }));
`,
      );
      const plain = await runIn(dir, []);
      const relaxed = await runIn(dir, ["--experimental-wasm-relaxed-simd"]);
      // The module says which kernel it took.
      expect(plain.products).toBe("wasm-simd");
      expect(relaxed.products).toBe("wasm-relaxed-simd");
      const f32 = (a: number[]) => Float32Array.from(a);
      expect(worst(f32(relaxed.h), f32(plain.h))).toBeLessThan(1e-5);
      expect(worst(f32(relaxed.dx), f32(plain.dx))).toBeLessThan(1e-5);
      expect(worst(f32(relaxed.dW), f32(plain.dW))).toBeLessThan(1e-5);
      // A fused multiply-add rounds once where mul then add round twice: some of these sums differ in the last
      // bits, which shows the relaxed kernel ran rather than the plain one.
      expect(relaxed.h).not.toEqual(plain.h);
      expect(relaxed.stepped).toEqual(relaxed.h);
      expect(plain.stepped).toEqual(plain.h);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
