// The hand-built ONNX model both onnxruntime competitors load (onnxruntime-node
// and onnxruntime-web take the same bytes).
//
// The protobuf bytes are written by hand (ModelProto / GraphProto / NodeProto /
// TensorProto / ValueInfoProto / AttributeProto; opset 14, ir_version 7).
// Weights are packed in ONNX gate order (LSTM: i,o,f,c; GRU: z,r,h with
// linear_before_reset=1) as initializers with B = [Wb ‖ Rb]. Nothing is downloaded.

import { type CellKind, type Sizes, type Weights } from './common.ts';

// ---------------------------------------------------------------- protobuf writer

type Bytes = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v = BigInt.asUintN(64, v); // two's complement, 10 bytes
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function cat(parts: (Bytes | number[])[]): Bytes {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const tag = (field: number, wire: number) => varint((field << 3) | wire);

/** Field helpers: each returns the encoded field (tag + payload). */
const pb = {
  int: (field: number, v: number | bigint): Bytes => cat([tag(field, WIRE_VARINT), varint(v)]),
  bytes: (field: number, b: Bytes): Bytes => cat([tag(field, WIRE_LEN), varint(b.length), b]),
  str: (field: number, s: string): Bytes => pb.bytes(field, new TextEncoder().encode(s)),
  msg: (field: number, ...fields: Bytes[]): Bytes => pb.bytes(field, cat(fields)),
};

// ONNX enums
const ELEM_FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

// TensorProto: dims=1, data_type=2, name=8, raw_data=9
function tensorProto(name: string, dims: number[], data: Float32Array): Bytes {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  return cat([...dims.map((d) => pb.int(1, d)), pb.int(2, ELEM_FLOAT), pb.str(8, name), pb.bytes(9, raw)]);
}

// ValueInfoProto: name=1, type=2 -> TypeProto.tensor_type=1 -> {elem_type=1, shape=2 -> TensorShapeProto.dim=1 -> {dim_value=1}}
function valueInfo(field: number, name: string, dims: number[]): Bytes {
  const shape = cat(dims.map((d) => pb.msg(1, pb.int(1, d))));
  const tensorType = cat([pb.int(1, ELEM_FLOAT), pb.bytes(2, shape)]);
  return pb.msg(field, pb.str(1, name), pb.msg(2, pb.bytes(1, tensorType)));
}

// AttributeProto: name=1, i=3, type=20
const intAttr = (name: string, v: number): Bytes => pb.msg(5, pb.str(1, name), pb.int(3, v), pb.int(20, ATTR_INT));

// NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
function node(opType: string, name: string, inputs: string[], outputs: string[], attrs: Bytes[]): Bytes {
  return pb.msg(1, ...inputs.map((s) => pb.str(1, s)), ...outputs.map((s) => pb.str(2, s)), pb.str(3, name), pb.str(4, opType), ...attrs);
}

// ---------------------------------------------------------------- model building

function packRows(blocks: Float32Array[]): Float32Array {
  const out = new Float32Array(blocks.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/**
 * Serialised ONNX ModelProto for one forward LSTM / GRU layer with the given weights.
 * With `finalStates`, the graph also outputs Y_h (and Y_c for the LSTM), [1, B, H]:
 * what a streaming caller feeds back as the next call's initial state.
 */
export function buildOnnxModel(cell: CellKind, sizes: Sizes, w: Weights, finalStates = false): Uint8Array {
  const { B, I, H, T } = sizes;
  const zeros = new Float32Array(H);
  // ONNX gate orders.
  const order = cell === 'lstm' ? ['i', 'o', 'f', 'g'] : ['z', 'r', 'n'];
  const G = order.length;
  const Wp = packRows(order.map((k) => w[`W_${k}`])); // [1, G·H, I]
  const Rp = packRows(order.map((k) => w[`U_${k}`])); // [1, G·H, H]
  const Bp =
    cell === 'lstm'
      ? packRows([...order.map((k) => w[`b_${k}`]), zeros, zeros, zeros, zeros]) // [Wb_iofc ‖ Rb_iofc=0]
      : packRows([w.b_z, w.b_r, w.b_n, zeros, zeros, w.b_hn]); // [Wb_zrh ‖ Rb_zrh] with Rb_z=Rb_r=0, Rb_h=b_hn
  const attrs = [intAttr('hidden_size', H)];
  if (cell === 'gru') attrs.push(intAttr('linear_before_reset', 1));
  const inputs = cell === 'lstm' ? ['X', 'W', 'R', 'B', '', 'initial_h', 'initial_c'] : ['X', 'W', 'R', 'B', '', 'initial_h'];
  const outputs = ['Y', ...(finalStates ? (cell === 'lstm' ? ['Y_h', 'Y_c'] : ['Y_h']) : [])];
  const graph = cat([
    node(cell === 'lstm' ? 'LSTM' : 'GRU', 'rnn', inputs, outputs, attrs), // node = 1
    pb.str(2, `${cell}_graph`), // name = 2
    pb.msg(5, tensorProto('W', [1, G * H, I], Wp)), // initializer = 5
    pb.msg(5, tensorProto('R', [1, G * H, H], Rp)),
    pb.msg(5, tensorProto('B', [1, 2 * G * H], Bp)),
    valueInfo(11, 'X', [T, B, I]), // input = 11
    valueInfo(11, 'initial_h', [1, B, H]),
    ...(cell === 'lstm' ? [valueInfo(11, 'initial_c', [1, B, H])] : []),
    valueInfo(12, 'Y', [T, 1, B, H]), // output = 12
    ...outputs.slice(1).map((name) => valueInfo(12, name, [1, B, H])),
  ]);
  // ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8 -> {domain=1 (default ""), version=2}
  return cat([pb.int(1, 7), pb.str(2, 'lstmc-bench'), pb.bytes(7, graph), pb.msg(8, pb.int(2, 14))]);
}
