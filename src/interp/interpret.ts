// The reference interpreter: what a cell means. Float64, one batch row and one
// step at a time, no optimisation. Backward is reverse-mode differentiation
// over the recorded values of every step (backpropagation through time).
// Everything else lstmc produces is checked against this file.
import { evaluateDim } from "../ir/dims.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { CellIR, IrNode } from "../ir/types.ts";
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

function vectorLength(ir: CellIR, name: string, kind: "inputs" | "states" | "outputs", sizes: SizeBinding): number {
  const decl = ir[kind].find((d) => d.name === name)!;
  return evaluateDim(decl.shape[0]!, sizes);
}

/** Elementwise a ∘ b where either may be a scalar (length 1). */
function broadcast(a: Float64Array, b: Float64Array, f: (x: number, y: number) => number): Float64Array {
  const n = Math.max(a.length, b.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!);
  return out;
}

/** One step for one batch row: the value of every node. */
function evaluateStep(ir: CellIR, leaf: (node: IrNode & { name: string }) => Float64Array): StepValues {
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
      case "matvec": {
        const [m, v] = [arg(0), arg(1)];
        const out = new Float64Array(m.length / v.length);
        for (let r = 0; r < out.length; r++) {
          let sum = 0;
          for (let c = 0; c < v.length; c++) sum += m[r * v.length + c]! * v[c]!;
          out[r] = sum;
        }
        values.push(out);
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
      const values = evaluateStep(ir, (node) => {
        if (node.op === "param") return seq.params[node.name]!;
        if (node.op === "state") return state[node.name]!;
        const n = vectorLength(ir, node.name, "inputs", sizes);
        return slice(seq.inputs[node.name]!, t * seq.batch + b, n);
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

/** Adds g into `into`, summing over the broadcast when `into` is a scalar. */
function accumulate(into: Float64Array, g: Float64Array): void {
  if (into.length === 1) into[0] = into[0]! + g.reduce((s, x) => s + x, 0);
  else for (let i = 0; i < into.length; i++) into[i] = into[i]! + g[i]!;
}

/** Sends one node's gradient g to its arguments' gradients. */
function backpropagateNode(node: IrNode, g: Float64Array, values: StepValues, grads: Float64Array[]): void {
  if (!("args" in node)) return;
  const [a, b] = node.args;
  const at = (x: Float64Array, i: number) => x[x.length === 1 ? 0 : i]!;
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
          const target = inputs[node.name]!.subarray((t * seq.batch + b) * n, (t * seq.batch + b + 1) * n);
          accumulate(target, g);
        } else backpropagateNode(node, g, values, grads);
      }
      carry = previous;
    }
    for (const s of ir.states) initial[s.name]!.set(carry[s.name]!, b * carry[s.name]!.length);
  }
  return { outputs, final, grads: { params, inputs, initial } };
}
