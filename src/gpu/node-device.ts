/**
 * A WebGPU device in Node, through Dawn (npm `webgpu`), that also works on a
 * machine without a GPU: Vulkan on Mesa's lavapipe (unpacked by
 * scripts/install-webgpu-cpu.sh) and, failing that, OpenGL ES on llvmpipe in
 * compatibility mode. See shared/notes/webgpu-on-cpu.md.
 *
 * Environment:
 *  - VK_DRIVER_FILES: set here, before Dawn creates its Vulkan instance, to
 *    `.cache/webgpu-cpu/lvp_icd.json` when that file exists and none of
 *    VK_DRIVER_FILES / VK_ICD_FILENAMES / VK_ADD_DRIVER_FILES is set. Setting it
 *    from `process.env` on the main thread before `create()` works (measured),
 *    so callers need not set it themselves. It is NOT seen by native code when
 *    set from inside a worker thread: vitest's default `threads` pool would be
 *    such a case, so run GPU tests with `pool: 'forks'` or export it in the
 *    shell (`. .cache/webgpu-cpu/env.sh`). Note that it pins the lavapipe
 *    driver: on a machine with a real GPU, unset the cache or set
 *    VK_DRIVER_FILES yourself to use the GPU.
 *  - LSTMC_WEBGPU_ICD: another ICD json to use instead of the default path.
 *  - EGL_PLATFORM: set to `surfaceless` (if unset) before the OpenGL ES fallback.
 *  - LSTMC_WEBGPU_BACKEND: `vulkan` | `opengles` | `null` to force one backend.
 *
 * The object returned by `create()` must stay reachable until the last GPU
 * call, or dawn.node crashes. It is kept in a module-level registry for the
 * life of the process, attached to the device, and returned as `keepAlive`.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
// `webgpu`'s types.d.ts imports its own (nested) `@webgpu/types`, which declares
// the global GPU* types used below. Do not also reference the hoisted
// `@webgpu/types` (an older copy pulled in by tfjs): the two would clash.
import { create } from "webgpu";

export interface NodeGpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterName: string;
  /** `vulkan`, `opengles` or `null` (compile-only). */
  backend: NodeBackend;
  /** True for a software implementation (lavapipe, llvmpipe, SwiftShader...). */
  isCpuFallback: boolean;
  /** The object from `create()`; keep it reachable while the device is used. */
  keepAlive: unknown;
}

export type NodeBackend = "vulkan" | "opengles" | "null";

export interface RequestNodeDeviceOptions {
  /** Try only this backend. Default: env LSTMC_WEBGPU_BACKEND, else vulkan then opengles. */
  backend?: NodeBackend;
  /** Features to enable when the adapter has them. Default: shader-f16, subgroups, timestamp-query. */
  optionalFeatures?: GPUFeatureName[];
  powerPreference?: GPUPowerPreference;
}

export class NoGpuAdapterError extends Error {
  override name = "NoGpuAdapterError";
  constructor(
    message: string,
    readonly tried: string[],
  ) {
    super(message);
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where scripts/install-webgpu-cpu.sh writes the lavapipe ICD file. */
export const DEFAULT_LVP_ICD = join(REPO_ROOT, ".cache", "webgpu-cpu", "lvp_icd.json");

/** Every `create()` result ever made: never released (see the gotcha above). */
const liveGpus: unknown[] = [];
/** Number of `create()` objects held alive (also keeps `liveGpus` itself referenced). */
export function liveGpuObjectCount(): number {
  return liveGpus.length;
}

/**
 * Set VK_DRIVER_FILES to the private lavapipe ICD if it exists and no Vulkan
 * driver selection is set. Returns the value in effect (or undefined).
 */
export function configureVulkanDriverEnv(): string | undefined {
  const env = process.env;
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || env.VK_ADD_DRIVER_FILES) {
    return env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? env.VK_ADD_DRIVER_FILES;
  }
  const icd = env.LSTMC_WEBGPU_ICD || DEFAULT_LVP_ICD;
  if (existsSync(icd)) {
    env.VK_DRIVER_FILES = icd;
    return icd;
  }
  return undefined;
}

/** A one-line description of an adapter, e.g. "mesa software llvmpipe-… (llvmpipe: Mesa 25.0.7 …)". */
export function adapterDescription(adapter: GPUAdapter): string {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s && s.length > 0);
  let s = parts.join(" ");
  if (info.description && info.description !== info.device) s += s ? ` (${info.description})` : info.description;
  if (isCpuAdapter(adapter)) s += " [cpu]";
  return s || "unknown adapter";
}

function isCpuAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info.isFallbackAdapter || legacy) return true;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text);
}

const LIMITS_TO_RAISE = [
  "maxStorageBuffersPerShaderStage",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupStorageSize",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBufferBindingSize",
  "maxUniformBufferBindingSize",
  "maxUniformBuffersPerShaderStage",
  "maxBufferSize",
  "maxBindGroups",
  "maxBindingsPerBindGroup",
  "maxDynamicStorageBuffersPerPipelineLayout",
  "maxDynamicUniformBuffersPerPipelineLayout",
] as const;

async function requestDeviceWithRaisedLimits(
  adapter: GPUAdapter,
  optionalFeatures: GPUFeatureName[],
): Promise<GPUDevice> {
  const requiredFeatures = optionalFeatures.filter((f) => adapter.features.has(f));
  const limits = adapter.limits as unknown as Record<string, number>;
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS_TO_RAISE) {
    const v = limits[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  return adapter.requestDevice({ requiredFeatures, requiredLimits });
}

/** The Dawn toggle strings for `create()` for each backend. */
function createOptions(backend: NodeBackend): string[] {
  switch (backend) {
    case "vulkan":
      return ["backend=vulkan"];
    case "opengles":
      return ["backend=opengles"];
    case "null":
      return ["backend=null"];
  }
}

/**
 * Create a Dawn WebGPU device. Tries Vulkan (lavapipe on a CPU-only machine),
 * then OpenGL ES in compatibility mode. Throws NoGpuAdapterError if neither
 * gives an adapter.
 */
export async function requestNodeDevice(options: RequestNodeDeviceOptions = {}): Promise<NodeGpu> {
  const envBackend = process.env.LSTMC_WEBGPU_BACKEND as NodeBackend | undefined;
  const forced = options.backend ?? (envBackend || undefined);
  if (forced && !["vulkan", "opengles", "null"].includes(forced)) {
    throw new Error(`LSTMC_WEBGPU_BACKEND must be vulkan, opengles or null, not '${forced}'`);
  }
  const order: NodeBackend[] = forced ? [forced] : ["vulkan", "opengles"];
  const optionalFeatures = options.optionalFeatures ?? ["shader-f16", "subgroups", "timestamp-query"];
  const tried: string[] = [];

  for (const backend of order) {
    if (backend === "vulkan") configureVulkanDriverEnv();
    if (backend === "opengles" && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = "surfaceless";
    const gpu = create(createOptions(backend));
    liveGpus.push(gpu);
    const adapterOptions: GPURequestAdapterOptions & { featureLevel?: string } = {};
    if (options.powerPreference) adapterOptions.powerPreference = options.powerPreference;
    if (backend === "opengles") adapterOptions.featureLevel = "compatibility";
    const adapter = await gpu.requestAdapter(adapterOptions);
    if (!adapter) {
      tried.push(
        backend === "vulkan"
          ? `vulkan (VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES ?? "<unset>"})`
          : `${backend} (EGL_PLATFORM=${process.env.EGL_PLATFORM ?? "<unset>"})`,
      );
      continue;
    }
    const device = await requestDeviceWithRaisedLimits(adapter, optionalFeatures);
    try {
      // Tie the create() object's lifetime to the device's as well.
      Object.defineProperty(device, Symbol.for("lstmc.webgpu.keepAlive"), { value: gpu });
    } catch {
      /* the registry above is enough */
    }
    return {
      device,
      adapter,
      adapterName: adapterDescription(adapter),
      backend,
      isCpuFallback: backend === "null" || isCpuAdapter(adapter),
      keepAlive: gpu,
    };
  }

  const icd = process.env.LSTMC_WEBGPU_ICD || DEFAULT_LVP_ICD;
  throw new NoGpuAdapterError(
    [
      `No WebGPU adapter found (tried: ${tried.join("; ")}).`,
      existsSync(icd)
        ? `The lavapipe ICD ${icd} exists but gave no adapter; check that VK_DRIVER_FILES points at it and that libvulkan1 is installed (rerun scripts/install-webgpu-cpu.sh).`
        : `To run WebGPU on the CPU, run (as root, Debian 12/13): bash scripts/install-webgpu-cpu.sh` +
          ` — it installs libvulkan1 and unpacks Mesa >= 25 lavapipe into .cache/webgpu-cpu/ (ICD ${icd}).`,
      `The OpenGL ES fallback (compatibility mode) was ${order.includes("opengles") ? "tried too; it needs Mesa EGL: apt-get install libegl-mesa0 libgl1-mesa-dri" : "not tried (backend forced)"}.`,
      isMainThread
        ? ""
        : `NOTE: this runs in a worker thread, where setting process.env does not reach native code: export VK_DRIVER_FILES=${icd} (and EGL_PLATFORM=surfaceless) before node starts, or run in the main thread / a forked process (vitest: pool 'forks', its default).`,
    ]
      .filter((l) => l)
      .join("\n"),
    tried,
  );
}
