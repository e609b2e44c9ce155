// Matrix expressions in products: `(W * M) @ h`, `(W + V) @ x`, `(2 * W) @ x`.
// Inputs and states are vectors, so every matrix a cell computes is made of
// parameters and constants alone: it is the same at every step. Lowering
// therefore hoists each matrix expression that a product reads out of the
// step. The step's product reads a derived matrix (an internal parameter
// `_m<k>`) that the module computes once per call, element by element, and
// backward sends that matrix's gradient on to the parameters inside the
// expression, element by element (so where a mask is zero, the gradient of
// the masked matrix is exactly zero).
import { elementCount, evaluateDim } from "../ir/dims.ts";
import type { SizeBinding } from "../ir/bind.ts";
import { stepValues } from "../ir/dependence.ts";
import type { CellIR, Dim, ElementwiseOp, IrNode, NodeId, ParamDecl, UnaryFunction } from "../ir/types.ts";
import { BINARY_OPERATORS } from "./expression.ts";
import { CodegenError, derivedName } from "./names.ts";
import { read, sharedLoc, type DerivedMatrixPlan, type Expr } from "./plan.ts";

/** A matrix expression the step reads through a product, as its own node graph in the original IR. */
export interface HoistedMatrix {
  readonly name: string;
  readonly root: NodeId;
}

/** The cell with every product reading a parameter; the matrix expressions it took out. */
export interface HoistedCell {
  readonly ir: CellIR;
  readonly hoisted: readonly HoistedMatrix[];
}

const isMatrix = (n: IrNode) => n.shape.length === 2;

/** A hoisted constant (a const's formula, iota): no parameter inside it, so no gradient to send on. */
export const isConstantDerived = (d: DerivedMatrixPlan): boolean => d.partials.length === 0;

/**
 * Nodes whose value is the same at every step and for every parameter value:
 * numbers, sizes, index vectors and what is computed from them alone (a
 * const's formula, the Clockwork mask).
 */
export function constantNodes(ir: CellIR): ReadonlySet<NodeId> {
  const constant = new Set<NodeId>();
  for (const n of ir.nodes) {
    const leaf = n.op === "const" || n.op === "dim" || n.op === "index";
    const computed = "args" in n && n.op !== "matvec" && n.op !== "rowmap" && n.op !== "vecmat" && n.op !== "reduce" && n.op !== "concat" && n.args.every((a) => constant.has(a));
    if (leaf || computed) constant.add(n.id);
  }
  return constant;
}

/**
 * Constant vectors and matrices that the step reads (each is computed once per
 * call, no gradient), then the matrix expressions that products read; each
 * becomes an internal parameter. Scalars stay in the step: they are literals.
 */
function hoistedRoots(ir: CellIR, constant: ReadonlySet<NodeId>): Map<NodeId, string> {
  const matrices = new Map<NodeId, string>();
  // A matrix that changes from step to step (rows computed from an input) is a value of the step, not hoisted.
  const varying = stepValues(ir);
  for (const n of ir.nodes) {
    // The matrix of a product, or the one a rowmap applies to each row.
    if (n.op !== "matvec" && n.op !== "rowmap") continue;
    const matrix = ir.nodes[n.args[0]]!;
    if (matrix.op !== "param" && !constant.has(matrix.id) && !varying.has(matrix.id) && !matrices.has(matrix.id)) matrices.set(matrix.id, derivedName(matrices.size));
  }
  const read = new Set<NodeId>();
  for (const n of ir.nodes) if (!constant.has(n.id) && "args" in n) for (const a of n.args) if (constant.has(a) && ir.nodes[a]!.shape.length > 0) read.add(a);
  // In node order: a constant's formula may read an earlier one, which is computed first.
  const constants = [...read].sort((x, y) => x - y).map((id, k): [NodeId, string] => [id, derivedName(matrices.size + k)]);
  return new Map([...constants, ...matrices]);
}

/**
 * Replaces each hoisted value by an internal parameter and drops the nodes
 * that only computed them: matrix-valued nodes (they have no per-step loop)
 * and the vectors of constants' formulas. Equations whose value was such a
 * node go too: the module header still shows every equation (see the plan's
 * `equations`), but no step value is named after them.
 */
export function hoistMatrixExpressions(ir: CellIR): HoistedCell {
  const constant = constantNodes(ir);
  const roots = hoistedRoots(ir, constant);
  if (roots.size === 0) return { ir, hoisted: [] };
  const newId = new Map<NodeId, NodeId>();
  const nodes: IrNode[] = [];
  const params: ParamDecl[] = [...ir.params];
  const varying = stepValues(ir);
  for (const n of ir.nodes) {
    const name = roots.get(n.id);
    if (name !== undefined) {
      newId.set(n.id, nodes.length);
      nodes.push({ op: "param", name, id: nodes.length, shape: n.shape, span: n.span });
      params.push({ name, shape: n.shape, init: { kind: "zeros" } });
      continue;
    }
    // A matrix of parameters was only computed for a hoisted root; rows of the step stay in the step.
    if (isMatrix(n) && n.op !== "param" && !varying.has(n.id)) continue;
    if (constant.has(n.id) && n.shape.length > 0) continue;
    const args = "args" in n ? n.args.map((a) => newId.get(a)) : [];
    if (args.some((a) => a === undefined)) throw new CodegenError(`internal: node ${n.id} reads a matrix expression outside a product`);
    newId.set(n.id, nodes.length);
    nodes.push({ ...n, id: nodes.length, ...("args" in n ? { args: args as NodeId[] } : {}) } as IrNode);
  }
  const kept = (id: NodeId) => newId.get(id)!;
  return {
    ir: {
      ...ir,
      params,
      nodes,
      equations: ir.equations.filter((e) => newId.has(e.node)).map((e) => ({ ...e, node: kept(e.node) })),
      nextState: ir.nextState.map((s) => ({ ...s, node: kept(s.node) })),
      outputs: ir.outputs.map((o) => ({ ...o, node: kept(o.node) })),
    },
    hoisted: [...roots].map(([root, name]) => ({ name, root })),
  };
}

/**
 * The value and the parameter gradients of one hoisted matrix, by reverse-mode
 * differentiation of its elementwise expression (the same local rules as the
 * autodiff, applied to expressions of one element).
 */
export function planDerivedMatrix(
  ir: CellIR,
  hoisted: HoistedMatrix,
  others: readonly HoistedMatrix[],
  sizes: SizeBinding,
  array: (param: string) => string,
  gradientArray: (param: string) => string,
): DerivedMatrixPlan {
  const root = ir.nodes[hoisted.root]!;
  const constant = constantNodes(ir);
  const values = new Map<NodeId, Expr>();
  const order: NodeId[] = [];
  const value = (id: NodeId): Expr => {
    const known = values.get(id);
    if (known) return known;
    const n = ir.nodes[id]!;
    const arg = (i: number) => value((n as { args: readonly NodeId[] }).args[i]!);
    // A constant hoisted on its own (the mask in `W_H * M`) is computed before this matrix: read it.
    const computed = id === root.id ? undefined : others.find((o) => o.root === id);
    let e: Expr;
    switch (computed ? "computed" : n.op) {
      case "computed":
        e = read(sharedLoc(array(computed!.name), false));
        break;
      case "param":
        e = read(sharedLoc(array((n as { name: string }).name), n.shape.length === 0));
        break;
      case "const":
        e = { op: "const", value: (n as { value: number }).value };
        break;
      case "dim":
        e = { op: "const", value: evaluateDim((n as { dim: Dim }).dim, sizes) };
        break;
      case "index": {
        const dims = n.shape.map((d) => evaluateDim(d, sizes));
        const axis = (n as { axis: number }).axis;
        e = { op: "index", stride: dims.slice(axis + 1).reduce((p, d) => p * d, 1), extent: dims[axis]! };
        break;
      }
      case "where":
        e = { op: "where", args: [arg(0), arg(1), arg(2)] };
        break;
      case "add":
      case "sub":
      case "mul":
      case "div":
      case "pow":
      case "mod":
      case "min":
      case "max":
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne":
        e = { op: n.op as ElementwiseOp, args: [arg(0), arg(1)] };
        break;
      case "neg":
        e = { op: "neg", arg: arg(0) };
        break;
      case "apply":
        e = { op: "apply", fn: (n as { fn: UnaryFunction }).fn, arg: arg(0) };
        break;
      default:
        throw new CodegenError(`'${n.op}' inside a product's matrix expression is not compiled yet (write it outside the product, or run the interpreter)`);
    }
    values.set(id, e);
    order.push(id);
    return e;
  };
  const matrixValue = value(root.id);

  const gradient = new Map<NodeId, Expr>([[root.id, read(sharedLoc(gradientArray(hoisted.name), false))]]);
  const send = (id: NodeId, g: Expr) => {
    if (constant.has(id)) return;
    const known = gradient.get(id);
    gradient.set(id, known ? { op: "add", args: [known, g] } : g);
  };
  for (const id of [...order].reverse()) {
    const n = ir.nodes[id]!;
    const g = gradient.get(id);
    if (!g || !("args" in n) || constant.has(id)) continue;
    const x = (i: number) => value(n.args[i]!);
    switch (n.op) {
      case "add":
        send(n.args[0], g);
        send(n.args[1], g);
        break;
      case "sub":
        send(n.args[0], g);
        send(n.args[1], { op: "neg", arg: g });
        break;
      case "mul":
        send(n.args[0], { op: "mul", args: [g, x(1)] });
        send(n.args[1], { op: "mul", args: [g, x(0)] });
        break;
      case "div":
        send(n.args[0], { op: "div", args: [g, x(1)] });
        send(n.args[1], { op: "neg", arg: { op: "div", args: [{ op: "mul", args: [g, x(0)] }, { op: "mul", args: [x(1), x(1)] }] } });
        break;
      case "neg":
        send(n.args[0], { op: "neg", arg: g });
        break;
      case "apply": {
        const fromInput = n.fn === "log";
        const derivative: Expr = { op: "derivative", fn: n.fn, of: fromInput ? "input" : "output", arg: fromInput ? x(0) : value(id) };
        send(n.args[0], { op: "mul", args: [g, derivative] });
        break;
      }
      default:
        throw new CodegenError(`'${n.op}' inside a product's matrix expression is not compiled yet (write it outside the product, or run the interpreter)`);
    }
  }
  const partials = order
    .map((id) => ir.nodes[id]!)
    .filter((n): n is IrNode & { op: "param"; name: string } => n.op === "param" && gradient.has(n.id))
    .map((n) => ({ param: n.name, scalar: n.shape.length === 0, expr: gradient.get(n.id)! }));
  return { name: hoisted.name, label: describeMatrix(ir, hoisted.root), array: array(hoisted.name), gradient: gradientArray(hoisted.name), length: elementCount(root.shape, sizes), value: matrixValue, partials };
}


/** A matrix expression written back as text: parameters by name, functions by name. */
export function describeMatrix(ir: CellIR, id: NodeId): string {
  const n = ir.nodes[id]!;
  switch (n.op) {
    case "param":
      return n.name;
    case "const":
      return String(n.value);
    case "add":
    case "sub":
    case "mul":
    case "div":
      return `(${describeMatrix(ir, n.args[0])} ${BINARY_OPERATORS[n.op]} ${describeMatrix(ir, n.args[1])})`;
    case "neg":
      return `-${describeMatrix(ir, n.args[0])}`;
    case "apply":
      return `${n.fn}(${describeMatrix(ir, n.args[0])})`;
    default:
      return `value ${id}`;
  }
}
