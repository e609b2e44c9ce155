// Checkpoints: parameters (under their own names) and optionally the
// optimiser's state (`optimizer.SLOT.NAME`, the step count in the metadata)
// in one safetensors file, readable by any safetensors reader.
import type { OptimizerState } from "./optim.ts";
import { loadSafetensors, saveSafetensors, stored, type StoredTensor } from "./safetensors.ts";
import type { Tensor, Tensors } from "./tensors.ts";

export interface Checkpoint {
  readonly params: Tensors;
  readonly optimizer?: OptimizerState;
  readonly metadata?: Readonly<Record<string, string>>;
}

const SLOT_PREFIX = "optimizer.";

export function saveCheckpoint(path: string, checkpoint: Checkpoint, shapes: Readonly<Record<string, readonly number[]>> = {}): void {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, t] of Object.entries(checkpoint.params)) {
    if (name.startsWith(SLOT_PREFIX)) throw new Error(`checkpoint: parameter name '${name}' clashes with the optimiser's prefix`);
    tensors[name] = stored(t, shapes[name]);
  }
  const metadata: Record<string, string> = { ...checkpoint.metadata };
  if (checkpoint.optimizer) {
    metadata["optimizer.step"] = String(checkpoint.optimizer.step);
    for (const [slot, named] of Object.entries(checkpoint.optimizer.slots)) for (const [name, t] of Object.entries(named)) tensors[`${SLOT_PREFIX}${slot}.${name}`] = stored(t, shapes[name]);
  }
  saveSafetensors(path, { tensors, metadata });
}

export function loadCheckpoint(path: string): Checkpoint {
  const file = loadSafetensors(path);
  const params: Tensors = {};
  const slots: Record<string, Tensors> = {};
  for (const [key, t] of Object.entries(file.tensors)) {
    if (t.dtype === "I32") throw new Error(`checkpoint ${path}: tensor '${key}' is I32; parameters are F32 or F64`);
    const data = t.data as Tensor;
    if (!key.startsWith(SLOT_PREFIX)) params[key] = data;
    else {
      const rest = key.slice(SLOT_PREFIX.length);
      const slot = rest.slice(0, rest.indexOf("."));
      (slots[slot] ??= {})[rest.slice(slot.length + 1)] = data;
    }
  }
  const { "optimizer.step": step, ...metadata } = file.metadata;
  return step === undefined ? { params, metadata } : { params, metadata, optimizer: { step: Number(step), slots } };
}
