// The JSON contract of `lstmc run`, shared by every engine:
//   in:  { dims, batch, steps, params, inputs, initial?, lengths?, upstream? }
//   out: { outputs, final, grads? }
// Every mismatch between the data and the spec is an error naming the field.
import { CodedError } from "../diagnostics/diagnostic.ts";
import { bindSizes, cellAllocations, inputBufferLength, type SizeBinding } from "../ir/bind.ts";
import { elementCount, evaluateDim } from "../ir/dims.ts";
import { firstOversized, MAX_ELEMENTS } from "../ir/limits.ts";
import type { CellIR, Shape } from "../ir/types.ts";
import type { ForwardResult, Gradients, Sequence, Upstream } from "../interp/interpret.ts";

export interface RunRequest {
  readonly sizes: SizeBinding;
  readonly sequence: Sequence;
  readonly upstream: Upstream;
}

export type Json = unknown;

export function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A field of parsed JSON, own properties only: a tensor named `toString` is not Object.prototype's. */
export function own(value: Record<string, Json>, name: string): Json {
  return Object.hasOwn(value, name) ? value[name] : undefined;
}

/**
 * A value as an error message shows it: a number that JSON read as ±Infinity
 * (1e309) as what it is, not as JSON.stringify's "null", and anything long
 * cut short.
 */
export function shown(value: Json): string {
  const text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function positiveInteger(value: Json, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new CodedError("dataNotPositiveInteger", field, shown(value));
  return value;
}

function numberArray(value: Json, field: string, length: number): Float64Array {
  if (!Array.isArray(value)) throw new CodedError("dataNotArray", field, length);
  if (value.length !== length) throw new CodedError("dataLength", field, value.length, length);
  const out = new Float64Array(length);
  value.forEach((x, i) => {
    if (typeof x !== "number") throw new CodedError("dataNotNumber", field, i, shown(x));
    if (!Number.isFinite(x)) throw new CodedError("dataNotFinite", field, i, shown(x));
    out[i] = x;
  });
  return out;
}

/** Reads the named tensors of one group, rejecting unknown names. `fallback` supplies missing ones (or null: required). */
export function tensorGroup(
  value: Json,
  field: string,
  expected: readonly { name: string; length: number }[],
  fallback: ((name: string) => Float64Array) | null,
): Record<string, Float64Array> {
  if (value === undefined && fallback) value = {};
  if (!isObject(value)) throw new CodedError("dataGroupNotAnObject", field);
  const known = new Set(expected.map((e) => e.name));
  for (const name of Object.keys(value)) {
    if (!known.has(name)) throw new CodedError("dataUnknownTensor", field, name, [...known].join(", ") || "nothing");
  }
  const out: Record<string, Float64Array> = {};
  for (const { name, length } of expected) {
    const tensor = own(value, name);
    if (tensor === undefined) {
      if (!fallback) throw new CodedError("dataMissingTensor", field, name);
      out[name] = fallback(name);
    } else out[name] = numberArray(tensor, `${field}.${name}`, length);
  }
  return out;
}

function vectorLength(shape: Shape, sizes: SizeBinding): number {
  return evaluateDim(shape[0]!, sizes);
}

export function readRunRequest(ir: CellIR, data: Json): RunRequest {
  if (!isObject(data)) throw new CodedError("dataNotAnObject");
  const allowed = new Set(["dims", "batch", "steps", "params", "inputs", "initial", "lengths", "upstream"]);
  for (const key of Object.keys(data)) if (!allowed.has(key)) throw new CodedError("dataUnknownField", key, [...allowed].join(", "));
  const dims = own(data, "dims") ?? {};
  if (!isObject(dims)) throw new CodedError("dataDimsNotAnObject");
  for (const [name, v] of Object.entries(dims)) positiveInteger(v, `dims.${name}`);
  const sizes = bindSizes(ir, dims as Record<string, number>);
  const batch = positiveInteger(own(data, "batch"), "batch");
  const steps = positiveInteger(own(data, "steps"), "steps");
  checkRunBuffers(ir, sizes, steps, batch);
  const params = tensorGroup(own(data, "params"), "params", ir.params.map((p) => ({ name: p.name, length: elementCount(p.shape, sizes) })), null);
  const inputs = tensorGroup(own(data, "inputs"), "inputs", ir.inputs.map((i) => ({ name: i.name, length: inputBufferLength(i, sizes, steps, batch) })), null);
  const stateLengths = ir.states.map((s) => ({ name: s.name, length: batch * vectorLength(s.shape, sizes) }));
  const initial = tensorGroup(own(data, "initial"), "initial", stateLengths, (name) => {
    const state = ir.states.find((s) => s.name === name)!;
    return new Float64Array(batch * vectorLength(state.shape, sizes)).fill(state.init);
  });
  const upstreamJson = own(data, "upstream") ?? {};
  if (!isObject(upstreamJson)) throw new CodedError("dataUpstreamNotAnObject");
  for (const key of Object.keys(upstreamJson)) if (key !== "outputs" && key !== "final") throw new CodedError("dataUpstreamUnknownField", key);
  const zeros = (length: number) => () => new Float64Array(length);
  const outputLengths = ir.outputs.map((o) => ({ name: o.name, length: steps * batch * vectorLength(o.shape, sizes) }));
  const upstream: Upstream = {
    outputs: tensorGroup(own(upstreamJson, "outputs"), "upstream.outputs", outputLengths, (name) => zeros(outputLengths.find((o) => o.name === name)!.length)()),
    final: tensorGroup(own(upstreamJson, "final"), "upstream.final", stateLengths, (name) => zeros(stateLengths.find((s) => s.name === name)!.length)()),
  };
  const lengths = readLengths(own(data, "lengths"), batch, steps);
  return { sizes, sequence: { batch, steps, params, inputs, initial, ...(lengths && { lengths }) }, upstream };
}

/** `lengths`: absent (every row runs every step), or one whole number in 1..steps per batch row. */
export function readLengths(value: Json, batch: number, steps: number): readonly number[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length !== batch) throw new CodedError("dataLengthsNotArray", batch, steps);
  return value.map((length: Json, row) => {
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1 || length > steps) throw new CodedError("dataLengthOutOfRange", row, shown(length), steps);
    return length;
  });
}

/**
 * Refuses a run whose buffers would be too large to allocate: every engine
 * keeps each input, output, state and expression value for every step and
 * batch row ([steps, batch, …]). Throws E206 naming the tensor.
 */
export function checkRunBuffers(ir: CellIR, sizes: SizeBinding, steps: number, batch: number): void {
  const outer = [["steps", steps], ["batch", batch]] as const;
  const perStep = cellAllocations(ir, { params: false });
  const oversized = firstOversized(perStep.map((a) => ({ ...a, what: `the run's buffer for ${a.what}`, outer })), sizes);
  if (oversized) throw new CodedError("tensorTooLarge", oversized.what, oversized.elements, oversized.detail, MAX_ELEMENTS);
}

export function plain(tensors: Record<string, Float64Array>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Array.from(v)]));
}

export interface RunResponse {
  outputs: Record<string, number[]>;
  final: Record<string, number[]>;
  grads?: { params: Record<string, number[]>; inputs: Record<string, number[]>; initial: Record<string, number[]> };
}

export function writeRunResponse(result: ForwardResult, grads: Gradients | null): RunResponse {
  const response: RunResponse = { outputs: plain(result.outputs), final: plain(result.final) };
  if (grads) response.grads = { params: plain(grads.params), inputs: plain(grads.inputs), initial: plain(grads.initial) };
  return response;
}
