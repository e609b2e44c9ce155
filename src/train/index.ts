// lstmc/train: training generated cell modules. Nothing here is imported by
// generated code; it only relies on their structural shape (CellModule).
export * from "./tensors.ts";
export * from "./random.ts";
export * from "./optim.ts";
export * from "./clip.ts";
export * from "./schedule.ts";
export * from "./loss.ts";
export * from "./linear.ts";
export * from "./batch.ts";
export * from "./cell-module.ts";
export * from "./readout-model.ts";
export * from "./safetensors.ts";
export * from "./checkpoint.ts";
export * from "./early-stopping.ts";
export * from "./progress.ts";
export * from "./fit.ts";
export * from "./gpu-optim.ts";
