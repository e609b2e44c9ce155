// The `lstmc run` contract for models (issue 9 §4), the cell contract's
// extension: parameters "<layer>.<param>" (and the head's "<head>.W" [K, n],
// "<head>.b" [K]), states "<layer>.<state>" in initial, final and
// upstream.final, the model's own outputs, optional lengths, and `targets`
// when the model has a loss. Every mismatch is an error naming the field.
//   in:  { dims, batch, steps, params, inputs, initial?, lengths?, targets?, upstream? }
//   out: { outputs, final, loss?, grads? }
import { CodedError } from "../diagnostics/diagnostic.ts";
import { bindSizes, type SizeBinding } from "../ir/bind.ts";
import { elementCount, evaluateDim } from "../ir/dims.ts";
import type { ModelIR } from "../ir/model-types.ts";
import { MAX_ELEMENTS } from "../ir/limits.ts";
import type { Gradients } from "../interp/interpret.ts";
import { layerSizes, type ModelForwardResult, type ModelSequence } from "../interp/model.ts";
import { checkRunBuffers, isObject, own, plain, positiveInteger, readLengths, shown, tensorGroup, type Json, type RunResponse } from "./contract.ts";

export interface ModelRunRequest {
  readonly sizes: SizeBinding;
  readonly sequence: ModelSequence;
  readonly upstream: { readonly outputs: Record<string, Float64Array>; readonly final: Record<string, Float64Array> };
}

/** The model's sizes as numbers (given, else defaults), each layer's checked as its cell's would be. */
export function bindModelSizes(ir: ModelIR, given: Readonly<Record<string, number>>): SizeBinding {
  const known = new Set(ir.sizes.map((s) => s.name));
  for (const name of Object.keys(given)) if (!known.has(name)) throw new CodedError("unknownSizeBinding", name, [...known].join(", ") || "none");
  const sizes: Record<string, number> = {};
  for (const s of ir.sizes) {
    const value = Object.hasOwn(given, s.name) ? given[s.name] : s.default;
    if (value === null || value === undefined) throw new CodedError("sizeWithoutDefault", s.name);
    if (!Number.isInteger(value) || value < 1) throw new CodedError("sizeNotPositive", s.name, value);
    if (value > MAX_ELEMENTS) throw new CodedError("sizeTooLarge", s.name, value, MAX_ELEMENTS);
    sizes[s.name] = value;
  }
  for (const layer of ir.layers) bindSizes(layer.cell, layerSizes(layer, sizes));
  return sizes;
}

/** Every tensor's name and length in one group of the model's contract. */
export function modelTensors(ir: ModelIR, sizes: SizeBinding, batch: number, steps: number) {
  const layerParams = ir.layers.flatMap((l) => l.cell.params.map((p) => ({ name: `${l.name}.${p.name}`, length: elementCount(p.shape, layerSizes(l, sizes)) })));
  const headParams = ir.head
    ? [
        { name: `${ir.head.name}.W`, length: evaluateDim(ir.head.size, sizes) * evaluateDim(ir.head.input.width, sizes) },
        { name: `${ir.head.name}.b`, length: evaluateDim(ir.head.size, sizes) },
      ]
    : [];
  const states = ir.layers.flatMap((l) => l.cell.states.map((s) => ({ name: `${l.name}.${s.name}`, init: s.init, length: batch * evaluateDim(s.shape[0]!, layerSizes(l, sizes)) })));
  const outputs = [
    ...ir.outputs.map((o) => ({ name: o.name, length: steps * batch * evaluateDim(o.width, sizes) })),
    ...(ir.head ? [{ name: ir.head.name, length: (ir.head.at === "step" ? steps * batch : batch) * evaluateDim(ir.head.size, sizes) }] : []),
  ];
  const inputs = ir.inputs.map((i) => ({ name: i.name, length: steps * batch * evaluateDim(i.shape[0]!, sizes) }));
  return { params: [...layerParams, ...headParams], states, outputs, inputs };
}

/** Class indices (softmax cross-entropy: one per head row) or numbers (one per head output element). */
function readTargets(ir: ModelIR, value: Json, sizes: SizeBinding, batch: number, steps: number): Float64Array | undefined {
  if (!ir.loss) {
    if (value !== undefined) throw new CodedError("dataTargetsWithoutLoss");
    return undefined;
  }
  const head = ir.head!;
  const rows = head.at === "step" ? steps * batch : batch;
  const classes = evaluateDim(head.size, sizes);
  if (ir.loss.kind !== "softmax_cross_entropy") {
    if (value === undefined) throw new CodedError("dataTargetsMissing", ir.loss.kind, rows * classes);
    return tensorGroup({ targets: value }, "data", [{ name: "targets", length: rows * classes }], null)["targets"];
  }
  if (!Array.isArray(value) || value.length !== rows) throw new CodedError("dataTargetsMissing", ir.loss.kind, rows);
  return Float64Array.from(value, (v: Json, i) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= classes) throw new CodedError("dataTargetNotClass", i, classes - 1, shown(v));
    return v;
  });
}

export function readModelRunRequest(ir: ModelIR, data: Json): ModelRunRequest {
  if (!isObject(data)) throw new CodedError("dataNotAnObject");
  const allowed = new Set(["dims", "batch", "steps", "params", "inputs", "initial", "lengths", "targets", "upstream"]);
  for (const key of Object.keys(data)) if (!allowed.has(key)) throw new CodedError("dataUnknownField", key, [...allowed].join(", "));
  const dims = own(data, "dims") ?? {};
  if (!isObject(dims)) throw new CodedError("dataDimsNotAnObject");
  for (const [name, v] of Object.entries(dims)) positiveInteger(v, `dims.${name}`);
  const sizes = bindModelSizes(ir, dims as Record<string, number>);
  const batch = positiveInteger(own(data, "batch"), "batch");
  const steps = positiveInteger(own(data, "steps"), "steps");
  for (const layer of ir.layers) checkRunBuffers(layer.cell, layerSizes(layer, sizes), steps, batch);
  const expected = modelTensors(ir, sizes, batch, steps);
  const params = tensorGroup(own(data, "params"), "params", expected.params, null);
  const inputs = tensorGroup(own(data, "inputs"), "inputs", expected.inputs, null);
  const initial = tensorGroup(own(data, "initial"), "initial", expected.states, (name) => {
    const state = expected.states.find((s) => s.name === name)!;
    return new Float64Array(state.length).fill(state.init);
  });
  const lengths = readLengths(own(data, "lengths"), batch, steps);
  const targets = readTargets(ir, own(data, "targets"), sizes, batch, steps);
  const upstreamJson = own(data, "upstream") ?? {};
  if (!isObject(upstreamJson)) throw new CodedError("dataUpstreamNotAnObject");
  for (const key of Object.keys(upstreamJson)) if (key !== "outputs" && key !== "final") throw new CodedError("dataUpstreamUnknownField", key);
  const zeros = (group: readonly { name: string; length: number }[]) => (name: string) => new Float64Array(group.find((g) => g.name === name)!.length);
  const upstream = {
    outputs: tensorGroup(own(upstreamJson, "outputs"), "upstream.outputs", expected.outputs, zeros(expected.outputs)),
    final: tensorGroup(own(upstreamJson, "final"), "upstream.final", expected.states, zeros(expected.states)),
  };
  const sequence: ModelSequence = { batch, steps, params, inputs, initial, ...(lengths && { lengths }), ...(targets && { targets }) };
  return { sizes, sequence, upstream };
}

export function writeModelRunResponse(result: ModelForwardResult, grads: Gradients | null): RunResponse & { loss?: number } {
  const response: RunResponse & { loss?: number } = { outputs: plain(result.outputs), final: plain(result.final) };
  if (result.loss !== null) response.loss = result.loss;
  if (grads) response.grads = { params: plain(grads.params), inputs: plain(grads.inputs), initial: plain(grads.initial) };
  return response;
}
