// The part of a generated model module for WebGPU (src/codegen/model-wgsl.ts)
// that is not the shared model driver (../model-driver.ts): each layer gets its
// own cell from its layer cell's WebGPU host module (a cell's GPU buffers hold
// one forward's tape, so two layers of one cell cannot share one), and the
// driver's passes run with each cell call awaited. The layers run one after
// another: a layer's outputs are read back from the GPU and fed to the next
// (nothing is fused across layers yet). Embedded by scripts/embed-runtime.ts
// after MODEL_DRIVER; the generated module supplies the model's shape.
import type { _CellGradients, _CellModule, _CellSource, _Model, _ModelOptions, _ModelSaved, _Pass, _Tensors } from "../model-driver.ts";

// The shared driver's passes, which MODEL_DRIVER puts before this part in the generated module.
declare function _modelForwardPass(model: _Model, params: unknown, inputs: unknown, initial: unknown, options: _ModelOptions): _Pass<{ outputs: _Tensors; final: _Tensors; loss: number | null; saved: _ModelSaved }>;
declare function _modelBackwardPass(model: _Model, params: unknown, saved: _ModelSaved, upstream: { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> }): _Pass<_CellGradients>;
declare function _modelStepPass(model: _Model, params: unknown, inputs: unknown, state: unknown, t: number): _Pass<_Tensors>;
declare function _modelCreateState(model: _Model, batch: number): _Tensors;

// BEGIN EMBED MODEL_DRIVER_WEBGPU
/** A layer cell's WebGPU host module, as the model uses it. */
interface _GpuCellSource extends _CellSource {
  createCell(device: GPUDevice): _CellModule & { destroy(): void };
}

/** The model's shape with each layer's host module where the driver takes its cell. */
type _GpuModelShape = Omit<_Model, "layers"> & { readonly layers: readonly (Omit<_Model["layers"][number], "cell"> & { readonly source: _GpuCellSource })[] };

/** A pass whose cell calls return promises: each is awaited and its value handed back. */
async function _runAsync<R>(pass: _Pass<R>): Promise<R> {
  let next = pass.next();
  while (!next.done) next = pass.next(await next.value);
  return next.value;
}

/** The model on `device`: one cell per layer, and the API the generated module types. */
function _createGpuModel(shape: _GpuModelShape, device: GPUDevice, readsStep: boolean) {
  const cells = shape.layers.map((layer) => layer.source.createCell(device));
  const model: _Model = { ...shape, layers: shape.layers.map(({ source: _, ...layer }, i) => ({ ...layer, cell: cells[i]! })) };
  const saves = new WeakSet<object>();
  return {
    async forward(params: unknown, inputs: unknown, initial: unknown = {}, options: _ModelOptions = {}) {
      const result = await _runAsync(_modelForwardPass(model, params, inputs, initial, options));
      saves.add(result.saved);
      return result;
    },
    backward(params: unknown, saved: _ModelSaved, upstream: { outputs?: Partial<_Tensors>; final?: Partial<_Tensors> } = {}) {
      if (!saves.has(saved)) throw new Error("saved must be the saved object this model's forward() returned");
      return _runAsync(_modelBackwardPass(model, params, saved, upstream));
    },
    createState(batch: number = 1) {
      if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a whole number of rows from 1 up, not ${batch}`);
      return _modelCreateState(model, batch);
    },
    async step(params: unknown, inputs: unknown, state: unknown, t?: number) {
      // Checked before any layer updates the state in place.
      // The bound its cells' step() has too (t0 is a u32 on the GPU), so no layer can refuse it after another has stepped.
      if (readsStep && (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0 || t > 0xffffffff)) throw new Error(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(t)}`);
      return _runAsync(_modelStepPass(model, params, inputs, state, readsStep ? t! : 0));
    },
    destroy() {
      for (const cell of cells) cell.destroy();
    },
  };
}
// END EMBED MODEL_DRIVER_WEBGPU

export { _createGpuModel, type _GpuCellSource, type _GpuModelShape };
