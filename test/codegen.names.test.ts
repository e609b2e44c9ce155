// A spec's names never shadow the generated code's own: intermediates named
// like its loop and row variables (j, t, B, r0, r1), scratch arrays (tmp_5,
// v_3) and parameter arrays (p_W) compile, and agree with the interpreter, in
// the TS module (f64) and on the GPU.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { GENERATED_EXPORTS } from "../src/ir/names.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { webgpuEngine } from "../src/run/engines.ts";

const FILE = "test/fixtures/specs/generator_names.lstm";
const ir = buildCell(parseDsl(readFileSync(FILE, "utf8"), FILE).value!).ir!;

const worst = (got: Record<string, ArrayLike<number>>, want: Record<string, Float64Array>) =>
  Math.max(...Object.entries(want).map(([k, w]) => Math.max(...Array.from(w, (x, i) => Math.abs(got[k]![i]! - x) / Math.max(1, Math.abs(x))))));

describe("names from the spec against the generator's own", () => {
  const sizes = bindSizes(ir, {});
  const request = randomRequest(ir, { sizes, batch: 3, steps: 4, seed: 21, uniformParams: true });
  const want = forwardBackward(ir, sizes, request.sequence, request.upstream);

  it("the TS module (f64) agrees with the interpreter within 1e-10, forward and backward", async () => {
    const module = await loadGeneratedModule(ir, sizes, "f64");
    const { params, inputs, initial } = request.sequence;
    const fwd = module.forward(params, inputs, initial, { batch: 3 });
    const grads = module.backward(params, fwd.saved, request.upstream);
    expect(worst(fwd.outputs, want.outputs)).toBeLessThan(1e-10);
    expect(worst(grads.params, want.grads.params)).toBeLessThan(1e-10);
    expect(worst(grads.inputs, want.grads.inputs)).toBeLessThan(1e-10);
  });

  it("the WGSL kernels agree with the interpreter within 1e-4", async () => {
    const got = await webgpuEngine.run(ir, request, true);
    expect(worst(got.outputs, want.outputs)).toBeLessThan(1e-4);
    expect(worst(got.grads!.params, want.grads.params)).toBeLessThan(1e-4);
  });
});

describe("the spec's file name in generated headers", () => {
  it("cannot start a new line of WGSL or TypeScript (a newline, CR or U+2028 in it is flattened)", async () => {
    const { compileWgslCell } = await import("../src/codegen/wgsl/compile.ts");
    const { compileCell } = await import("../src/codegen/compile.ts");
    const evil = { ...ir, file: "dir/evil\nfn injected() {}\r\u2028x.lstm" };
    const wgsl = await compileWgslCell(evil, {});
    for (const f of wgsl.files) expect(f.text.split("\n").filter((line) => line.includes("injected")), f.fileName).toEqual([expect.stringMatching(/^\/\/ /)]);
    const ts = await compileCell(evil, { target: "ts", precision: "f64" });
    expect(ts.text.split("\n").filter((line) => line.includes("injected"))).toEqual([expect.stringMatching(/^\/\/ /)]);
  });
});

describe("sizes named like the generated modules' own exports", () => {
  const exportsOf = (text: string) => [...text.matchAll(/^export (?:const|function|async function|interface|type|class) ([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!);

  it("are refused by the checker where they are declared (E104), for every such name", () => {
    for (const name of GENERATED_EXPORTS) {
      const text = `cell c {\n  size I = 2, H = 2\n  size ${name} = 3\n  input x[I]\n  state h[H]\n  param W[H, I]\n  h' = tanh(W @ x)\n  output y = h'\n}\n`;
      const parsed = parseDsl(text, "c.lstm");
      // A TypeScript keyword among them is refused by the parser or as reserved first; either way it never compiles.
      const diagnostics = parsed.value ? buildCell(parsed.value).diagnostics : parsed.diagnostics;
      expect(diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column}`), name).toContain("E104 3:8");
    }
  });

  it("cover every top-level export of the cell and model modules, TypeScript and WebGPU, besides the sizes", async () => {
    const { compileCell } = await import("../src/codegen/compile.ts");
    const { compileWgslCell } = await import("../src/codegen/wgsl/compile.ts");
    const { compileModel } = await import("../src/codegen/model.ts");
    const { compileWgslModel } = await import("../src/codegen/model-wgsl.ts");
    const { bindModelSizes } = await import("../src/run/model-contract.ts");
    const { loadLibraryModel } = await import("./helpers/library-model.ts");
    const { loadSpec } = await import("../scripts/generate.ts");
    const cell = loadSpec("specs/lstm.lstm");
    const model = loadLibraryModel("specs/classifier.lstm");
    const sizes = bindModelSizes(model, { I: 3, H: 4, K: 5 });
    const texts = [
      (await compileCell(cell, { target: "ts", precision: "f32" })).text,
      (await compileCell(cell, { target: "ts", precision: "f64" })).text,
      (await compileWgslCell(cell, {})).host.text,
      (await compileModel(model, { precision: "f32", sizes })).text,
      (await compileWgslModel(model, { sizes })).text,
    ];
    const sizeNames = new Set([...cell.sizes, ...model.sizes].map((s) => s.name));
    const unlisted = [...new Set(texts.flatMap(exportsOf))].filter((name) => !GENERATED_EXPORTS.has(name) && !sizeNames.has(name));
    expect(unlisted).toEqual([]);
  });
});
