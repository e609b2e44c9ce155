// A generated WebGPU host never fails silently: a shader or binding that WebGPU
// rejects is a thrown error (not zeros), and every entry point refuses bad
// arguments by name (not NaN, garbage or a stale answer), leaving the cell
// usable for the next good call.
import { describe, expect, test } from "vitest";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule, type WebGpuCell } from "../src/run/wgsl-engine.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";
import { importHost, withGpu } from "./helpers/webgpu.ts";

const gru = loadLibraryCell("specs/gru.lstm");
const sizes = bindSizes(gru, { I: 3, H: 5 });
const [I, H, batch, steps] = [3, 5, 2, 3];
const request = randomRequest(gru, { sizes, batch, steps, seed: 9 });
const { params, inputs, initial } = request.sequence;

type Tensors = Record<string, ArrayLike<number>>;
interface GpuParams {
  buffer: GPUBuffer;
}
/** The whole API of a generated cell (the wgsl engine uses part of it). */
interface HostCell extends WebGpuCell {
  uploadParams(params: Tensors, into?: GpuParams): GpuParams;
  downloadParams(gpu: GpuParams): Promise<Tensors>;
  backwardOnGpu(params: Tensors | GpuParams, saved: unknown, upstream?: { outputs?: Tensors; final?: Tensors }): GpuParams;
}
interface HostModule {
  createCell(device: GPUDevice): HostCell;
}

const load = async () => (await loadWebGpuModule(gru, sizes)) as unknown as HostModule;

/** The gru host module with `alter` applied to its text. */
async function altered(alter: (text: string) => string): Promise<HostModule> {
  const { host } = await compileWgslCell(gru, { dims: sizes });
  const text = alter(host.text);
  expect(text).not.toBe(host.text);
  return importHost<HostModule>(host.fileName, text);
}

await withGpu((gpu) => {
  describe("GPU errors are thrown", () => {
    test("a WGSL compile error is thrown with its line and column by every call, not returned as zeros", async () => {
      const module = await altered((t) => t.replace("export const FORWARD_WGSL = `", "export const FORWARD_WGSL = `fn broken() -> u32 { return 1.5; }\n"));
      const cell = module.createCell(gpu.device);
      await expect(cell.forward(params, inputs, initial, { batch })).rejects.toThrow(/createCell: the forward kernels do not compile:\n\s+forward WGSL 1:\d+: /);
      await expect(cell.forward(params, inputs, initial, { batch })).rejects.toThrow(/the forward kernels do not compile/);
      expect(() => cell.uploadParams(params)).toThrow(/the forward kernels do not compile/);
      cell.destroy();
    });

    test("a binding the pipeline layout lacks is a thrown validation error", async () => {
      const module = await altered((t) => t.replace("@group(0) @binding(2) var<storage, read_write> seq", "@group(0) @binding(9) var<storage, read_write> seq"));
      const cell = module.createCell(gpu.device);
      await expect(cell.forward(params, inputs, initial, { batch })).rejects.toThrow(/createCell: WebGPU validation error: /);
      cell.destroy();
    });

    test("parameters whose GPU buffer was destroyed are a thrown validation error from forward()", async () => {
      const module = await load();
      const cell = module.createCell(gpu.device);
      const gpuParams = cell.uploadParams(params);
      gpuParams.buffer.destroy();
      await expect(cell.forward(gpuParams, inputs, initial, { batch })).rejects.toThrow(/forward: WebGPU validation error: /);
      // The error is reported once; the cell itself is fine.
      const good = await cell.forward(params, inputs, initial, { batch });
      expect(good.outputs.h).toHaveLength(steps * batch * H);
      cell.destroy();
    });
  });

  describe("every entry point checks its arguments", async () => {
    const module = await load();
    const cell = module.createCell(gpu.device);
    const want = await cell.forward(params, inputs, initial, { batch });
    const short = new Float32Array(2);
    const cases: [string, () => unknown, RegExp][] = [
      ["uploadParams: a missing parameter", () => cell.uploadParams({ ...params, U_z: undefined } as never), /params\.U_z is missing: it must hold 25 numbers/],
      ["uploadParams: a short parameter", () => cell.uploadParams({ ...params, W_z: short }), /params\.W_z must hold 15 numbers, not 2/],
      ["uploadParams: an unknown parameter", () => cell.uploadParams({ ...params, W_x: short }), /params\.W_x is not one of this cell's names here \(W_z, /],
      ["uploadParams: into a buffer too small", () => cell.uploadParams(params, { buffer: gpu.device.createBuffer({ size: 16, usage: 0x80 | 0x08 | 0x04 }) }), /uploadParams: into\.buffer holds 16 bytes; the parameters need \d+/],
      ["uploadParams: into a buffer without STORAGE", () => cell.uploadParams(params, { buffer: gpu.device.createBuffer({ size: 4096, usage: 0x08 }) }), /lacks a usage the cell needs/],
      ["forward: batch 1.5", () => cell.forward(params, inputs, initial, { batch: 1.5 }), /forward: batch must be a positive whole number, not 1\.5/],
      ["forward: batch 0", () => cell.forward(params, inputs, initial, { batch: 0 }), /batch must be a positive whole number, not 0/],
      ["forward: batch '2'", () => cell.forward(params, inputs, initial, { batch: "2" as never }), /batch must be a positive whole number, not 2/],
      ["forward: inputs not whole steps", () => cell.forward(params, { x: new Float32Array(I * batch * 2 + 1) }, initial, { batch }), /inputs\.x must hold steps · batch · 3 numbers \(batch 2\), not 13/],
      ["forward: a misspelt input", () => cell.forward(params, { ...inputs, y: short }, initial, { batch }), /inputs\.y is not one of this cell's names here \(x\)/],
      ["forward: a short initial state", () => cell.forward(params, inputs, { h: new Float32Array(H) }, { batch }), /initial\.h must hold 10 numbers, not 5/],
      ["forward: a misspelt initial state", () => cell.forward(params, inputs, { hh: new Float32Array(H) } as never, { batch }), /initial\.hh is not one of this cell's names here \(h\)/],
      ["forward: hand-made GpuParams", () => cell.forward({ buffer: gpu.device.createBuffer({ size: 4096, usage: 0x80 }) } as never, inputs, initial, { batch }), /params: these GpuParams were not made by this module's uploadParams\(\) or backwardOnGpu\(\)/],
      ["backward: a copy of saved", () => cell.backward(params, { ...(want.saved as object) } as never), /backward: 'saved' does not come from this cell's forward\(\)/],
      ["backward: saved with steps changed", () => cell.backward(params, { ...(want.saved as object), steps: 1 } as never), /'saved' does not come from this cell's forward\(\)/],
      ["backwardOnGpu: a forged saved", () => cell.backwardOnGpu(params, { batch, steps, generation: 1 } as never), /backwardOnGpu: 'saved' does not come from this cell's forward\(\)/],
      ["backward: a short upstream", () => cell.backward(params, want.saved, { outputs: { h: short } }), /upstream\.outputs\.h must hold 30 numbers, not 2/],
      ["backward: a misspelt upstream", () => cell.backward(params, want.saved, { output: {} } as never), /upstream\.output is not one of this cell's names here \(outputs, final\)/],
      ["createState(1.5)", () => cell.createState(1.5), /createState: batch must be a positive whole number, not 1\.5/],
      ["createState(-1)", () => cell.createState(-1), /createState: batch must be a positive whole number, not -1/],
      ["step: a state of 1.5 rows", () => cell.step(params, { x: new Float32Array(I) }, { h: new Float32Array(H + 3) }), /step: state\.h must hold batch · 5 numbers, not 8/],
      ["step: two steps of inputs", () => cell.step(params, { x: new Float32Array(2 * I) }, cell.createState(1)), /inputs\.x \(one step\) must hold 3 numbers, not 6/],
      ["step: a state that is not a Float32Array", () => cell.step(params, { x: new Float32Array(I) }, { h: Array(H).fill(0) } as never), /state\.h must be a Float32Array \(it is updated in place\)/],
      ["downloadParams: not a GpuParams", () => cell.downloadParams(params as never), /downloadParams: gpu must be a GpuParams/],
    ];

    test.each(cases)("%s is refused by name", async (_name, call, message) => {
      await expect((async () => call())()).rejects.toThrow(message);
    });

    test("saved is frozen, and goes stale when forward() or step() runs again", async () => {
      expect(Object.isFrozen(want.saved)).toBe(true);
      const first = await cell.forward(params, inputs, initial, { batch });
      await cell.step(params, { x: new Float32Array(I) }, cell.createState(1));
      await expect(cell.backward(params, first.saved)).rejects.toThrow(/backward: 'saved' is stale: another forward\(\) or step\(\) ran on this cell since/);
    });

    test("a second call while one is under way is refused; the first still gives the right numbers", async () => {
      const first = cell.forward(params, inputs, initial, { batch });
      await expect(cell.forward(params, inputs, initial, { batch })).rejects.toThrow(/forward: forward\(\) is still running on this cell; await it first/);
      expect(() => cell.backwardOnGpu(params, want.saved)).toThrow(/backwardOnGpu: forward\(\) is still running/);
      expect((await first).outputs).toEqual(want.outputs);
    });

    test("after every refusal the cell computes what it did before them, and a destroyed cell says so", async () => {
      const again = await cell.forward(params, inputs, initial, { batch });
      expect(again.outputs).toEqual(want.outputs);
      expect(again.final).toEqual(want.final);
      cell.destroy();
      await expect(cell.forward(params, inputs, initial, { batch })).rejects.toThrow(/forward: this cell was destroyed/);
    });
  });
});
