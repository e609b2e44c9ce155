// AST -> DSL text. Prints the canonical ASCII form, with exactly the
// parentheses needed to give back the same tree when parsed again.
import type { BinaryOp, ConstAst, DimAst, ExprAst, InitializerAst, SizeAst, SpecAst } from "./ast.ts";

const PRECEDENCE: Record<BinaryOp, number> = { "<": 0, "<=": 0, ">": 0, ">=": 0, "==": 0, "!=": 0, "+": 1, "-": 1, "*": 2, "/": 2, "@": 3, "^": 5 };
const UNARY_PRECEDENCE = 4;
const POWER_PRECEDENCE = 5;
const ATOM_PRECEDENCE = 6;

function precedence(e: ExprAst): number {
  if (e.kind === "binary") return PRECEDENCE[e.op];
  if (e.kind === "neg") return UNARY_PRECEDENCE;
  return ATOM_PRECEDENCE;
}

/** Which operands of a binary operator need parentheses to parse back into the same tree. */
function operandParens(op: BinaryOp, left: ExprAst, right: ExprAst): [boolean, boolean] {
  const p = PRECEDENCE[op];
  // `^` is right-associative and its exponent is a unary: 2 ^ -m, (2 ^ a) ^ b.
  if (op === "^") return [precedence(left) <= POWER_PRECEDENCE, precedence(right) < UNARY_PRECEDENCE];
  // Comparisons do not chain, so a comparison operand is always wrapped.
  if (p === 0) return [precedence(left) <= p, precedence(right) <= p];
  // Operators associate to the left, so a right operand of equal
  // precedence keeps its parentheses: a - (b - c), and a + (b + c) too,
  // since the tree, not just the value, must survive a round trip.
  return [precedence(left) < p, precedence(right) <= p];
}

function wrap(text: string, needsParens: boolean): string {
  return needsParens ? `(${text})` : text;
}

export function printNumber(value: number): string {
  return String(value);
}

export function printExpr(e: ExprAst): string {
  switch (e.kind) {
    case "number":
      return printNumber(e.value);
    case "ref":
      return e.next ? `${e.name}'` : e.name;
    case "neg":
      return `-${wrap(printExpr(e.operand), precedence(e.operand) < UNARY_PRECEDENCE)}`;
    case "concat":
      return `[${e.items.map(printExpr).join(", ")}]`;
    case "call":
      return `${e.fn}(${e.args.map(printExpr).join(", ")})`;
    case "slice":
      return `${wrap(printExpr(e.operand), precedence(e.operand) < ATOM_PRECEDENCE)}[${printDim(e.start)} : ${printDim(e.end)}]`;
    case "binary": {
      const [leftParens, rightParens] = operandParens(e.op, e.left, e.right);
      return `${wrap(printExpr(e.left), leftParens)} ${e.op} ${wrap(printExpr(e.right), rightParens)}`;
    }
  }
}

export function printDim(d: DimAst, parentPrecedence = 0): string {
  switch (d.kind) {
    case "number":
      return printNumber(d.value);
    case "size":
      return d.name;
    case "binary": {
      const p = d.op === "*" ? 2 : 1;
      const text = `${printDim(d.left, p)} ${d.op} ${printDim(d.right, p + 1)}`;
      return parentPrecedence > p ? `(${text})` : text;
    }
  }
}

export function printShape(shape: readonly DimAst[]): string {
  return `[${shape.map((d) => printDim(d)).join(", ")}]`;
}

export function printInitializer(init: InitializerAst): string {
  return init.args.length === 0 ? init.name : `${init.name}(${init.args.map(printNumber).join(", ")})`;
}

export function printEquationText(target: string, next: boolean, value: ExprAst): string {
  return `${target}${next ? "'" : ""} = ${printExpr(value)}`;
}

export function printSizeBinding(s: SizeAst): string {
  if (s.formula !== null) return `${s.name} = ${printDim(s.formula)}`;
  return s.default === null ? s.name : `${s.name} = ${printNumber(s.default)}`;
}

/** `M[i: H, j: H] = formula`, the const declaration without its keyword (the JSON form holds exactly this). */
export function printConstText(c: ConstAst): string {
  const indices = c.indices.length === 0 ? "" : `[${c.indices.map((i) => `${i.name}: ${printDim(i.dim)}`).join(", ")}]`;
  return `${c.name}${indices} = ${printExpr(c.value)}`;
}

/** The whole spec as a `.lstm` file. */
export function printDsl(spec: SpecAst): string {
  // A JSON doc string may hold line breaks; each piece must stay inside a comment.
  const docLines = spec.doc.flatMap((line) => line.split(/\r\n|\r|\n/));
  const lines: string[] = docLines.map((line) => (line.length > 0 ? `# ${line}` : "#"));
  lines.push(`cell ${spec.name} {`);
  for (const s of spec.sizes) lines.push(`  size ${printSizeBinding(s)}`);
  for (const i of spec.inputs) lines.push(`  ${i.static ? "static " : ""}input ${i.name}${printShape(i.shape)}`);
  for (const s of spec.states) lines.push(`  state ${s.name}${printShape(s.shape)}${s.init === 0 ? "" : ` = ${printNumber(s.init)}`}`);
  for (const p of spec.params) {
    const shape = p.shape.length === 0 ? "" : printShape(p.shape);
    lines.push(`  param ${p.name}${shape}${p.init ? ` ~ ${printInitializer(p.init)}` : ""}`);
  }
  for (const c of spec.consts) lines.push(`  const ${printConstText(c)}`);
  if (spec.equations.length > 0) lines.push("");
  for (const eq of spec.equations) lines.push(`  ${printEquationText(eq.target, eq.next, eq.value)}`);
  if (spec.outputs.length > 0) lines.push("");
  for (const o of spec.outputs) lines.push(`  output ${o.name} = ${printExpr(o.value)}`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
