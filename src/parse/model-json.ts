// The JSON front end for models: text -> JSON tree -> checked against
// grammar/model.schema.json -> the same ModelAst as the model language, every
// node keeping its position. Cells are named by file (no inline cells in JSON).
import type { Node } from "jsonc-parser";
import Ajv2020 from "ajv/dist/2020.js";
import schema from "../../grammar/model.schema.json" with { type: "json" };
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { DimAst } from "./ast.ts";
import { parseDimText, type ParseResult } from "./dsl.ts";
import { field, Locator, parseJsonTree, properties } from "./json.ts";
import type { LayerAst, LossKind, ModelAst, WireAst } from "./model-ast.ts";

const Ajv = Ajv2020 as unknown as typeof Ajv2020.default;
let compiledValidator: ReturnType<InstanceType<typeof Ajv>["compile"]> | null = null;
function validateModel(value: unknown): ReturnType<InstanceType<typeof Ajv>["compile"]> {
  compiledValidator ??= new Ajv({ allErrors: true }).compile(schema);
  compiledValidator(value);
  return compiledValidator;
}

const WIRE = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*)(['′])?)?$/;

class ModelReader {
  readonly diagnostics: Diagnostic[] = [];
  constructor(private readonly at: Locator) {}

  dim(node: Node): DimAst | null {
    if (node.type === "number") return { kind: "number", value: Number(node.value), span: this.at.ofNode(node) };
    const parsed = parseDimText(String(node.value), this.at.insideString(node));
    this.diagnostics.push(...parsed.diagnostics);
    return parsed.value;
  }

  wire(node: Node): WireAst | null {
    const span = this.at.ofNode(node);
    const match = WIRE.exec(String(node.value));
    if (!match) {
      this.diagnostics.push(diagnostic("schemaMustBe", span, String(node.value), "a wire such as \"x\", \"L1.h\" or \"L1.c'\""));
      return null;
    }
    const [, first, output, prime] = match;
    return output === undefined ? { kind: "input", name: first!, span } : { kind: "layer", layer: first!, output: prime ? `${output}'` : output, span };
  }

  wires(node: Node): WireAst[] {
    const items = node.type === "array" ? node.children ?? [] : [node];
    return items.flatMap((n) => this.wire(n) ?? []);
  }

  layer(node: Node): LayerAst {
    const name = field(node, "name")!;
    const cell = field(node, "cell")!;
    return {
      name: String(name.value),
      nameSpan: this.at.ofNode(name),
      direction: field(node, "direction")?.value === "reverse" ? "reverse" : "forward",
      cell: { kind: "file", path: String(cell.value), span: this.at.ofNode(cell) },
      inputs: properties(field(node, "inputs")).map((p) => ({ name: p.name, parts: this.wires(p.value), span: this.at.ofNode(p.key) })),
      sizes: properties(field(node, "sizes")).flatMap((p) => {
        const value = this.dim(p.value);
        return value ? [{ name: p.name, value, span: this.at.ofNode(p.key) }] : [];
      }),
      span: this.at.ofNode(node),
    };
  }

  model(root: Node): ModelAst {
    const name = field(root, "model")!;
    const head = field(root, "head");
    const loss = field(root, "loss");
    const headSize = head ? this.dim(field(head, "size")!) : null;
    return {
      file: this.at.file,
      name: String(name.value),
      nameSpan: this.at.ofNode(name),
      doc: (field(root, "doc")?.children ?? []).map((line) => String(line.value)),
      sizes: properties(field(root, "sizes")).map((p) => ({ name: p.name, default: p.value.value === null ? null : Number(p.value.value), span: this.at.ofNode(p.key), formula: null })),
      inputs: properties(field(root, "inputs")).flatMap((p) => {
        const width = this.dim(p.value);
        return width ? [{ name: p.name, static: false, shape: [width], span: this.at.ofNode(p.key) }] : [];
      }),
      layers: (field(root, "layers")?.children ?? []).map((l) => this.layer(l)),
      outputs: properties(field(root, "outputs")).map((p) => ({ name: p.name, parts: this.wires(p.value), span: this.at.ofNode(p.key) })),
      head:
        head && headSize
          ? { name: String(field(head, "name")!.value), size: headSize, parts: this.wires(field(head, "inputs")!), at: field(head, "at")?.value === "last" ? "last" : "step", span: this.at.ofNode(head) }
          : null,
      loss: loss ? { kind: field(loss, "kind")!.value as LossKind, head: String(field(loss, "head")!.value), span: this.at.ofNode(loss) } : null,
      cells: [],
    };
  }
}

/** Parses a `.json` model into its AST. Never throws on bad input: errors come back as diagnostics. */
export function parseModelJson(text: string, file: string): ParseResult<ModelAst> {
  const tree = parseJsonTree(text, file, validateModel);
  if ("diagnostics" in tree) return { value: null, diagnostics: tree.diagnostics };
  const reader = new ModelReader(tree.at);
  const model = reader.model(tree.root);
  return reader.diagnostics.length > 0 ? { value: null, diagnostics: reader.diagnostics } : { value: model, diagnostics: [] };
}
