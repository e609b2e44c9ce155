// JSON front end: text -> JSON tree (jsonc-parser) -> checked against
// grammar/cell.schema.json (ajv) -> AST. The AST is built from the tree, not
// from the parsed value, so every declaration keeps its position and a name
// declared twice reaches the IR builder (E102) instead of being overwritten.
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import Ajv2020 from "ajv/dist/2020.js";
import type { ErrorObject } from "ajv";
import schema from "../../grammar/cell.schema.json" with { type: "json" };
import { diagnostic, LINE_BREAK, LineMap, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import type { MessageId } from "../diagnostics/catalogue.ts";
import { MAX_NESTING } from "./depth.ts";
import type { DimAst, EquationAst, InitializerAst, InputAst, OutputAst, ParamAst, SizeAst, SpecAst, StateAst } from "./ast.ts";
import { parseConstText, parseDimText, parseEquationText, parseExpressionText, withinNesting, type ParseResult, type TextOrigin } from "./dsl.ts";

// ajv ships CommonJS whose default export TypeScript sees as the module object.
const Ajv = Ajv2020 as unknown as typeof Ajv2020.default;
/** The schema's validator, compiled on first use: compiling it took 40% of `lstmc check` on a .lstm file, which never needs it. */
let compiledValidator: ReturnType<InstanceType<typeof Ajv>["compile"]> | null = null;
function validateCell(value: unknown): ReturnType<InstanceType<typeof Ajv>["compile"]> {
  compiledValidator ??= new Ajv({ allErrors: true }).compile(schema);
  compiledValidator(value);
  return compiledValidator;
}

/** The top-level keys whose objects map names to declarations; only there may a key repeat. */
const NAME_MAPS = new Set(["sizes", "inputs", "staticInputs", "states", "params", "outputs"]);

/** jsonc-parser's error codes, and the catalogue message each is reported as. */
const SYNTAX_MESSAGES: ReadonlyMap<string, MessageId> = new Map([
  ["InvalidSymbol", "jsonInvalidSymbol"],
  ["InvalidNumberFormat", "jsonInvalidNumberFormat"],
  ["PropertyNameExpected", "jsonPropertyNameExpected"],
  ["ValueExpected", "jsonValueExpected"],
  ["ColonExpected", "jsonColonExpected"],
  ["CommaExpected", "jsonCommaExpected"],
  ["CloseBraceExpected", "jsonCloseBraceExpected"],
  ["CloseBracketExpected", "jsonCloseBracketExpected"],
  ["EndOfFileExpected", "jsonEndOfFileExpected"],
  ["InvalidCommentToken", "jsonInvalidCommentToken"],
  ["UnexpectedEndOfComment", "jsonUnexpectedEndOfComment"],
  ["UnexpectedEndOfString", "jsonUnexpectedEndOfString"],
  ["UnexpectedEndOfNumber", "jsonUnexpectedEndOfNumber"],
  ["InvalidUnicode", "jsonInvalidUnicode"],
  ["InvalidEscapeCharacter", "jsonInvalidEscapeCharacter"],
  ["InvalidCharacter", "jsonInvalidCharacter"],
]);

/** Where JSON nodes sit in the text. */
export class Locator {
  private readonly lines: LineMap;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.lines = new LineMap(text);
  }

  span(offset: number, length: number): Span {
    return this.lines.span(this.file, offset, offset + Math.max(length, 1));
  }

  ofNode(node: Node): Span {
    return this.span(node.offset, node.length);
  }

  /** A value inside a string: its text starts after the opening quote. */
  insideString(node: Node): TextOrigin {
    const start = node.offset + 1;
    const raw = this.text.slice(start, node.offset + node.length - 1);
    const decoded = String(node.value);
    const origin = { file: this.file, ...this.lines.at(start) };
    if (raw === decoded) return origin;
    // Escapes: map each decoded character back to where it is written in the file.
    const rawOffsets = rawOffsetsOfDecoded(raw);
    const lineStarts = [0, ...[...decoded.matchAll(new RegExp(LINE_BREAK.source, "g"))].map((m) => m.index! + m[0].length)];
    const locate = (line: number, column: number) => {
      const decodedOffset = Math.min((lineStarts[line - 1] ?? 0) + column - 1, rawOffsets.length - 1);
      return this.lines.at(start + rawOffsets[decodedOffset]!);
    };
    return { ...origin, locate };
  }
}

/** For each UTF-16 unit of a JSON string's decoded value (and its end), the offset in the raw text between the quotes. */
function rawOffsetsOfDecoded(raw: string): number[] {
  const offsets: number[] = [];
  for (let i = 0; i < raw.length; ) {
    offsets.push(i);
    i += raw[i] !== "\\" ? 1 : raw[i + 1] === "u" ? 6 : 2;
  }
  offsets.push(raw.length);
  return offsets;
}

/** Parses a `.json` spec into its AST. Never throws on bad input: errors come back as diagnostics. */
export function parseJsonSpec(text: string, file: string): ParseResult<SpecAst> {
  const tree = parseJsonTree(text, file, validateCell);
  return "diagnostics" in tree ? { value: null, diagnostics: tree.diagnostics } : new SpecReader(tree.at).spec(tree.root);
}

/**
 * A JSON text as a tree that has passed `validate` (an ajv validator of a
 * schema), or its located errors: the first syntax error, else every number
 * beyond the float range, repeated fields and schema error. Shared by the
 * cell and the model front ends.
 */
export function parseJsonTree(text: string, file: string, validate: (value: unknown) => { errors?: ErrorObject[] | null }): { root: Node; at: Locator } | { diagnostics: Diagnostic[] } {
  const at = new Locator(file, text);
  const tooDeep = tooDeepJson(text);
  if (tooDeep !== null) return { diagnostics: [diagnostic("jsonNestedTooDeeply", at.span(tooDeep, 1), MAX_NESTING)] };
  const syntaxErrors: ParseError[] = [];
  const root = parseTree(text, syntaxErrors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // Like the DSL parser, report only the first syntax error: the rest mostly follow from it.
  const [firstError] = syntaxErrors;
  if (firstError || !root) {
    const d = firstError
      ? diagnostic(syntaxMessage(text, firstError), at.span(firstError.offset, firstError.length))
      : diagnostic("jsonNotAnObject", at.span(0, 1));
    return { diagnostics: [d] };
  }
  const infinite = nonFiniteNumbers(root, at);
  if (infinite.length > 0) return { diagnostics: infinite };
  const shapeErrors = [...duplicateFields(root, at, false), ...schemaErrors(root, at, validate)];
  if (shapeErrors.length > 0) return { diagnostics: shapeErrors.sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column) };
  return { root, at };
}

/**
 * The offset of the first '[' or '{' nested more than MAX_NESTING deep, or
 * null. jsonc-parser, the duplicate check and ajv all recurse into nested
 * values, and a cell's JSON is a few levels deep, so deeper input is refused
 * before any of them sees it.
 */
function tooDeepJson(text: string): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > MAX_NESTING) return i;
    } else if (c === "]" || c === "}") depth--;
  }
  return null;
}

function syntaxMessage(text: string, error: ParseError): MessageId {
  const trailingComma = /,\s*$/.test(text.slice(0, error.offset)) && /^[}\]]/.test(text.slice(error.offset));
  if (trailingComma) return "jsonTrailingComma";
  return SYNTAX_MESSAGES.get(printParseErrorCode(error.error)) ?? "jsonInvalid";
}

/** Numbers such as 1e400 that JSON reads as ±Infinity: located as what they are, before the schema calls them "not a number". */
function nonFiniteNumbers(root: Node, at: Locator): Diagnostic[] {
  const found: Diagnostic[] = [];
  const work = [root];
  while (work.length > 0) {
    const node = work.pop()!;
    if (node.type === "number" && !Number.isFinite(node.value)) found.push(diagnostic("numberNotFinite", at.ofNode(node), String(node.value)));
    work.push(...(node.children ?? []));
  }
  return found.sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column);
}

/** A repeated field is a schema error, except a repeated name, which the IR builder reports as E102. */
function duplicateFields(node: Node, at: Locator, isNameMap: boolean): Diagnostic[] {
  const found: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const child of node.children ?? []) {
    if (node.type !== "object") {
      found.push(...duplicateFields(child, at, false));
      continue;
    }
    const [key, value] = child.children ?? [];
    if (!key || !value) continue;
    const name = String(key.value);
    if (!isNameMap && seen.has(name)) {
      found.push(diagnostic("schemaDuplicateProperty", at.ofNode(key), pointerOf(child), name));
    }
    seen.add(name);
    found.push(...duplicateFields(value, at, node.parent === undefined && NAME_MAPS.has(name)));
  }
  return found;
}

function schemaErrors(root: Node, at: Locator, validate: (value: unknown) => { errors?: ErrorObject[] | null }): Diagnostic[] {
  const validator = validate(getNodeValue(root));
  if (!validator.errors || validator.errors.length === 0) return [];
  return readableErrors(validator.errors).map((e) => {
    const path = e.keyword === "additionalProperties" ? `${e.instancePath}/${escapePointer(String(e.params.additionalProperty))}` : e.instancePath;
    return schemaDiagnostic(e, path === "" ? "(root)" : path, locate(root, path, at));
  });
}

/**
 * A failed `oneOf` also fails each of its branches. When the value has the
 * outline of one branch and fails deeper inside it, as {"uniform": [1]} does,
 * report the deeper errors; otherwise report the `oneOf` alone, saying what the
 * value may be, rather than one complaint per branch.
 */
function readableErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  for (const choice of errors.filter((e) => e.keyword === "oneOf")) {
    const branchErrors = errors.filter(
      (e) => e !== choice && e.schemaPath.startsWith(`${choice.schemaPath}/`) && `${e.instancePath}/`.startsWith(`${choice.instancePath}/`),
    );
    const deeper = branchErrors.filter((e) => e.instancePath !== choice.instancePath);
    for (const e of branchErrors) if (!deeper.includes(e)) dropped.add(e);
    if (deeper.length > 0) dropped.add(choice);
  }
  return errors.filter((e) => !dropped.has(e));
}

const ALTERNATIVES: ReadonlyMap<string, string> = new Map([
  [
    "#/$defs/initializer/oneOf",
    '"zeros", "ones", "glorot", "xavier", "orthogonal", {"constant": value}, {"uniform": [low, high]} or {"normal": std}',
  ],
  ["#/$defs/dim/oneOf", 'a whole number or a dimension such as "H + I"'],
  ["#/properties/sizes/additionalProperties/oneOf", 'a positive whole number, null or a formula such as "G * K"'],
]);

function schemaDiagnostic(e: ErrorObject, path: string, span: Span): Diagnostic {
  switch (e.keyword) {
    case "required":
      return diagnostic("schemaMissingProperty", span, path, String(e.params.missingProperty));
    case "additionalProperties":
      return diagnostic("schemaUnknownProperty", span, path, String(e.params.additionalProperty));
    case "oneOf": {
      const alternatives = ALTERNATIVES.get(e.schemaPath);
      return alternatives ? diagnostic("schemaMustBe", span, path, alternatives) : diagnostic("schemaNoAllowedForm", span, path);
    }
    case "type":
      return diagnostic("schemaMustBe", span, path, typeName(String(e.params.type)));
    default:
      return diagnostic("schemaOther", span, path, e.message ?? "does not match the cell schema");
  }
}

function typeName(type: string): string {
  const names: Record<string, string> = { object: "an object", array: "an array", string: "a string", number: "a number", integer: "a whole number", null: "null" };
  return type.split(",").map((t) => names[t] ?? t).join(" or ");
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function pointerOf(node: Node): string {
  const segments: string[] = [];
  for (let n: Node | undefined = node; n?.parent; n = n.parent) {
    const parent = n.parent;
    if (parent.type === "property") continue;
    if (parent.type === "array") segments.push(String(parent.children!.indexOf(n)));
    else if (n.type === "property") segments.push(escapePointer(String(n.children?.[0]?.value)));
  }
  return `/${segments.reverse().join("/")}`;
}

/**
 * The span for a JSON pointer: the property's key for an object or an array,
 * the value itself for a scalar or a string.
 */
function locate(root: Node, pointer: string, at: Locator): Span {
  let node = root;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const next = findNodeAtLocation(node, [node.type === "array" ? Number(segment) : segment]);
    if (!next) break;
    node = next;
  }
  const key = node.parent?.type === "property" ? node.parent.children?.[0] : undefined;
  if (node.type === "object" || node.type === "array") return key ? at.ofNode(key) : at.span(node.offset, 1);
  return at.ofNode(node);
}

interface Property {
  readonly name: string;
  readonly key: Node;
  readonly value: Node;
}

export function properties(node: Node | undefined): Property[] {
  if (node?.type !== "object") return [];
  return (node.children ?? []).flatMap((p) => {
    const [key, value] = p.children ?? [];
    return key && value ? [{ name: String(key.value), key, value }] : [];
  });
}

export function field(node: Node | undefined, name: string): Node | undefined {
  return properties(node).find((p) => p.name === name)?.value;
}

/** Reads a tree that has passed the schema into the AST, parsing the strings written in the cell language. */
class SpecReader {
  private readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly at: Locator) {}

  spec(root: Node): ParseResult<SpecAst> {
    const nameNode = field(root, "cell")!;
    const value: SpecAst = {
      file: this.at.file,
      name: String(nameNode.value),
      nameSpan: this.at.ofNode(nameNode),
      doc: (field(root, "doc")?.children ?? []).map((line) => String(line.value)),
      sizes: properties(field(root, "sizes")).map((p) => this.size(p)),
      inputs: [...properties(field(root, "inputs")).map((p) => this.input(p, false)), ...properties(field(root, "staticInputs")).map((p) => this.input(p, true))],
      states: properties(field(root, "states")).map((p) => this.state(p)),
      params: properties(field(root, "params")).map((p) => this.param(p)),
      consts: (field(root, "consts")?.children ?? []).flatMap((c) => this.parsed(parseConstText(String(c.value), this.at.insideString(c)))),
      equations: (field(root, "equations")?.children ?? []).flatMap((e) => this.equation(e)),
      outputs: properties(field(root, "outputs")).flatMap((p) => this.output(p)),
    };
    return this.diagnostics.length > 0 ? { value: null, diagnostics: this.diagnostics } : withinNesting(value);
  }

  private size(p: Property): SizeAst {
    const value = p.value.value;
    const formula = typeof value === "string" ? this.parsed(parseDimText(value, this.at.insideString(p.value)))[0] ?? null : null;
    return { name: p.name, default: typeof value === "number" ? value : null, formula, span: this.at.ofNode(p.key) };
  }

  private input(p: Property, isStatic: boolean): InputAst {
    return { name: p.name, static: isStatic, shape: this.shape(p.value), span: this.at.ofNode(p.key) };
  }

  private state(p: Property): StateAst {
    const init = field(p.value, "init");
    return { name: p.name, shape: this.shape(field(p.value, "shape")), init: typeof init?.value === "number" ? init.value : 0, span: this.at.ofNode(p.key) };
  }

  private param(p: Property): ParamAst {
    const init = field(p.value, "init");
    return { name: p.name, shape: this.shape(field(p.value, "shape")), init: init ? this.initializer(init) : null, span: this.at.ofNode(p.key) };
  }

  /** `"glorot"` or `{"uniform": [-0.1, 0.1]}`: a name and its numeric arguments. */
  private initializer(node: Node): InitializerAst {
    const span = this.at.ofNode(node);
    const [argument] = properties(node);
    if (!argument) return { name: String(node.value), args: [], span };
    const args = argument.value.type === "array" ? (argument.value.children ?? []).map((a) => Number(a.value)) : [Number(argument.value.value)];
    return { name: argument.name, args, span };
  }

  private shape(node: Node | undefined): DimAst[] {
    return (node?.children ?? []).flatMap((d) => {
      if (d.type === "number") return [{ kind: "number" as const, value: Number(d.value), span: this.at.ofNode(d) }];
      return this.parsed(parseDimText(String(d.value), this.at.insideString(d)));
    });
  }

  private equation(node: Node): EquationAst[] {
    return this.parsed(parseEquationText(String(node.value), this.at.insideString(node)));
  }

  private output(p: Property): OutputAst[] {
    return this.parsed(parseExpressionText(String(p.value.value), this.at.insideString(p.value))).map((value) => ({
      name: p.name,
      value,
      span: this.at.ofNode(p.key),
    }));
  }

  private parsed<T>(result: ParseResult<T>): T[] {
    this.diagnostics.push(...result.diagnostics);
    return result.value === null ? [] : [result.value];
  }
}
