// DSL front end: text -> tokens -> CST (grammar/) -> AST (this visitor).
import type { CstNode, IToken, CstElement } from "chevrotain";
import { cellLexer } from "../../grammar/tokens.ts";
import { cellParser } from "../../grammar/parser.ts";
import { diagnostic, MAX_PRINTED_DIAGNOSTICS, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import { MAX_NESTING, tooDeepToken, tooDeepTree } from "./depth.ts";
import type {
  BinaryOp,
  ConstAst,
  DimAst,
  EquationAst,
  ExprAst,
  InitializerAst,
  InputAst,
  OutputAst,
  ParamAst,
  SizeAst,
  SpecAst,
  StateAst,
} from "./ast.ts";

export interface ParseResult<T> {
  readonly value: T | null;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Where a piece of text sits in its file. Equations inside a JSON file are
 * parsed on their own, and their spans are moved to the string's position.
 */
export interface TextOrigin {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /**
   * Where a position of the parsed text lies in the file, when that is not a
   * plain shift: a JSON string's escapes (`\u0029`, `\n`) are longer in the
   * file than the characters they stand for.
   */
  readonly locate?: (line: number, column: number) => { line: number; column: number };
}

type Children = Record<string, CstElement[] | undefined>;

function children(node: CstNode): Children {
  return node.children as Children;
}
function tokens(c: Children, key: string): IToken[] {
  return (c[key] ?? []) as IToken[];
}
function nodes(c: Children, key: string): CstNode[] {
  return (c[key] ?? []) as CstNode[];
}

class SpanMaker {
  constructor(private readonly origin: TextOrigin) {}

  private at(line: number, column: number): { line: number; column: number } {
    if (this.origin.locate) return this.origin.locate(line, column);
    return line === 1 ? { line: this.origin.line, column: column + this.origin.column - 1 } : { line: line + this.origin.line - 1, column };
  }

  fromToken(token: IToken): Span {
    return this.fromPositions(token.startLine ?? 1, token.startColumn ?? 1, token.endLine ?? 1, token.endColumn ?? 1);
  }

  fromNode(node: CstNode): Span {
    const loc = node.location!;
    return this.fromPositions(loc.startLine ?? 1, loc.startColumn ?? 1, loc.endLine ?? 1, loc.endColumn ?? 1);
  }

  between(a: Span, b: Span): Span {
    return { file: a.file, line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn };
  }

  /** Chevrotain's end column is inclusive; ours is exclusive. */
  private fromPositions(line: number, column: number, endLine: number, endColumn: number): Span {
    const start = this.at(line, column);
    const end = this.at(endLine, endColumn + 1);
    return { file: this.origin.file, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
  }
}

const COMPARISON_TOKENS: readonly (readonly [string, BinaryOp])[] = [
  ["Less", "<"],
  ["LessEqual", "<="],
  ["Greater", ">"],
  ["GreaterEqual", ">="],
  ["EqualEqual", "=="],
  ["NotEqual", "!="],
];

const BaseVisitor = cellParser.getBaseCstVisitorConstructorWithDefaults();

/** Turns the CST into the AST. One method per grammar rule. */
class AstBuilder extends BaseVisitor {
  constructor(private readonly spans: SpanMaker) {
    super();
    this.validateVisitor();
  }

  spec(node: CstNode, doc: readonly string[]): SpecAst {
    const c = children(node);
    const nameToken = tokens(c, "Identifier")[0]!;
    const sizes: SizeAst[] = [];
    const inputs: InputAst[] = [];
    const states: StateAst[] = [];
    const params: ParamAst[] = [];
    const consts: ConstAst[] = [];
    const equations: EquationAst[] = [];
    const outputs: OutputAst[] = [];
    for (const item of nodes(c, "item")) {
      const [kind, decl] = Object.entries(children(item))[0] as [string, CstNode[]];
      const declNode = decl[0]!;
      switch (kind) {
        case "sizeDecl":
          sizes.push(...this.sizeDecl(declNode));
          break;
        case "inputDecl":
          inputs.push(this.inputDecl(declNode));
          break;
        case "stateDecl":
          states.push(this.stateDecl(declNode));
          break;
        case "paramDecl":
          params.push(this.paramDecl(declNode));
          break;
        case "constDecl":
          consts.push(this.constDecl(declNode));
          break;
        case "outputDecl":
          outputs.push(this.outputDecl(declNode));
          break;
        case "equation":
          equations.push(this.equation(declNode));
          break;
      }
    }
    return {
      file: this.spans.fromToken(nameToken).file,
      name: nameToken.image,
      nameSpan: this.spans.fromToken(nameToken),
      doc,
      sizes,
      inputs,
      states,
      params,
      consts,
      equations,
      outputs,
    };
  }

  sizeDecl(node: CstNode): SizeAst[] {
    return nodes(children(node), "sizeBinding").map((b) => this.sizeBinding(b));
  }

  sizeBinding(node: CstNode): SizeAst {
    const c = children(node);
    const value = nodes(c, "dim")[0];
    const dim = value ? this.dim(value) : null;
    const isDefault = dim?.kind === "number";
    return {
      name: tokens(c, "Identifier")[0]!.image,
      default: isDefault ? dim.value : null,
      formula: dim !== null && !isDefault ? dim : null,
      span: this.spans.fromNode(node),
    };
  }

  inputDecl(node: CstNode): InputAst {
    const c = children(node);
    return {
      name: tokens(c, "Identifier")[0]!.image,
      static: tokens(c, "Static").length > 0,
      shape: this.shape(nodes(c, "shape")[0]!),
      span: this.spans.fromNode(node),
    };
  }

  stateDecl(node: CstNode): StateAst {
    const c = children(node);
    const init = nodes(c, "signedNumber")[0];
    return {
      name: tokens(c, "Identifier")[0]!.image,
      shape: this.shape(nodes(c, "shape")[0]!),
      init: init ? this.signedNumber(init) : 0,
      span: this.spans.fromNode(node),
    };
  }

  paramDecl(node: CstNode): ParamAst {
    const c = children(node);
    const shape = nodes(c, "shape")[0];
    const init = nodes(c, "initializer")[0];
    return {
      name: tokens(c, "Identifier")[0]!.image,
      shape: shape ? this.shape(shape) : [],
      init: init ? this.initializer(init) : null,
      span: this.spans.fromNode(node),
    };
  }

  constDecl(node: CstNode): ConstAst {
    return { ...this.constDefinition(nodes(children(node), "constDefinition")[0]!), span: this.spans.fromNode(node) };
  }

  constDefinition(node: CstNode): ConstAst {
    const c = children(node);
    return {
      name: tokens(c, "Identifier")[0]!.image,
      indices: nodes(c, "indexDim").map((n) => this.indexDim(n)),
      value: this.expression(nodes(c, "expression")[0]!),
      span: this.spans.fromNode(node),
    };
  }

  indexDim(node: CstNode): ConstAst["indices"][number] {
    const c = children(node);
    const name = tokens(c, "Identifier")[0]!;
    return { name: name.image, dim: this.dim(nodes(c, "dim")[0]!), span: this.spans.fromToken(name) };
  }

  outputDecl(node: CstNode): OutputAst {
    const c = children(node);
    return { name: tokens(c, "Identifier")[0]!.image, value: this.expression(nodes(c, "expression")[0]!), span: this.spans.fromNode(node) };
  }

  equation(node: CstNode): EquationAst {
    const c = children(node);
    const target = tokens(c, "Identifier")[0]!;
    const prime = tokens(c, "Prime")[0];
    return {
      target: target.image,
      next: prime !== undefined,
      value: this.expression(nodes(c, "expression")[0]!),
      span: this.spans.fromNode(node),
      targetSpan: prime ? this.spans.between(this.spans.fromToken(target), this.spans.fromToken(prime)) : this.spans.fromToken(target),
    };
  }

  shape(node: CstNode): DimAst[] {
    return nodes(children(node), "dim").map((d) => this.dim(d));
  }

  dim(node: CstNode): DimAst {
    const c = children(node);
    const operators = [...tokens(c, "Plus"), ...tokens(c, "Minus")].sort((a, b) => a.startOffset - b.startOffset);
    return this.foldLeft(
      nodes(c, "dimTerm").map((n) => this.dimTerm(n)),
      operators.map((o) => (o.tokenType.name === "Plus" ? "+" : "-")),
      (op, left, right, span) => ({ kind: "binary", op, left, right, span }),
    );
  }

  dimTerm(node: CstNode): DimAst {
    const c = children(node);
    const atoms = nodes(c, "dimAtom").map((n) => this.dimAtom(n));
    return this.foldLeft(atoms, atoms.slice(1).map(() => "*" as const), (op, left, right, span) => ({ kind: "binary", op, left, right, span }));
  }

  dimAtom(node: CstNode): DimAst {
    const c = children(node);
    const number = tokens(c, "NumberLiteral")[0];
    if (number) return { kind: "number", value: Number(number.image), span: this.spans.fromToken(number) };
    const name = tokens(c, "Identifier")[0];
    if (name) return { kind: "size", name: name.image, span: this.spans.fromToken(name) };
    return this.dim(nodes(c, "dim")[0]!);
  }

  initializer(node: CstNode): InitializerAst {
    const c = children(node);
    return {
      name: tokens(c, "Identifier")[0]!.image,
      args: nodes(c, "signedNumber").map((n) => this.signedNumber(n)),
      span: this.spans.fromNode(node),
    };
  }

  signedNumber(node: CstNode): number {
    const c = children(node);
    const value = Number(tokens(c, "NumberLiteral")[0]!.image);
    return tokens(c, "Minus").length > 0 ? -value : value;
  }

  expression(node: CstNode): ExprAst {
    const c = children(node);
    const operands = nodes(c, "additive").map((n) => this.additive(n));
    const comparison = COMPARISON_TOKENS.flatMap(([name, op]) => (tokens(c, name).length > 0 ? [op] : []));
    return this.foldLeft(operands, comparison, (op, left, right, span) => ({ kind: "binary", op, left, right, span }));
  }

  additive(node: CstNode): ExprAst {
    const c = children(node);
    const operators = [...tokens(c, "Plus"), ...tokens(c, "Minus")].sort((a, b) => a.startOffset - b.startOffset);
    return this.foldLeft(
      nodes(c, "product").map((n) => this.product(n)),
      operators.map((o) => (o.tokenType.name === "Plus" ? "+" : "-")),
      (op, left, right, span) => ({ kind: "binary", op, left, right, span }),
    );
  }

  product(node: CstNode): ExprAst {
    const c = children(node);
    const operators = [...tokens(c, "Star"), ...tokens(c, "Slash")].sort((a, b) => a.startOffset - b.startOffset);
    return this.foldLeft(
      nodes(c, "matmul").map((n) => this.matmul(n)),
      operators.map((o) => (o.tokenType.name === "Star" ? "*" : "/")),
      (op, left, right, span) => ({ kind: "binary", op, left, right, span }),
    );
  }

  matmul(node: CstNode): ExprAst {
    const operands = nodes(children(node), "unary").map((n) => this.unary(n));
    return this.foldLeft(operands, operands.slice(1).map(() => "@" as const), (op, left, right, span) => ({ kind: "binary", op, left, right, span }));
  }

  unary(node: CstNode): ExprAst {
    const c = children(node);
    const inner = nodes(c, "unary")[0];
    if (inner) return { kind: "neg", operand: this.unary(inner), span: this.spans.fromNode(node) };
    return this.power(nodes(c, "power")[0]!);
  }

  power(node: CstNode): ExprAst {
    const c = children(node);
    const base = this.postfix(nodes(c, "postfix")[0]!);
    const exponent = nodes(c, "unary")[0];
    return exponent ? { kind: "binary", op: "^", left: base, right: this.unary(exponent), span: this.spans.fromNode(node) } : base;
  }

  postfix(node: CstNode): ExprAst {
    const c = children(node);
    const bounds = nodes(c, "dim").map((d) => this.dim(d));
    const closes = tokens(c, "RBracket");
    let result = this.primary(nodes(c, "primary")[0]!);
    closes.forEach((close, k) => {
      const span = this.spans.between(result.span, this.spans.fromToken(close));
      result = { kind: "slice", operand: result, start: bounds[2 * k]!, end: bounds[2 * k + 1]!, span };
    });
    return result;
  }

  primary(node: CstNode): ExprAst {
    const c = children(node);
    const span = this.spans.fromNode(node);
    const number = tokens(c, "NumberLiteral")[0];
    if (number) return { kind: "number", value: Number(number.image), span };
    if (tokens(c, "LBracket").length > 0) return { kind: "concat", items: nodes(c, "expression").map((e) => this.expression(e)), span };
    if (tokens(c, "LParen").length > 0) return this.expression(nodes(c, "expression")[0]!);
    return this.nameUse(nodes(c, "nameUse")[0]!);
  }

  nameUse(node: CstNode): ExprAst {
    const c = children(node);
    const span = this.spans.fromNode(node);
    const identifier = tokens(c, "Identifier")[0];
    const nameToken = identifier ?? tokens(c, "Sigma")[0]!;
    const name = identifier ? identifier.image : "sigmoid";
    if (tokens(c, "LParen").length > 0) {
      return { kind: "call", fn: name, args: nodes(c, "expression").map((e) => this.expression(e)), span, fnSpan: this.spans.fromToken(nameToken) };
    }
    return { kind: "ref", name, next: tokens(c, "Prime").length > 0, span };
  }

  private foldLeft<T extends { span: Span }, Op>(operands: T[], operators: Op[], make: (op: Op, left: T, right: T, span: Span) => T): T {
    let result = operands[0]!;
    operators.forEach((op, i) => {
      const right = operands[i + 1]!;
      result = make(op, result, right, this.spans.between(result.span, right.span));
    });
    return result;
  }
}

type RuleName = "spec" | "equation" | "constDefinition" | "expression" | "dim";

/** Lexes and parses `text` with one grammar rule; returns the CST or located diagnostics. */
function parseRule(text: string, origin: TextOrigin, rule: RuleName): { cst: CstNode | null; comments: IToken[]; diagnostics: Diagnostic[] } {
  const spans = new SpanMaker(origin);
  const strays = strayCharacters(text);
  const lexed = strays.runs.length === 0 ? cellLexer.tokenize(text) : { tokens: [], groups: {} as Record<string, IToken[]>, errors: strays.runs };
  const diagnostics: Diagnostic[] = lexed.errors.map((e) => {
    const bad = text.slice(e.offset, e.offset + e.length);
    const span = spans.fromToken({ startLine: e.line, startColumn: e.column, endLine: e.line, endColumn: (e.column ?? 1) + Math.max(0, e.length - 1) } as IToken);
    return diagnostic("unexpectedCharacter", span, JSON.stringify(bad.slice(0, 10)));
  });
  if (strays.more > 0) diagnostics.push(diagnostic("moreUnexpectedCharacters", diagnostics[diagnostics.length - 1]!.span, strays.more));
  if (diagnostics.length > 0) return { cst: null, comments: [], diagnostics };
  const tooDeep = tooDeepToken(lexed.tokens);
  if (tooDeep) return { cst: null, comments: [], diagnostics: [diagnostic("nestedTooDeeply", spans.fromToken(tooDeep), MAX_NESTING)] };
  cellParser.input = lexed.tokens;
  const cst = cellParser[rule]() as CstNode;
  const error = cellParser.errors[0];
  if (error) {
    const token = error.token;
    const atEnd = token.tokenType.name === "EOF" || Number.isNaN(token.startOffset);
    const last = lexed.tokens[lexed.tokens.length - 1];
    const where = atEnd ? endOf(text, last) : spans.fromToken(token);
    const found = atEnd ? "the end of the text" : JSON.stringify(token.image);
    const expected = describeExpectation(error.message, error.context.ruleStack, atEnd ? null : token.tokenType.name);
    const d = expected === null ? diagnostic("syntaxUnexpected", where, found) : diagnostic("syntaxExpected", where, expected, found);
    return { cst: null, comments: [], diagnostics: [d] };
  }
  return { cst, comments: (lexed.groups["comments"] ?? []) as IToken[], diagnostics: [] };

  function endOf(source: string, lastToken: IToken | undefined): Span {
    if (!lastToken) return spans.fromToken({ startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 } as IToken);
    const line = lastToken.endLine ?? 1;
    const column = (lastToken.endColumn ?? 1) + 1;
    void source;
    return spans.fromToken({ startLine: line, startColumn: column, endLine: line, endColumn: column } as IToken);
  }
}

/** Characters that can begin or continue a token; anything else outside a comment is an error (E001). */
const TOKEN_CHARACTER = /[A-Za-z0-9_$σ'′=~+\-−*⊙∗/@·^:<>!≤≥≠()[\]{},;.\s]/;

interface StrayRun {
  readonly offset: number;
  length: number;
  readonly line: number;
  readonly column: number;
}

/**
 * Runs of characters the lexer cannot read, found in one cheap pass before
 * lexing: the first MAX_PRINTED_DIAGNOSTICS - 1 runs, and how many more there
 * are. Chevrotain reports every run itself, and on megabytes of garbage that
 * takes many seconds and hundreds of megabytes, for diagnostics no one reads.
 */
function strayCharacters(text: string): { runs: StrayRun[]; more: number } {
  const runs: StrayRun[] = [];
  let more = 0;
  let line = 1;
  let lineStart = 0;
  let inComment = false;
  let previousStray = -2;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029") {
      if (!(c === "\r" && text[i + 1] === "\n")) {
        line++;
        lineStart = i + 1;
      }
      inComment = false;
    } else if (inComment) {
      continue;
    } else if (c === "#" || (c === "/" && text[i + 1] === "/")) {
      inComment = true;
    } else if (!TOKEN_CHARACTER.test(c) || (c === "." && !isDigit(text[i - 1]) && !isDigit(text[i + 1]))) {
      if (i === previousStray + 1 && more === 0) runs[runs.length - 1]!.length++;
      else if (i !== previousStray + 1 && runs.length < MAX_PRINTED_DIAGNOSTICS - 1) runs.push({ offset: i, length: 1, line, column: i - lineStart + 1 });
      else if (i !== previousStray + 1) more++;
      previousStray = i;
    }
  }
  return { runs, more };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/**
 * Chevrotain's messages name token types; say what the user would type
 * instead, or null when nothing in particular was expected.
 */
function describeExpectation(message: string, ruleStack: readonly string[], foundToken: string | null): string | null {
  const names: Record<string, string> = {
    Identifier: "a name",
    NumberLiteral: "a number",
    LCurly: "'{'",
    RCurly: "'}'",
    LParen: "'('",
    RParen: "')'",
    LBracket: "'['",
    RBracket: "']'",
    Equals: "'='",
    Comma: "','",
    Tilde: "'~'",
    Prime: "'",
    Cell: "'cell'",
  };
  const expected = [...message.matchAll(/-->\s*([A-Za-z]+)\s*<--/g)].map((m) => m[1]!).filter((n) => n !== "EOF");
  const wanted = [...new Set(expected.map((n) => (Object.hasOwn(names, n) ? names[n]! : n.toLowerCase())))];
  if (message.startsWith("Expecting token of type") && wanted.length > 0) return wanted[0]!;
  const innermost = ruleStack[ruleStack.length - 1];
  const startsStatement = foundToken === null || ["Identifier", "Size", "Static", "Input", "State", "Param", "Const", "Output", "Cell"].includes(foundToken);
  if (innermost === "item" && !startsStatement) return "an operand or a new declaration or equation";
  if (innermost === "item") return "a declaration (size, input, state, param, const, output) or an equation";
  if (innermost && ["expression", "additive", "product", "matmul", "unary", "power", "postfix", "primary", "nameUse"].includes(innermost)) return "an expression";
  if (innermost && ["shape", "dim", "dimTerm", "dimAtom"].includes(innermost)) return "a dimension (a number, a size, or a sum of them)";
  return null;
}

/** Parses a `.lstm` file into its AST. Never throws on bad input: errors come back as diagnostics. */
export function parseDsl(text: string, file: string): ParseResult<SpecAst> {
  const origin = { file, line: 1, column: 1 };
  const { cst, comments, diagnostics } = parseRule(text, origin, "spec");
  if (!cst) return { value: null, diagnostics };
  const cellOffset = cellStartOffset(cst);
  const doc = comments.filter((c) => c.startOffset < cellOffset).map((c) => c.image.replace(/^(#|\/\/) ?/, ""));
  return withinNesting(new AstBuilder(new SpanMaker(origin)).spec(cst, doc));
}

/** The spec, or a located E007 if one of its expressions or dimensions is nested too deeply for the passes after the parser. */
export function withinNesting(spec: SpecAst): ParseResult<SpecAst> {
  const tooDeep = tooDeepTree(spec);
  return tooDeep ? { value: null, diagnostics: [diagnostic("nestedTooDeeply", tooDeep, MAX_NESTING)] } : { value: spec, diagnostics: [] };
}

function cellStartOffset(cst: CstNode): number {
  return cst.location?.startOffset ?? 0;
}

/** Parses one equation `f = σ(...)` or `c' = ...` (used by the JSON front end). */
export function parseEquationText(text: string, origin: TextOrigin): ParseResult<EquationAst> {
  const { cst, diagnostics } = parseRule(text, origin, "equation");
  return cst ? { value: new AstBuilder(new SpanMaker(origin)).equation(cst), diagnostics: [] } : { value: null, diagnostics };
}

/** Parses one `M[i: H, j: H] = formula` (used by the JSON front end for consts). */
export function parseConstText(text: string, origin: TextOrigin): ParseResult<ConstAst> {
  const { cst, diagnostics } = parseRule(text, origin, "constDefinition");
  return cst ? { value: new AstBuilder(new SpanMaker(origin)).constDefinition(cst), diagnostics: [] } : { value: null, diagnostics };
}

/** Parses one expression (used by the JSON front end for outputs). */
export function parseExpressionText(text: string, origin: TextOrigin): ParseResult<ExprAst> {
  const { cst, diagnostics } = parseRule(text, origin, "expression");
  return cst ? { value: new AstBuilder(new SpanMaker(origin)).expression(cst), diagnostics: [] } : { value: null, diagnostics };
}

/** Parses one dimension such as `H + I` (used by the JSON front end for shapes). */
export function parseDimText(text: string, origin: TextOrigin): ParseResult<DimAst> {
  const { cst, diagnostics } = parseRule(text, origin, "dim");
  return cst ? { value: new AstBuilder(new SpanMaker(origin)).dim(cst), diagnostics: [] } : { value: null, diagnostics };
}
