// The official ONNX schema (grammar/onnx.proto, as the JSON descriptor
// onnx-descriptor.ts) loaded into protobufjs: the one way lstmc reads and
// writes .onnx bytes. Messages come out as plain objects (int64 as numbers,
// bytes as Uint8Array, absent fields absent).
import protobuf from "protobufjs";
import { ONNX_DESCRIPTOR } from "./onnx-descriptor.ts";

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const modelType = root.lookupType("onnx.ModelProto");

/** ModelProto bytes -> a plain object with the schema's field names; protobufjs's error when the bytes are not a ModelProto. */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const message = modelType.decode(bytes);
  return modelType.toObject(message, { longs: Number, enums: Number, defaults: false, arrays: true }) as Record<string, unknown>;
}

/** A plain ModelProto object -> bytes; an error naming the first field that does not fit the schema. */
export function encodeModelProto(model: Record<string, unknown>): Uint8Array {
  const problem = modelType.verify(model);
  if (problem) throw new Error(`not a valid ModelProto: ${problem}`);
  return modelType.encode(modelType.fromObject(model)).finish();
}

/** TensorProto.DataType values lstmc reads. */
export const TENSOR_TYPES = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPES = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
