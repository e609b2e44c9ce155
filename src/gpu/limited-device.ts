/**
 * A GPUDevice that reports lower limits than it has, to test what code does on
 * a smaller device. Dawn refuses `requestDevice({ requiredLimits })` below its
 * defaults, so this wraps the device instead: `limits` answers with the
 * overrides, everything else is the real device's (methods bound to it, since
 * Dawn's native methods reject any other `this`).
 */
// Global GPU* types come from `webgpu`'s own @webgpu/types (see node-device.ts).
import type {} from "webgpu";

export type LimitOverrides = Partial<Record<keyof GPUSupportedLimits, number>>;

export function withLimits(device: GPUDevice, overrides: LimitOverrides): GPUDevice {
  const limits = new Proxy(device.limits, {
    get: (target, key) => (Object.hasOwn(overrides, key) ? overrides[key as keyof LimitOverrides] : Reflect.get(target, key, target)),
  });
  return new Proxy(device, {
    get(target, key) {
      if (key === "limits") return limits;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
