// The model language: a `model` block that names cell instances and wires
// them, beside any `cell` blocks it uses. Its own small lexer and recursive-
// descent parser, so the cell grammar (grammar/) stays as it is: model words
// (layer, reverse, head, …) are contextual here and free as cell names.
//
//   file     := (cell | model)*                 -- exactly one model
//   model    := "model" Id "{" item* "}"
//   item     := "size" Id ("=" Num)? ("," Id ("=" Num)?)*
//             | "input" Id "[" dim "]"
//             | "layer" Id ("," Id)? "=" ("reverse" | "bidirectional")? cellRef "(" args? ")" ("{" Id "=" dim ("," Id "=" dim)* "}")?
//             | "output" Id "=" wires
//             | "head" Id "[" dim "]" "=" "linear" "(" wires ")" ("at" "last")?
//             | "loss" Id "(" Id ")"
//   cellRef  := Path | String | Id                -- lstm.lstm, "../x/y.json", or a cell of this file
//   args     := wires | Id "=" wires ("," Id "=" wires)*
//   wires    := wire | "[" wire ("," wire)* "]"  -- joined end to end
//   wire     := Id | Id "." Id "'"?               -- a model input, a layer's output, or a layer's state after the step (L1.c')
// A cell block is handed whole to the cell parser (src/parse/dsl.ts).
import { diagnostic, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import type { DimAst, InputAst, SizeAst, SpecAst } from "./ast.ts";
import { parseDimText, parseDsl, type ParseResult } from "./dsl.ts";
import { withoutByteOrderMark } from "./load.ts";
import { LOSSES, type CellRefAst, type HeadAst, type LayerAst, type LayerInputAst, type LossAst, type LossKind, type ModelAst, type ModelOutputAst, type WireAst } from "./model-ast.ts";

type TokenKind = "id" | "path" | "string" | "number" | "punct" | "dim" | "end";

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly offset: number;
  readonly span: Span;
}

const SKIP = /(?:\s+|(?:#|\/\/)[^\n\r\u2028\u2029]*)+/y;
const TOKEN_PATTERNS: readonly (readonly [TokenKind, RegExp])[] = [
  ["path", /(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_-]+\.(?:lstm|json)(?![A-Za-z0-9_])/y],
  ["id", /[A-Za-z_][A-Za-z0-9_]*/y],
  ["number", /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?/y],
  ["string", /"[^"\n\r]*"/y],
  ["punct", /[=()[\]{},.'′]/y],
];

/** A file whose first word (after whole-line comments) is `model`, or a JSON object with a "model" field. */
export function isModelText(text: string): boolean {
  if (/^\uFEFF?\s*\{/.test(text)) return isJsonModel(text);
  return /^\uFEFF?(?:\s+|(?:#|\/\/)[^\n\r\u2028\u2029]*[\n\r\u2028\u2029])*model\b/.test(text);
}

function isJsonModel(text: string): boolean {
  try {
    const value: unknown = JSON.parse(withoutByteOrderMark(text));
    return typeof value === "object" && value !== null && Object.hasOwn(value, "model");
  } catch {
    // Not JSON at all: the cell front end reports where.
    return false;
  }
}

/** Thrown inside the parser at the first mistake; parseModelDsl turns it into a diagnostic. */
class ModelSyntaxError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

class Cursor {
  private offset = 0;
  private line = 1;
  private column = 1;
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  private advance(to: number): void {
    for (const ch of this.text.slice(this.offset, to)) {
      if (ch === "\n" || ch === "\u2028" || ch === "\u2029" || (ch === "\r" && this.text[this.offset + 1] !== "\n")) [this.line, this.column] = [this.line + 1, 1];
      else this.column += 1;
      this.offset += ch.length;
    }
    this.offset = to;
  }

  private skip(): void {
    SKIP.lastIndex = this.offset;
    if (SKIP.exec(this.text)) this.advance(SKIP.lastIndex);
  }

  spanTo(line: number, column: number, length: number): Span {
    return { file: this.file, line, column, endLine: line, endColumn: column + length };
  }

  peek(): Token {
    this.skip();
    if (this.offset >= this.text.length) return { kind: "end", text: "the end of the file", offset: this.offset, span: this.spanTo(this.line, this.column, 0) };
    for (const [kind, pattern] of TOKEN_PATTERNS) {
      pattern.lastIndex = this.offset;
      const match = pattern.exec(this.text);
      if (match) return { kind, text: match[0], offset: this.offset, span: this.spanTo(this.line, this.column, match[0].length) };
    }
    const bad = this.text.slice(this.offset, this.offset + 1);
    throw new ModelSyntaxError(diagnostic("unexpectedCharacter", this.spanTo(this.line, this.column, 1), JSON.stringify(bad)));
  }

  take(): Token {
    const token = this.peek();
    this.advance(token.offset + token.text.length);
    return token;
  }

  /** The raw text up to (not including) the first of `stops` at bracket depth 0: a dimension such as `2*H + 1`. */
  takeDim(stops: string): Token {
    this.skip();
    let depth = 0;
    let end = this.offset;
    while (end < this.text.length && (depth > 0 || !stops.includes(this.text[end]!)) && this.text[end] !== "\n") {
      if (this.text[end] === "(") depth += 1;
      if (this.text[end] === ")") depth -= 1;
      end += 1;
    }
    const token: Token = { kind: "dim", text: this.text.slice(this.offset, end).trimEnd(), offset: this.offset, span: this.spanTo(this.line, this.column, end - this.offset) };
    this.advance(end);
    return token;
  }

  /** Skips a `cell … { … }` block, counting braces outside comments; returns where it ends. */
  skipBlock(): number {
    this.skip();
    let depth = 0;
    let i = this.offset;
    for (; i < this.text.length; i++) {
      const ch = this.text[i]!;
      if (ch === "#" || (ch === "/" && this.text[i + 1] === "/")) {
        while (i < this.text.length && !/[\n\r\u2028\u2029]/.test(this.text[i]!)) i += 1;
      } else if (ch === "{") depth += 1;
      else if (ch === "}" && --depth === 0) {
        i += 1;
        break;
      }
    }
    this.advance(i);
    return i;
  }

  get position(): number {
    this.skip();
    return this.offset;
  }
}

function fail(token: Token, expected: string): never {
  throw new ModelSyntaxError(diagnostic("syntaxExpected", token.span, expected, token.kind === "end" ? token.text : JSON.stringify(token.text)));
}

function expect(cursor: Cursor, text: string): Token {
  const token = cursor.take();
  if (token.text !== text || token.kind === "string") fail(token, `'${text}'`);
  return token;
}

function identifier(cursor: Cursor, what: string): Token {
  const token = cursor.take();
  if (token.kind !== "id") fail(token, what);
  return token;
}

function accept(cursor: Cursor, text: string): boolean {
  const token = cursor.peek();
  if (token.text !== text || token.kind === "string") return false;
  cursor.take();
  return true;
}

function spanFrom(start: Span, end: Span): Span {
  return { file: start.file, line: start.line, column: start.column, endLine: end.endLine, endColumn: end.endColumn };
}

/** A dimension such as `H` or `2*H`, parsed by the cell language's own rule so both read dims alike. */
function dimension(cursor: Cursor, stops: string): DimAst {
  const token = cursor.takeDim(stops);
  if (token.text === "") fail(cursor.peek(), "a dimension");
  const parsed = parseDimText(token.text, { file: cursor.file, line: token.span.line, column: token.span.column });
  if (!parsed.value) throw new ModelSyntaxError(parsed.diagnostics[0]!);
  return parsed.value;
}

function wire(cursor: Cursor): WireAst {
  const first = identifier(cursor, "a model input or a layer's output such as L1.h");
  if (!accept(cursor, ".")) return { kind: "input", name: first.text, span: first.span };
  const output = identifier(cursor, "an output name after '.'");
  const prime = cursor.peek();
  const next = prime.kind === "punct" && (prime.text === "'" || prime.text === "′");
  if (next) cursor.take();
  return { kind: "layer", layer: first.text, output: next ? `${output.text}'` : output.text, span: spanFrom(first.span, next ? prime.span : output.span) };
}

function wires(cursor: Cursor): WireAst[] {
  if (!accept(cursor, "[")) return [wire(cursor)];
  const parts = [wire(cursor)];
  while (accept(cursor, ",")) parts.push(wire(cursor));
  expect(cursor, "]");
  return parts;
}

function sizeItem(cursor: Cursor): SizeAst[] {
  const sizes: SizeAst[] = [];
  do {
    const name = identifier(cursor, "a size name");
    let value: number | null = null;
    if (accept(cursor, "=")) {
      const number = cursor.take();
      if (number.kind !== "number") fail(number, "a number");
      value = Number(number.text);
    }
    sizes.push({ name: name.text, default: value, formula: null, span: name.span });
  } while (accept(cursor, ","));
  return sizes;
}

function inputItem(cursor: Cursor): InputAst {
  const name = identifier(cursor, "an input name");
  expect(cursor, "[");
  const shape = [dimension(cursor, "]")];
  const close = expect(cursor, "]");
  return { name: name.text, static: false, shape, span: spanFrom(name.span, close.span) };
}

function cellRef(cursor: Cursor): CellRefAst {
  const token = cursor.take();
  if (token.kind === "path") return { kind: "file", path: token.text, span: token.span };
  if (token.kind === "string") return { kind: "file", path: token.text.slice(1, -1), span: token.span };
  if (token.kind === "id") return { kind: "inline", name: token.text, span: token.span };
  return fail(token, "a cell: a spec file such as lstm.lstm, or a cell of this file");
}

function layerInputs(cursor: Cursor): LayerInputAst[] {
  expect(cursor, "(");
  const inputs: LayerInputAst[] = [];
  while (!accept(cursor, ")")) {
    if (inputs.length > 0) expect(cursor, ",");
    const start = cursor.peek();
    const named = start.kind === "id" && /^\s*=/.test(cursor.text.slice(start.offset + start.text.length));
    if (named) {
      cursor.take();
      expect(cursor, "=");
    }
    const parts = wires(cursor);
    inputs.push({ name: named ? start.text : null, parts, span: spanFrom(start.span, parts[parts.length - 1]!.span) });
  }
  return inputs;
}

function layerSizes(cursor: Cursor): LayerAst["sizes"] {
  if (!accept(cursor, "{")) return [];
  const sizes: { name: string; value: DimAst; span: Span }[] = [];
  do {
    const name = identifier(cursor, "a size of the cell");
    expect(cursor, "=");
    sizes.push({ name: name.text, value: dimension(cursor, ",}"), span: name.span });
  } while (accept(cursor, ","));
  expect(cursor, "}");
  return sizes;
}

function layerItem(cursor: Cursor, start: Token): LayerAst[] {
  const names = [identifier(cursor, "a layer name")];
  if (accept(cursor, ",")) names.push(identifier(cursor, "the reverse layer's name"));
  expect(cursor, "=");
  const modifier = cursor.peek();
  const bidirectional = modifier.kind === "id" && modifier.text === "bidirectional";
  const reverse = modifier.kind === "id" && modifier.text === "reverse";
  if (bidirectional || reverse) cursor.take();
  if (bidirectional !== (names.length === 2)) fail(bidirectional ? modifier : names[1]!, bidirectional ? "two layer names (forward, reverse) for a bidirectional layer" : "'bidirectional' after two layer names");
  const cell = cellRef(cursor);
  const inputs = layerInputs(cursor);
  const sizes = layerSizes(cursor);
  const span = spanFrom(start.span, cell.span);
  return names.map((name, i) => ({ name: name.text, nameSpan: name.span, direction: reverse || i === 1 ? "reverse" : "forward", cell, inputs, sizes, span }));
}

function headItem(cursor: Cursor, start: Token): HeadAst {
  const name = identifier(cursor, "a head name");
  expect(cursor, "[");
  const size = dimension(cursor, "]");
  expect(cursor, "]");
  expect(cursor, "=");
  expect(cursor, "linear");
  expect(cursor, "(");
  const parts = wires(cursor);
  const close = expect(cursor, ")");
  const last = accept(cursor, "at");
  if (last) expect(cursor, "last");
  return { name: name.text, size, parts, at: last ? "last" : "step", span: spanFrom(start.span, close.span) };
}

function lossItem(cursor: Cursor, start: Token): LossAst {
  const kind = identifier(cursor, `a loss (${LOSSES.join(", ")})`);
  if (!(LOSSES as readonly string[]).includes(kind.text)) throw new ModelSyntaxError(diagnostic("unknownLoss", kind.span, kind.text, LOSSES.join(", ")));
  expect(cursor, "(");
  const head = identifier(cursor, "the head the loss reads");
  const close = expect(cursor, ")");
  return { kind: kind.text as LossKind, head: head.text, span: spanFrom(start.span, close.span) };
}

interface ModelBody {
  name: Token;
  sizes: SizeAst[];
  inputs: InputAst[];
  layers: LayerAst[];
  outputs: ModelOutputAst[];
  head: HeadAst | null;
  loss: LossAst | null;
}

function modelBlock(cursor: Cursor): ModelBody {
  const body: ModelBody = { name: identifier(cursor, "the model's name"), sizes: [], inputs: [], layers: [], outputs: [], head: null, loss: null };
  expect(cursor, "{");
  for (;;) {
    const start = cursor.take();
    if (start.text === "}" && start.kind === "punct") return body;
    if (start.kind !== "id") fail(start, "size, input, layer, output, head, loss or '}'");
    switch (start.text) {
      case "size":
        body.sizes.push(...sizeItem(cursor));
        break;
      case "input":
        body.inputs.push(inputItem(cursor));
        break;
      case "layer":
        body.layers.push(...layerItem(cursor, start));
        break;
      case "output": {
        const name = identifier(cursor, "an output name");
        expect(cursor, "=");
        const parts = wires(cursor);
        body.outputs.push({ name: name.text, parts, span: spanFrom(start.span, parts[parts.length - 1]!.span) });
        break;
      }
      case "head":
        if (body.head) throw new ModelSyntaxError(diagnostic("secondModelItem", start.span, "head"));
        body.head = headItem(cursor, start);
        break;
      case "loss":
        if (body.loss) throw new ModelSyntaxError(diagnostic("secondModelItem", start.span, "loss"));
        body.loss = lossItem(cursor, start);
        break;
      default:
        fail(start, "size, input, layer, output, head, loss or '}'");
    }
  }
}

/** Blanks everything before `start` (keeping line breaks), so the cell parser reports the file's own lines and columns. */
function cellInPlace(text: string, start: number, end: number): string {
  return text.slice(0, start).replace(/[^\n\r\u2028\u2029]/g, " ") + text.slice(start, end);
}

/** Parses a model file in the DSL: its model and the cells declared beside it. */
export function parseModelDsl(text: string, file: string): ParseResult<ModelAst> {
  const cursor = new Cursor(text, file);
  const cells: SpecAst[] = [];
  const diagnostics: Diagnostic[] = [];
  let model: ModelBody | null = null;
  const doc = [...text.matchAll(/^[ \t]*(?:#|\/\/) ?(.*)$/gm)].filter((m) => m.index < text.search(/^\s*model\b/m)).map((m) => m[1]!);
  try {
    for (let token = cursor.peek(); token.kind !== "end"; token = cursor.peek()) {
      if (token.text === "cell" && token.kind === "id") {
        const start = cursor.position;
        const parsed = parseDsl(cellInPlace(text, start, cursor.skipBlock()), file);
        diagnostics.push(...parsed.diagnostics);
        if (parsed.value) cells.push(parsed.value);
      } else if (token.text === "model" && token.kind === "id" && !model) {
        cursor.take();
        model = modelBlock(cursor);
      } else fail(token, model ? "a cell" : "model or cell");
    }
    if (!model) fail(cursor.peek(), "a model block");
  } catch (e) {
    if (!(e instanceof ModelSyntaxError)) throw e;
    return { value: null, diagnostics: [...diagnostics, e.diagnostic] };
  }
  if (diagnostics.length > 0) return { value: null, diagnostics };
  const { name, ...rest } = model;
  return { value: { file, name: name.text, nameSpan: name.span, doc, ...rest, cells }, diagnostics: [] };
}
