// The reference interpreter: what a cell means. Float64, one batch row and one
// step at a time, no optimisation. Backward is reverse-mode differentiation
// over the recorded values of every step (backpropagation through time).
// Everything else lstmc produces is checked against this file.
import { evaluateDim } from "../ir/dims.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { CellIR, ComparisonOp, IrNode } from "../ir/types.ts";
import { FUNCTIONS } from "./functions.ts";

type Tensors = Record<string, Float64Array>;

/** Inputs are [steps, batch, n] and initial states [batch, n], flat and row-major. */
export interface Sequence {
  readonly batch: number;
  readonly steps: number;
  readonly params: Tensors;
  readonly inputs: Tensors;
  readonly initial: Tensors;
  /**
   * Each batch row's number of valid steps (1..steps); absent when every row
   * runs all of them. As PyTorch's pack_padded_sequence: past its length a
   * row's state is frozen, its outputs are 0, and its inputs are never read.
   */
  readonly lengths?: readonly number[];
}

/** How many steps batch row `b` runs. */
export function rowLength(seq: Sequence, b: number): number {
  return seq.lengths?.[b] ?? seq.steps;
}

export interface ForwardResult {
  /** [steps, batch, n] for each output. */
  readonly outputs: Tensors;
  /** [batch, n] for each state, after the last step. */
  readonly final: Tensors;
}

/** Gradients of a loss arriving from outside: on every step's outputs and on the final states. */
export interface Upstream {
  readonly outputs: Tensors;
  readonly final: Tensors;
}

export interface Gradients {
  readonly params: Tensors;
  readonly inputs: Tensors;
  readonly initial: Tensors;
}

/** values[node.id] for every node of one step of one batch row. */
type StepValues = Float64Array[];

function size(node: IrNode, sizes: SizeBinding): number {
  return node.shape.reduce((n, d) => n * evaluateDim(d, sizes), 1);
}

/** A static input is read at every step from its one value per batch row. */
function isStatic(ir: CellIR, input: string): boolean {
  return ir.inputs.find((i) => i.name === input)!.static;
}

function vectorLength(ir: CellIR, name: string, kind: "inputs" | "states" | "outputs", sizes: SizeBinding): number {
  const decl = ir[kind].find((d) => d.name === name)!;
  return evaluateDim(decl.shape[0]!, sizes);
}

/**
 * Element i of a value broadcast to a longer one: a scalar repeats, and a
 * vector [n] repeats over the rows of a row-major [L, n].
 */
function at(x: Float64Array, i: number): number {
  return x[i % x.length]!;
}

/** Elementwise a ∘ b, broadcasting the shorter. */
function broadcast(a: Float64Array, b: Float64Array, f: (x: number, y: number) => number): Float64Array {
  const n = Math.max(a.length, b.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(at(a, i), at(b, i));
  return out;
}

/** Floor modulo: the result has the divisor's sign, as Python's and PyTorch's `%`. */
function floorMod(x: number, y: number): number {
  return x - y * Math.floor(x / y);
}

const COMPARISONS: Record<ComparisonOp, (x: number, y: number) => boolean> = {
  lt: (x, y) => x < y,
  le: (x, y) => x <= y,
  gt: (x, y) => x > y,
  ge: (x, y) => x >= y,
  eq: (x, y) => x === y,
  ne: (x, y) => x !== y,
};

/** Each element's coordinate along `axis` of a row-major shape. */
function indices(dims: readonly number[], axis: number): Float64Array {
  const stride = dims.slice(axis + 1).reduce((n, d) => n * d, 1);
  const out = new Float64Array(dims.reduce((n, d) => n * d, 1));
  for (let p = 0; p < out.length; p++) out[p] = Math.floor(p / stride) % dims[axis]!;
  return out;
}

/** [m, n] @ [n] -> [m], m and n read from the lengths. */
function matvec(m: Float64Array, v: Float64Array): Float64Array {
  const out = new Float64Array(m.length / v.length);
  for (let r = 0; r < out.length; r++) {
    let sum = 0;
    for (let c = 0; c < v.length; c++) sum += m[r * v.length + c]! * v[c]!;
    out[r] = sum;
  }
  return out;
}

/** The first largest element's position (where max sends its gradient). */
function argmax(v: Float64Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** One step for one batch row: the value of every node. */
function evaluateStep(ir: CellIR, sizes: SizeBinding, step: number, leaf: (node: IrNode & { name: string }) => Float64Array): StepValues {
  const values: StepValues = [];
  for (const node of ir.nodes) {
    const arg = (i: number) => values[(node as { args: readonly number[] }).args[i]!]!;
    switch (node.op) {
      case "input":
      case "state":
      case "param":
        values.push(leaf(node));
        break;
      case "const":
        values.push(Float64Array.of(node.value));
        break;
      case "add":
        values.push(broadcast(arg(0), arg(1), (x, y) => x + y));
        break;
      case "sub":
        values.push(broadcast(arg(0), arg(1), (x, y) => x - y));
        break;
      case "mul":
        values.push(broadcast(arg(0), arg(1), (x, y) => x * y));
        break;
      case "div":
        values.push(broadcast(arg(0), arg(1), (x, y) => x / y));
        break;
      case "pow":
        values.push(broadcast(arg(0), arg(1), (x, y) => x ** y));
        break;
      case "mod":
        values.push(broadcast(arg(0), arg(1), floorMod));
        break;
      case "min":
        values.push(broadcast(arg(0), arg(1), Math.min));
        break;
      case "max":
        values.push(broadcast(arg(0), arg(1), Math.max));
        break;
      case "lt":
      case "le":
      case "gt":
      case "ge":
      case "eq":
      case "ne": {
        const holds = COMPARISONS[node.op];
        values.push(broadcast(arg(0), arg(1), (x, y) => (holds(x, y) ? 1 : 0)));
        break;
      }
      case "where": {
        const [c, a, b] = [arg(0), arg(1), arg(2)];
        const n = Math.max(c.length, a.length, b.length);
        values.push(Float64Array.from({ length: n }, (_, i) => (at(c, i) !== 0 ? at(a, i) : at(b, i))));
        break;
      }
      case "step":
        values.push(Float64Array.of(step));
        break;
      case "dim":
        values.push(Float64Array.of(evaluateDim(node.dim, sizes)));
        break;
      case "index":
        values.push(indices(node.shape.map((d) => evaluateDim(d, sizes)), node.axis));
        break;
      case "slice": {
        const offset = evaluateDim(node.offset, sizes);
        values.push(arg(0).slice(offset, offset + evaluateDim(node.shape[0]!, sizes)));
        break;
      }
      case "reduce": {
        const v = arg(0);
        values.push(Float64Array.of(node.fn === "sum" ? v.reduce((s, x) => s + x, 0) : v[argmax(v)]!));
        break;
      }
      case "neg":
        values.push(arg(0).map((x) => -x));
        break;
      case "apply":
        values.push(arg(0).map(FUNCTIONS[node.fn].value));
        break;
      case "concat": {
        const parts = node.args.map((id) => values[id]!);
        const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
        values.push(out);
        break;
      }
      case "rowmap": {
        // Each row of the right operand through the matrix: out[l, i] = Σ_k M[i, k] X[l, k].
        const [m, x] = [arg(0), arg(1)];
        const [rows, outRows] = [evaluateDim(node.shape[0]!, sizes), evaluateDim(node.shape[1]!, sizes)];
        const n = x.length / rows;
        const out = new Float64Array(rows * outRows);
        for (let l = 0; l < rows; l++) out.set(matvec(m, x.subarray(l * n, (l + 1) * n)), l * outRows);
        values.push(out);
        break;
      }
      case "vecmat": {
        // The rows weighted and summed: out[k] = Σ_l v[l] X[l, k].
        const [v, x] = [arg(0), arg(1)];
        const n = x.length / v.length;
        const out = new Float64Array(n);
        for (let l = 0; l < v.length; l++) for (let k = 0; k < n; k++) out[k] = out[k]! + v[l]! * x[l * n + k]!;
        values.push(out);
        break;
      }
      case "matvec": {
        values.push(matvec(arg(0), arg(1)));
        break;
      }
    }
  }
  return values;
}

function slice(tensor: Float64Array, index: number, length: number): Float64Array {
  return tensor.slice(index * length, (index + 1) * length);
}

/** Runs the cell over the sequence; `tape` keeps every step's values for backward. */
function run(ir: CellIR, sizes: SizeBinding, seq: Sequence): ForwardResult & { tape: StepValues[][] } {
  const outputs: Tensors = Object.fromEntries(ir.outputs.map((o) => [o.name, new Float64Array(seq.steps * seq.batch * vectorLength(ir, o.name, "outputs", sizes))]));
  const final: Tensors = Object.fromEntries(ir.states.map((s) => [s.name, new Float64Array(seq.batch * vectorLength(ir, s.name, "states", sizes))]));
  const tape: StepValues[][] = [];
  for (let b = 0; b < seq.batch; b++) {
    let state: Tensors = Object.fromEntries(ir.states.map((s) => [s.name, slice(seq.initial[s.name]!, b, vectorLength(ir, s.name, "states", sizes))]));
    const rowTape: StepValues[] = [];
    for (let t = 0; t < rowLength(seq, b); t++) {
      const values = evaluateStep(ir, sizes, t, (node) => {
        if (node.op === "param") return seq.params[node.name]!;
        if (node.op === "state") return state[node.name]!;
        const n = size(node, sizes);
        return slice(seq.inputs[node.name]!, isStatic(ir, node.name) ? b : t * seq.batch + b, n);
      });
      for (const o of ir.outputs) {
        const n = values[o.node]!.length;
        outputs[o.name]!.set(values[o.node]!, (t * seq.batch + b) * n);
      }
      state = Object.fromEntries(ir.nextState.map((s) => [s.state, values[s.node]!]));
      rowTape.push(values);
    }
    for (const s of ir.states) final[s.name]!.set(state[s.name]!, b * state[s.name]!.length);
    tape.push(rowTape);
  }
  return { outputs, final, tape };
}

export function forward(ir: CellIR, sizes: SizeBinding, seq: Sequence): ForwardResult {
  const { outputs, final } = run(ir, sizes, seq);
  return { outputs, final };
}

/** Adds g into `into`, summing over the broadcast when `into` is shorter (a scalar, or a vector over rows). */
function accumulate(into: Float64Array, g: Float64Array): void {
  for (let i = 0; i < g.length; i++) into[i % into.length] = into[i % into.length]! + g[i]!;
}

/** Sends one node's gradient g to its arguments' gradients. */
function backpropagateNode(node: IrNode, g: Float64Array, values: StepValues, grads: Float64Array[], sizes: SizeBinding): void {
  if (!("args" in node)) return;
  const [a, b, c] = node.args;
  switch (node.op) {
    case "add":
      accumulate(grads[a!]!, g);
      accumulate(grads[b!]!, g);
      break;
    case "sub":
      accumulate(grads[a!]!, g);
      accumulate(grads[b!]!, g.map((x) => -x));
      break;
    case "mul":
      accumulate(grads[a!]!, g.map((x, i) => x * at(values[b!]!, i)));
      accumulate(grads[b!]!, g.map((x, i) => x * at(values[a!]!, i)));
      break;
    case "div":
      accumulate(grads[a!]!, g.map((x, i) => x / at(values[b!]!, i)));
      accumulate(grads[b!]!, g.map((x, i) => (-x * at(values[a!]!, i)) / at(values[b!]!, i) ** 2));
      break;
    case "pow": {
      const [x, y, out] = [values[a!]!, values[b!]!, values[node.id]!];
      accumulate(grads[a!]!, g.map((v, i) => v * at(y, i) * at(x, i) ** (at(y, i) - 1)));
      // d(x^y)/dy = x^y ln x, where the logarithm is real.
      accumulate(grads[b!]!, g.map((v, i) => (at(x, i) > 0 ? v * out[i]! * Math.log(at(x, i)) : 0)));
      break;
    }
    case "mod":
      accumulate(grads[a!]!, g);
      accumulate(grads[b!]!, g.map((v, i) => -v * Math.floor(at(values[a!]!, i) / at(values[b!]!, i))));
      break;
    case "min":
    case "max": {
      // Where the two are equal the first argument takes the gradient.
      const first = (i: number) => (node.op === "min" ? at(values[a!]!, i) <= at(values[b!]!, i) : at(values[a!]!, i) >= at(values[b!]!, i));
      accumulate(grads[a!]!, g.map((v, i) => (first(i) ? v : 0)));
      accumulate(grads[b!]!, g.map((v, i) => (first(i) ? 0 : v)));
      break;
    }
    case "lt":
    case "le":
    case "gt":
    case "ge":
    case "eq":
    case "ne":
      break;
    case "where": {
      const chosen = (i: number) => at(values[a!]!, i) !== 0;
      accumulate(grads[b!]!, g.map((v, i) => (chosen(i) ? v : 0)));
      accumulate(grads[c!]!, g.map((v, i) => (chosen(i) ? 0 : v)));
      break;
    }
    case "slice": {
      const offset = evaluateDim(node.offset, sizes);
      accumulate(grads[a!]!.subarray(offset, offset + g.length), g);
      break;
    }
    case "reduce": {
      const into = grads[a!]!;
      if (node.fn === "sum") into.forEach((x, i) => (into[i] = x + g[0]!));
      else {
        const at = argmax(values[a!]!);
        into[at] = into[at]! + g[0]!;
      }
      break;
    }
    case "neg":
      accumulate(grads[a!]!, g.map((x) => -x));
      break;
    case "apply": {
      const input = values[a!]!;
      accumulate(grads[a!]!, g.map((x, i) => x * FUNCTIONS[node.fn].derivative(input[i]!)));
      break;
    }
    case "concat": {
      let offset = 0;
      for (const id of node.args) {
        const n = values[id]!.length;
        accumulate(grads[id]!, g.subarray(offset, offset + n));
        offset += n;
      }
      break;
    }
    case "rowmap": {
      const [m, x] = [values[a!]!, values[b!]!];
      const [gm, gx] = [grads[a!]!, grads[b!]!];
      const [rows, outRows] = [evaluateDim(node.shape[0]!, sizes), evaluateDim(node.shape[1]!, sizes)];
      const n = x.length / rows;
      for (let l = 0; l < rows; l++) {
        for (let i = 0; i < outRows; i++) {
          const gi = g[l * outRows + i]!;
          for (let k = 0; k < n; k++) {
            gm[i * n + k] = gm[i * n + k]! + gi * x[l * n + k]!;
            gx[l * n + k] = gx[l * n + k]! + gi * m[i * n + k]!;
          }
        }
      }
      break;
    }
    case "vecmat": {
      const [v, x] = [values[a!]!, values[b!]!];
      const [gv, gx] = [grads[a!]!, grads[b!]!];
      const n = g.length;
      for (let l = 0; l < v.length; l++) {
        for (let k = 0; k < n; k++) {
          gv[l] = gv[l]! + g[k]! * x[l * n + k]!;
          gx[l * n + k] = gx[l * n + k]! + v[l]! * g[k]!;
        }
      }
      break;
    }
    case "matvec": {
      const [m, v] = [values[a!]!, values[b!]!];
      const [gm, gv] = [grads[a!]!, grads[b!]!];
      for (let r = 0; r < g.length; r++) {
        for (let c = 0; c < v.length; c++) {
          gm[r * v.length + c] = gm[r * v.length + c]! + g[r]! * v[c]!;
          gv[c] = gv[c]! + m[r * v.length + c]! * g[r]!;
        }
      }
      break;
    }
  }
}

/** Forward, then backpropagation through time from the given upstream gradients. */
export function forwardBackward(ir: CellIR, sizes: SizeBinding, seq: Sequence, upstream: Upstream): ForwardResult & { grads: Gradients } {
  const { outputs, final, tape } = run(ir, sizes, seq);
  const params: Tensors = Object.fromEntries(ir.params.map((p) => [p.name, new Float64Array(seq.params[p.name]!.length)]));
  const inputs: Tensors = Object.fromEntries(ir.inputs.map((i) => [i.name, new Float64Array(seq.inputs[i.name]!.length)]));
  const initial: Tensors = Object.fromEntries(ir.states.map((s) => [s.name, new Float64Array(seq.initial[s.name]!.length)]));
  for (let b = 0; b < seq.batch; b++) {
    // dL/d(state after the current step), starting from the final states.
    let carry: Tensors = Object.fromEntries(ir.states.map((s) => [s.name, slice(upstream.final[s.name]!, b, vectorLength(ir, s.name, "states", sizes))]));
    for (let t = rowLength(seq, b) - 1; t >= 0; t--) {
      const values = tape[b]![t]!;
      const grads = ir.nodes.map((node) => new Float64Array(size(node, sizes)));
      for (const o of ir.outputs) accumulate(grads[o.node]!, slice(upstream.outputs[o.name]!, t * seq.batch + b, grads[o.node]!.length));
      for (const s of ir.nextState) accumulate(grads[s.node]!, carry[s.state]!);
      const previous: Tensors = Object.fromEntries(ir.states.map((s) => [s.name, new Float64Array(carry[s.name]!.length)]));
      for (let id = ir.nodes.length - 1; id >= 0; id--) {
        const node = ir.nodes[id]!;
        const g = grads[id]!;
        if (node.op === "param") accumulate(params[node.name]!, g);
        else if (node.op === "state") accumulate(previous[node.name]!, g);
        else if (node.op === "input") {
          const n = g.length;
          const row = isStatic(ir, node.name) ? b : t * seq.batch + b;
          const target = inputs[node.name]!.subarray(row * n, (row + 1) * n);
          accumulate(target, g);
        } else backpropagateNode(node, g, values, grads, sizes);
      }
      carry = previous;
    }
    for (const s of ir.states) initial[s.name]!.set(carry[s.name]!, b * carry[s.name]!.length);
  }
  return { outputs, final, grads: { params, inputs, initial } };
}
