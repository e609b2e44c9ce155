// Maps ONNX RNN / GRU / LSTM operators (one direction) onto the spec library in
// specs/: weights become the specs' named parameters, and X, initial_h,
// initial_c, Y, Y_h, Y_c are converted between ONNX layouts and the time-major
// [steps, batch, n] layout of `lstmc run`. Pure functions over plain data.
// Gate block orders along the G·H axis: LSTM i,o,f,c; peepholes i,o,f; GRU z,r,h.
// What the library cannot express is rejected with an AdapterError.

/** A dense tensor: `data` is flat and row-major. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export type NamedParams = Record<string, Float64Array>;

/** Weights or attributes that the library's cells cannot take (used by every adapter). */
export class AdapterError extends Error {}

// --- Gate blocks (shared with the PyTorch adapter) -------------------------

/** Splits a [G·H, n] matrix (or a [G·H] vector, n = 1) into G row blocks of [H, n]. */
export function splitGateBlocks(data: ArrayLike<number>, gateCount: number, hiddenSize: number, field: string): Float64Array[] {
  const blockLength = data.length / gateCount;
  if (!Number.isInteger(blockLength) || blockLength % hiddenSize !== 0) {
    throw new AdapterError(`${field} has ${data.length} numbers, not a multiple of ${gateCount}·hidden_size (${gateCount * hiddenSize})`);
  }
  return Array.from({ length: gateCount }, (_, g) => Float64Array.from({ length: blockLength }, (_, k) => data[g * blockLength + k]!));
}

/** Stacks gate blocks end to end: the inverse of splitGateBlocks. */
export function stackGateBlocks(blocks: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

/** Elementwise a + b. */
export function addVectors(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! + b[i]!);
}

/** Elementwise -a. */
export function negateVector(a: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => -a[i]!);
}

/** Names each block: names[g] receives blocks[g]. */
function nameBlocks(names: readonly string[], blocks: readonly Float64Array[]): NamedParams {
  return Object.fromEntries(names.map((name, g) => [name, blocks[g]!]));
}

/** params[name], or an AdapterError naming it. */
export function requireParam(params: NamedParams, name: string): Float64Array {
  const value = params[name];
  if (!value) throw new AdapterError(`parameter ${name} is missing`);
  return value;
}

// --- ONNX weights: W [1, G·H, I], R [1, G·H, H], B [1, 2·G·H], P [1, 3·H] ----

export interface OnnxWeights {
  readonly W: Tensor;
  readonly R: Tensor;
  /** [Wb ‖ Rb]; absent means zeros. */
  readonly B?: Tensor;
}

export interface OnnxLstmWeights extends OnnxWeights {
  /** Peepholes in order i, o, f; absent means no peepholes (lstm.lstm). */
  readonly P?: Tensor;
}

function oneDirection(tensor: Tensor, field: string): ArrayLike<number> {
  if (tensor.shape[0] !== 1) throw new AdapterError(`${field} has ${tensor.shape[0]} directions; only one direction is supported`);
  return tensor.data;
}

/** The Wb and Rb blocks of B (zeros when B is absent), each split into G gates. */
function biasBlocks(weights: OnnxWeights, gateCount: number, hiddenSize: number): { wb: Float64Array[]; rb: Float64Array[] } {
  if (!weights.B) {
    const zeros = () => Array.from({ length: gateCount }, () => new Float64Array(hiddenSize));
    return { wb: zeros(), rb: zeros() };
  }
  const both = splitGateBlocks(oneDirection(weights.B, "B"), 2 * gateCount, hiddenSize, "B");
  return { wb: both.slice(0, gateCount), rb: both.slice(gateCount) };
}

function matrixBlocks(weights: OnnxWeights, gateCount: number, hiddenSize: number): { w: Float64Array[]; r: Float64Array[] } {
  return {
    w: splitGateBlocks(oneDirection(weights.W, "W"), gateCount, hiddenSize, "W"),
    r: splitGateBlocks(oneDirection(weights.R, "R"), gateCount, hiddenSize, "R"),
  };
}

const LSTM_GATES = ["i", "o", "f", "g"] as const;
const PEEPHOLE_GATES = ["i", "o", "f"] as const;

/** ONNX LSTM weights -> lstm.lstm's parameters, plus p_i, p_o, p_f (peephole.lstm) when P is given. */
export function lstmParamsFromOnnx(weights: OnnxLstmWeights, hiddenSize: number): NamedParams {
  const { w, r } = matrixBlocks(weights, 4, hiddenSize);
  const { wb, rb } = biasBlocks(weights, 4, hiddenSize);
  const params: NamedParams = {
    ...nameBlocks(LSTM_GATES.map((k) => `W_${k}`), w),
    ...nameBlocks(LSTM_GATES.map((k) => `U_${k}`), r),
    ...nameBlocks(LSTM_GATES.map((k) => `b_${k}`), wb.map((b, g) => addVectors(b, rb[g]!))),
  };
  if (weights.P) Object.assign(params, nameBlocks(PEEPHOLE_GATES.map((k) => `p_${k}`), splitGateBlocks(oneDirection(weights.P, "P"), 3, hiddenSize, "P")));
  return params;
}

/** lstm.lstm or peephole.lstm parameters -> ONNX LSTM weights (the whole bias goes to Wb; P only if the cell has peepholes). */
export function lstmParamsToOnnx(params: NamedParams, hiddenSize: number, inputSize: number): Required<OnnxWeights> & OnnxLstmWeights {
  const gate = (prefix: string) => LSTM_GATES.map((k) => requireParam(params, `${prefix}_${k}`));
  const weights = {
    W: { shape: [1, 4 * hiddenSize, inputSize], data: stackGateBlocks(gate("W")) },
    R: { shape: [1, 4 * hiddenSize, hiddenSize], data: stackGateBlocks(gate("U")) },
    B: { shape: [1, 8 * hiddenSize], data: stackGateBlocks([...gate("b"), new Float64Array(4 * hiddenSize)]) },
  };
  if (params["p_i"] === undefined) return weights;
  return { ...weights, P: { shape: [1, 3 * hiddenSize], data: stackGateBlocks(PEEPHOLE_GATES.map((k) => requireParam(params, `p_${k}`))) } };
}

/**
 * ONNX GRU weights -> the library's GRU parameters. linear_before_reset = 1 gives
 * gru_cudnn.lstm (b_n = Wbh, b_hn = Rbh). linear_before_reset = 0 gives gru.lstm,
 * whose z weighs the new candidate where ONNX's z weighs the old state: since
 * 1 - σ(a) = σ(-a), the z gate's weights and bias change sign.
 */
export function gruParamsFromOnnx(weights: OnnxWeights, hiddenSize: number, linearBeforeReset: boolean): NamedParams {
  const { w, r } = matrixBlocks(weights, 3, hiddenSize);
  const { wb, rb } = biasBlocks(weights, 3, hiddenSize);
  const [wz, wr, wh] = w as [Float64Array, Float64Array, Float64Array];
  const [rz, rr, rh] = r as [Float64Array, Float64Array, Float64Array];
  const bz = addVectors(wb[0]!, rb[0]!);
  const br = addVectors(wb[1]!, rb[1]!);
  if (linearBeforeReset) {
    return { W_z: wz, U_z: rz, b_z: bz, W_r: wr, U_r: rr, b_r: br, W_n: wh, U_n: rh, b_n: wb[2]!, b_hn: rb[2]! };
  }
  return { W_z: negateVector(wz), U_z: negateVector(rz), b_z: negateVector(bz), W_r: wr, U_r: rr, b_r: br, W_h: wh, U_h: rh, b_h: addVectors(wb[2]!, rb[2]!) };
}

/** gru_cudnn.lstm (linear_before_reset = 1) or gru.lstm (= 0) parameters -> ONNX GRU weights; the bias goes to Wb except b_hn. */
export function gruParamsToOnnx(params: NamedParams, hiddenSize: number, inputSize: number, linearBeforeReset: boolean): Required<OnnxWeights> {
  const p = (name: string) => requireParam(params, name);
  const zero = new Float64Array(hiddenSize);
  const [w, u, b, bh] = linearBeforeReset
    ? [[p("W_z"), p("W_r"), p("W_n")], [p("U_z"), p("U_r"), p("U_n")], [p("b_z"), p("b_r"), p("b_n")], p("b_hn")]
    : [[negateVector(p("W_z")), p("W_r"), p("W_h")], [negateVector(p("U_z")), p("U_r"), p("U_h")], [negateVector(p("b_z")), p("b_r"), p("b_h")], zero];
  return {
    W: { shape: [1, 3 * hiddenSize, inputSize], data: stackGateBlocks(w) },
    R: { shape: [1, 3 * hiddenSize, hiddenSize], data: stackGateBlocks(u) },
    B: { shape: [1, 6 * hiddenSize], data: stackGateBlocks([...b, zero, zero, bh]) },
  };
}

/** ONNX RNN weights -> rnn.lstm's parameters (b = Wb + Rb). */
export function rnnParamsFromOnnx(weights: OnnxWeights, hiddenSize: number): NamedParams {
  const { w, r } = matrixBlocks(weights, 1, hiddenSize);
  const { wb, rb } = biasBlocks(weights, 1, hiddenSize);
  return { W: w[0]!, U: r[0]!, b: addVectors(wb[0]!, rb[0]!) };
}

/** rnn.lstm parameters -> ONNX RNN weights (the whole bias goes to Wb). */
export function rnnParamsToOnnx(params: NamedParams, hiddenSize: number, inputSize: number): Required<OnnxWeights> {
  return {
    W: { shape: [1, hiddenSize, inputSize], data: Float64Array.from(requireParam(params, "W")) },
    R: { shape: [1, hiddenSize, hiddenSize], data: Float64Array.from(requireParam(params, "U")) },
    B: { shape: [1, 2 * hiddenSize], data: stackGateBlocks([requireParam(params, "b"), new Float64Array(hiddenSize)]) },
  };
}

// --- Sequences and states ----------------------------------------------------

export type OnnxLayout = 0 | 1;

/** Swaps the first two axes of a [a, b, n] tensor. */
function swapLeadingAxes(data: ArrayLike<number>, a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(a * b * n);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < n; k++) out[(j * a + i) * n + k] = data[(i * b + j) * n + k]!;
  return out;
}

export interface TimeMajorSequence {
  readonly steps: number;
  readonly batch: number;
  readonly inputSize: number;
  /** [steps, batch, inputSize] */
  readonly data: Float64Array;
}

/** ONNX X ([T, B, I] for layout 0, [B, T, I] for layout 1) -> time-major [T, B, I]. */
export function timeMajorFromOnnxX(X: Tensor, layout: OnnxLayout): TimeMajorSequence {
  if (X.shape.length !== 3) throw new AdapterError(`X must have 3 axes, got shape [${X.shape.join(", ")}]`);
  const [first, second, inputSize] = X.shape as [number, number, number];
  if (layout === 0) return { steps: first, batch: second, inputSize, data: Float64Array.from(X.data) };
  return { steps: second, batch: first, inputSize, data: swapLeadingAxes(X.data, first, second, inputSize) };
}

/** ONNX initial_h / initial_c ([1, B, H] for layout 0, [B, 1, H] for layout 1) -> [B, H]; absent means zeros. */
export function batchStateFromOnnx(state: Tensor | undefined, layout: OnnxLayout, batch: number, hiddenSize: number, field: string): Float64Array {
  if (!state) return new Float64Array(batch * hiddenSize);
  const expected = layout === 0 ? [1, batch, hiddenSize] : [batch, 1, hiddenSize];
  if (state.shape.join() !== expected.join()) throw new AdapterError(`${field} has shape [${state.shape.join(", ")}], expected [${expected.join(", ")}]`);
  // With one direction both layouts hold the same [B, H] numbers.
  return Float64Array.from(state.data);
}

/** Time-major [T, B, H] hidden states -> ONNX Y ([T, 1, B, H] for layout 0, [B, T, 1, H] for layout 1). */
export function onnxYFromTimeMajor(hiddenSequence: ArrayLike<number>, steps: number, batch: number, hiddenSize: number, layout: OnnxLayout): Tensor {
  if (layout === 0) return { shape: [steps, 1, batch, hiddenSize], data: Float64Array.from(hiddenSequence) };
  return { shape: [batch, steps, 1, hiddenSize], data: swapLeadingAxes(hiddenSequence, steps, batch, hiddenSize) };
}

/** A final [B, H] state -> ONNX Y_h / Y_c ([1, B, H] for layout 0, [B, 1, H] for layout 1). */
export function onnxStateFromBatch(state: ArrayLike<number>, batch: number, hiddenSize: number, layout: OnnxLayout): Tensor {
  return { shape: layout === 0 ? [1, batch, hiddenSize] : [batch, 1, hiddenSize], data: Float64Array.from(state) };
}

// --- Whole nodes -------------------------------------------------------------

export type OnnxRecurrentOp = "RNN" | "GRU" | "LSTM";

/** The node's attributes as set (missing or null ones take ONNX's defaults). */
export interface OnnxRecurrentAttributes {
  readonly hidden_size: number;
  readonly direction?: string | null;
  readonly activations?: readonly string[] | null;
  readonly clip?: number | null;
  readonly layout?: number | null;
  readonly input_forget?: number | null;
  readonly linear_before_reset?: number | null;
}

export interface OnnxRecurrentNode {
  readonly op: OnnxRecurrentOp;
  readonly attributes: OnnxRecurrentAttributes;
  /** By ONNX input name: X, W, R, B, sequence_lens, initial_h, initial_c, P. */
  readonly inputs: Readonly<Record<string, Tensor | undefined>>;
}

/** A node expressed as one of the library's cells, in `lstmc run`'s terms. */
export interface AdaptedOnnxRun {
  /** The library spec that computes the node, a file in specs/. */
  readonly specFile: string;
  readonly dims: { readonly I: number; readonly H: number };
  readonly batch: number;
  readonly steps: number;
  readonly layout: OnnxLayout;
  readonly params: NamedParams;
  readonly inputs: { readonly x: Float64Array };
  readonly initial: NamedParams;
}

const GATE_COUNT: Record<OnnxRecurrentOp, number> = { RNN: 1, GRU: 3, LSTM: 4 };

const DEFAULT_ACTIVATIONS: Record<OnnxRecurrentOp, readonly string[]> = {
  RNN: ["tanh"],
  GRU: ["sigmoid", "tanh"],
  LSTM: ["sigmoid", "tanh", "tanh"],
};

/** Throws for every attribute value the library's cells cannot compute. */
function rejectUnsupported(op: OnnxRecurrentOp, attributes: OnnxRecurrentAttributes): void {
  const direction = attributes.direction ?? "forward";
  if (direction !== "forward") throw new AdapterError(`${op} direction '${direction}' is not supported (only 'forward')`);
  if (attributes.clip !== undefined && attributes.clip !== null) throw new AdapterError(`${op} clip = ${attributes.clip} is not supported (the cells do not clamp pre-activations)`);
  const activations = attributes.activations?.map((a) => a.toLowerCase());
  if (activations && activations.join() !== DEFAULT_ACTIVATIONS[op].join()) {
    throw new AdapterError(`${op} activations [${attributes.activations!.join(", ")}] are not supported (only the defaults)`);
  }
  if (op === "LSTM" && (attributes.input_forget ?? 0) !== 0) throw new AdapterError("LSTM input_forget = 1 is not supported");
  const layout = attributes.layout ?? 0;
  if (layout !== 0 && layout !== 1) throw new AdapterError(`${op} layout = ${layout} is not 0 or 1`);
}

/** Throws unless every sequence length is the full sequence. */
function rejectShortSequences(sequenceLengths: Tensor | undefined, steps: number): void {
  if (!sequenceLengths) return;
  const lengths = Array.from(sequenceLengths.data);
  if (lengths.some((length) => length !== steps)) {
    throw new AdapterError(`sequence_lens [${lengths.join(", ")}] differ from seq_length ${steps}; only full-length sequences are supported`);
  }
}

function requireInput(node: OnnxRecurrentNode, name: string): Tensor {
  const tensor = node.inputs[name];
  if (!tensor) throw new AdapterError(`${node.op} input ${name} is missing`);
  return tensor;
}

/** An ONNX RNN / GRU / LSTM node with its inputs -> the library spec, parameters, input sequence and initial states. */
export function adaptOnnxRecurrentNode(node: OnnxRecurrentNode): AdaptedOnnxRun {
  const { op, attributes } = node;
  rejectUnsupported(op, attributes);
  const layout = (attributes.layout ?? 0) as OnnxLayout;
  const hiddenSize = attributes.hidden_size;
  const x = timeMajorFromOnnxX(requireInput(node, "X"), layout);
  rejectShortSequences(node.inputs["sequence_lens"], x.steps);
  const weights: OnnxLstmWeights = { W: requireInput(node, "W"), R: requireInput(node, "R"), B: node.inputs["B"], P: node.inputs["P"] };
  const [, gateRows, inputSize] = weights.W.shape;
  if (gateRows !== GATE_COUNT[op] * hiddenSize) throw new AdapterError(`W has ${gateRows} rows, but ${op} with hidden_size ${hiddenSize} needs ${GATE_COUNT[op] * hiddenSize}`);
  if (inputSize !== x.inputSize) throw new AdapterError(`W has input size ${inputSize}, but X has ${x.inputSize}`);
  const initialH = batchStateFromOnnx(node.inputs["initial_h"], layout, x.batch, hiddenSize, "initial_h");
  const common = { dims: { I: x.inputSize, H: hiddenSize }, batch: x.batch, steps: x.steps, layout, inputs: { x: x.data } };
  switch (op) {
    case "RNN":
      return { ...common, specFile: "rnn.lstm", params: rnnParamsFromOnnx(weights, hiddenSize), initial: { h: initialH } };
    case "GRU": {
      const linearBeforeReset = (attributes.linear_before_reset ?? 0) !== 0;
      return {
        ...common,
        specFile: linearBeforeReset ? "gru_cudnn.lstm" : "gru.lstm",
        params: gruParamsFromOnnx(weights, hiddenSize, linearBeforeReset),
        initial: { h: initialH },
      };
    }
    case "LSTM": {
      const initialC = batchStateFromOnnx(node.inputs["initial_c"], layout, x.batch, hiddenSize, "initial_c");
      return {
        ...common,
        specFile: weights.P ? "peephole.lstm" : "lstm.lstm",
        params: lstmParamsFromOnnx(weights, hiddenSize),
        initial: { h: initialH, c: initialC },
      };
    }
  }
}

/** A run's time-major hidden sequence and final states -> ONNX's Y, Y_h and (for LSTM) Y_c. */
export function onnxOutputsFromRun(
  run: Pick<AdaptedOnnxRun, "batch" | "steps" | "layout" | "dims">,
  hiddenSequence: ArrayLike<number>,
  final: Readonly<Record<string, ArrayLike<number>>>,
): Record<string, Tensor> {
  const { batch, steps, layout } = run;
  const hiddenSize = run.dims.H;
  const outputs: Record<string, Tensor> = {
    Y: onnxYFromTimeMajor(hiddenSequence, steps, batch, hiddenSize, layout),
    Y_h: onnxStateFromBatch(final["h"]!, batch, hiddenSize, layout),
  };
  if (final["c"]) outputs["Y_c"] = onnxStateFromBatch(final["c"], batch, hiddenSize, layout);
  return outputs;
}
