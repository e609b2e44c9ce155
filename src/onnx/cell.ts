// One direction of an ONNX LSTM / GRU / RNN node as a cell spec: ONNX's gate
// equations written in the cell language, with each activation (and its
// alpha/beta) and the clip spelled out in the language's own functions, and
// the node's weights sliced into the spec's named parameters. Pure functions.
import { addVectors, splitGateBlocks, type NamedParams, type Tensor } from "../adapters/onnx.ts";
import { OnnxError, type AttributeValue, type RecurrentNode, type RecurrentOp } from "./model.ts";

export interface Activation {
  /** Lower-case ONNX name: sigmoid, tanh, relu, affine, leakyrelu, thresholdedrelu, scaledtanh, hardsigmoid, elu, softsign, softplus. */
  readonly name: string;
  readonly alpha: number;
  readonly beta: number;
}

/** Everything that decides one direction's equations. */
export interface DirectionCell {
  readonly op: RecurrentOp;
  readonly specName: string;
  readonly reverse: boolean;
  readonly activations: readonly Activation[];
  /** The bound on every gate's pre-activation, or null for none. */
  readonly clip: number | null;
  readonly inputForget: boolean;
  readonly linearBeforeReset: boolean;
  readonly peepholes: boolean;
}

const ACTIVATION_COUNT: Record<RecurrentOp, number> = { RNN: 1, GRU: 2, LSTM: 3 };
const DEFAULT_ACTIVATIONS: Record<RecurrentOp, readonly string[]> = { RNN: ["tanh"], GRU: ["sigmoid", "tanh"], LSTM: ["sigmoid", "tanh", "tanh"] };

/**
 * Which of alpha and beta each activation reads from activation_alpha /
 * activation_beta, in order, and its defaults when the lists run out: as
 * onnxruntime does (its NameToArgUsageMap and NameToArgDefaultsMap), so an
 * imported model computes what onnxruntime computes.
 */
const ACTIVATION_ARGUMENTS: Readonly<Record<string, { alpha: number | null; beta: number | null }>> = {
  sigmoid: { alpha: null, beta: null },
  tanh: { alpha: null, beta: null },
  relu: { alpha: null, beta: null },
  softsign: { alpha: null, beta: null },
  softplus: { alpha: null, beta: null },
  affine: { alpha: 0, beta: 0 },
  leakyrelu: { alpha: 0.01, beta: null },
  thresholdedrelu: { alpha: 0, beta: null },
  scaledtanh: { alpha: 0, beta: 0 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  elu: { alpha: 1, beta: null },
};

/** A number as the language reads it; negative ones in brackets so they can follow any operator. */
function literal(value: number): string {
  if (!Number.isFinite(value)) throw new OnnxError(`the activation argument ${value} is not a finite number`);
  return value < 0 ? `(-${String(-value)})` : String(value);
}

/** The activation applied to the variable `x`, in the language. */
function activationText(activation: Activation, x: string): string {
  const a = literal(activation.alpha);
  const b = literal(activation.beta);
  switch (activation.name) {
    case "sigmoid":
      return `σ(${x})`;
    case "tanh":
    case "relu":
    case "softsign":
    case "softplus":
      return `${activation.name}(${x})`;
    case "affine":
      return `${a} * ${x} + ${b}`;
    case "leakyrelu":
      return `relu(${x}) - ${a} * relu(-${x})`;
    case "thresholdedrelu":
      return `where(${x} > ${a}, ${x}, 0)`;
    case "scaledtanh":
      return `${a} * tanh(${b} * ${x})`;
    case "hardsigmoid":
      return `relu(${a} * ${x} + ${b}) - relu(${a} * ${x} + ${b} - 1)`;
    case "elu":
      return `relu(${x}) + ${a} * (exp(-relu(-${x})) - 1)`;
    default:
      throw new OnnxError(`unknown activation '${activation.name}'`);
  }
}

/** Activations written as a sum, which need brackets as a factor. */
const SUM_ACTIVATIONS = new Set(["affine", "leakyrelu", "hardsigmoid", "elu"]);

// --- Attributes ----------------------------------------------------------------

function attribute<T extends AttributeValue>(node: RecurrentNode, name: string, check: (v: AttributeValue) => v is T, what: string): T | undefined {
  const value = node.attributes[name];
  if (value === undefined) return undefined;
  if (!check(value)) throw new OnnxError(`node '${node.name}': attribute ${name} must be ${what}`);
  return value;
}
const isNumber = (v: AttributeValue): v is number => typeof v === "number";
const isNumbers = (v: AttributeValue): v is readonly number[] => Array.isArray(v) && v.every((x) => typeof x === "number");
const isStrings = (v: AttributeValue): v is readonly string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const isString = (v: AttributeValue): v is string => typeof v === "string";

const KNOWN_ATTRIBUTES = new Set(["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "input_forget", "layout", "linear_before_reset"]);

export type Direction = "forward" | "reverse" | "bidirectional";

export interface NodeConfig {
  readonly direction: Direction;
  readonly hiddenSize: number;
  readonly layout: 0 | 1;
  /** One cell per direction: forward first. */
  readonly cells: readonly DirectionCell[];
}

/** A valid identifier from any graph or node name: letters, digits and '_' only, prefixed so it is never reserved. */
function sanitisedName(raw: string, suffix: string): string {
  const body = raw.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
  return `onnx_${body === "" ? "node" : body}${suffix}`;
}

/** The node's attributes, checked, and its cell per direction. */
export function nodeConfig(node: RecurrentNode, fallbackName: string): NodeConfig {
  for (const name of Object.keys(node.attributes)) {
    if (!KNOWN_ATTRIBUTES.has(name) || (name === "input_forget" && node.op !== "LSTM") || (name === "linear_before_reset" && node.op !== "GRU")) {
      throw new OnnxError(`node '${node.name}': ${node.op} has no attribute '${name}'`);
    }
  }
  const hiddenSize = attribute(node, "hidden_size", isNumber, "an integer");
  if (hiddenSize === undefined || !Number.isInteger(hiddenSize) || hiddenSize < 1) throw new OnnxError(`node '${node.name}': hidden_size must be given as a positive integer`);
  const direction = attribute(node, "direction", isString, "a string") ?? "forward";
  if (direction !== "forward" && direction !== "reverse" && direction !== "bidirectional") throw new OnnxError(`node '${node.name}': direction '${direction}' is not forward, reverse or bidirectional`);
  const layout = attribute(node, "layout", isNumber, "an integer") ?? 0;
  if (layout !== 0 && layout !== 1) throw new OnnxError(`node '${node.name}': layout ${layout} is not 0 or 1`);
  const clip = attribute(node, "clip", isNumber, "a float") ?? null;
  if (clip !== null && !(clip > 0)) throw new OnnxError(`node '${node.name}': clip ${clip} must be positive`);
  const directions = direction === "bidirectional" ? 2 : 1;
  const activations = directionActivations(node, directions);
  const base = sanitisedName(node.name === "" ? fallbackName : node.name, "");
  const cells = activations.map((list, d) => ({
    op: node.op,
    specName: directions === 2 ? `${base}_${d === 0 ? "fwd" : "bwd"}` : base,
    reverse: direction === "reverse" || d === 1,
    activations: list,
    clip,
    inputForget: (attribute(node, "input_forget", isNumber, "an integer") ?? 0) !== 0,
    linearBeforeReset: (attribute(node, "linear_before_reset", isNumber, "an integer") ?? 0) !== 0,
    peepholes: node.inputs.P !== undefined,
  }));
  return { direction, hiddenSize, layout, cells };
}

/** The activations of each direction, with alpha and beta taken from the lists in order. */
function directionActivations(node: RecurrentNode, directions: number): Activation[][] {
  const perDirection = ACTIVATION_COUNT[node.op];
  const names = (attribute(node, "activations", isStrings, "a list of strings") ?? Array.from({ length: directions }, () => DEFAULT_ACTIVATIONS[node.op]).flat()).map((n) => n.toLowerCase());
  if (names.length !== perDirection * directions) {
    throw new OnnxError(`node '${node.name}': ${node.op} with ${directions} direction(s) needs ${perDirection * directions} activations, got ${names.length}`);
  }
  const alphas = [...(attribute(node, "activation_alpha", isNumbers, "a list of floats") ?? [])];
  const betas = [...(attribute(node, "activation_beta", isNumbers, "a list of floats") ?? [])];
  const activations = names.map((name) => {
    const usage = ACTIVATION_ARGUMENTS[name];
    if (!usage) throw new OnnxError(`node '${node.name}': activation '${name}' is not one of ${Object.keys(ACTIVATION_ARGUMENTS).join(", ")}`);
    const alpha = usage.alpha === null ? 0 : (alphas.shift() ?? usage.alpha);
    const beta = usage.beta === null ? 0 : (betas.shift() ?? usage.beta);
    return { name, alpha, beta };
  });
  return Array.from({ length: directions }, (_, d) => activations.slice(d * perDirection, (d + 1) * perDirection));
}

// --- Spec text -----------------------------------------------------------------

/** `name = act(clip(pre))` as equations: the pre-activation named `a_<name>` so the activation may repeat it. */
function gateLines(name: string, pre: string, activation: Activation, clip: number | null): string[] {
  const lines = [`a_${name} = ${pre}`];
  let argument = `a_${name}`;
  if (clip !== null) {
    // clamp(v, -c, c) = v - relu(v - c) + relu(-v - c), exactly, with relu alone.
    lines.push(`k_${name} = a_${name} - relu(a_${name} - ${literal(clip)}) + relu(-a_${name} - ${literal(clip)})`);
    argument = `k_${name}`;
  }
  lines.push(`${name} = ${activationText(activation, argument)}`);
  return lines;
}

function paramLines(names: readonly string[], shape: string): string[] {
  return names.map((n) => `param ${n}${shape}`);
}

/** The parameter names of a direction's cell, in the order its weights are listed. */
function cellParamNames(cell: DirectionCell): string[] {
  // With input_forget, f = 1 - i: the forget gate's weights are never read.
  const gates = GATE_NAMES[cell.op].filter((g) => !(cell.inputForget && g === "f"));
  const names = (["W", "U", "b"] as const).flatMap((prefix) => gates.map((g) => gateParam(prefix, g)));
  if (cell.op === "GRU" && cell.linearBeforeReset) names.push("b_hn");
  if (cell.op === "LSTM" && cell.peepholes) names.push("p_i", "p_o", "p_f");
  return names;
}

/** ONNX's gate order along the G·H axis of W, R and B: LSTM i,o,f,c (here g); GRU z,r,h. */
const GATE_NAMES: Record<RecurrentOp, readonly string[]> = { RNN: [""], GRU: ["z", "r", "h"], LSTM: ["i", "o", "f", "g"] };

/** A parameter's shape from its name, as the library's recurrent specs and the imported ones name them: W… [H, I], U… [H, H], others [H]. */
export function paramShapeByName(name: string, inputSize: number, hiddenSize: number): number[] {
  return name.startsWith("W") ? [hiddenSize, inputSize] : name.startsWith("U") ? [hiddenSize, hiddenSize] : [hiddenSize];
}

/** W_i, U_z, b_h…; the RNN's one gate has plain W, U and b, as rnn.lstm does. */
function gateParam(prefix: "W" | "U" | "b", gate: string): string {
  return gate === "" ? prefix : `${prefix}_${gate}`;
}

function equationLines(cell: DirectionCell): string[] {
  const [f, g, h] = cell.activations as [Activation, Activation, Activation];
  const input = (gate: string) => `${gateParam("W", gate)} @ x + ${gateParam("U", gate)} @ h`;
  switch (cell.op) {
    case "RNN":
      return [...gateLines("h_new", `${input("")} + b`, f, cell.clip), "h' = h_new"];
    case "GRU":
      return [
        ...gateLines("z", `${input("z")} + b_z`, f, cell.clip),
        ...gateLines("r", `${input("r")} + b_r`, f, cell.clip),
        ...gateLines("n", cell.linearBeforeReset ? "W_h @ x + r * (U_h @ h + b_hn) + b_h" : "W_h @ x + U_h @ (r * h) + b_h", g, cell.clip),
        "h' = (1 - z) * n + z * h",
      ];
    case "LSTM":
      return [
        ...gateLines("i", `${input("i")}${cell.peepholes ? " + p_i * c" : ""} + b_i`, f, cell.clip),
        ...(cell.inputForget ? ["f = 1 - i"] : gateLines("f", `${input("f")}${cell.peepholes ? " + p_f * c" : ""} + b_f`, f, cell.clip)),
        ...gateLines("g", `${input("g")} + b_g`, g, cell.clip),
        "c' = f * c + i * g",
        ...gateLines("o", `${input("o")}${cell.peepholes ? " + p_o * c'" : ""} + b_o`, f, cell.clip),
        `h' = o * ${SUM_ACTIVATIONS.has(h.name) ? `(${activationText(h, "c'")})` : activationText(h, "c'")}`,
      ];
  }
}

/** The spec text of one direction: ONNX's equations for this op and its attributes. */
export function cellSpecText(cell: DirectionCell, inputSize: number, hiddenSize: number, origin: string): string {
  const gates = GATE_NAMES[cell.op];
  const params = cellParamNames(cell);
  const matrices = params.filter((p) => p.startsWith("W"));
  const recurrent = params.filter((p) => p.startsWith("U"));
  const vectors = params.filter((p) => !p.startsWith("W") && !p.startsWith("U"));
  const body = [
    `size I = ${inputSize}, H = ${hiddenSize}`,
    "input x[I]",
    "state h[H]",
    ...(cell.op === "LSTM" ? ["state c[H]"] : []),
    ...paramLines(matrices, "[H, I]"),
    ...paramLines(recurrent, "[H, H]"),
    ...paramLines(vectors, "[H]"),
    "",
    ...equationLines(cell),
    "",
    "output h = h'",
  ];
  const described = cell.activations.map((a) => a.name).join(", ");
  // The origin is a file name: a line break in it must not end the comment.
  const shownOrigin = origin.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, "?");
  return [
    `# Imported by lstmc from ${shownOrigin}: ONNX ${cell.op}, ${cell.reverse ? "reverse" : "forward"} direction,`,
    `# activations ${described}${cell.clip === null ? "" : `, clip ${cell.clip}`}${cell.inputForget ? ", input_forget" : ""}${cell.linearBeforeReset ? ", linear_before_reset" : ""}.`,
    `# Gates in ONNX order (${cell.op === "RNN" ? "one gate" : gates.join(", ")}); b_* = Wb + Rb${cell.linearBeforeReset ? " (b_h = Wbh, b_hn = Rbh)" : ""}.`,
    `cell ${cell.specName} {`,
    ...body.map((line) => (line === "" ? "" : `  ${line}`)),
    "}",
    "",
  ].join("\n");
}

// --- Weights -------------------------------------------------------------------

/** Direction d's slice of a [D, …] tensor, flat. */
function directionSlice(tensor: Tensor, d: number, field: string, directions: number): Float64Array {
  if (tensor.shape[0] !== directions) throw new OnnxError(`${field} has ${tensor.shape[0]} directions along its first axis; the node has ${directions}`);
  const length = tensor.data.length / directions;
  return Float64Array.from({ length }, (_, k) => tensor.data[d * length + k]!);
}

export interface NodeWeights {
  readonly W: Tensor;
  readonly R: Tensor;
  readonly B?: Tensor;
  readonly P?: Tensor;
}

/** Throws unless W, R, B and P have the shapes ONNX gives them for this op, direction count and hidden size. */
function checkWeightShapes(op: RecurrentOp, weights: NodeWeights, directions: number, hiddenSize: number): void {
  const rows = GATE_NAMES[op].length * hiddenSize;
  const inputSize = weights.W.shape[2];
  const expected: [string, Tensor | undefined, readonly (number | undefined)[]][] = [
    ["W", weights.W, [directions, rows, inputSize]],
    ["R", weights.R, [directions, rows, hiddenSize]],
    ["B", weights.B, [directions, 2 * rows]],
    ["P", weights.P, [directions, 3 * hiddenSize]],
  ];
  for (const [name, tensor, shape] of expected) {
    if (tensor && (tensor.shape.length !== shape.length || shape.some((n, k) => n === undefined || n !== tensor.shape[k]))) {
      throw new OnnxError(`${name} has shape [${tensor.shape.join(", ")}]; ${op} with ${directions} direction(s) and hidden_size ${hiddenSize} needs [${shape.map((n) => n ?? "input_size").join(", ")}]`);
    }
  }
}

/** Direction d's weights as the spec's named parameters. */
export function cellParams(cell: DirectionCell, weights: NodeWeights, d: number, directions: number, hiddenSize: number): NamedParams {
  checkWeightShapes(cell.op, weights, directions, hiddenSize);
  const gates = GATE_NAMES[cell.op];
  const count = gates.length;
  const w = splitGateBlocks(directionSlice(weights.W, d, "W", directions), count, hiddenSize, "W");
  const r = splitGateBlocks(directionSlice(weights.R, d, "R", directions), count, hiddenSize, "R");
  const bias = weights.B ? splitGateBlocks(directionSlice(weights.B, d, "B", directions), 2 * count, hiddenSize, "B") : Array.from({ length: 2 * count }, () => new Float64Array(hiddenSize));
  const params: NamedParams = {};
  gates.forEach((gate, k) => {
    params[gateParam("W", gate)] = w[k]!;
    params[gateParam("U", gate)] = r[k]!;
    params[gateParam("b", gate)] = addVectors(bias[k]!, bias[count + k]!);
  });
  if (cell.op === "GRU" && cell.linearBeforeReset) {
    params["b_h"] = bias[2]!;
    params["b_hn"] = bias[count + 2]!;
  }
  if (cell.op === "LSTM" && cell.peepholes) {
    const p = splitGateBlocks(directionSlice(weights.P!, d, "P", directions), 3, hiddenSize, "P");
    Object.assign(params, { p_i: p[0]!, p_o: p[1]!, p_f: p[2]! });
  }
  return Object.fromEntries(cellParamNames(cell).map((name) => [name, params[name]!]));
}
