// Weight adapters in generated modules: fromOnnx / fromTorch, for cells whose
// parameters are those of a library spec (by name and shape). They take the
// external framework's tensors, flat and row-major, and return the module's
// Params, with the same numbers as src/adapters (which generated modules cannot
// import). Each library layout is a table from parameter to gate blocks of the
// external tensors; the renderer writes that table out as one call per parameter.
import type { ModuleFile } from "./module-file.ts";
import type { SizeBinding } from "../../ir/bind.ts";
import { dimsEqual, evaluateDim } from "../../ir/dims.ts";
import type { CellIR, Dim } from "../../ir/types.ts";

/** How a gate block of an external tensor is shaped: [H, I] (input weights), [H, H] (recurrent weights) or [H]. */
type BlockKind = "input" | "recurrent" | "vector";

interface ExternalTensor {
  readonly name: string;
  readonly kind: BlockKind;
  /** Gate blocks of [H, ...] the tensor holds. */
  readonly blocks: number;
  /** Absent means zeros. */
  readonly optional: boolean;
  readonly doc: string;
}

/** parameter = sign · Σ block `block` of `tensor`, over the terms. */
interface ParamRule {
  readonly param: string;
  readonly sign: 1 | -1;
  readonly terms: readonly { readonly tensor: string; readonly block: number }[];
}

interface ExternalFormat {
  readonly functionName: "fromOnnx" | "fromTorch";
  readonly typeName: "OnnxWeights" | "TorchWeights";
  /** What the tensors are, e.g. "torch.nn.LSTM weights (one layer, one direction)". */
  readonly doc: string;
  /** Why a rule is not a plain copy, when that needs saying. */
  readonly note?: string;
  readonly tensors: readonly ExternalTensor[];
  readonly rules: readonly ParamRule[];
}

interface LibraryLayout {
  readonly spec: string;
  /** Every parameter and the shape of its block. */
  readonly params: Readonly<Record<string, BlockKind>>;
  readonly formats: readonly ExternalFormat[];
}

const tensor = (name: string, kind: BlockKind, blocks: number, optional: boolean, doc: string): ExternalTensor => ({ name, kind, blocks, optional, doc });
const rule = (param: string, terms: readonly (readonly [string, number])[], sign: 1 | -1 = 1): ParamRule => ({ param, sign, terms: terms.map(([t, block]) => ({ tensor: t, block })) });

/** W_k, U_k, b_k for each gate suffix k. */
const gateParams = (suffixes: readonly string[]): Record<string, BlockKind> =>
  Object.fromEntries(suffixes.flatMap((k) => [[`W${k}`, "input"], [`U${k}`, "recurrent"], [`b${k}`, "vector"]]));

const gateRows = (order: readonly string[]) => (order.length === 1 ? "H" : `${order.length}·H`);
const gateOrder = (order: readonly string[]) => (order.length === 1 ? "" : `, gates ${order.join(", ")}`);

/** ONNX W, R, B of one direction, gates in `order`; B = [Wb ‖ Rb]. */
const onnxTensors = (order: readonly string[]): ExternalTensor[] => [
  tensor("W", "input", order.length, false, `[1, ${gateRows(order)}, I]${gateOrder(order)}`),
  tensor("R", "recurrent", order.length, false, `[1, ${gateRows(order)}, H]${gateOrder(order)}`),
  tensor("B", "vector", 2 * order.length, true, `[1, ${2 * order.length}·H] = [Wb ‖ Rb]${gateOrder(order)}; absent means zeros`),
];
const torchTensors = (order: readonly string[]): ExternalTensor[] => [
  tensor("weight_ih_l0", "input", order.length, false, `[${gateRows(order)}, I]${gateOrder(order)}`),
  tensor("weight_hh_l0", "recurrent", order.length, false, `[${gateRows(order)}, H]${gateOrder(order)}`),
  tensor("bias_ih_l0", "vector", order.length, true, `[${gateRows(order)}]; absent means zeros (bias=False)`),
  tensor("bias_hh_l0", "vector", order.length, true, `[${gateRows(order)}]; absent means zeros (bias=False)`),
];

/** W_k, U_k from the weights' gate block g, and b_k = input bias + recurrent bias of gate g, for gate suffixes in the tensors' order. */
function summedBiasRules(suffixes: readonly string[], [w, u, bIn, bRec]: readonly [string, string, string, string], recurrentBiasOffset: number): ParamRule[] {
  return suffixes.flatMap((k, g) => [rule(`W${k}`, [[w, g]]), rule(`U${k}`, [[u, g]]), rule(`b${k}`, [[bIn, g], [bRec, recurrentBiasOffset + g]])]);
}

const ONNX = ["W", "R", "B", "B"] as const;
const TORCH = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"] as const;
const ONNX_LSTM_ORDER = ["_i", "_o", "_f", "_g"];
const TORCH_LSTM_ORDER = ["_i", "_f", "_g", "_o"];

const onnxLstm = (peepholes: boolean): ExternalFormat => ({
  functionName: "fromOnnx",
  typeName: "OnnxWeights",
  doc: `ONNX LSTM weights (one direction, input_forget = 0${peepholes ? "" : ", no P"})`,
  tensors: [...onnxTensors(["i", "o", "f", "c"]), ...(peepholes ? [tensor("P", "vector", 3, true, "[1, 3·H], peepholes i, o, f; absent means zeros")] : [])],
  rules: [...summedBiasRules(ONNX_LSTM_ORDER, ONNX, 4), ...(peepholes ? ["_i", "_o", "_f"].map((k, g) => rule(`p${k}`, [["P", g]])) : [])],
});

const torchLstm: ExternalFormat = {
  functionName: "fromTorch",
  typeName: "TorchWeights",
  doc: "torch.nn.LSTM weights (one layer, one direction)",
  tensors: torchTensors(["i", "f", "g", "o"]),
  rules: summedBiasRules(TORCH_LSTM_ORDER, TORCH, 0),
};

const LAYOUTS: readonly LibraryLayout[] = [
  { spec: "lstm.lstm", params: gateParams(TORCH_LSTM_ORDER), formats: [onnxLstm(false), torchLstm] },
  {
    spec: "peephole.lstm",
    params: { ...gateParams(TORCH_LSTM_ORDER), p_i: "vector", p_f: "vector", p_o: "vector" },
    formats: [onnxLstm(true)],
  },
  {
    spec: "gru_cudnn.lstm",
    params: { ...gateParams(["_r", "_z", "_n"]), b_hn: "vector" },
    formats: [
      {
        functionName: "fromOnnx",
        typeName: "OnnxWeights",
        doc: "ONNX GRU weights (one direction, linear_before_reset = 1): b_n = Wbh, b_hn = Rbh",
        tensors: onnxTensors(["z", "r", "h"]),
        rules: [...summedBiasRules(["_z", "_r"], ONNX, 3), rule("W_n", [["W", 2]]), rule("U_n", [["R", 2]]), rule("b_n", [["B", 2]]), rule("b_hn", [["B", 5]])],
      },
      {
        functionName: "fromTorch",
        typeName: "TorchWeights",
        doc: "torch.nn.GRU weights (one layer, one direction): b_n = bias_ih_n, b_hn = bias_hh_n",
        tensors: torchTensors(["r", "z", "n"]),
        rules: [...summedBiasRules(["_r", "_z"], TORCH, 0), rule("W_n", [["weight_ih_l0", 2]]), rule("U_n", [["weight_hh_l0", 2]]), rule("b_n", [["bias_ih_l0", 2]]), rule("b_hn", [["bias_hh_l0", 2]])],
      },
    ],
  },
  {
    spec: "gru.lstm",
    params: gateParams(["_z", "_r", "_h"]),
    formats: [
      {
        functionName: "fromOnnx",
        typeName: "OnnxWeights",
        doc: "ONNX GRU weights (one direction, linear_before_reset = 0)",
        note: "ONNX's z weighs the old state and this cell's the candidate: as 1 - σ(a) = σ(-a), z's weights and bias change sign.",
        tensors: onnxTensors(["z", "r", "h"]),
        rules: summedBiasRules(["_z", "_r", "_h"], ONNX, 3).map((r) => (r.param.endsWith("_z") ? { ...r, sign: -1 as const } : r)),
      },
    ],
  },
  {
    spec: "rnn.lstm",
    params: gateParams([""]),
    formats: [
      { functionName: "fromOnnx", typeName: "OnnxWeights", doc: "ONNX RNN weights (one direction, activation Tanh)", tensors: onnxTensors(["h"]), rules: summedBiasRules([""], ONNX, 1) },
      { functionName: "fromTorch", typeName: "TorchWeights", doc: "torch.nn.RNN weights (one layer, one direction, nonlinearity='tanh')", tensors: torchTensors(["h"]), rules: summedBiasRules([""], TORCH, 0) },
    ],
  },
];

/** The hidden and input sizes, as dimensions, when the cell's parameters are exactly the layout's. */
function matchLayout(ir: CellIR, layout: LibraryLayout): { hidden: Dim; input: Dim } | null {
  const names = Object.keys(layout.params);
  if (ir.params.length !== names.length || !ir.params.every((p) => layout.params[p.name] !== undefined)) return null;
  const recurrent = ir.params.find((p) => layout.params[p.name] === "recurrent")!;
  const input = ir.params.find((p) => layout.params[p.name] === "input")!;
  if (recurrent.shape.length !== 2 || input.shape.length !== 2) return null;
  const [hidden, inputSize] = [recurrent.shape[0]!, input.shape[1]!];
  const expected: Record<BlockKind, readonly Dim[]> = { input: [hidden, inputSize], recurrent: [hidden, hidden], vector: [hidden] };
  const fits = ir.params.every((p) => {
    const want = expected[layout.params[p.name]!];
    return p.shape.length === want.length && p.shape.every((d, i) => dimsEqual(d, want[i]!));
  });
  return fits ? { hidden, input: inputSize } : null;
}

/** A library layout a cell's parameters match, with its bound sizes (plain data). */
export interface LibraryMatch {
  readonly layout: LibraryLayout;
  readonly hidden: number;
  readonly input: number;
}

/** The library layout a cell's parameters match, with its sizes; null for any other cell. */
export function libraryLayoutOf(ir: CellIR, sizes: SizeBinding): LibraryMatch | null {
  for (const layout of LAYOUTS) {
    const match = matchLayout(ir, layout);
    if (match) return { layout, hidden: evaluateDim(match.hidden, sizes), input: evaluateDim(match.input, sizes) };
  }
  return null;
}

const ADAPTER_HELPERS = `
/** sign · (Σ block \`block\` of each tensor), \`length\` numbers a block; a missing tensor counts as zeros. */
function _weightBlock(length: number, sign: 1 | -1, terms: readonly (readonly [ArrayLike<number> | undefined, number])[]): FloatArray {
  const out = new FloatArray(length);
  for (let k = 0; k < length; k++) {
    let value = 0;
    terms.forEach(([tensor, block], i) => {
      const x = tensor === undefined ? 0 : tensor[block * length + k]!;
      value = i === 0 ? x : value + x;
    });
    out[k] = sign < 0 ? -value : value;
  }
  return out;
}

function _checkWeights(tensor: ArrayLike<number> | undefined, length: number, what: string): void {
  if (tensor === undefined) throw new Error(\`\${what} is missing\`);
  if (tensor.length !== length) throw new Error(\`\${what} has \${tensor.length} numbers, expected \${length}\`);
}
`;

/** Adds fromOnnx / fromTorch (and their weight types) to a module whose cell has a library layout; adds nothing otherwise. */
export function addWeightAdapters(file: ModuleFile, match: LibraryMatch | null): void {
  if (!match) return;
  const { layout, hidden, input } = match;
  const blockLength: Record<BlockKind, number> = { input: hidden * input, recurrent: hidden * hidden, vector: hidden };
  file.addStatements(ADAPTER_HELPERS);
  for (const format of layout.formats) {
    const byName = new Map(format.tensors.map((t) => [t.name, t]));
    file.addInterface({
      name: format.typeName,
      isExported: true,
      docs: [`${format.doc}, flat and row-major (H = ${hidden}, I = ${input}).`],
      properties: format.tensors.map((t) => ({ name: t.name, type: "ArrayLike<number>", hasQuestionToken: t.optional, docs: [t.doc] })),
    });
    file.addFunction({
      name: format.functionName,
      isExported: true,
      docs: [[`This cell's parameters from ${format.doc}, as the library's ${layout.spec} names them.`, ...(format.note ? [format.note] : [])].join(" ")],
      parameters: [{ name: "weights", type: format.typeName }],
      returnType: "Params",
      statements: (w) => {
        for (const t of format.tensors) {
          const check = `_checkWeights(weights.${t.name}, ${t.blocks * blockLength[t.kind]}, "${t.name}");`;
          w.writeLine(t.optional ? `if (weights.${t.name} !== undefined) ${check}` : check);
        }
        w.write("return").block(() => {
          for (const r of format.rules) {
            const length = blockLength[byName.get(r.terms[0]!.tensor)!.kind];
            w.writeLine(`${r.param}: _weightBlock(${length}, ${r.sign}, [${r.terms.map((t) => `[weights.${t.tensor}, ${t.block}]`).join(", ")}]),`);
          }
        });
        w.write(";");
      },
    });
  }
}
