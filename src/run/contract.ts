// The JSON contract of `lstmc run`, shared by every engine:
//   in:  { dims, batch, steps, params, inputs, initial?, upstream? }
//   out: { outputs, final, grads? }
// Every mismatch between the data and the spec is an error naming the field.
import { bindSizes, SizeBindingError, type SizeBinding } from "../ir/bind.ts";
import { elementCount, evaluateDim } from "../ir/dims.ts";
import type { CellIR, Shape } from "../ir/types.ts";
import type { ForwardResult, Gradients, Sequence, Upstream } from "../interp/interpret.ts";

export class DataError extends Error {}

export interface RunRequest {
  readonly sizes: SizeBinding;
  readonly sequence: Sequence;
  readonly upstream: Upstream;
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positiveInteger(value: Json, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new DataError(`${field} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function numberArray(value: Json, field: string, length: number): Float64Array {
  if (!Array.isArray(value)) throw new DataError(`${field} must be an array of ${length} numbers`);
  if (value.length !== length) throw new DataError(`${field} has ${value.length} numbers, but the spec needs ${length}`);
  const out = new Float64Array(length);
  value.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new DataError(`${field}[${i}] must be a finite number, got ${JSON.stringify(x)}`);
    out[i] = x;
  });
  return out;
}

/** Reads the named tensors of one group, rejecting unknown names. `fallback` supplies missing ones (or null: required). */
function tensorGroup(
  value: Json,
  field: string,
  expected: readonly { name: string; length: number }[],
  fallback: ((name: string) => Float64Array) | null,
): Record<string, Float64Array> {
  if (value === undefined && fallback) value = {};
  if (!isObject(value)) throw new DataError(`${field} must be an object of named arrays`);
  const known = new Set(expected.map((e) => e.name));
  for (const name of Object.keys(value)) {
    if (!known.has(name)) throw new DataError(`${field}.${name} is not in the spec (expected: ${[...known].join(", ") || "nothing"})`);
  }
  const out: Record<string, Float64Array> = {};
  for (const { name, length } of expected) {
    if (value[name] === undefined) {
      if (!fallback) throw new DataError(`${field}.${name} is missing`);
      out[name] = fallback(name);
    } else out[name] = numberArray(value[name], `${field}.${name}`, length);
  }
  return out;
}

function vectorLength(shape: Shape, sizes: SizeBinding): number {
  return evaluateDim(shape[0]!, sizes);
}

export function readRunRequest(ir: CellIR, data: Json): RunRequest {
  if (!isObject(data)) throw new DataError("the data must be a JSON object");
  const allowed = new Set(["dims", "batch", "steps", "params", "inputs", "initial", "upstream"]);
  for (const key of Object.keys(data)) if (!allowed.has(key)) throw new DataError(`unknown field '${key}' (expected: ${[...allowed].join(", ")})`);
  const dims = data["dims"] ?? {};
  if (!isObject(dims)) throw new DataError("dims must be an object such as {\"I\": 3, \"H\": 5}");
  for (const [name, v] of Object.entries(dims)) positiveInteger(v, `dims.${name}`);
  let sizes: SizeBinding;
  try {
    sizes = bindSizes(ir, dims as Record<string, number>);
  } catch (e) {
    if (e instanceof SizeBindingError) throw new DataError(`dims: ${e.message}`);
    throw e;
  }
  const batch = positiveInteger(data["batch"], "batch");
  const steps = positiveInteger(data["steps"], "steps");
  const params = tensorGroup(data["params"], "params", ir.params.map((p) => ({ name: p.name, length: elementCount(p.shape, sizes) })), null);
  const inputs = tensorGroup(data["inputs"], "inputs", ir.inputs.map((i) => ({ name: i.name, length: steps * batch * vectorLength(i.shape, sizes) })), null);
  const stateLengths = ir.states.map((s) => ({ name: s.name, length: batch * vectorLength(s.shape, sizes) }));
  const initial = tensorGroup(data["initial"], "initial", stateLengths, (name) => {
    const state = ir.states.find((s) => s.name === name)!;
    return new Float64Array(batch * vectorLength(state.shape, sizes)).fill(state.init);
  });
  const upstreamJson = data["upstream"] ?? {};
  if (!isObject(upstreamJson)) throw new DataError("upstream must be an object with 'outputs' and 'final'");
  for (const key of Object.keys(upstreamJson)) if (key !== "outputs" && key !== "final") throw new DataError(`upstream.${key} is not a field (expected: outputs, final)`);
  const zeros = (length: number) => () => new Float64Array(length);
  const outputLengths = ir.outputs.map((o) => ({ name: o.name, length: steps * batch * vectorLength(o.shape, sizes) }));
  const upstream: Upstream = {
    outputs: tensorGroup(upstreamJson["outputs"], "upstream.outputs", outputLengths, (name) => zeros(outputLengths.find((o) => o.name === name)!.length)()),
    final: tensorGroup(upstreamJson["final"], "upstream.final", stateLengths, (name) => zeros(stateLengths.find((s) => s.name === name)!.length)()),
  };
  return { sizes, sequence: { batch, steps, params, inputs, initial }, upstream };
}

function plain(tensors: Record<string, Float64Array>): Record<string, number[]> {
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
