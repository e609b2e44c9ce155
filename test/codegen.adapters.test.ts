// fromOnnx / fromTorch in generated modules: for each library layout they give
// exactly the Params of src/adapters (which a generated module cannot import)
// on random tensors; other cells get neither.
import { describe, expect, it } from "vitest";
import { gruParamsFromOnnx, lstmParamsFromOnnx, rnnParamsFromOnnx, type NamedParams, type OnnxLstmWeights, type Tensor } from "../src/adapters/onnx.ts";
import { gruParamsFromTorch, lstmParamsFromTorch, rnnParamsFromTorch, type TorchRecurrentWeights } from "../src/adapters/torch.ts";
import { compileCell } from "../src/codegen/compile.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { makeRandom } from "../src/ir/initialize.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { loadSpec } from "../scripts/generate.ts";

const [I, H] = [3, 5];

type Flat = ArrayLike<number>;
interface WithAdapters {
  fromOnnx?: (weights: Record<string, Flat | undefined>) => Record<string, Float32Array | Float64Array>;
  fromTorch?: (weights: Record<string, Flat | undefined>) => Record<string, Float32Array | Float64Array>;
}

interface LayoutCase {
  readonly spec: string;
  /** ONNX: gate count, whether P is an input, and the reference adapter. */
  readonly onnx: { readonly gates: number; readonly peepholes: boolean; readonly reference: (weights: OnnxLstmWeights) => NamedParams };
  /** PyTorch: gate count and the reference adapter, for layouts PyTorch has. */
  readonly torch: { readonly gates: number; readonly reference: (weights: TorchRecurrentWeights) => NamedParams } | null;
}

const CASES: readonly LayoutCase[] = [
  { spec: "lstm", onnx: { gates: 4, peepholes: false, reference: (w) => lstmParamsFromOnnx(w, H) }, torch: { gates: 4, reference: (w) => lstmParamsFromTorch(w, H) } },
  { spec: "peephole", onnx: { gates: 4, peepholes: true, reference: (w) => lstmParamsFromOnnx(w, H) }, torch: null },
  { spec: "gru_cudnn", onnx: { gates: 3, peepholes: false, reference: (w) => gruParamsFromOnnx(w, H, true) }, torch: { gates: 3, reference: (w) => gruParamsFromTorch(w, H) } },
  { spec: "gru", onnx: { gates: 3, peepholes: false, reference: (w) => gruParamsFromOnnx(w, H, false) }, torch: null },
  { spec: "rnn", onnx: { gates: 1, peepholes: false, reference: (w) => rnnParamsFromOnnx(w, H) }, torch: { gates: 1, reference: (w) => rnnParamsFromTorch(w, H) } },
];

/** Random tensors of the given lengths; as Float32Array (which the reference reads too) for an f32 module. */
function randomTensors(seed: number, lengths: Record<string, number>, f32: boolean): Record<string, Float32Array | Float64Array> {
  const random = makeRandom(seed);
  const draw = (n: number) => Float64Array.from({ length: n }, () => 2 * random() - 1);
  return Object.fromEntries(Object.entries(lengths).map(([name, n]) => [name, f32 ? Float32Array.from(draw(n)) : draw(n)]));
}

const onnxTensor = (shape: number[], data: Flat | undefined): Tensor | undefined => (data === undefined ? undefined : { shape, data });

async function loadModule(spec: string, precision: "f32" | "f64"): Promise<WithAdapters> {
  const ir = loadSpec(`specs/${spec}.lstm`);
  return (await loadGeneratedModule(ir, bindSizes(ir, { I, H }), precision)) as unknown as WithAdapters;
}

/** Exactly equal, after rounding the reference (computed in f64) to the module's precision. */
function expectSameParams(got: Record<string, Float32Array | Float64Array>, want: NamedParams, f32: boolean, where: string) {
  expect(Object.keys(got).sort(), where).toEqual(Object.keys(want).sort());
  for (const [name, values] of Object.entries(want)) {
    expect(Array.from(got[name]!), `${where}: ${name}`).toEqual(Array.from(f32 ? Float32Array.from(values) : values));
  }
}

describe.each(CASES)("the generated module of $spec.lstm", ({ spec, onnx, torch }) => {
  for (const precision of ["f64", "f32"] as const) {
    const f32 = precision === "f32";

    it(`fromOnnx gives exactly the Params of src/adapters/onnx.ts (${precision}), with and without the optional tensors`, async () => {
      const module = await loadModule(spec, precision);
      expect(module.fromOnnx).toBeTypeOf("function");
      const G = onnx.gates;
      const all = randomTensors(11, { W: G * H * I, R: G * H * H, B: 2 * G * H, ...(onnx.peepholes ? { P: 3 * H } : {}) }, f32);
      for (const omitted of [[], ["B"], ["P"]].filter((o) => o.every((name) => name in all))) {
        const given = Object.fromEntries(Object.entries(all).filter(([name]) => !omitted.includes(name)));
        const want = onnx.reference({
          W: { shape: [1, G * H, I], data: given["W"]! },
          R: { shape: [1, G * H, H], data: given["R"]! },
          B: onnxTensor([1, 2 * G * H], given["B"]),
          P: onnxTensor([1, 3 * H], given["P"]),
        });
        // src/adapters leaves the peepholes out without P; the cell still needs them: ONNX's default, zeros.
        if (onnx.peepholes && !given["P"]) for (const k of ["p_i", "p_o", "p_f"]) want[k] = new Float64Array(H);
        const got = module.fromOnnx!(given);
        expectSameParams(got, want, f32, `without [${omitted.join(", ")}]`);
      }
    });

    it(`fromTorch ${torch ? "gives exactly the Params of src/adapters/torch.ts" : "is absent: PyTorch has no such layout"} (${precision})`, async () => {
      const module = await loadModule(spec, precision);
      if (!torch) {
        expect(module.fromTorch).toBeUndefined();
        return;
      }
      const G = torch.gates;
      const all = randomTensors(12, { weight_ih_l0: G * H * I, weight_hh_l0: G * H * H, bias_ih_l0: G * H, bias_hh_l0: G * H }, f32);
      for (const omitted of [[], ["bias_ih_l0"], ["bias_hh_l0"], ["bias_ih_l0", "bias_hh_l0"]]) {
        const given = Object.fromEntries(Object.entries(all).filter(([name]) => !omitted.includes(name)));
        const want = torch.reference(given as unknown as TorchRecurrentWeights);
        const got = module.fromTorch!(given);
        expectSameParams(got, want, f32, `without [${omitted.join(", ")}]`);
      }
    });
  }

  it("fromOnnx refuses a tensor of the wrong length, naming it", async () => {
    const module = await loadModule(spec, "f64");
    const G = onnx.gates;
    expect(() => module.fromOnnx!({ W: new Float64Array(G * H * I), R: new Float64Array(G * H * H + 1) })).toThrow(/R has/);
  });
});

describe("cells whose parameters are no library layout", () => {
  it.each(["cifg", "lstm_essay", "peephole_o"])("%s.lstm's module has no fromOnnx or fromTorch", async (spec) => {
    const ir = loadSpec(`specs/${spec}.lstm`);
    const { text } = await compileCell(ir, { target: "ts", precision: "f64", dims: { I, H } });
    expect(text).not.toMatch(/fromOnnx|fromTorch|OnnxWeights|TorchWeights/);
    const module = await loadModule(spec, "f64");
    expect(module.fromOnnx).toBeUndefined();
    expect(module.fromTorch).toBeUndefined();
  });
});
