// AST -> typed IR, with every check that can be made before sizes are bound:
// names, shapes, missing or duplicate equations, cycles, unused declarations.
import { diagnostic, hasErrors, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import type { DimAst, EquationAst, ExprAst, InitializerAst, SpecAst } from "../parse/ast.ts";
import { printEquationText, printExpr } from "../parse/print-dsl.ts";
import { addDims, constantDim, formatShape, multiplyDims, shapesEqual, sizeDim } from "./dims.ts";
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

const INITIALIZER_ARITY: Record<string, number> = {
  zeros: 0,
  ones: 0,
  glorot: 0,
  xavier: 0,
  orthogonal: 0,
  constant: 1,
  uniform: 2,
  normal: 1,
};

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
      report(diagnostic("E103", `${what} name ${JSON.stringify(name)} must match ${IDENTIFIER_PATTERN.source} (a letter, then letters, digits or '_', at most 64)`, span));
    } else if (problem === "reserved") {
      report(diagnostic("E104", `${what} name '${name}' is reserved (a keyword or built-in of lstmc, TypeScript or WGSL)`, span));
    }
  };
  checkName(spec.name, spec.nameSpan, "cell");

  const symbols = new Map<string, Symbol>();
  const declare = (name: string, kind: DeclKind, span: Span) => {
    checkName(name, span, kind);
    const earlier = symbols.get(name);
    if (earlier) {
      report(diagnostic("E102", `'${name}' is already declared as ${describe(earlier.kind)} at ${where(earlier.span)}`, span));
      return;
    }
    symbols.set(name, { kind, span });
  };
  for (const s of spec.sizes) declare(s.name, "size", s.span);
  for (const i of spec.inputs) declare(i.name, "input", i.span);
  for (const s of spec.states) declare(s.name, "state", s.span);
  for (const p of spec.params) declare(p.name, "param", p.span);

  for (const s of spec.sizes) {
    if (s.default !== null && !(Number.isInteger(s.default) && s.default >= 1)) {
      report(diagnostic("E204", `size '${s.name}' must default to a positive whole number, not ${s.default}`, s.span));
    }
  }

  // --- Equations: which value each one defines ---------------------------
  const intermediates = new Map<string, EquationAst>();
  const nextEquations = new Map<string, EquationAst>();
  for (const eq of spec.equations) {
    if (eq.next) {
      const symbol = symbols.get(eq.target);
      if (symbol?.kind !== "state") {
        const what = symbol ? `'${eq.target}' is ${describe(symbol.kind)}` : `'${eq.target}' is not declared`;
        report(diagnostic("E302", `${what}; only states have a next value (declare it with 'state ${eq.target}[…]')`, eq.targetSpan));
      } else if (nextEquations.has(eq.target)) {
        report(diagnostic("E304", `next value of '${eq.target}' is already defined at ${where(nextEquations.get(eq.target)!.span)}`, eq.targetSpan));
      } else {
        nextEquations.set(eq.target, eq);
      }
      continue;
    }
    const symbol = symbols.get(eq.target);
    if (symbol && symbol.kind !== "intermediate") {
      const hint = symbol.kind === "state" ? `; write ${eq.target}' = … for its next value` : "";
      report(diagnostic("E306", `cannot assign to '${eq.target}', which is ${describe(symbol.kind)} declared at ${where(symbol.span)}${hint}`, eq.targetSpan));
      continue;
    }
    if (intermediates.has(eq.target)) {
      report(diagnostic("E304", `'${eq.target}' is already defined at ${where(intermediates.get(eq.target)!.span)}`, eq.targetSpan));
      continue;
    }
    checkName(eq.target, eq.targetSpan, "intermediate");
    intermediates.set(eq.target, eq);
    symbols.set(eq.target, { kind: "intermediate", span: eq.targetSpan });
  }
  for (const s of spec.states) {
    if (!nextEquations.has(s.name) && symbols.get(s.name)?.span === s.span) {
      report(diagnostic("E301", `state '${s.name}' has no next-state equation (add ${s.name}' = …)`, s.span));
    }
  }
  const outputNames = new Map<string, Span>();
  for (const o of spec.outputs) {
    checkName(o.name, o.span, "output");
    const earlier = outputNames.get(o.name);
    if (earlier) report(diagnostic("E102", `output '${o.name}' is already declared at ${where(earlier)}`, o.span));
    else outputNames.set(o.name, o.span);
  }
  if (spec.outputs.length === 0) {
    report(diagnostic("E305", "the cell declares no output (add e.g. output h = h')", spec.nameSpan));
  }

  // --- Shapes of declarations --------------------------------------------
  const resolveDim = (d: DimAst): Dim | null => {
    switch (d.kind) {
      case "number":
        if (!Number.isInteger(d.value)) {
          report(diagnostic("E204", `a dimension must be a whole number, not ${d.value}`, d.span));
          return null;
        }
        return constantDim(d.value);
      case "size": {
        const symbol = symbols.get(d.name);
        if (symbol?.kind !== "size") {
          report(diagnostic("E105", symbol ? `'${d.name}' is ${describe(symbol.kind)}, not a size` : `unknown size '${d.name}' (declare it with 'size ${d.name}')`, d.span));
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
        if (!product) report(diagnostic("E204", "a dimension must be linear in the sizes (a product of two sizes is not)", d.span));
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
      report(diagnostic("E203", `${what} '${name}' must be ${ranks.map((r) => ["a scalar", "a vector", "a matrix"][r]).join(" or ")}, not ${formatShape(resolved)}`, span));
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
  const done = new Set<string>();
  const inCycle = new Set<string>();
  const keyOf = (eq: EquationAst) => (eq.next ? `${eq.target}'` : eq.target);
  const visit = (eq: EquationAst) => {
    const key = keyOf(eq);
    if (done.has(key)) return;
    const at = visiting.indexOf(key);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), key];
      if (!cycle.some((k) => inCycle.has(k))) {
        report(diagnostic("E303", `cycle among equations: ${cycle.join(" -> ")}`, eq.targetSpan));
      }
      cycle.forEach((k) => inCycle.add(k));
      return;
    }
    visiting.push(key);
    for (const ref of references(eq.value)) {
      const dependency = ref.next ? nextEquations.get(ref.name) : intermediates.get(ref.name);
      if (dependency) visit(dependency);
    }
    visiting.pop();
    done.add(key);
    pending.push({
      kind: eq.next ? "next" : "intermediate",
      target: eq.target,
      value: eq.value,
      span: eq.span,
      text: printEquationText(eq.target, eq.next, eq.value),
    });
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

  const lower = (e: ExprAst): NodeId | null => {
    switch (e.kind) {
      case "number":
        return add({ op: "const", value: e.value, shape: [], span: e.span });
      case "ref":
        return lowerRef(e.name, e.next, e.span);
      case "neg": {
        const operand = lower(e.operand);
        return operand === null ? null : add({ op: "neg", args: [operand], shape: shapeOf(operand), span: e.span });
      }
      case "concat": {
        const items = e.items.map(lower);
        if (items.some((i) => i === null)) return null;
        const ids = items as NodeId[];
        const bad = ids.findIndex((id) => shapeOf(id).length !== 1);
        if (bad >= 0) {
          report(diagnostic("E203", `only vectors can be concatenated, but this is ${formatShape(shapeOf(ids[bad]!))}`, e.items[bad]!.span));
          return null;
        }
        const length = ids.map((id) => shapeOf(id)[0]!).reduce((a, b) => addDims(a, b));
        return add({ op: "concat", args: ids, shape: [length], span: e.span });
      }
      case "call": {
        const fn = e.fn as UnaryFunction;
        if (!(UNARY_FUNCTIONS as readonly string[]).includes(e.fn)) {
          report(diagnostic("E106", `unknown function '${e.fn}' (known: ${UNARY_FUNCTIONS.join(", ")})`, e.fnSpan));
          return null;
        }
        if (e.args.length !== 1) {
          report(diagnostic("E107", `'${e.fn}' takes 1 argument, not ${e.args.length}`, e.span));
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
            report(diagnostic("E202", `cannot multiply ${formatShape(a)} @ ${formatShape(b)}: needs a matrix [m, n] @ a vector [n]`, e.span));
            return null;
          }
          return add({ op: "matvec", args: [left, right], shape: [a[0]!], span: e.span });
        }
        const shape = a.length === 0 ? b : b.length === 0 ? a : shapesEqual(a, b) ? a : null;
        if (!shape) {
          report(diagnostic("E201", `cannot apply '${e.op}' to ${formatShape(a)} and ${formatShape(b)}`, e.span));
          return null;
        }
        return add({ op: BINARY_OPS[e.op], args: [left, right], shape, span: e.span });
      }
    }
  };

  const lowerRef = (name: string, next: boolean, span: Span): NodeId | null => {
    const symbol = symbols.get(name);
    if (!symbol) {
      report(diagnostic("E101", `unknown name '${name}'`, span));
      return null;
    }
    if (next) {
      if (symbol.kind !== "state") {
        report(diagnostic("E110", `'${name}' is ${describe(symbol.kind)}; only states have a next value ${name}'`, span));
        return null;
      }
      return nextNodes.get(name) ?? null;
    }
    switch (symbol.kind) {
      case "size":
        report(diagnostic("E109", `'${name}' is a size, which cannot be used as a value`, span));
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
        report(diagnostic("E205", `${eq.target}' is ${formatShape(shapeOf(node))} but state '${eq.target}' is ${formatShape(stateShape)}`, eq.span));
        nextNodes.set(eq.target, null);
        continue;
      }
      nextNodes.set(eq.target, node);
    }
    if (node === null) continue;
    if (eq.kind === "output") {
      if (shapeOf(node).length !== 1) {
        report(diagnostic("E203", `output '${eq.target}' must be a vector, not ${formatShape(shapeOf(node))}`, eq.span));
        continue;
      }
      outputs.push({ name: eq.target, node, shape: shapeOf(node) });
    }
    equations.push({ kind: eq.kind, target: eq.target, node, text: eq.text, span: eq.span });
  }

  // --- Unused declarations (warnings) ------------------------------------
  const liveIntermediates = liveNames(spec, nextEquations, intermediates);
  const used = new Set([...spec.equations.map((e) => e.value), ...spec.outputs.map((o) => o.value)].flatMap(references).map((r) => r.name));
  for (const p of spec.params) if (!used.has(p.name)) report(diagnostic("W501", `parameter '${p.name}' is never used`, p.span));
  for (const i of spec.inputs) if (!used.has(i.name)) report(diagnostic("W502", `input '${i.name}' is never used`, i.span));
  for (const [name, eq] of intermediates) {
    if (!liveIntermediates.has(name)) report(diagnostic("W503", `'${name}' is computed but never used by a next state or an output`, eq.targetSpan));
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
  const arity = INITIALIZER_ARITY[init.name];
  if (arity === undefined) {
    report(diagnostic("E108", `unknown initializer '${init.name}' (known: ${Object.keys(INITIALIZER_ARITY).join(", ")})`, init.span));
    return null;
  }
  if (init.args.length !== arity) {
    report(diagnostic("E107", `initializer '${init.name}' takes ${arity} argument${arity === 1 ? "" : "s"}, not ${init.args.length}`, init.span));
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
        report(diagnostic("E107", `uniform(low, high) needs low < high, not ${a} and ${b}`, init.span));
        return null;
      }
      return { kind: "uniform", low: a, high: b };
    case "normal":
      if (!(a > 0)) {
        report(diagnostic("E107", `normal(std) needs std > 0, not ${a}`, init.span));
        return null;
      }
      return { kind: "normal", std: a };
    default:
      if (shape && shape.length !== 2) {
        report(diagnostic("E203", `initializer '${init.name}' needs a matrix parameter`, init.span));
        return null;
      }
      void span;
      return { kind: init.name === "orthogonal" ? "orthogonal" : "glorot" };
  }
}
