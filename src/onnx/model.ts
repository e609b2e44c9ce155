// An .onnx file -> the plain data lstmc runs: the graph's declared inputs and
// outputs, its initializers as tensors, and its LSTM / GRU / RNN nodes with
// every attribute and the names of their inputs. Anything else in the graph is
// refused with an OnnxError naming the node and its op.
import { ATTRIBUTE_TYPES, decodeModelProto, TENSOR_TYPES } from "./proto.ts";
import type { Tensor } from "../adapters/onnx.ts";

/** A model lstmc cannot read or cannot run; the message names the tensor, node or field. */
export class OnnxError extends Error {}

export type RecurrentOp = "RNN" | "GRU" | "LSTM";
const RECURRENT_OPS: readonly RecurrentOp[] = ["RNN", "GRU", "LSTM"];

/** A declared dimension: a number, a symbolic name, or unknown (null). */
export type DeclaredDim = number | string | null;

export interface ValueInfo {
  readonly name: string;
  readonly elemType: number;
  readonly shape: readonly DeclaredDim[] | null;
}

export type AttributeValue = number | string | readonly number[] | readonly string[];

/** The ONNX input slots of the recurrent ops, in order. */
const NODE_INPUTS = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"] as const;
export type NodeInput = (typeof NODE_INPUTS)[number];
const NODE_OUTPUTS = ["Y", "Y_h", "Y_c"] as const;
export type NodeOutput = (typeof NODE_OUTPUTS)[number];

export interface RecurrentNode {
  readonly name: string;
  readonly op: RecurrentOp;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** The value name bound to each input slot that is given. */
  readonly inputs: Readonly<Partial<Record<NodeInput, string>>>;
  /** The value name bound to each output slot that is produced. */
  readonly outputs: Readonly<Partial<Record<NodeOutput, string>>>;
}

export interface OnnxModel {
  readonly graphName: string;
  /** Graph inputs that no initializer supplies: what a run's feeds must hold. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: Readonly<Record<string, Tensor>>;
  readonly nodes: readonly RecurrentNode[];
}

/** Reads `length` bytes at `offset` of an external data file named relative to the model (length undefined: to the end). */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

type Message = Record<string, unknown>;

function messages(value: unknown): Message[] {
  return Array.isArray(value) ? (value as Message[]) : [];
}

/** .onnx bytes -> the model; an OnnxError for corrupt bytes and for anything other than RNN, GRU and LSTM nodes. */
export function readOnnxModel(bytes: Uint8Array, readExternal: ExternalDataReader): OnnxModel {
  let proto: Message;
  try {
    proto = decodeModelProto(bytes);
  } catch (e) {
    throw new OnnxError(`not a readable ONNX model (${(e as Error).message})`);
  }
  const graph = proto["graph"] as Message | undefined;
  if (!graph) throw new OnnxError("the model has no graph");
  const initializers = Object.fromEntries(messages(graph["initializer"]).map((t) => [String(t["name"] ?? ""), tensorFromProto(t, readExternal)]));
  const nodes = messages(graph["node"]).map((n, index) => recurrentNode(n, index));
  checkNodeInputs(nodes, messages(graph["node"]));
  return {
    graphName: String(graph["name"] ?? ""),
    inputs: messages(graph["input"]).map(valueInfo).filter((v) => !Object.hasOwn(initializers, v.name)),
    outputs: messages(graph["output"]).map(valueInfo),
    initializers,
    nodes,
  };
}

function valueInfo(info: Message): ValueInfo {
  const tensorType = (info["type"] as Message | undefined)?.["tensor_type"] as Message | undefined;
  const shape = tensorType?.["shape"] as Message | undefined;
  return {
    name: String(info["name"] ?? ""),
    elemType: Number(tensorType?.["elem_type"] ?? 0),
    shape: shape ? messages(shape["dim"]).map((d) => (d["dim_value"] !== undefined ? Number(d["dim_value"]) : d["dim_param"] !== undefined ? String(d["dim_param"]) : null)) : null,
  };
}

/** The name a message shows for a node: its own name, else its op and position. */
function nodeLabel(node: Message, index: number): string {
  const name = String(node["name"] ?? "");
  return name === "" ? `#${index} (${String(node["op_type"] ?? "?")}, unnamed)` : `'${name}'`;
}

/** Positional value names -> by slot name; an empty name is ONNX's "not given". */
function slots<K extends string>(names: readonly K[], values: unknown): Partial<Record<K, string>> {
  const given = ((values as string[] | undefined) ?? []).map((value, i) => [names[i], value] as const);
  return Object.fromEntries(given.filter(([slot, value]) => slot !== undefined && value !== "")) as Partial<Record<K, string>>;
}

function recurrentNode(node: Message, index: number): RecurrentNode {
  const op = String(node["op_type"] ?? "");
  const domain = String(node["domain"] ?? "");
  if (!(RECURRENT_OPS as readonly string[]).includes(op) || (domain !== "" && domain !== "ai.onnx")) {
    throw new OnnxError(`node ${nodeLabel(node, index)} is a ${domain ? `${domain}.` : ""}${op} node; lstmc imports only LSTM, GRU and RNN nodes`);
  }
  const inputNames = (node["input"] as string[] | undefined) ?? [];
  if (inputNames.length > NODE_INPUTS.length) throw new OnnxError(`node ${nodeLabel(node, index)} has ${inputNames.length} inputs; ${op} takes at most ${NODE_INPUTS.length}`);
  return {
    name: String(node["name"] ?? ""),
    op: op as RecurrentOp,
    attributes: Object.fromEntries(messages(node["attribute"]).map((a) => [String(a["name"]), attributeValue(a, nodeLabel(node, index))])),
    inputs: slots(NODE_INPUTS, inputNames),
    outputs: slots(NODE_OUTPUTS, node["output"]),
  };
}

function attributeValue(attribute: Message, node: string): AttributeValue {
  const text = (bytes: unknown) => new TextDecoder().decode(bytes as Uint8Array);
  switch (Number(attribute["type"])) {
    case ATTRIBUTE_TYPES.FLOAT:
      return Number(attribute["f"] ?? 0);
    case ATTRIBUTE_TYPES.INT:
      return Number(attribute["i"] ?? 0);
    case ATTRIBUTE_TYPES.STRING:
      return text(attribute["s"] ?? new Uint8Array());
    case ATTRIBUTE_TYPES.FLOATS:
      return ((attribute["floats"] as number[] | undefined) ?? []).map(Number);
    case ATTRIBUTE_TYPES.INTS:
      return ((attribute["ints"] as number[] | undefined) ?? []).map(Number);
    case ATTRIBUTE_TYPES.STRINGS:
      return ((attribute["strings"] as Uint8Array[] | undefined) ?? []).map(text);
    default:
      throw new OnnxError(`node ${node}: attribute '${String(attribute["name"])}' has type ${String(attribute["type"])}, which no LSTM, GRU or RNN attribute has`);
  }
}

/** Refuses a recurrent node that reads another node's output: lstmc runs each node on graph inputs and initializers only. */
function checkNodeInputs(nodes: readonly RecurrentNode[], protos: readonly Message[]): void {
  const producer = new Map<string, number>();
  protos.forEach((n, i) => ((n["output"] as string[] | undefined) ?? []).forEach((name) => producer.set(name, i)));
  nodes.forEach((node, i) => {
    for (const value of Object.values(node.inputs)) {
      const from = producer.get(value!);
      if (from !== undefined) {
        throw new OnnxError(`node ${nodeLabel(protos[i]!, i)} reads '${value}', which node ${nodeLabel(protos[from]!, from)} (${String(protos[from]!["op_type"])}) computes; lstmc runs recurrent nodes whose inputs are graph inputs or initializers`);
      }
    }
  });
}

// --- Tensors -----------------------------------------------------------------

const ELEMENT_BYTES: Readonly<Record<number, number>> = { [TENSOR_TYPES.FLOAT]: 4, [TENSOR_TYPES.DOUBLE]: 8, [TENSOR_TYPES.INT32]: 4, [TENSOR_TYPES.INT64]: 8 };
const TYPED_FIELD: Readonly<Record<number, string>> = {
  [TENSOR_TYPES.FLOAT]: "float_data",
  [TENSOR_TYPES.DOUBLE]: "double_data",
  [TENSOR_TYPES.INT32]: "int32_data",
  [TENSOR_TYPES.INT64]: "int64_data",
};
const EXTERNAL = 1;

/** A TensorProto (raw_data, typed fields or external data; float, double, int32, int64) -> a float64 tensor. */
function tensorFromProto(tensor: Message, readExternal: ExternalDataReader): Tensor {
  const name = String(tensor["name"] ?? "");
  const dataType = Number(tensor["data_type"] ?? 0);
  const shape = ((tensor["dims"] as number[] | undefined) ?? []).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(dataType in ELEMENT_BYTES)) throw new OnnxError(`tensor '${name}' has data type ${dataType}; lstmc reads float, double, int32 and int64 tensors`);
  const raw = Number(tensor["data_location"] ?? 0) === EXTERNAL ? externalBytes(tensor, name, readExternal) : (tensor["raw_data"] as Uint8Array | undefined);
  if (raw && raw.byteLength !== count * ELEMENT_BYTES[dataType]!) throw new OnnxError(`tensor '${name}' has ${raw.byteLength} bytes of data, but its shape [${shape.join(", ")}] needs ${count * ELEMENT_BYTES[dataType]!}`);
  const data = raw ? numbersFromBytes(raw, dataType) : Float64Array.from(((tensor[TYPED_FIELD[dataType]!] as number[] | undefined) ?? []).map(Number));
  if (data.length !== count) throw new OnnxError(`tensor '${name}' holds ${data.length} numbers, but its shape [${shape.join(", ")}] needs ${count}`);
  return { shape, data };
}

function externalBytes(tensor: Message, name: string, readExternal: ExternalDataReader): Uint8Array {
  const entries = Object.fromEntries(messages(tensor["external_data"]).map((e) => [String(e["key"]), String(e["value"] ?? "")]));
  const location = entries["location"];
  if (!location) throw new OnnxError(`tensor '${name}' is stored externally but names no location`);
  if (location.startsWith("/") || location.split(/[\\/]/).includes("..")) throw new OnnxError(`tensor '${name}': external data location '${location}' is outside the model's folder`);
  const whole = (key: string) => {
    const value = entries[key];
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new OnnxError(`tensor '${name}': external data ${key} '${value}' is not a whole number`);
    return Number(value);
  };
  return readExternal(location, whole("offset") ?? 0, whole("length"));
}

function numbersFromBytes(bytes: Uint8Array, dataType: number): Float64Array {
  const size = ELEMENT_BYTES[dataType]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float64Array.from({ length: bytes.byteLength / size }, (_, k) => {
    const at = k * size;
    if (dataType === TENSOR_TYPES.FLOAT) return view.getFloat32(at, true);
    if (dataType === TENSOR_TYPES.DOUBLE) return view.getFloat64(at, true);
    if (dataType === TENSOR_TYPES.INT32) return view.getInt32(at, true);
    return Number(view.getBigInt64(at, true));
  });
}
