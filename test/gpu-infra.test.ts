/**
 * WebGPU-on-CPU infrastructure: Dawn (npm `webgpu`) on Mesa lavapipe or llvmpipe.
 * Needs `bash scripts/install-webgpu-cpu.sh` once (as root). Without an adapter
 * the tests are skipped, unless CI is set, where they fail.
 */
import { describe, expect, test } from "vitest";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../src/gpu/node-device.ts";
import {
  compileCheck,
  readFloat32,
  runFloatKernel,
  storageBuffer,
  storageBufferFrom,
  dispatch,
} from "../src/gpu/run-kernel.ts";

const IN_CI = !!process.env.CI;

async function acquire(): Promise<{ gpu?: NodeGpu; error?: Error; ms: number }> {
  const t0 = performance.now();
  try {
    const gpu = await requestNodeDevice();
    return { gpu, ms: performance.now() - t0 };
  } catch (e) {
    return { error: e as Error, ms: performance.now() - t0 };
  }
}

const got = await acquire();

if (!got.gpu) {
  const err = got.error!;
  if (IN_CI || !(err instanceof NoGpuAdapterError)) {
    // Under CI a missing adapter is a failure, never a skip; any other error always is.
    test("a WebGPU adapter is available", () => {
      throw err;
    });
  } else {
    console.warn(`[gpu-infra] SKIPPED: no WebGPU adapter.\n${err.message}`);
    test.skip(`WebGPU tests skipped: no adapter (run: bash scripts/install-webgpu-cpu.sh)`, () => {});
  }
} else {
  const gpu = got.gpu;
  const { device } = gpu;
  console.log(
    `[gpu-infra] adapter: ${gpu.adapterName} via ${gpu.backend}, cpu=${gpu.isCpuFallback}, adapter+device ${got.ms.toFixed(0)} ms`,
  );

  describe(`WebGPU in Node on ${gpu.adapterName}`, () => {
    test("device limits were raised to the adapter limits", () => {
      expect(device.limits.maxComputeInvocationsPerWorkgroup).toBe(
        gpu.adapter.limits.maxComputeInvocationsPerWorkgroup,
      );
      expect(device.limits.maxStorageBuffersPerShaderStage).toBe(gpu.adapter.limits.maxStorageBuffersPerShaderStage);
      expect(device.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    });

    test("y = 2*tanh(x) on 4096 floats matches JS within 1e-6", async () => {
      const n = 4096;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = -60 + (120 * i) / (n - 1);
      x[0] = 0;
      x[1] = 1e-30;
      x[2] = -1e-7;
      const wgsl = /* wgsl */ `
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < arrayLength(&xs)) {
    ys[i] = 2.0 * tanh(xs[i]);
  }
}
`;
      const t0 = performance.now();
      const y = await runFloatKernel(device, wgsl, [x], n, n / 64);
      const ms = performance.now() - t0;
      let maxErr = 0;
      for (let i = 0; i < n; i++) {
        const e = Math.abs(y[i]! - 2 * Math.tanh(x[i]!));
        if (!(e <= maxErr)) maxErr = e; // NaN propagates
      }
      console.log(
        `[gpu-infra] tanh kernel (compile+dispatch+readback) ${ms.toFixed(1)} ms, max abs err ${maxErr.toExponential(2)}`,
      );
      expect(maxErr).toBeLessThanOrEqual(1e-6);
    });

    test("workgroup-memory reduction with workgroupBarrier on 4096 floats matches JS within 1e-6", async () => {
      const n = 4096;
      const WG = 256;
      const x = new Float32Array(n);
      let seed = 12345;
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        x[i] = (seed / 2 ** 32) * 2 - 1;
      }
      const wgsl = /* wgsl */ `
const WG: u32 = ${WG}u;
var<workgroup> partial: array<f32, WG>;

@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = arrayLength(&xs);
  var acc: f32 = 0.0;
  for (var i: u32 = lid; i < n; i = i + WG) {
    acc = acc + xs[i];
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride: u32 = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = partial[0];
  }
}
`;
      const check = await compileCheck(device, wgsl, { entryPoint: "main" });
      expect(check.errors).toEqual([]);
      const xb = storageBufferFrom(device, x);
      const ob = storageBuffer(device, 4);
      await dispatch(device, { wgsl, bindings: [xb, ob], workgroups: 1 });
      const [sum] = await readFloat32(device, ob, 1);
      // The same f32 tree in JS.
      const f = Math.fround;
      const part = new Float32Array(WG);
      for (let l = 0; l < WG; l++) {
        let acc = 0;
        for (let i = l; i < n; i += WG) acc = f(acc + x[i]!);
        part[l] = acc;
      }
      for (let s = WG / 2; s > 0; s >>= 1) for (let l = 0; l < s; l++) part[l] = f(part[l]! + part[l + s]!);
      let exact = 0;
      for (const v of x) exact += v;
      console.log(`[gpu-infra] reduction: gpu ${sum}, js-f32-tree ${part[0]}, f64 ${exact}`);
      expect(Math.abs(sum! - part[0]!)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(sum! - exact)).toBeLessThanOrEqual(1e-4);
      xb.destroy();
      ob.destroy();
    });

    test("compileCheck reports a type error with line:col", async () => {
      const bad = ["@compute @workgroup_size(1)", "fn main() {", "  let a: f32 = 1u;", "  _ = a;", "}"].join("\n");
      const r = await compileCheck(device, bad);
      expect(r.errors.length).toBeGreaterThan(0);
      expect(r.errors[0]).toMatch(/^3:\d+: /);
      expect(r.messages[0]!.line).toBe(3);
      expect(r.messages[0]!.column).toBeGreaterThan(0);
      console.log(`[gpu-infra] type error reported as: ${r.errors[0]!.split("\n")[0]}`);
    });

    test("a clean shader has zero errors and zero warnings", async () => {
      const good = [
        "@group(0) @binding(0) var<storage, read_write> ys: array<f32>;",
        "@compute @workgroup_size(64)",
        "fn main(@builtin(global_invocation_id) gid: vec3<u32>) {",
        "  if (gid.x < arrayLength(&ys)) { ys[gid.x] = 2.0 * tanh(ys[gid.x]); }",
        "}",
      ].join("\n");
      const r = await compileCheck(device, good, { entryPoint: "main" });
      expect(r.errors).toEqual([]);
      expect(r.warnings).toEqual([]);
    });

    test("compileCheck reports pipeline-level errors (non-uniform barrier)", async () => {
      const nonUniform = [
        "var<workgroup> w: array<f32, 64>;",
        "@compute @workgroup_size(64)",
        "fn main(@builtin(local_invocation_index) i: u32) {",
        "  if (i < 3u) { workgroupBarrier(); }",
        "  w[i] = 1.0;",
        "}",
      ].join("\n");
      const r = await compileCheck(device, nonUniform, { entryPoint: "main" });
      expect(r.errors.length).toBeGreaterThan(0);
      expect(r.errors.join("\n")).toMatch(/uniform/);
    });
  });
}
