// Generated modules save and load their parameters as safetensors files: the
// format PyTorch and Hugging Face users have. Every parameter under its name
// with its shape, in the module's precision; loading refuses anything that is
// not exactly this cell's parameters.
import { describe, expect, test } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { loadGeneratedModule } from "../src/run/ts-engine.ts";
import { decodeSafetensors, encodeSafetensors, stored } from "../src/runtime/safetensors.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";

type Params = Record<string, Float32Array | Float64Array>;
interface WithSafetensors {
  initParams(seed: number): Params;
  saveParams(params: Params, metadata?: Record<string, string>): Uint8Array;
  loadParams(bytes: Uint8Array): Params;
}

const ir = loadLibraryCell("specs/lstm.lstm");
const sizes = bindSizes(ir, { I: 3, H: 4 });
const load = async (precision: "f32" | "f64") => (await loadGeneratedModule(ir, sizes, precision)) as unknown as WithSafetensors;

describe.each(["f32", "f64"] as const)("a %s module's saveParams and loadParams", (precision) => {
  test("give back the same parameters, bit for bit", async () => {
    const cell = await load(precision);
    const params = cell.initParams(3);
    const again = cell.loadParams(cell.saveParams(params));
    expect(Object.keys(again).sort()).toEqual(Object.keys(params).sort());
    for (const [name, values] of Object.entries(params)) {
      expect(again[name]!.constructor).toBe(values.constructor);
      expect(again[name]).toEqual(values);
    }
  });

  test("write a safetensors file: each parameter under its name with its shape, the metadata in the header", async () => {
    const cell = await load(precision);
    const params = cell.initParams(3);
    const file = decodeSafetensors(cell.saveParams(params, { run: "seed 3" }));
    expect(file.metadata).toEqual({ run: "seed 3", lstmc_cell: "lstm" });
    expect(file.tensors.W_i!.shape).toEqual([4, 3]);
    expect(file.tensors.U_f!.shape).toEqual([4, 4]);
    expect(file.tensors.b_o!.shape).toEqual([4]);
    for (const t of Object.values(file.tensors)) expect(t.dtype).toBe(precision === "f32" ? "F32" : "F64");
    expect(Array.from(file.tensors.U_g!.data)).toEqual(Array.from(params.U_g!));
  });

  test("refuse a file that is not exactly this cell's parameters, naming what is wrong", async () => {
    const cell = await load(precision);
    const params = cell.initParams(3);
    const tensors = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, stored(v, name.startsWith("W") ? [4, 3] : name.startsWith("U") ? [4, 4] : [4])]));
    const file = (t: typeof tensors) => encodeSafetensors({ tensors: t, metadata: {} });
    const { W_i: _dropped, ...missing } = tensors;
    expect(() => cell.loadParams(file(missing))).toThrow(/loadParams: the file has no tensor 'W_i'/);
    expect(() => cell.loadParams(file({ ...tensors, extra: stored(new Float32Array(2)) }))).toThrow(/the file has a tensor 'extra', which is not one of this cell's parameters/);
    expect(() => cell.loadParams(file({ ...tensors, U_i: stored(new Float32Array(16), [2, 8]) }))).toThrow(/tensor 'U_i' has shape \[2, 8\], the parameter \[4, 4\]/);
    expect(() => cell.loadParams(file({ ...tensors, b_f: stored(new Int32Array(4), [4]) }))).toThrow(/tensor 'b_f' holds integers/);
    expect(() => cell.loadParams(cell.saveParams(params).subarray(0, 20))).toThrow(/loadParams: safetensors: header of \d+ bytes runs past the end/);
    expect(() => cell.loadParams([1, 2, 3] as never)).toThrow(/bytes must be a Uint8Array/);
    expect(() => cell.saveParams(params, { n: 3 } as never)).toThrow(/metadata\.n must be a string/);
    expect(() => cell.saveParams(params, null as never)).toThrow(/metadata must be an object of strings, not null/);
    expect(() => cell.saveParams({ ...params, W_i: new Float32Array(2) })).toThrow(/params\.W_i has 2 numbers, expected 12/);
  });
});

test("a float64 file loads into a float32 module, rounded to float32", async () => {
  const [f64, f32] = [await load("f64"), await load("f32")];
  const params = f64.initParams(9);
  const loaded = f32.loadParams(f64.saveParams(params));
  for (const [name, values] of Object.entries(params)) expect(loaded[name]).toEqual(Float32Array.from(values));
});
