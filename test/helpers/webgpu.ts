// What the tests of generated WebGPU modules share: one Dawn device per test
// file (skipped without an adapter, except under CI, where that fails), and
// importing a host module's text, possibly altered on purpose.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "vitest";
import { NoGpuAdapterError, requestNodeDevice, type NodeGpu } from "../../src/gpu/node-device.ts";
import { NoWebGpuError, nodeDevice } from "../../src/run/wgsl-engine.ts";

/** Declares the tests `body` adds when this machine has a WebGPU adapter, or one test saying why not. */
export async function withGpu(body: (gpu: NodeGpu) => void): Promise<void> {
  let gpu: NodeGpu;
  try {
    gpu = await requestNodeDevice();
  } catch (e) {
    if (process.env.CI || !(e instanceof NoGpuAdapterError)) {
      test("a WebGPU adapter is available", () => {
        throw e;
      });
    } else {
      test.skip("skipped: no WebGPU adapter (run: bash scripts/install-webgpu-cpu.sh)", () => {});
    }
    return;
  }
  body(gpu);
}

/**
 * Whether the tests that need the wgsl engine's device should be skipped: only where this machine has no WebGPU
 * (or no adapter) and CI is not set. Any other failure to get a device makes those tests run and fail.
 */
export async function skipWithoutGpu(): Promise<boolean> {
  try {
    await nodeDevice();
    return false;
  } catch (e) {
    return !process.env.CI && (e instanceof NoWebGpuError || e instanceof NoGpuAdapterError);
  }
}

/** Imports a generated `<cell>.webgpu.ts` from its text. */
export async function importHost<T>(fileName: string, text: string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-host-"));
  try {
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, fileName), text);
    return (await import(pathToFileURL(join(dir, fileName)).href)) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
