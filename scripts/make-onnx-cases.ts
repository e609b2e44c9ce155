// Builds the ONNX reference cases under test/fixtures/onnx-cases/: an .onnx
// file per LSTM / GRU / RNN configuration (written with protobufjs from the
// official onnx.proto, as lstmc reads them), its feeds, and the outputs
// onnxruntime-node computes for them. onnxruntime refuses layout = 1, so
// those cases run the layout-0 model and transpose its feeds and outputs.
// test/onnx.cases.test.ts runs every case through `lstmc run`.
//
//   npx tsx scripts/make-onnx-cases.ts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { encodeModelProto, TENSOR_TYPES, ATTRIBUTE_TYPES } from "../src/onnx/proto.ts";

const OUT_DIR = "test/fixtures/onnx-cases";
const [T, B, I, H] = [5, 3, 3, 4];

type Op = "RNN" | "GRU" | "LSTM";
type Attribute = number | string | readonly number[] | readonly string[];

interface CaseSpec {
  readonly name: string;
  readonly op: Op;
  readonly attributes?: Readonly<Record<string, Attribute>>;
  /** Inputs given to the node beyond X, W, R, B. */
  readonly with?: readonly ("sequence_lens" | "initial_h" | "initial_c" | "P")[];
  /** Scale of the random weights: larger ones drive the pre-activations past a clip. */
  readonly weightScale?: number;
  /** Run as layout 0 through onnxruntime, stored as layout 1. */
  readonly layout1?: boolean;
  /** W, R and B in an external data file. */
  readonly external?: boolean;
  /** No B input: ONNX's biases are then zero. */
  readonly noBias?: boolean;
}


const CASES: CaseSpec[] = [
  ...(["LSTM", "GRU", "RNN"] as const).flatMap((op): CaseSpec[] => [
    { name: `${op.toLowerCase()}_forward`, op },
    { name: `${op.toLowerCase()}_reverse`, op, attributes: { direction: "reverse" } },
    { name: `${op.toLowerCase()}_bidirectional`, op, attributes: { direction: "bidirectional" }, with: op === "LSTM" ? ["initial_h", "initial_c"] : ["initial_h"] },
    { name: `${op.toLowerCase()}_clip`, op, attributes: { clip: 0.7 }, weightScale: 3 },
    { name: `${op.toLowerCase()}_sequence_lens`, op, attributes: { direction: "bidirectional" }, with: ["sequence_lens"] },
    { name: `${op.toLowerCase()}_initial_states`, op, with: op === "LSTM" ? ["initial_h", "initial_c"] : ["initial_h"] },
    { name: `${op.toLowerCase()}_layout1`, op, attributes: { direction: "bidirectional" }, with: op === "LSTM" ? ["sequence_lens", "initial_h", "initial_c"] : ["sequence_lens", "initial_h"], layout1: true },
  ]),
  { name: "lstm_peepholes", op: "LSTM", with: ["P"] },
  { name: "lstm_peepholes_bidirectional_clip", op: "LSTM", attributes: { direction: "bidirectional", clip: 1.5 }, with: ["P", "sequence_lens"], weightScale: 2 },
  { name: "lstm_input_forget", op: "LSTM", attributes: { input_forget: 1 } },
  { name: "gru_linear_before_reset", op: "GRU", attributes: { linear_before_reset: 1 } },
  { name: "gru_linear_before_reset_bidirectional", op: "GRU", attributes: { linear_before_reset: 1, direction: "bidirectional" }, with: ["sequence_lens"] },
  { name: "lstm_external_data", op: "LSTM", with: ["P"], external: true },
  // Every activation with explicit alpha/beta, in LSTM's f, g and h slots, GRU's and RNN's.
  { name: "lstm_act_hardsigmoid_affine_leakyrelu", op: "LSTM", attributes: { activations: ["HardSigmoid", "Affine", "LeakyRelu"], activation_alpha: [0.3, 0.8, 0.05], activation_beta: [0.4, 0.1] } },
  { name: "lstm_act_scaledtanh_elu", op: "LSTM", attributes: { activations: ["Sigmoid", "ScaledTanh", "Elu"], activation_alpha: [1.3, 0.7], activation_beta: [0.9] } },
  { name: "lstm_act_softsign_softplus", op: "LSTM", attributes: { activations: ["Sigmoid", "Softsign", "Softplus"] } },
  { name: "lstm_act_relu_defaults", op: "LSTM", attributes: { activations: ["HardSigmoid", "Relu", "LeakyRelu"] } },
  { name: "gru_act_hardsigmoid_elu", op: "GRU", attributes: { activations: ["HardSigmoid", "Elu"], activation_alpha: [0.25, 0.6], activation_beta: [0.45] } },
  { name: "gru_act_scaledtanh_bidirectional", op: "GRU", attributes: { direction: "bidirectional", activations: ["Sigmoid", "ScaledTanh", "HardSigmoid", "Softsign"], activation_alpha: [1.1, 0.3], activation_beta: [0.8, 0.6] } },
  { name: "rnn_act_leakyrelu", op: "RNN", attributes: { activations: ["LeakyRelu"], activation_alpha: [0.2] } },
  { name: "rnn_act_affine", op: "RNN", attributes: { activations: ["Affine"], activation_alpha: [0.5], activation_beta: [-0.25] } },
  { name: "rnn_act_softplus_relu_bidirectional", op: "RNN", attributes: { direction: "bidirectional", activations: ["Softplus", "Relu"] } },
  { name: "rnn_act_thresholdedrelu", op: "RNN", attributes: { activations: ["ThresholdedRelu"], activation_alpha: [0.1] } },
  { name: "lstm_act_thresholdedrelu", op: "LSTM", attributes: { activations: ["Sigmoid", "ThresholdedRelu", "Tanh"], activation_alpha: [0.05] } },
  { name: "gru_no_bias", op: "GRU", attributes: { linear_before_reset: 1 }, with: ["initial_h"], noBias: true },
  { name: "lstm_no_bias_peepholes", op: "LSTM", with: ["P", "initial_c"], noBias: true },
];

const GATES: Record<Op, number> = { RNN: 1, GRU: 3, LSTM: 4 };

/** mulberry32: the same cases on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Dense {
  readonly dims: number[];
  readonly data: Float32Array | Int32Array;
}

function uniform(next: () => number, dims: number[], scale: number): Dense {
  const count = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Float32Array.from({ length: count }, () => (next() * 2 - 1) * scale) };
}

function attributeProto(name: string, value: Attribute) {
  const bytes = (s: string) => new TextEncoder().encode(s);
  if (typeof value === "string") return { name, type: ATTRIBUTE_TYPES.STRING, s: bytes(value) };
  if (typeof value === "number") return Number.isInteger(value) && name !== "clip" ? { name, type: ATTRIBUTE_TYPES.INT, i: value } : { name, type: ATTRIBUTE_TYPES.FLOAT, f: value };
  if (value.length > 0 && typeof value[0] === "string") return { name, type: ATTRIBUTE_TYPES.STRINGS, strings: (value as string[]).map(bytes) };
  return { name, type: ATTRIBUTE_TYPES.FLOATS, floats: value as number[] };
}

function valueInfo(name: string, dims: number[], elemType: number = TENSOR_TYPES.FLOAT) {
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } };
}

/** Little-endian bytes of a float32 tensor. */
function float32Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, k) => view.setFloat32(k * 4, v, true));
  return out;
}

/** Swaps the first two axes of a tensor of any rank ≥ 2. */
function swapLeading(t: Dense): Dense {
  const [a, b, ...rest] = t.dims as [number, number, ...number[]];
  const inner = rest.reduce((x, y) => x * y, 1);
  const data = new (t.data.constructor as Float32ArrayConstructor)(t.data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) data.set(t.data.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return { dims: [b, a, ...rest], data };
}

/** Y from layout 0 [T, D, B, H] to layout 1 [B, T, D, H]. */
function yToLayout1(t: Dense): Dense {
  const [steps, directions, batch, hidden] = t.dims as [number, number, number, number];
  const data = new Float32Array(t.data.length);
  for (let s = 0; s < steps; s++) {
    for (let d = 0; d < directions; d++) {
      for (let b = 0; b < batch; b++) data.set(t.data.subarray(((s * directions + d) * batch + b) * hidden, ((s * directions + d) * batch + b + 1) * hidden), ((b * steps + s) * directions + d) * hidden);
    }
  }
  return { dims: [batch, steps, directions, hidden], data };
}

interface BuiltCase {
  readonly model: Record<string, unknown>;
  readonly feeds: Record<string, Dense>;
  readonly externalFile?: { readonly name: string; readonly bytes: Uint8Array };
}

function buildCase(spec: CaseSpec, seed: number, layout: 0 | 1): BuiltCase {
  const next = random(seed);
  const directions = spec.attributes?.direction === "bidirectional" ? 2 : 1;
  const G = GATES[spec.op];
  const scale = spec.weightScale ?? 0.6;
  const weights: Record<string, Dense> = {
    W: uniform(next, [directions, G * H, I], scale),
    R: uniform(next, [directions, G * H, H], scale),
    B: uniform(next, [directions, 2 * G * H], scale),
  };
  if (spec.noBias) delete weights["B"];
  if (spec.with?.includes("P")) weights["P"] = uniform(next, [directions, 3 * H], scale);
  const feeds: Record<string, Dense> = { X: uniform(next, [T, B, I], 1.5) };
  if (spec.with?.includes("sequence_lens")) feeds["sequence_lens"] = { dims: [B], data: Int32Array.from({ length: B }, (_, b) => [T, 2, 4][b % 3]!) };
  if (spec.with?.includes("initial_h")) feeds["initial_h"] = uniform(next, [directions, B, H], 0.8);
  if (spec.with?.includes("initial_c")) feeds["initial_c"] = uniform(next, [directions, B, H], 0.8);
  const stateFeeds = layout === 1 ? ["X", "initial_h", "initial_c"] : [];
  for (const name of stateFeeds) if (feeds[name]) feeds[name] = swapLeading(feeds[name]!);

  const externalBytes: Uint8Array[] = [];
  let externalOffset = 0;
  const externalName = `${spec.name}.weights.bin`;
  const initializer = (name: string, t: Dense, k: number) => {
    const base = { name, dims: t.dims, data_type: TENSOR_TYPES.FLOAT };
    if (spec.external && name !== "P") {
      const bytes = float32Bytes(t.data as Float32Array);
      externalBytes.push(bytes);
      const entry = { ...base, data_location: 1, external_data: [{ key: "location", value: externalName }, { key: "offset", value: String(externalOffset) }, { key: "length", value: String(bytes.length) }] };
      externalOffset += bytes.length;
      return entry;
    }
    // Alternate the two in-file encodings, so both are read.
    return k % 2 === 0 ? { ...base, raw_data: float32Bytes(t.data as Float32Array) } : { ...base, float_data: Array.from(t.data) };
  };
  const inputOrder = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"];
  const nodeInputs = inputOrder.map((n) => (n in feeds || n in weights ? n : ""));
  while (nodeInputs[nodeInputs.length - 1] === "") nodeInputs.pop();
  const outputs = spec.op === "LSTM" ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
  const attributes = { hidden_size: H, ...spec.attributes, ...(layout === 1 ? { layout: 1 } : {}) };
  const yDims = layout === 0 ? [T, directions, B, H] : [B, T, directions, H];
  const stateDims = layout === 0 ? [directions, B, H] : [B, directions, H];
  const model = {
    ir_version: 8,
    producer_name: "lstmc scripts/make-onnx-cases.ts",
    opset_import: [{ domain: "", version: 14 }],
    graph: {
      name: spec.name,
      node: [{ name: `${spec.op.toLowerCase()}_node`, op_type: spec.op, input: nodeInputs, output: outputs, attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)) }],
      initializer: Object.entries(weights).map(([name, t], k) => initializer(name, t, k)),
      input: Object.entries(feeds).map(([name, t]) => valueInfo(name, t.dims, name === "sequence_lens" ? TENSOR_TYPES.INT32 : TENSOR_TYPES.FLOAT)),
      output: outputs.map((name) => valueInfo(name, name === "Y" ? yDims : stateDims)),
    },
  };
  const externalFile = spec.external ? { name: externalName, bytes: Uint8Array.from(externalBytes.flatMap((b) => Array.from(b))) } : undefined;
  return { model, feeds, externalFile };
}

function plainTensor(t: Dense) {
  return { dims: t.dims, data: Array.from(t.data) };
}

/** onnxruntime's outputs for the model file at `path`. */
async function runOnnxruntime(path: string, feeds: Record<string, Dense>): Promise<Record<string, Dense>> {
  const session = await ort.InferenceSession.create(path);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.data instanceof Int32Array ? "int32" : "float32", t.data, t.dims)]));
  const results = await session.run(inputs);
  return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, { dims: [...t.dims].map(Number), data: t.data as Float32Array }]));
}

function writeCase(dir: string, spec: CaseSpec, built: BuiltCase): string {
  const file = join(dir, `${spec.name}.onnx`);
  writeFileSync(file, encodeModelProto(built.model));
  if (built.externalFile) writeFileSync(join(dir, built.externalFile.name), built.externalFile.bytes);
  return file;
}

async function main(): Promise<void> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  const scratch = join(OUT_DIR, ".layout0");
  const manifest: Record<string, { op: Op }> = {};
  for (const [k, spec] of CASES.entries()) {
    const seed = 1000 + k;
    const built = buildCase(spec, seed, spec.layout1 ? 1 : 0);
    const file = writeCase(OUT_DIR, spec, built);
    let expected: Record<string, Dense>;
    if (spec.layout1) {
      // onnxruntime refuses layout = 1: run the same weights and feeds as layout 0, then transpose.
      mkdirSync(scratch, { recursive: true });
      const layout0 = buildCase(spec, seed, 0);
      const outputs = await runOnnxruntime(writeCase(scratch, spec, layout0), layout0.feeds);
      expected = Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, name === "Y" ? yToLayout1(t) : swapLeading(t)]));
    } else {
      expected = await runOnnxruntime(file, built.feeds);
    }
    writeFileSync(join(OUT_DIR, `${spec.name}.feeds.json`), `${JSON.stringify(Object.fromEntries(Object.entries(built.feeds).map(([n, t]) => [n, Array.from(t.data)])))}\n`);
    writeFileSync(join(OUT_DIR, `${spec.name}.expected.json`), `${JSON.stringify(Object.fromEntries(Object.entries(expected).map(([n, t]) => [n, plainTensor(t)])))}\n`);
    manifest[spec.name] = { op: spec.op };
  }
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(join(OUT_DIR, "cases.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${CASES.length} cases to ${OUT_DIR} (${readdirSync(OUT_DIR).length} files)`);
}

await main();
