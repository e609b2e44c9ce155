// AST -> typed IR, with every check that can be made before sizes are bound:
// names, shapes, missing or duplicate equations, cycles, unused declarations.
import { diagnostic, hasErrors, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import { closest } from "../diagnostics/suggest.ts";
import type { DimAst, EquationAst, ExprAst, InitializerAst, SpecAst } from "../parse/ast.ts";
import { printEquationText, printExpr } from "../parse/print-dsl.ts";
import { addDims, constantDim, evaluateDim, formatDim, formatShape, multiplyDims, shapesEqual, sizeDim } from "./dims.ts";
import { firstOversized, MAX_ELEMENTS } from "./limits.ts";
import { nameProblem, IDENTIFIER_PATTERN } from "./names.ts";
import {
  UNARY_FUNCTIONS,
  type CellIR,
  type Dim,
  type EquationRecord,
  type Initializer,
  type IrNode,
  type NewNode,
  type NodeId,
  type ParamDecl,
  type Shape,
  type UnaryFunction,
} from "./types.ts";

export interface BuildResult {
  readonly ir: CellIR | null;
  readonly diagnostics: readonly Diagnostic[];
}

type DeclKind = "size" | "input" | "state" | "param" | "intermediate";

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

const BINARY_OPS = { "+": "add", "-": "sub", "*": "mul", "/": "div" } as const;

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
        return sizeDim(d.name);
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
  for (const i of spec.inputs) shapes.set(i.name, declShape(i.name, i.shape, i.span, [1], "input"));
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
    if (a === undefined || b === undefined) return true;
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
      case "call": {
        const fn = e.fn as UnaryFunction;
        if (!(UNARY_FUNCTIONS as readonly string[]).includes(e.fn)) {
          const near = closest(e.fn, UNARY_FUNCTIONS);
          report(near === undefined ? diagnostic("unknownFunction", e.fnSpan, e.fn, UNARY_FUNCTIONS.join(", ")) : diagnostic("unknownFunctionSuggestion", e.fnSpan, e.fn, near, UNARY_FUNCTIONS.join(", ")));
          return null;
        }
        if (e.args.length !== 1) {
          report(diagnostic("functionArity", e.span, e.fn, e.args.length));
          return null;
        }
        const arg = lower(e.args[0]!);
        return arg === null ? null : add({ op: "apply", fn, args: [arg], shape: shapeOf(arg), span: e.span });
      }
      case "binary": {
        const left = lower(e.left);
        const right = lower(e.right);
        if (left === null || right === null) return null;
        const [a, b] = [shapeOf(left), shapeOf(right)];
        if (e.op === "@") {
          if (a.length !== 2 || b.length !== 1 || !shapesEqual([a[1]!], b)) {
            report(diagnostic("matvecShapes", e.span, formatShape(a), formatShape(b)));
            return null;
          }
          return add({ op: "matvec", args: [left, right], shape: [a[0]!], span: e.span });
        }
        const shape = a.length === 0 ? b : b.length === 0 ? a : shapesEqual(a, b) ? a : null;
        if (!shape) {
          report(diagnostic("elementwiseShapes", e.span, e.op, formatShape(a), formatShape(b)));
          return null;
        }
        if (!finiteConstant(e.op, left, right, e.span)) return null;
        return add({ op: BINARY_OPS[e.op], args: [left, right], shape, span: e.span });
      }
    }
  };

  const lowerRef = (name: string, next: boolean, span: Span): NodeId | null => {
    const symbol = symbols.get(name);
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
        report(diagnostic("sizeAsValue", span, name));
        return null;
      case "intermediate":
        return intermediateNodes.get(name) ?? null;
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

  const equations: EquationRecord[] = [];
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
    defaultSizeProblems(spec, declarations, values).forEach(report);
  }

  if (hasErrors(diagnostics)) return { ir: null, diagnostics: sortDiagnostics(diagnostics) };
  return {
    ir: {
      name: spec.name,
      file: spec.file,
      doc: spec.doc,
      sizes: spec.sizes.map((s) => ({ name: s.name, default: s.default })),
      inputs: spec.inputs.map((i) => ({ name: i.name, shape: shapes.get(i.name)! })),
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
function defaultSizeProblems(spec: SpecAst, declarations: readonly LocatedAllocation[], values: readonly LocatedAllocation[]): Diagnostic[] {
  const defaults = defaultSizes(spec);
  const defaulted = new Set(spec.sizes.filter((s) => s.default !== null).map((s) => s.name));
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
function defaultSizes(spec: SpecAst): Record<string, number> {
  return Object.fromEntries(spec.sizes.map((s) => [s.name, s.default ?? 1]));
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
    case "concat":
    case "call":
      return (e.kind === "concat" ? e.items : e.args).flatMap(references);
  }
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
