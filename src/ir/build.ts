// AST -> typed IR, with every check that can be made before sizes are bound:
// names, shapes, missing or duplicate equations, cycles, unused declarations.
import { diagnostic, hasErrors, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import { closest } from "../diagnostics/suggest.ts";
import type { ConstAst, DimAst, EquationAst, ExprAst, InitializerAst, SpecAst } from "../parse/ast.ts";
import { printConstText, printDim, printEquationText, printExpr } from "../parse/print-dsl.ts";
import { addDims, constantDim, evaluateDim, evaluateSizeFormula, formatDim, formatShape, multiplyDims, shapesEqual, sizeDim } from "./dims.ts";
import { firstOversized, MAX_ELEMENTS } from "./limits.ts";
import { GENERATED_EXPORTS, nameProblem, IDENTIFIER_PATTERN } from "./names.ts";
import {
  type CellIR,
  type Dim,
  type EquationRecord,
  type Initializer,
  type IrNode,
  type NewNode,
  type NodeId,
  type ParamDecl,
  type Shape,
  type SizeDecl,
  type SizeFormula,
  type UnaryFunction,
} from "./types.ts";
import { FUNCTION_ARITY, KNOWN_FUNCTIONS, STEP_INDEX } from "./functions.ts";

export interface BuildResult {
  readonly ir: CellIR | null;
  readonly diagnostics: readonly Diagnostic[];
}

type DeclKind = "size" | "input" | "state" | "param" | "const" | "intermediate";

interface Symbol {
  readonly kind: DeclKind;
  readonly span: Span;
}

/** What an equation in the step computes, before it is lowered. */
interface PendingEquation {
  readonly kind: "intermediate" | "next" | "output";
  readonly target: string;
  readonly value: ExprAst;
  readonly span: Span;
  readonly text: string;
}

const FOLDED_OPS = { "+": "add", "-": "sub", "*": "mul", "/": "div" } as const;
const BINARY_OPS = {
  ...FOLDED_OPS,
  "^": "pow",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
  "==": "eq",
  "!=": "ne",
} as const;

// A Map, not an object: an initializer named `toString` must not find Object.prototype's.
const INITIALIZER_ARITY: ReadonlyMap<string, number> = new Map([
  ["zeros", 0],
  ["ones", 0],
  ["glorot", 0],
  ["xavier", 0],
  ["orthogonal", 0],
  ["constant", 1],
  ["uniform", 2],
  ["normal", 1],
]);

function describe(kind: DeclKind): string {
  return kind === "intermediate" || kind === "input" ? `an ${kind}` : `a ${kind}`;
}

function where(span: Span): string {
  return `${span.line}:${span.column}`;
}

export function buildCell(spec: SpecAst): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => diagnostics.push(d);

  // --- Names -------------------------------------------------------------
  const checkName = (name: string, span: Span, what: string) => {
    const problem = nameProblem(name);
    if (problem === "pattern") {
      report(diagnostic("invalidIdentifier", span, what, JSON.stringify(name), IDENTIFIER_PATTERN.source));
    } else if (problem === "reserved") {
      report(diagnostic("reservedIdentifier", span, what, name));
    }
  };
  checkName(spec.name, spec.nameSpan, "cell");

  const symbols = new Map<string, Symbol>();
  const declare = (name: string, kind: DeclKind, span: Span) => {
    checkName(name, span, kind);
    if (kind === "size" && GENERATED_EXPORTS.has(name)) report(diagnostic("generatedNameCollision", span, name));
    const earlier = symbols.get(name);
    if (earlier) {
      report(diagnostic("alreadyDeclared", span, name, describe(earlier.kind), where(earlier.span)));
      return;
    }
    symbols.set(name, { kind, span });
  };
  for (const s of spec.sizes) declare(s.name, "size", s.span);
  for (const i of spec.inputs) declare(i.name, "input", i.span);
  for (const s of spec.states) declare(s.name, "state", s.span);
  for (const p of spec.params) declare(p.name, "param", p.span);
  for (const c of spec.consts) declare(c.name, "const", c.span);

  const sizeFormulas = resolveSizeFormulas(spec, report);
  for (const s of spec.sizes) {
    if (s.default === null) continue;
    if (!Number.isFinite(s.default)) report(diagnostic("numberNotFinite", s.span, s.default));
    else if (!(Number.isInteger(s.default) && s.default >= 1)) report(diagnostic("sizeDefaultNotPositive", s.span, s.name, s.default));
    else if (s.default > MAX_ELEMENTS) report(diagnostic("sizeTooLarge", s.span, s.name, s.default, MAX_ELEMENTS));
  }
  for (const s of spec.states) if (!Number.isFinite(s.init)) report(diagnostic("numberNotFinite", s.span, s.init));

  // --- Equations: which value each one defines ---------------------------
  const intermediates = new Map<string, EquationAst>();
  const nextEquations = new Map<string, EquationAst>();
  for (const eq of spec.equations) {
    if (eq.next) {
      const symbol = symbols.get(eq.target);
      if (symbol?.kind !== "state") {
        report(symbol ? diagnostic("nextOfDeclared", eq.targetSpan, eq.target, describe(symbol.kind)) : diagnostic("nextOfUndeclared", eq.targetSpan, eq.target));
      } else if (nextEquations.has(eq.target)) {
        report(diagnostic("nextDefinedTwice", eq.targetSpan, eq.target, where(nextEquations.get(eq.target)!.span)));
      } else {
        nextEquations.set(eq.target, eq);
      }
      continue;
    }
    const symbol = symbols.get(eq.target);
    if (symbol && symbol.kind !== "intermediate") {
      report(
        symbol.kind === "state"
          ? diagnostic("assignToState", eq.targetSpan, eq.target, where(symbol.span))
          : diagnostic("assignToDeclared", eq.targetSpan, eq.target, describe(symbol.kind), where(symbol.span)),
      );
      continue;
    }
    if (intermediates.has(eq.target)) {
      report(diagnostic("definedTwice", eq.targetSpan, eq.target, where(intermediates.get(eq.target)!.span)));
      continue;
    }
    checkName(eq.target, eq.targetSpan, "intermediate");
    intermediates.set(eq.target, eq);
    symbols.set(eq.target, { kind: "intermediate", span: eq.targetSpan });
  }
  for (const s of spec.states) {
    if (!nextEquations.has(s.name) && symbols.get(s.name)?.span === s.span) {
      report(diagnostic("stateWithoutNext", s.span, s.name));
    }
  }
  const outputNames = new Map<string, Span>();
  for (const o of spec.outputs) {
    checkName(o.name, o.span, "output");
    const earlier = outputNames.get(o.name);
    if (earlier) report(diagnostic("alreadyDeclared", o.span, o.name, "an output", where(earlier)));
    else outputNames.set(o.name, o.span);
  }
  if (spec.outputs.length === 0) {
    report(diagnostic("noOutput", spec.nameSpan));
  }

  // --- Shapes of declarations --------------------------------------------
  const resolveDim = (d: DimAst): Dim | null => {
    switch (d.kind) {
      case "number":
        if (!Number.isFinite(d.value)) {
          report(diagnostic("numberNotFinite", d.span, d.value));
          return null;
        }
        if (!Number.isInteger(d.value)) {
          report(diagnostic("dimensionNotWhole", d.span, d.value));
          return null;
        }
        return constantDim(d.value);
      case "size": {
        const symbol = symbols.get(d.name);
        if (symbol?.kind !== "size") {
          report(symbol ? diagnostic("notASize", d.span, d.name, describe(symbol.kind)) : diagnostic("unknownSize", d.span, d.name));
          return null;
        }
        return sizeDim(aliasedSize(spec, d.name));
      }
      case "binary": {
        const left = resolveDim(d.left);
        const right = resolveDim(d.right);
        if (!left || !right) return null;
        if (d.op !== "*") return addDims(left, right, d.op === "+" ? 1 : -1);
        const product = multiplyDims(left, right);
        if (!product) report(diagnostic("dimensionNotLinear", d.span));
        return product;
      }
    }
  };
  const resolveShape = (shape: readonly DimAst[]): Shape | null => {
    const dims = shape.map(resolveDim);
    return dims.every((d): d is Dim => d !== null) ? dims : null;
  };
  const declShape = (name: string, shape: readonly DimAst[], span: Span, ranks: readonly number[], what: string): Shape | null => {
    const resolved = resolveShape(shape);
    if (resolved && !ranks.includes(resolved.length)) {
      report(diagnostic("declarationRank", span, what, name, ranks.map((r) => ["a scalar", "a vector", "a matrix"][r]).join(" or "), formatShape(resolved)));
      return null;
    }
    return resolved;
  };

  const shapes = new Map<string, Shape | null>();
  for (const i of spec.inputs) shapes.set(i.name, declShape(i.name, i.shape, i.span, i.static ? [1, 2] : [1], i.static ? "static input" : "input"));
  for (const s of spec.states) shapes.set(s.name, declShape(s.name, s.shape, s.span, [1], "state"));
  const params: ParamDecl[] = [];
  for (const p of spec.params) {
    const shape = declShape(p.name, p.shape, p.span, [0, 1, 2], "parameter");
    shapes.set(p.name, shape);
    const init = resolveInitializer(p.init, shape, p.span, report);
    if (shape && init) params.push({ name: p.name, shape, init });
  }

  // --- Order: dependencies first, cycles reported ------------------------
  const pending: PendingEquation[] = [];
  const visiting: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const inCycle = new Set<string>();
  const keyOf = (eq: EquationAst) => (eq.next ? `${eq.target}'` : eq.target);
  const dependencies = (eq: EquationAst) =>
    references(eq.value).flatMap((ref) => (ref.next ? nextEquations.get(ref.name) : intermediates.get(ref.name)) ?? []);
  // Depth-first, with an explicit stack: a chain of 50,000 intermediates, each
  // defined before the one it reads, overflowed the JavaScript stack.
  const visit = (root: EquationAst) => {
    const frames: { eq: EquationAst; key: string; dependencies: EquationAst[]; next: number }[] = [];
    const enter = (eq: EquationAst) => {
      const key = keyOf(eq);
      if (done.has(key)) return;
      if (onPath.has(key)) {
        const cycle = [...visiting.slice(visiting.indexOf(key)), key];
        if (!cycle.some((k) => inCycle.has(k))) report(diagnostic("cycle", eq.targetSpan, cycle.join(" -> ")));
        cycle.forEach((k) => inCycle.add(k));
        return;
      }
      visiting.push(key);
      onPath.add(key);
      frames.push({ eq, key, dependencies: dependencies(eq), next: 0 });
    };
    enter(root);
    while (frames.length > 0) {
      const top = frames[frames.length - 1]!;
      if (top.next < top.dependencies.length) {
        enter(top.dependencies[top.next++]!);
        continue;
      }
      frames.pop();
      visiting.pop();
      onPath.delete(top.key);
      done.add(top.key);
      const eq = top.eq;
      pending.push({ kind: eq.next ? "next" : "intermediate", target: eq.target, value: eq.value, span: eq.span, text: printEquationText(eq.target, eq.next, eq.value) });
    }
  };
  for (const eq of [...intermediates.values(), ...nextEquations.values()].sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column)) {
    visit(eq);
  }
  for (const o of spec.outputs) {
    pending.push({ kind: "output", target: o.name, value: o.value, span: o.span, text: `output ${o.name} = ${printExpr(o.value)}` });
  }

  // --- Lowering with shape inference --------------------------------------
  const nodes: IrNode[] = [];
  const constNodes = new Map<string, NodeId | null>();
  /** While a const's formula is lowered: the const and its index names. */
  let constScope: { readonly name: string; readonly indices: ReadonlyMap<string, NodeId> } | null = null;
  const leafNodes = new Map<string, NodeId>();
  const intermediateNodes = new Map<string, NodeId | null>();
  const nextNodes = new Map<string, NodeId | null>();
  const add = (node: NewNode): NodeId => {
    const id = nodes.length;
    nodes.push({ ...node, id } as IrNode);
    return id;
  };
  const shapeOf = (id: NodeId) => nodes[id]!.shape;

  // Constant sub-expressions are folded only to check them: a constant that
  // is not a finite number (1e300 * 1e300, x / 0) would otherwise reach every
  // engine as Infinity or NaN, and generated code as 'null'.
  const constants = new Map<NodeId, number>();
  const constantValue = (id: NodeId): number | undefined => {
    const node = nodes[id]!;
    if (node.op === "const") return node.value;
    return constants.get(id);
  };
  const finiteConstant = (op: keyof typeof BINARY_OPS, left: NodeId, right: NodeId, span: Span): boolean => {
    const [a, b] = [constantValue(left), constantValue(right)];
    if (op === "/" && b === 0) {
      report(diagnostic("divisionByZero", span));
      return false;
    }
    if (a === undefined || b === undefined || !(op in FOLDED_OPS)) return true;
    const value = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
    if (!Number.isFinite(value)) {
      report(diagnostic("constantNotFinite", span, value));
      return false;
    }
    constants.set(nodes.length, value);
    return true;
  };

  const lower = (e: ExprAst): NodeId | null => {
    switch (e.kind) {
      case "number":
        if (!Number.isFinite(e.value)) {
          report(diagnostic("numberNotFinite", e.span, e.value));
          return null;
        }
        return add({ op: "const", value: e.value, shape: [], span: e.span });
      case "ref":
        return lowerRef(e.name, e.next, e.span);
      case "neg": {
        const operand = lower(e.operand);
        if (operand === null) return null;
        const value = constantValue(operand);
        if (value !== undefined) constants.set(nodes.length, -value);
        return add({ op: "neg", args: [operand], shape: shapeOf(operand), span: e.span });
      }
      case "concat": {
        const items = e.items.map(lower);
        if (items.some((i) => i === null)) return null;
        const ids = items as NodeId[];
        const bad = ids.findIndex((id) => shapeOf(id).length !== 1);
        if (bad >= 0) {
          report(diagnostic("concatOfNonVector", e.items[bad]!.span, formatShape(shapeOf(ids[bad]!))));
          return null;
        }
        const length = ids.map((id) => shapeOf(id)[0]!).reduce((a, b) => addDims(a, b));
        return add({ op: "concat", args: ids, shape: [length], span: e.span });
      }
      case "call":
        return lowerCall(e);
      case "slice": {
        const operand = lower(e.operand);
        if (operand === null) return null;
        const shape = shapeOf(operand);
        if (shape.length !== 1) {
          report(diagnostic("needsVector", e.operand.span, "a slice", formatShape(shape)));
          return null;
        }
        const [start, end] = [resolveDim(e.start), resolveDim(e.end)];
        if (!start || !end) return null;
        const length = addDims(end, start, -1);
        // Bounds that do not depend on the sizes are checked now; the rest when sizes are bound.
        const bounds: [Dim, number][] = [[start, 0], [length, 1], [addDims(shape[0]!, end, -1), 0]];
        if (bounds.some(([d, least]) => d.terms.length === 0 && d.constant < least)) {
          report(diagnostic("sliceOutOfRange", e.span, printDim(e.start), printDim(e.end), formatDim(shape[0]!)));
          return null;
        }
        return add({ op: "slice", offset: start, args: [operand], shape: [length], span: e.span });
      }
      case "binary": {
        const left = lower(e.left);
        const right = lower(e.right);
        if (left === null || right === null) return null;
        const [a, b] = [shapeOf(left), shapeOf(right)];
        if (e.op === "@") return lowerProduct(left, right, e.span);
        const shape = elementwiseShape([left, right], e.span, e.op);
        if (!shape) return null;
        if (!finiteConstant(e.op, left, right, e.span)) return null;
        return add({ op: BINARY_OPS[e.op], args: [left, right], shape, span: e.span });
      }
    }
  };

  /**
   * The shape of an elementwise operation on these arguments, or null after reporting why not: a
   * scalar is broadcast, and so is a vector [n] over the rows of a matrix [L, n].
   */
  const elementwiseShape = (ids: readonly NodeId[], span: Span, what: string): Shape | null => {
    const shapes = ids.map(shapeOf);
    const shape = shapes.reduce((widest, s) => (s.length > widest.length ? s : widest), [] as Shape);
    const bad = shapes.find((s) => !shapesEqual(s, shape.slice(shape.length - s.length)));
    if (bad) {
      report(diagnostic("elementwiseShapes", span, what, formatShape(shapes[0]!), formatShape(bad === shapes[0] ? shape : bad)));
      return null;
    }
    return shape;
  };

  /** `@`: matrix-vector, a matrix applied to each row of a matrix, or a vector weighting the rows of a matrix. */
  const lowerProduct = (left: NodeId, right: NodeId, span: Span): NodeId | null => {
    const [a, b] = [shapeOf(left), shapeOf(right)];
    if (a.length === 2 && b.length === 1 && shapesEqual([a[1]!], b)) return add({ op: "matvec", args: [left, right], shape: [a[0]!], span });
    if (a.length === 2 && b.length === 2 && shapesEqual([a[1]!], [b[1]!])) return add({ op: "rowmap", args: [left, right], shape: [b[0]!, a[0]!], span });
    if (a.length === 1 && b.length === 2 && shapesEqual(a, [b[0]!])) return add({ op: "vecmat", args: [left, right], shape: [b[1]!], span });
    report(diagnostic("matvecShapes", span, formatShape(a), formatShape(b)));
    return null;
  };
  const vectorArgument = (id: NodeId, ast: ExprAst, fn: string): boolean => {
    if (shapeOf(id).length === 1) return true;
    report(diagnostic("needsVector", ast.span, fn, formatShape(shapeOf(id))));
    return false;
  };
  const sum = (v: NodeId, span: Span) => add({ op: "reduce", fn: "sum", args: [v], shape: [], span });
  const mean = (v: NodeId, span: Span) => add({ op: "div", args: [sum(v, span), add({ op: "dim", dim: shapeOf(v)[0]!, shape: [], span })], shape: [], span });

  const lowerCall = (e: ExprAst & { kind: "call" }): NodeId | null => {
    const arities = FUNCTION_ARITY.get(e.fn);
    if (arities === undefined) {
      const near = closest(e.fn, KNOWN_FUNCTIONS);
      report(near === undefined ? diagnostic("unknownFunction", e.fnSpan, e.fn, KNOWN_FUNCTIONS.join(", ")) : diagnostic("unknownFunctionSuggestion", e.fnSpan, e.fn, near, KNOWN_FUNCTIONS.join(", ")));
      return null;
    }
    if (!arities.includes(e.args.length)) {
      const counts = arities.map(String).join(" or ");
      report(diagnostic("functionArity", e.span, e.fn, `${counts} argument${counts === "1" ? "" : "s"}`, e.args.length));
      return null;
    }
    if (e.fn === "iota") {
      const dim = resolveDim(asDim(e.args[0]!));
      return dim === null ? null : add({ op: "index", axis: 0, shape: [dim], span: e.span });
    }
    const lowered = e.args.map(lower);
    if (lowered.some((a) => a === null)) return null;
    const args = lowered as NodeId[];
    const [a, b, c] = args as [NodeId, NodeId, NodeId];
    const span = e.span;
    switch (e.fn) {
      case "min":
      case "max":
      case "mod": {
        if (args.length === 1) return vectorArgument(a, e.args[0]!, e.fn) ? add({ op: "reduce", fn: "max", args: [a], shape: [], span }) : null;
        const shape = elementwiseShape(args, span, e.fn);
        return shape && add({ op: e.fn, args: [a, b], shape, span });
      }
      case "where": {
        const shape = elementwiseShape(args, span, e.fn);
        return shape && add({ op: "where", args: [a, b, c], shape, span });
      }
      case "sum":
        return vectorArgument(a, e.args[0]!, e.fn) ? sum(a, span) : null;
      case "mean":
        return vectorArgument(a, e.args[0]!, e.fn) ? mean(a, span) : null;
      case "dot": {
        if (!vectorArgument(a, e.args[0]!, e.fn) || !vectorArgument(b, e.args[1]!, e.fn)) return null;
        const shape = elementwiseShape(args, span, e.fn);
        return shape && sum(add({ op: "mul", args: [a, b], shape, span }), span);
      }
      case "softmax": {
        if (!vectorArgument(a, e.args[0]!, e.fn)) return null;
        // exp(v - max v) / Σ exp(v - max v): the same value as exp(v) / Σ exp(v), without overflow.
        const shifted = add({ op: "sub", args: [a, add({ op: "reduce", fn: "max", args: [a], shape: [], span })], shape: shapeOf(a), span });
        const exps = add({ op: "apply", fn: "exp", args: [shifted], shape: shapeOf(a), span });
        return add({ op: "div", args: [exps, sum(exps, span)], shape: shapeOf(a), span });
      }
      case "layernorm": {
        if (!vectorArgument(a, e.args[0]!, e.fn)) return null;
        const shape = elementwiseShape(args, span, e.fn);
        if (!shape) return null;
        // (v - mean v) / sqrt(mean((v - mean v)²) + eps) * gain + bias: the population variance, eps inside the root.
        const centred = add({ op: "sub", args: [a, mean(a, span)], shape, span });
        const variance = mean(add({ op: "mul", args: [centred, centred], shape, span }), span);
        const deviation = add({ op: "apply", fn: "sqrt", args: [add({ op: "add", args: [variance, args[3]!], shape: [], span })], shape: [], span });
        const normalised = add({ op: "div", args: [centred, deviation], shape, span });
        return add({ op: "add", args: [add({ op: "mul", args: [normalised, b], shape, span }), c], shape, span });
      }
      default:
        return add({ op: "apply", fn: e.fn as UnaryFunction, args: [a], shape: shapeOf(a), span });
    }
  };

  const lowerRef = (name: string, next: boolean, span: Span): NodeId | null => {
    const symbol = symbols.get(name);
    if (constScope) {
      const index = constScope.indices.get(name);
      if (index !== undefined && !next) return index;
      const forbidden = forbiddenInConst(name, next, symbol?.kind);
      if (forbidden !== null) {
        report(diagnostic("constReadsStep", span, constScope.name, next ? `${name}'` : name, forbidden));
        return null;
      }
    }
    if (!symbol && name === STEP_INDEX && !next) {
      const existing = leafNodes.get(STEP_INDEX);
      if (existing !== undefined) return existing;
      const id = add({ op: "step", shape: [], span });
      leafNodes.set(STEP_INDEX, id);
      return id;
    }
    if (!symbol) {
      const near = closest(name, symbols.keys());
      report(near === undefined ? diagnostic("unknownName", span, name) : diagnostic("unknownNameSuggestion", span, name, near));
      return null;
    }
    if (next) {
      if (symbol.kind !== "state") {
        report(diagnostic("nextOfNonState", span, name, describe(symbol.kind)));
        return null;
      }
      return nextNodes.get(name) ?? null;
    }
    switch (symbol.kind) {
      case "size":
        if (constScope) return add({ op: "dim", dim: sizeDim(name), shape: [], span });
        report(diagnostic("sizeAsValue", span, name));
        return null;
      case "intermediate":
        return intermediateNodes.get(name) ?? null;
      case "const": {
        const id = constNodes.get(name);
        if (id === undefined && constScope) report(diagnostic("constReadsStep", span, constScope.name, name, "a const declared after it"));
        return id ?? null;
      }
      default: {
        const shape = shapes.get(name);
        if (!shape) return null;
        const existing = leafNodes.get(name);
        if (existing !== undefined) return existing;
        const id = add({ op: symbol.kind, name, shape, span: symbol.span });
        leafNodes.set(name, id);
        return id;
      }
    }
  };

  const lowerConst = (c: ConstAst): NodeId | null => {
    const dims = c.indices.map((i) => resolveDim(i.dim));
    if (dims.some((d) => d === null)) return null;
    const shape = dims as Dim[];
    const indices = new Map(c.indices.map((i, axis) => [i.name, add({ op: "index", axis, shape, span: i.span })]));
    c.indices.forEach((i) => checkName(i.name, i.span, "index"));
    constScope = { name: c.name, indices };
    const node = lower(c.value);
    constScope = null;
    if (node !== null && !shapesEqual(shapeOf(node), shape)) {
      report(diagnostic("constShape", c.span, c.name, formatShape(shape), formatShape(shapeOf(node))));
      return null;
    }
    return node;
  };
  const constEquations: EquationRecord[] = [];
  for (const c of spec.consts) {
    const node = lowerConst(c);
    constNodes.set(c.name, node);
    shapes.set(c.name, node === null ? null : shapeOf(node));
    if (node !== null) constEquations.push({ kind: "const", target: c.name, node, text: `const ${printConstText(c)}`, span: c.span });
  }

  const equations: EquationRecord[] = [...constEquations];
  const outputs: { name: string; node: NodeId; shape: Shape }[] = [];
  for (const eq of pending) {
    if (inCycle.has(eq.kind === "next" ? `${eq.target}'` : eq.target)) continue;
    const node = lower(eq.value);
    if (eq.kind === "intermediate") intermediateNodes.set(eq.target, node);
    if (eq.kind === "next") {
      const stateShape = shapes.get(eq.target);
      if (node !== null && stateShape && !shapesEqual(shapeOf(node), stateShape)) {
        report(diagnostic("nextStateShape", eq.span, eq.target, formatShape(shapeOf(node)), formatShape(stateShape)));
        nextNodes.set(eq.target, null);
        continue;
      }
      nextNodes.set(eq.target, node);
    }
    if (node === null) continue;
    if (eq.kind === "output") {
      if (shapeOf(node).length !== 1) {
        report(diagnostic("outputNotVector", eq.span, eq.target, formatShape(shapeOf(node))));
        continue;
      }
      outputs.push({ name: eq.target, node, shape: shapeOf(node) });
    }
    equations.push({ kind: eq.kind, target: eq.target, node, text: eq.text, span: eq.span });
  }

  // --- Unused declarations (warnings) ------------------------------------
  const liveIntermediates = liveNames(spec, nextEquations, intermediates);
  const used = new Set([...spec.equations.map((e) => e.value), ...spec.outputs.map((o) => o.value)].flatMap(references).map((r) => r.name));
  for (const p of spec.params) if (!used.has(p.name)) report(diagnostic("unusedParameter", p.span, p.name));
  for (const i of spec.inputs) if (!used.has(i.name)) report(diagnostic("unusedInput", i.span, i.name));
  for (const [name, eq] of intermediates) {
    if (!liveIntermediates.has(name)) report(diagnostic("unusedIntermediate", eq.targetSpan, name));
  }

  // --- Sizes: what the spec's defaults would allocate ---------------------
  if (!hasErrors(diagnostics)) {
    const declared = (kind: string) => (d: { name: string; span: Span }) => ({ what: `${kind} '${d.name}'`, shape: shapes.get(d.name)!, span: d.span });
    const declarations = [...spec.inputs.map(declared("input")), ...spec.states.map(declared("state")), ...spec.params.map(declared("parameter"))];
    // A value can be larger than every declaration it is made from ([x, x, …]); leaves are the declarations themselves.
    const values = nodes.filter((n) => !("name" in n)).map((n) => ({ what: "this expression", shape: n.shape, span: n.span }));
    defaultSizeProblems(spec, sizeFormulas, declarations, values).forEach(report);
  }

  if (hasErrors(diagnostics)) return { ir: null, diagnostics: sortDiagnostics(diagnostics) };
  return {
    ir: {
      name: spec.name,
      file: spec.file,
      doc: spec.doc,
      sizes: spec.sizes.map((s): SizeDecl => ({ name: s.name, default: s.default, formula: sizeFormulas.get(s.name) ?? null })),
      inputs: spec.inputs.map((i) => ({ name: i.name, static: i.static, shape: shapes.get(i.name)! })),
      states: spec.states.map((s) => ({ name: s.name, shape: shapes.get(s.name)!, init: s.init })),
      params,
      nodes,
      equations,
      nextState: spec.states.map((s) => ({ state: s.name, node: nextNodes.get(s.name)! })),
      outputs,
    },
    diagnostics: sortDiagnostics(diagnostics),
  };
}

interface LocatedAllocation {
  readonly what: string;
  readonly shape: Shape;
  readonly span: Span;
}

/**
 * What bindSizes would refuse, unlocated, for the spec's own defaults: a
 * dimension that is not positive (E204), or a tensor past MAX_ELEMENTS
 * (E206, every declaration, else the first expression value).
 */
function defaultSizeProblems(
  spec: SpecAst,
  formulas: ReadonlyMap<string, NonNullable<SizeDecl["formula"]>>,
  declarations: readonly LocatedAllocation[],
  values: readonly LocatedAllocation[],
): Diagnostic[] {
  const defaults = defaultSizes(spec, formulas);
  const defaulted = new Set(spec.sizes.filter((s) => s.default !== null || formulas.has(s.name)).map((s) => s.name));
  const notPositive = declarations.flatMap(({ what, shape, span }) => {
    const bad = shape.find((d) => d.terms.every(([name]) => defaulted.has(name)) && evaluateDim(d, defaults) < 1);
    return bad ? [diagnostic("dimensionNotPositiveByDefault", span, what, formatDim(bad), evaluateDim(bad, defaults))] : [];
  });
  if (notPositive.length > 0) return notPositive;
  const tooLarge = (a: LocatedAllocation) => {
    const oversized = firstOversized([a], defaults);
    return oversized ? [diagnostic("tensorTooLarge", a.span, oversized.what, oversized.elements, oversized.detail, MAX_ELEMENTS)] : [];
  };
  const declared = declarations.flatMap(tooLarge);
  return declared.length > 0 ? declared : values.flatMap(tooLarge).slice(0, 1);
}

/**
 * The sizes' defaults, for a check of what they would allocate. A size
 * without a default is bound at run time instead; here it counts as 1, so
 * only what the defaults and literal dimensions already make too large is
 * reported.
 */
function defaultSizes(spec: SpecAst, formulas: ReadonlyMap<string, NonNullable<SizeDecl["formula"]>>): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const s of spec.sizes) {
    const formula = formulas.get(s.name);
    sizes[s.name] = formula ? evaluateSizeFormula(formula.value, sizes) : (s.default ?? 1);
  }
  return sizes;
}

/** What a const's formula may not read, described; null for what it may (sizes, earlier consts) or what is unknown anyway. */
function forbiddenInConst(name: string, next: boolean, kind: DeclKind | undefined): string | null {
  if (next) return "the next value of a state";
  if (kind === undefined) return name === STEP_INDEX ? "the step index" : null;
  return kind === "size" || kind === "const" ? null : describe(kind);
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.span.line - b.span.line || a.span.column - b.span.column);
}

function references(e: ExprAst): { name: string; next: boolean }[] {
  switch (e.kind) {
    case "number":
      return [];
    case "ref":
      return [{ name: e.name, next: e.next }];
    case "neg":
      return references(e.operand);
    case "binary":
      return [...references(e.left), ...references(e.right)];
    case "slice":
      return references(e.operand);
    case "concat":
    case "call":
      return (e.kind === "concat" ? e.items : e.args).flatMap(references);
  }
}

/** `iota(H + 1)`'s argument, written as an expression, read as the dimension it names. */
/**
 * The size a constraint `I = H` makes `I` the same as, followed to the end
 * (the other size is declared before it), so that [I] and [H] are one shape;
 * the name itself for any other size.
 */
function aliasedSize(spec: SpecAst, name: string): string {
  const at = spec.sizes.findIndex((s) => s.name === name);
  const formula = spec.sizes[at]?.formula;
  if (formula?.kind !== "size" || spec.sizes.findIndex((s) => s.name === formula.name) >= at) return name;
  return aliasedSize(spec, formula.name);
}

function asDim(e: ExprAst): DimAst {
  switch (e.kind) {
    case "number":
      return { kind: "number", value: e.value, span: e.span };
    case "ref":
      return { kind: "size", name: e.name, span: e.span };
    case "binary":
      if (e.op === "+" || e.op === "-" || e.op === "*") return { kind: "binary", op: e.op, left: asDim(e.left), right: asDim(e.right), span: e.span };
      return { kind: "size", name: printExpr(e), span: e.span };
    default:
      return { kind: "size", name: printExpr(e), span: e.span };
  }
}

/** Each defined size's formula, checked: it may read only sizes declared before it. */
function resolveSizeFormulas(spec: SpecAst, report: (d: Diagnostic) => void): Map<string, NonNullable<SizeDecl["formula"]>> {
  const formulas = new Map<string, NonNullable<SizeDecl["formula"]>>();
  const earlier = new Set<string>();
  const convert = (d: DimAst, size: string): SizeFormula | null => {
    switch (d.kind) {
      case "number":
        if (Number.isInteger(d.value) && d.value >= 0) return { kind: "number", value: d.value };
        report(diagnostic("dimensionNotWhole", d.span, d.value));
        return null;
      case "size":
        if (earlier.has(d.name)) return { kind: "size", name: d.name };
        report(diagnostic("sizeFormulaOrder", d.span, size, d.name));
        return null;
      case "binary": {
        const [left, right] = [convert(d.left, size), convert(d.right, size)];
        return left && right && { kind: "binary", op: d.op, left, right };
      }
    }
  };
  for (const s of spec.sizes) {
    const value = s.formula && convert(s.formula, s.name);
    if (value && s.formula) formulas.set(s.name, { value, text: printDim(s.formula), span: s.span });
    earlier.add(s.name);
  }
  return formulas;
}

/** Intermediates that some next state or output depends on. */
function liveNames(spec: SpecAst, nextEquations: Map<string, EquationAst>, intermediates: Map<string, EquationAst>): Set<string> {
  const live = new Set<string>();
  const work = [...nextEquations.values()].map((e) => e.value).concat(spec.outputs.map((o) => o.value));
  while (work.length > 0) {
    for (const ref of references(work.pop()!)) {
      const key = ref.next ? `${ref.name}'` : ref.name;
      if (live.has(key)) continue;
      live.add(key);
      const eq = ref.next ? nextEquations.get(ref.name) : intermediates.get(ref.name);
      if (eq) work.push(eq.value);
    }
  }
  return live;
}

function resolveInitializer(init: InitializerAst | null, shape: Shape | null, span: Span, report: (d: Diagnostic) => void): Initializer | null {
  if (init === null) return shape && shape.length === 2 ? { kind: "glorot" } : { kind: "zeros" };
  const arity = INITIALIZER_ARITY.get(init.name);
  if (arity === undefined) {
    report(diagnostic("unknownInitializer", init.span, init.name, [...INITIALIZER_ARITY.keys()].join(", ")));
    return null;
  }
  if (init.args.length !== arity) {
    report(diagnostic("initializerArity", init.span, init.name, arity, init.args.length));
    return null;
  }
  const infinite = init.args.find((x) => !Number.isFinite(x));
  if (infinite !== undefined) {
    report(diagnostic("numberNotFinite", init.span, infinite));
    return null;
  }
  const [a, b] = init.args as [number, number];
  switch (init.name) {
    case "zeros":
    case "ones":
      return { kind: init.name };
    case "constant":
      return { kind: "constant", value: a };
    case "uniform":
      if (!(a < b)) {
        report(diagnostic("uniformBounds", init.span, a, b));
        return null;
      }
      return { kind: "uniform", low: a, high: b };
    case "normal":
      if (!(a > 0)) {
        report(diagnostic("normalDeviation", init.span, a));
        return null;
      }
      return { kind: "normal", std: a };
    default:
      if (shape && shape.length !== 2) {
        report(diagnostic("initializerNeedsMatrix", init.span, init.name));

        return null;
      }
      void span;
      return { kind: init.name === "orthogonal" ? "orthogonal" : "glorot" };
  }
}
