// Runs an imported ONNX graph the way onnxruntime does: feeds keyed by the
// graph's input names, outputs keyed by its output names with ONNX's shapes.
// Each node's direction runs as its own cell (src/onnx/cell.ts), one batch row
// at a time over that row's valid steps (reversed for the reverse direction),
// so sequence_lens needs nothing from the cell; Y is zero past a row's end.
import { timeMajorFromOnnxX, type Tensor, type TimeMajorSequence } from "../adapters/onnx.ts";
import type { ForwardResult, Sequence } from "../interp/interpret.ts";
import { cellParams, cellSpecText, nodeConfig, type DirectionCell, type NodeConfig } from "./cell.ts";
import { OnnxError, type DeclaredDim, type OnnxModel, type RecurrentNode, type ValueInfo } from "./model.ts";

/** Runs one cell's spec text on a sequence with sizes I and H (an engine over the interpreter or generated code). */
export type CellRunner = (specText: string, sizes: { readonly I: number; readonly H: number }, sequence: Sequence) => Promise<ForwardResult>;

// --- Feeds -----------------------------------------------------------------------

/** A nested array's shape and flat numbers; an OnnxError when it is ragged or holds a non-number. */
function flattenNested(value: unknown, field: string): Tensor {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const data: number[] = [];
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth === shape.length) {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new OnnxError(`feed ${at} must be a finite number, got ${JSON.stringify(v)}`);
      data.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new OnnxError(`feed ${at} must be an array of ${shape[depth]} (the arrays are ragged)`);
    v.forEach((x, i) => walk(x, depth + 1, `${at}[${i}]`));
  };
  walk(value, 0, field);
  return { shape, data: Float64Array.from(data) };
}

/** The declared shape with its one unknown dimension (if any) inferred from the number count. */
function shapeForFlat(declared: readonly DeclaredDim[], count: number, name: string): number[] {
  const known = declared.filter((d): d is number => typeof d === "number").reduce((a, b) => a * b, 1);
  const unknown = declared.filter((d) => typeof d !== "number").length;
  if (unknown > 1) throw new OnnxError(`feed '${name}' is flat, but its declared shape [${declared.join(", ")}] has ${unknown} unknown dimensions: give it as nested arrays`);
  if (unknown === 1 && (known === 0 || count % known !== 0)) throw new OnnxError(`feed '${name}' has ${count} numbers, which do not fill its declared shape [${declared.join(", ")}]`);
  return declared.map((d) => (typeof d === "number" ? d : count / known));
}

/** One feed: flat row-major (shaped by the declared input) or nested arrays, checked against the declared shape. */
function readFeed(input: ValueInfo, value: unknown): Tensor {
  const tensor = flattenNested(value, input.name);
  const declared = input.shape;
  if (tensor.shape.length === 1 && declared && declared.length !== 1) return { shape: shapeForFlat(declared, tensor.data.length, input.name), data: tensor.data };
  if (declared && (declared.length !== tensor.shape.length || declared.some((d, i) => typeof d === "number" && d !== tensor.shape[i]))) {
    throw new OnnxError(`feed '${input.name}' has shape [${tensor.shape.join(", ")}], but the graph declares [${declared.map((d) => d ?? "?").join(", ")}]`);
  }
  return tensor;
}

/** The feeds JSON -> tensors by input name: every graph input once, nothing else. */
export function readFeeds(model: OnnxModel, json: unknown): Record<string, Tensor> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new OnnxError("the feeds must be a JSON object keyed by the graph's input names");
  const names = model.inputs.map((i) => i.name);
  for (const key of Object.keys(json)) if (!names.includes(key)) throw new OnnxError(`feed '${key}' is not an input of the graph (its inputs: ${names.join(", ") || "none"})`);
  return Object.fromEntries(
    model.inputs.map((input) => {
      if (!Object.hasOwn(json, input.name)) throw new OnnxError(`the feeds have no '${input.name}', an input of the graph`);
      return [input.name, readFeed(input, (json as Record<string, unknown>)[input.name])];
    }),
  );
}

// --- Running -----------------------------------------------------------------

/** Direction d's [B, H] slice of an initial state ([D, B, H] for layout 0, [B, D, H] for layout 1); zeros when absent. */
function initialState(state: Tensor | undefined, d: number, directions: number, batch: number, hiddenSize: number, layout: 0 | 1, field: string): Float64Array {
  const out = new Float64Array(batch * hiddenSize);
  if (!state) return out;
  const expected = layout === 0 ? [directions, batch, hiddenSize] : [batch, directions, hiddenSize];
  if (state.shape.join() !== expected.join()) throw new OnnxError(`${field} has shape [${state.shape.join(", ")}], expected [${expected.join(", ")}]`);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < hiddenSize; k++) out[b * hiddenSize + k] = state.data[(layout === 0 ? d * batch + b : b * directions + d) * hiddenSize + k]!;
  }
  return out;
}

function sequenceLengths(tensor: Tensor | undefined, steps: number, batch: number): number[] {
  if (!tensor) return Array.from({ length: batch }, () => steps);
  if (tensor.data.length !== batch) throw new OnnxError(`sequence_lens has ${tensor.data.length} entries, but the batch has ${batch} rows`);
  return Array.from(tensor.data, (n, b) => {
    if (!Number.isInteger(n) || n < 1 || n > steps) throw new OnnxError(`sequence_lens[${b}] is ${n}; it must be a whole number from 1 to seq_length (${steps})`);
    return n;
  });
}

interface NodeRun {
  readonly config: NodeConfig;
  readonly steps: number;
  readonly batch: number;
  /** Per direction: [T, B, H] hidden sequence (zero past each row's end), final h and (LSTM) c as [B, H]. */
  readonly hidden: Float64Array[];
  readonly finalH: Float64Array[];
  readonly finalC: Float64Array[];
}

/** The tensor a node input names, from the feeds or the initializers. */
function resolver(model: OnnxModel, feeds: Readonly<Record<string, Tensor>>, node: RecurrentNode) {
  return (slot: keyof RecurrentNode["inputs"]): Tensor | undefined => {
    const name = node.inputs[slot];
    if (name === undefined) return undefined;
    const tensor = Object.hasOwn(feeds, name) ? feeds[name] : Object.hasOwn(model.initializers, name) ? model.initializers[name] : undefined;
    if (!tensor) throw new OnnxError(`node '${node.name}' reads '${name}' as ${slot}, which is neither a graph input nor an initializer`);
    return tensor;
  };
}

/** Row b's [n, 1, I] inputs over its valid steps, in the order the direction visits them. */
function rowInputs(x: Float64Array, b: number, batch: number, inputSize: number, length: number, reverse: boolean): Float64Array {
  const out = new Float64Array(length * inputSize);
  for (let k = 0; k < length; k++) {
    const t = reverse ? length - 1 - k : k;
    out.set(x.subarray((t * batch + b) * inputSize, (t * batch + b + 1) * inputSize), k * inputSize);
  }
  return out;
}

async function runNode(model: OnnxModel, feeds: Readonly<Record<string, Tensor>>, node: RecurrentNode, index: number, runCell: CellRunner): Promise<NodeRun> {
  const config = nodeConfig(node, `${model.graphName}_${index}`);
  const input = resolver(model, feeds, node);
  const require = (slot: "X" | "W" | "R") => {
    const tensor = input(slot);
    if (!tensor) throw new OnnxError(`node '${node.name}' has no input ${slot}`);
    return tensor;
  };
  const x = timeMajorFromOnnxX(require("X"), config.layout);
  const { hiddenSize: H, layout } = config;
  const directions = config.cells.length;
  const weights = { W: require("W"), R: require("R"), B: input("B"), P: input("P") };
  if (weights.W.shape[2] !== x.inputSize) throw new OnnxError(`node '${node.name}': W has input size ${weights.W.shape[2]}, but X has ${x.inputSize}`);
  const lengths = sequenceLengths(input("sequence_lens"), x.steps, x.batch);
  const runs = await Promise.all(
    config.cells.map((cell, d) =>
      runDirection(
        {
          cell,
          text: cellSpecText(cell, x.inputSize, H, "an ONNX graph"),
          params: cellParams(cell, weights, d, directions, H),
          initialH: initialState(input("initial_h"), d, directions, x.batch, H, layout, "initial_h"),
          initialC: initialState(input("initial_c"), d, directions, x.batch, H, layout, "initial_c"),
        },
        x,
        lengths,
        runCell,
      ),
    ),
  );
  return { config, steps: x.steps, batch: x.batch, hidden: runs.map((r) => r.hidden), finalH: runs.map((r) => r.h), finalC: runs.map((r) => r.c) };
}

/** One direction of a node, ready to run: its cell, spec text, parameters and [B, H] initial states. */
interface DirectionInputs {
  readonly cell: DirectionCell;
  readonly text: string;
  readonly params: Readonly<Record<string, Float64Array>>;
  readonly initialH: Float64Array;
  readonly initialC: Float64Array;
}

/** Runs each batch row over its own valid steps; the [T, B, H] hidden sequence (zeros past each row's end) and final states. */
async function runDirection(
  direction: DirectionInputs,
  x: TimeMajorSequence,
  lengths: readonly number[],
  runCell: CellRunner,
): Promise<{ hidden: Float64Array; h: Float64Array; c: Float64Array }> {
  const { cell, text, params } = direction;
  const H = direction.initialH.length / x.batch;
  const hidden = new Float64Array(x.steps * x.batch * H);
  const h = new Float64Array(x.batch * H);
  const c = new Float64Array(x.batch * H);
  for (let b = 0; b < x.batch; b++) {
    const length = lengths[b]!;
    const row = (state: Float64Array) => state.slice(b * H, (b + 1) * H);
    const initial: Record<string, Float64Array> = cell.op === "LSTM" ? { h: row(direction.initialH), c: row(direction.initialC) } : { h: row(direction.initialH) };
    const result = await runCell(text, { I: x.inputSize, H }, { batch: 1, steps: length, params, inputs: { x: rowInputs(x.data, b, x.batch, x.inputSize, length, cell.reverse) }, initial });
    const out = result.outputs["h"]!;
    for (let k = 0; k < length; k++) {
      const t = cell.reverse ? length - 1 - k : k;
      hidden.set(out.subarray(k * H, (k + 1) * H), (t * x.batch + b) * H);
    }
    h.set(result.final["h"]!, b * H);
    if (result.final["c"]) c.set(result.final["c"], b * H);
  }
  return { hidden, h, c };
}

/** Y as ONNX lays it out: [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1). */
function yTensor(run: NodeRun): Tensor {
  const { steps: T, batch: B } = run;
  const D = run.hidden.length;
  const H = run.config.hiddenSize;
  const data = new Float64Array(T * D * B * H);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < D; d++) {
      for (let b = 0; b < B; b++) {
        const at = run.config.layout === 0 ? ((t * D + d) * B + b) * H : ((b * T + t) * D + d) * H;
        data.set(run.hidden[d]!.subarray((t * B + b) * H, (t * B + b + 1) * H), at);
      }
    }
  }
  return { shape: run.config.layout === 0 ? [T, D, B, H] : [B, T, D, H], data };
}

/** Y_h or Y_c: [D, B, H] (layout 0) or [B, D, H] (layout 1). */
function stateTensor(run: NodeRun, states: readonly Float64Array[]): Tensor {
  const D = states.length;
  const { batch: B } = run;
  const H = run.config.hiddenSize;
  const data = new Float64Array(D * B * H);
  for (let d = 0; d < D; d++) {
    for (let b = 0; b < B; b++) data.set(states[d]!.subarray(b * H, (b + 1) * H), (run.config.layout === 0 ? d * B + b : b * D + d) * H);
  }
  return { shape: run.config.layout === 0 ? [D, B, H] : [B, D, H], data };
}

/** Every graph output by name, computed from the feeds. */
export async function runOnnxModel(model: OnnxModel, feeds: Readonly<Record<string, Tensor>>, runCell: CellRunner): Promise<Record<string, Tensor>> {
  const values = new Map<string, Tensor>();
  for (const [index, node] of model.nodes.entries()) {
    const run = await runNode(model, feeds, node, index, runCell);
    if (node.outputs.Y) values.set(node.outputs.Y, yTensor(run));
    if (node.outputs.Y_h) values.set(node.outputs.Y_h, stateTensor(run, run.finalH));
    if (node.outputs.Y_c) {
      if (node.op !== "LSTM") throw new OnnxError(`node '${node.name}': ${node.op} has no output Y_c`);
      values.set(node.outputs.Y_c, stateTensor(run, run.finalC));
    }
  }
  return Object.fromEntries(
    model.outputs.map((output) => {
      const value = values.get(output.name) ?? feeds[output.name] ?? model.initializers[output.name];
      if (!value) throw new OnnxError(`graph output '${output.name}' is computed by no LSTM, GRU or RNN node`);
      return [output.name, value];
    }),
  );
}
