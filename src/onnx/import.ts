// `lstmc import MODEL.onnx`: for every direction of every LSTM / GRU / RNN
// node, its cell spec (<name>.lstm) and its weights under the spec's
// parameter names (<name>.safetensors), plus a README.md saying what came
// from where. Returns the files as data; the CLI writes them.
import { encodeSafetensors, stored } from "../runtime/safetensors.ts";
import type { Tensor } from "../adapters/onnx.ts";
import { cellParams, cellSpecText, nodeConfig, paramShapeByName, type NodeConfig } from "./cell.ts";
import { OnnxError, type OnnxModel, type RecurrentNode } from "./model.ts";

/** An input the weights must come from: an initializer (import has no feeds). */
function initializer(model: OnnxModel, node: RecurrentNode, slot: "W" | "R" | "B" | "P"): Tensor | undefined {
  const name = node.inputs[slot];
  if (name === undefined) return undefined;
  const tensor = Object.hasOwn(model.initializers, name) ? model.initializers[name] : undefined;
  if (!tensor) throw new OnnxError(`node '${node.name}': ${slot} ('${name}') is a graph input, not an initializer; import needs the weights inside the model`);
  return tensor;
}

function readmeSection(node: RecurrentNode, config: NodeConfig, files: readonly string[]): string {
  const runtime = (["sequence_lens", "initial_h", "initial_c"] as const).filter((slot) => node.inputs[slot] !== undefined);
  return [
    `## ${node.op} node '${node.name}' (${config.direction}, hidden_size ${config.hiddenSize}, layout ${config.layout})`,
    "",
    ...config.cells.map((cell, d) => `- ${cell.reverse ? "reverse" : "forward"}: \`${files[d]}.lstm\` with \`${files[d]}.safetensors\` (activations ${cell.activations.map((a) => `${a.name}${a.alpha || a.beta ? `(α=${a.alpha}, β=${a.beta})` : ""}`).join(", ")})`),
    `- W, R, B${node.inputs.P ? ", P" : ""}: direction d's slice, split into gate blocks in ONNX order; b_* = Wb + Rb${node.op === "GRU" && config.cells[0]!.linearBeforeReset ? " except the candidate's Rb, kept as b_hn inside the reset product" : ""}.`,
    ...(config.cells[0]!.clip === null ? [] : [`- clip ${config.cells[0]!.clip}: every gate's pre-activation v is clamped as v - relu(v - clip) + relu(-v - clip).`]),
    ...(runtime.length > 0 ? [`- ${runtime.join(", ")}: run-time inputs, not weights; \`lstmc run\` on the .onnx file reads them.`] : []),
    ...(config.direction !== "forward" ? ["- The reverse direction's cell is an ordinary cell: feed it each row's valid steps last to first (what `lstmc run MODEL.onnx` does)."] : []),
    "",
  ].join("\n");
}

export function importOnnxModel(model: OnnxModel, origin: string): Record<string, string | Uint8Array> {
  if (model.nodes.length === 0) throw new OnnxError("the graph has no LSTM, GRU or RNN node");
  const files: Record<string, string | Uint8Array> = {};
  const sections: string[] = [];
  model.nodes.forEach((node, index) => {
    const config = nodeConfig(node, `${model.graphName}_${index}`);
    const W = initializer(model, node, "W");
    const R = initializer(model, node, "R");
    if (!W || !R) throw new OnnxError(`node '${node.name}' has no ${W ? "R" : "W"}`);
    const weights = { W, R, B: initializer(model, node, "B"), P: initializer(model, node, "P") };
    const inputSize = W.shape[2]!;
    const names = config.cells.map((cell) => cell.specName);
    for (const [d, cell] of config.cells.entries()) {
      if (Object.hasOwn(files, `${cell.specName}.lstm`)) throw new OnnxError(`two nodes would both write ${cell.specName}.lstm: give the nodes distinct names`);
      files[`${cell.specName}.lstm`] = cellSpecText(cell, inputSize, config.hiddenSize, origin);
      const params = cellParams(cell, weights, d, config.cells.length, config.hiddenSize);
      const tensors = Object.fromEntries(Object.entries(params).map(([name, data]) => [name, stored(data, paramShapeByName(name, inputSize, config.hiddenSize))]));
      files[`${cell.specName}.safetensors`] = encodeSafetensors({ tensors, metadata: { source: origin, node: node.name } });
    }
    sections.push(readmeSection(node, config, names));
  });
  files["README.md"] = [`# Imported from ${origin}`, "", "Each direction of each node is one cell: ONNX's equations for its op and attributes, written in the cell language.", "", ...sections].join("\n");
  return files;
}
