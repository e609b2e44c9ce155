// The safetensors format (huggingface/safetensors), encoded and decoded here:
// 8 bytes of little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}
// padded with spaces to a multiple of 8, then the tensors' raw little-endian
// bytes, offsets counted from the end of the header.
//
// Self-contained on purpose (no imports, no Node APIs): lstmc/train's
// checkpoints and `lstmc import` import this file, and generated modules'
// saveParams/loadParams embed its marked part (scripts/embed-runtime.ts).

// BEGIN EMBED SAFETENSORS
export type Dtype = "F32" | "F64" | "I32";

export interface StoredTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

export interface SafetensorsFile {
  readonly tensors: Readonly<Record<string, StoredTensor>>;
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, I32: 4 };

export function encodeSafetensors(file: SafetensorsFile): Uint8Array {
  const names = Object.keys(file.tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(file.metadata).length > 0) header.__metadata__ = file.metadata;
  let offset = 0;
  for (const name of names) {
    const t = file.tensors[name]!;
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const headerBytes = new Uint8Array(jsonBytes.length + ((8 - ((8 + jsonBytes.length) % 8)) % 8)).fill(0x20);
  headerBytes.set(jsonBytes);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = file.tensors[name]!;
    for (let k = 0; k < t.data.length; k++, at += BYTES[t.dtype]) writeElement(view, at, t.dtype, t.data[k]!);
  }
  return out;
}

function writeElement(view: DataView, at: number, dtype: Dtype, value: number): void {
  if (dtype === "F32") view.setFloat32(at, value, true);
  else if (dtype === "F64") view.setFloat64(at, value, true);
  else view.setInt32(at, value, true);
}

function readElement(view: DataView, at: number, dtype: Dtype): number {
  if (dtype === "F32") return view.getFloat32(at, true);
  if (dtype === "F64") return view.getFloat64(at, true);
  return view.getInt32(at, true);
}

/** Parses and checks a safetensors file; any inconsistency is an error saying which tensor and what. */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new Error(`safetensors: ${bytes.length} bytes, too short for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new Error(`safetensors: header of ${headerLength} bytes runs past the end of the file (${bytes.length} bytes)`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, StoredTensor> = {};
  let covered = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`safetensors: tensor '${name}' has dtype ${String(dtype)}; only F32, F64 and I32 are read`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * BYTES[dtype] || begin < 0 || end > dataLength) throw new Error(`safetensors: tensor '${name}' has data_offsets [${begin}, ${end}], which do not hold shape [${shape.join(", ")}] of ${dtype} inside ${dataLength} data bytes`);
    const data = dtype === "F32" ? new Float32Array(count) : dtype === "F64" ? new Float64Array(count) : new Int32Array(count);
    for (let k = 0; k < count; k++) data[k] = readElement(view, dataStart + begin + k * BYTES[dtype], dtype);
    tensors[name] = { dtype, shape, data };
    covered += end - begin;
  }
  if (covered !== dataLength) throw new Error(`safetensors: the tensors cover ${covered} of the ${dataLength} data bytes`);
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}
// END EMBED SAFETENSORS

export function dtypeOf(data: StoredTensor["data"]): Dtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  return "I32";
}

/** A flat tensor (shape [length]) unless a shape is given. */
export function stored(data: StoredTensor["data"], shape: readonly number[] = [data.length]): StoredTensor {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`shape [${shape.join(", ")}] does not hold ${data.length} numbers`);
  return { dtype: dtypeOf(data), shape, data };
}
