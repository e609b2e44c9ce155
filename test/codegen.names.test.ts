// A spec's names never shadow the generated code's own: intermediates named
// like its loop and row variables (j, t, B, r0, r1), scratch arrays (tmp_5,
// v_3) and parameter arrays (p_W) compile, and agree with the interpreter, in
// the TS module (f64) and on the GPU.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
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
