// ModelAst -> text, in the model language or the JSON form of
// grammar/model.schema.json: what `lstmc convert` prints for a model, so that
// parsing it again gives the same tree. Two layers that only differ in
// direction (forward, then reverse, same cell, inputs and sizes) print as one
// `bidirectional` layer, which the DSL parser reads back as those two.
import type { DimAst } from "./ast.ts";
import type { CellRefAst, LayerAst, LayerInputAst, ModelAst, WireAst } from "./model-ast.ts";
import { printDim, printDsl, printSizeBinding } from "./print-dsl.ts";
import { block, blockObject, inlineArray, inlineObject, printJsonDim, str, type Entry } from "./print-json.ts";

/** A path the model lexer reads as a bare path token; any other is written as a string. */
const BARE_PATH = /^(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_-]+\.(?:lstm|json)$/;

function printWire(wire: WireAst): string {
  return wire.kind === "input" ? wire.name : `${wire.layer}.${wire.output}`;
}

function printWires(parts: readonly WireAst[]): string {
  return parts.length === 1 ? printWire(parts[0]!) : `[${parts.map(printWire).join(", ")}]`;
}

function printCellRef(ref: CellRefAst): string {
  if (ref.kind === "inline") return ref.name;
  return BARE_PATH.test(ref.path) ? ref.path : `"${ref.path}"`;
}

function printLayerInput(input: LayerInputAst): string {
  return input.name === null ? printWires(input.parts) : `${input.name} = ${printWires(input.parts)}`;
}

/** What a layer is apart from its name, span and direction: the parts a bidirectional pair shares. */
function layerBody(layer: LayerAst): string {
  const sizes = layer.sizes.length === 0 ? "" : ` { ${layer.sizes.map((s) => `${s.name} = ${printDim(s.value)}`).join(", ")} }`;
  return `${printCellRef(layer.cell)}(${layer.inputs.map(printLayerInput).join(", ")})${sizes}`;
}

function printLayers(layers: readonly LayerAst[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    const [layer, next] = [layers[i]!, layers[i + 1]];
    const body = layerBody(layer);
    if (layer.direction === "forward" && next?.direction === "reverse" && layerBody(next) === body) {
      lines.push(`  layer ${layer.name}, ${next.name} = bidirectional ${body}`);
      i += 1;
    } else lines.push(`  layer ${layer.name} = ${layer.direction === "reverse" ? "reverse " : ""}${body}`);
  }
  return lines;
}

function commentLines(doc: readonly string[]): string[] {
  // A JSON doc string may hold line breaks; each piece must stay inside a comment.
  return doc.flatMap((line) => line.split(/\r\n|\r|\n/)).map((line) => (line.length > 0 ? `# ${line}` : "#"));
}

/** The model as a `.lstm` file: its doc, the model block, then the cells declared beside it. */
export function printModelDsl(model: ModelAst): string {
  const lines = [...commentLines(model.doc), `model ${model.name} {`];
  if (model.sizes.length > 0) lines.push(`  size ${model.sizes.map(printSizeBinding).join(", ")}`);
  for (const input of model.inputs) lines.push(`  input ${input.name}[${printDim(input.shape[0]!)}]`);
  lines.push(...printLayers(model.layers));
  for (const output of model.outputs) lines.push(`  output ${output.name} = ${printWires(output.parts)}`);
  const { head, loss } = model;
  if (head) lines.push(`  head ${head.name}[${printDim(head.size)}] = linear(${printWires(head.parts)})${head.at === "last" ? " at last" : ""}`);
  if (loss) lines.push(`  loss ${loss.kind}(${loss.head})`);
  lines.push("}");
  return [`${lines.join("\n")}\n`, ...model.cells.map(printDsl)].join("\n");
}

function jsonWires(parts: readonly WireAst[]): string {
  return parts.length === 1 ? str(printWire(parts[0]!)) : inlineArray(parts.map((p) => str(printWire(p))));
}

function jsonDims(entries: readonly { readonly name: string; readonly value: DimAst }[]): string {
  return inlineObject(entries.map((e) => [e.name, printJsonDim(e.value)]));
}

function jsonLayer(layer: LayerAst): string {
  // The JSON form names every input and every cell by file: the caller resolves both first (see printModelJson).
  if (layer.cell.kind !== "file" || layer.inputs.some((i) => i.name === null)) throw new Error(`internal: layer '${layer.name}' has an inline cell or a positional input`);
  const entries: Entry[] = [
    ["name", str(layer.name)],
    ["cell", str(layer.cell.path)],
  ];
  if (layer.direction === "reverse") entries.push(["direction", str("reverse")]);
  entries.push(["inputs", inlineObject(layer.inputs.map((i) => [i.name!, jsonWires(i.parts)]))]);
  if (layer.sizes.length > 0) entries.push(["sizes", jsonDims(layer.sizes)]);
  return inlineObject(entries);
}

/**
 * The model as a `.json` file, one layer a line. Every layer must name its
 * cell by file and every input by name, as the JSON form does: a model with
 * inline cells is refused before this, and positional inputs are named.
 */
export function printModelJson(model: ModelAst): string {
  const sections: Entry[] = [["model", str(model.name)]];
  if (model.doc.length > 0) sections.push(["doc", block("[", "]", model.doc.map(str), "  ")]);
  if (model.sizes.length > 0) sections.push(["sizes", blockObject(model.sizes.map((s) => [s.name, s.default === null ? "null" : JSON.stringify(s.default)]), "  ")]);
  sections.push(["inputs", jsonDims(model.inputs.map((i) => ({ name: i.name, value: i.shape[0]! })))]);
  sections.push(["layers", block("[", "]", model.layers.map(jsonLayer), "  ")]);
  if (model.outputs.length > 0) sections.push(["outputs", blockObject(model.outputs.map((o) => [o.name, jsonWires(o.parts)]), "  ")]);
  const { head, loss } = model;
  if (head) {
    const at: Entry[] = head.at === "last" ? [["at", str("last")]] : [];
    sections.push(["head", inlineObject([["name", str(head.name)], ["size", printJsonDim(head.size)], ["inputs", jsonWires(head.parts)], ...at])]);
  }
  if (loss) sections.push(["loss", inlineObject([["kind", str(loss.kind)], ["head", str(loss.head)]])]);
  return `${blockObject(sections, "")}\n`;
}
