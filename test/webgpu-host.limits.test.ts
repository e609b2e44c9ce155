// A generated WebGPU host refuses a device whose limits are below what its
// kernels and buffers need, naming the limit and both values, instead of
// letting pipelines fail validation and forward() return zeros. The device is
// Dawn's, made to report lower limits (src/gpu/limited-device.ts).
import { describe, expect, test } from "vitest";
import { compileWgslCell } from "../src/codegen/wgsl/compile.ts";
import { withLimits } from "../src/gpu/limited-device.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule } from "../src/run/wgsl-engine.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";
import { withGpu } from "./helpers/webgpu.ts";

const lstm = loadLibraryCell("specs/lstm.lstm");

/** lstm at H: the sequence path's workgroup is the next power of two from H (its phases are H long), at least 32. */
async function setup(H: number, path: "sequence" | "step", batch: number, steps: number) {
  const sizes = bindSizes(lstm, { I: 3, H });
  const module = await loadWebGpuModule(lstm, sizes, { path });
  const request = randomRequest(lstm, { sizes, batch, steps, seed: 3 });
  return { module, request, program: (await compileWgslCell(lstm, { dims: sizes, path })).program };
}

await withGpu((gpu) => {
  describe("the WebGPU host against a device's limits", () => {
    test("a device with 128 invocations per workgroup is refused by name, where 256 are needed", async () => {
      const { module } = await setup(130, "sequence", 1, 1);
      module.createCell(gpu.device).destroy(); // the real device has enough
      const small = withLimits(gpu.device, { maxComputeInvocationsPerWorkgroup: 128 });
      expect(() => module.createCell(small)).toThrow(/maxComputeInvocationsPerWorkgroup is 128 on this device; 256 needed \(the largest @workgroup_size of the sequence-path kernels\)[\s\S]*--wgsl-path step/);
    });

    test("every limit that is too low is named at once", () => {
      return setup(130, "sequence", 1, 1).then(({ module, program }) => {
        expect(program.forwardWgsl).toMatch(/var<workgroup>/);
        const small = withLimits(gpu.device, { maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupStorageSize: 16, maxStorageBuffersPerShaderStage: 4, minUniformBufferOffsetAlignment: 256 });
        let message = "";
        try {
          module.createCell(small);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).toMatch(/maxComputeWorkgroupSizeX is 64 on this device; 256 needed/);
        expect(message).toMatch(/maxComputeWorkgroupStorageSize is 16 on this device; \d+ needed \(the kernels' var<workgroup> arrays, in bytes\)/);
        expect(message).toMatch(/maxStorageBuffersPerShaderStage is 4 on this device; 6 needed/);
      });
    });

    test("a uniform offset alignment above 256 is refused", async () => {
      const { module } = await setup(5, "sequence", 1, 1);
      expect(() => module.createCell(withLimits(gpu.device, { minUniformBufferOffsetAlignment: 512 }))).toThrow(/minUniformBufferOffsetAlignment is 512/);
    });

    test("the step path runs on the device the sequence path is refused on, and gives the same numbers", async () => {
      const { module, request } = await setup(130, "step", 2, 3);
      const { params, inputs, initial } = request.sequence;
      const full = module.createCell(gpu.device);
      const want = await full.forward(params, inputs, initial, { batch: 2 });
      full.destroy();
      const cell = module.createCell(withLimits(gpu.device, { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 128 }));
      const got = await cell.forward(params, inputs, initial, { batch: 2 });
      cell.destroy();
      expect(got.outputs).toEqual(want.outputs);
    });

    test("a call whose buffers would pass maxStorageBufferBindingSize is refused, and the cell still works after", async () => {
      const { module, request } = await setup(5, "sequence", 1, 2);
      const { params, inputs, initial } = request.sequence;
      const cell = module.createCell(withLimits(gpu.device, { maxStorageBufferBindingSize: 4096 }));
      const long = { x: new Float32Array(3 * 400) };
      await expect(cell.forward(params, long, initial)).rejects.toThrow(/forward: this WebGPU device's limits are too low:\n\s+maxStorageBufferBindingSize is 4096 on this device; \d+ needed \(the seq buffer for batch 1 and 400 steps, in bytes\)[\s\S]*Split the batch or the sequence/);
      const reference = module.createCell(gpu.device);
      const want = await reference.forward(params, inputs, initial);
      reference.destroy();
      expect((await cell.forward(params, inputs, initial)).outputs).toEqual(want.outputs);
      cell.destroy();
    });

    test("dispatches spread over two dimensions within maxComputeWorkgroupsPerDimension, and beyond it are refused", async () => {
      // At H = 24 the largest dispatch (the parameter gradients' 2688 floats) needs 42 workgroups of 64:
      // 7 per dimension take them as 7 × 6, 6 per dimension would need 7 rows.
      const { module, request, program } = await setup(24, "step", 3, 4);
      expect(program.path).toBe("step");
      const { params, inputs, initial } = request.sequence;
      const reference = module.createCell(gpu.device);
      const want = await reference.forward(params, inputs, initial, { batch: 3 });
      const wantGrads = await reference.backward(params, want.saved, request.upstream);
      reference.destroy();
      const cell = module.createCell(withLimits(gpu.device, { maxComputeWorkgroupsPerDimension: 7 }));
      const got = await cell.forward(params, inputs, initial, { batch: 3 });
      expect(got.outputs).toEqual(want.outputs);
      expect((await cell.backward(params, got.saved, request.upstream)).params).toEqual(wantGrads.params);
      const tight = module.createCell(withLimits(gpu.device, { maxComputeWorkgroupsPerDimension: 6 }));
      await expect(tight.forward(params, inputs, initial, { batch: 3 })).rejects.toThrow(/maxComputeWorkgroupsPerDimension is 6 on this device; 7 needed \(the workgroups of one dispatch for batch 3 and 4 steps\)/);
      cell.destroy();
      tight.destroy();
    });
  });
});
