// The WebAssembly target for an f32 module's step loops: per spec and sizes,
// one module whose exported `forward(T, B, ended, lengths, ...arrays)` runs
// every forward step of the sequence in one call, and one whose
// `backward(T, B, ended, lengths, ...arrays)` runs every backward step, last
// first. The
// steps' products go through the GEMM kernel (imported from the kernel's
// instance, with its memory, so that the relaxed copy is used where the
// engine has it), the pointwise kernels run as f32x4 SIMD. A target in the
// table sense: pointwise expressions are walked post-order into stack code
// through tables of instruction encodings (OPS, FUNCTIONS, DERIVATIVES); a
// plan with a form the tables lack gets no module for that loop, and the
// TypeScript module keeps its JavaScript loop (decided at compile time).
//
// Variable-length batches run here too, as in the JavaScript loops: every
// row is computed at every step, and from step `ended` (the shortest length;
// T without lengths) the rows whose length has passed are put right: forward
// gives them their state from before the step back, backward parks their
// carried gradients and passes them on (`lengths`: the address of B int32
// lengths).
//
// Each array is passed as its byte address in the kernel's memory, in the
// order of `arrays`; layout and indexing are the plan's (plan.ts, Loc), so
// the module writes outputs, states and tapes exactly where the JavaScript
// loop would. Elements run 4 at a time; a row's last length mod 4 elements
// run one at a time through the same code, each loaded into all four lanes
// and lane 0 stored, so every element takes the same operations.
//
// Size: forward 0.9-3.9 KB, backward 0.7-2.4 KB for the specs in specs/ at
// widths a multiple of 4 (exp is written out at each sigmoid and tanh; other
// widths add a one-element copy of each kernel, up to 6.7 and 3.4 KB). Headless
// Chromium 150 compiles up to 8 MiB synchronously on its main thread
// (measured; older Chromium refused above 4 KiB); where an
// engine refuses, the module's loader catches it and keeps the JavaScript loop.
import type { UnaryFunction } from "../../ir/types.ts";
import { readsOf } from "../expression.ts";
import { arrays as arrayNames } from "../lower.ts";
import type { BufferRole, Expr, GemmKernel, Loc, ModulePlan, PointwiseKernel, StepKernel } from "../plan.ts";
import {
  I32, MAGIC, V128, add, call, f32Load, f32Store, f32x4Abs, f32x4Add, f32x4Const, f32x4Div, f32x4Floor, f32x4Max, f32x4Min, f32x4Mul, f32x4Neg, f32x4Splat, f32x4Sqrt,
  f32x4Sub, drop, funcBody, funcType, geS, get, i32, i32Load, ifThen, memoryCopy, memoryFill, i32x4Add, i32x4Const, i32x4Shl, i32x4TruncSatF32x4S, lane, leS, ltS, mul, name, section, set, tee, uleb, v128Load, v128Store, vector,
  whileLoop, type Code,
} from "./encode.ts";

/** A fused step loop: its module's bytes, and the arrays the loop takes the addresses of, in order. */
export interface StepLoopModule {
  readonly bytes: Uint8Array;
  readonly arrays: readonly string[];
}

/**
 * The fused forward step loop, and the backward one (null where the backward step has a form the table lacks: the
 * TypeScript module runs that loop in JavaScript). Two modules, each loaded on its own, so that an engine that
 * refuses one (old Chromium compiles nothing over 4 KiB synchronously) keeps the other.
 */
export interface ForwardStepModule extends StepLoopModule {
  readonly backward: StepLoopModule | null;
}

// Function indices: the imported GEMM, then the module's own. V8 before 12
// (Node 20) inlines no WebAssembly calls, so exp, sigmoid and tanh are written
// inline at each use rather than called (a call per four elements cost about a
// tenth of a batch-1 forward at H = 32).
const GEMM = 0, LOOP = 1;

/** The binary operators' f32x4 instructions, applied to [a, b] on the stack. */
const OPS: Partial<Record<Expr["op"], Code>> = { add: f32x4Add, sub: f32x4Sub, mul: f32x4Mul, div: f32x4Div, min: f32x4Min, max: f32x4Max };

/**
 * y = f(x) on x on the stack: the JavaScript f32 module's formulas (render.ts), sigmoid and tanh through the exp
 * below; `scratch` is the first of two v128 locals the code may overwrite.
 */
const FUNCTIONS: Partial<Record<UnaryFunction, (scratch: number) => Code>> = {
  sigmoid: (x) => sigmoidCode(x, x + 1),
  tanh: (x) => tanhCode(x, x + 1),
  relu: () => [...f32x4Const(0), ...f32x4Max],
  identity: () => [],
  abs: () => f32x4Abs,
  sqrt: () => f32x4Sqrt,
};

/**
 * f'(…) of the value on the stack, as the JavaScript module writes it (render.ts, DERIVATIVE_SYNTAX): from the
 * saved output y for sigmoid and tanh, y·(1 − y) and 1 − y·y.
 */
const DERIVATIVES: Partial<Record<UnaryFunction, (scratch: number) => Code>> = {
  sigmoid: (y) => [...tee(y), ...f32x4Const(1), ...get(y), ...f32x4Sub, ...f32x4Mul],
  tanh: (y) => [...set(y), ...f32x4Const(1), ...get(y), ...get(y), ...f32x4Mul, ...f32x4Sub],
  identity: () => [drop, ...f32x4Const(1)],
};

/** Whether the table has every form of an expression. */
function covered(e: Expr): boolean {
  switch (e.op) {
    case "read":
      // A per-row scalar (a reduction's result) and a vector broadcast over rows (a read with a period) are not in the table.
      return !(e.loc.perRow && e.loc.scalar) && e.period === undefined;
    case "local":
    case "const":
      return true;
    case "neg":
      return covered(e.arg);
    case "apply":
      return FUNCTIONS[e.fn] !== undefined && covered(e.arg);
    case "derivative":
      return DERIVATIVES[e.fn] !== undefined && covered(e.arg);
    default:
      return "args" in e && OPS[e.op] !== undefined && e.args.every(covered);
  }
}

/**
 * Whether the module can run a step kernel: products, and pointwise kernels of covered forms whose stores set
 * per-row values or add to per-row or shared vectors (backward's sums over rows and steps).
 */
function kernelCovered(k: StepKernel): boolean {
  if (k.kind === "gemm") return true;
  if (k.kind !== "pointwise") return false;
  return k.items.every((item) => covered(item.expr) && item.stores.every((s) => !s.loc.scalar && (s.loc.perRow || s.mode === "add")));
}

/** The arrays a step's kernels name, in first-use order. */
function arraysOf(kernels: readonly StepKernel[]): string[] {
  const names = new Set<string>();
  for (const k of kernels) {
    if (k.kind === "gemm") [k.a.array, k.w, k.out.array].forEach((a) => names.add(a));
    if (k.kind === "pointwise") for (const item of k.items) [...readsOf(item.expr).map((r) => r.loc), ...item.stores.map((st) => st.loc)].forEach((loc) => names.add(loc.array));
  }
  return [...names];
}

const LN2_HI = 0.693359375, LN2_LO = -2.12194440e-4;

/**
 * e^x for four lanes, x in the v128 local `x` (overwritten, as is `k`), as the
 * JavaScript module's _expf (runtime/expf.ts): x clamped to [-87, 88],
 * k = floor(x·log2 e + 1/2), r = x − k·ln 2 (ln 2 split in two so that
 * k·ln2_hi is exact in float32), e^r by Taylor to r^7, times 2^k built in the
 * exponent bits.
 */
function expCode(x: number, k: number): Code {
  const horner = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1];
  const code: Code = [
    ...get(x), ...f32x4Const(88), ...f32x4Min, ...f32x4Const(-87), ...f32x4Max, ...set(x),
    ...get(x), ...f32x4Const(Math.LOG2E), ...f32x4Mul, ...f32x4Const(0.5), ...f32x4Add, ...f32x4Floor, ...set(k),
    ...get(x), ...get(k), ...f32x4Const(LN2_HI), ...f32x4Mul, ...f32x4Sub, ...get(k), ...f32x4Const(LN2_LO), ...f32x4Mul, ...f32x4Sub, ...set(x),
    ...f32x4Const(horner[0]!),
  ];
  for (const c of horner.slice(1)) code.push(...get(x), ...f32x4Mul, ...f32x4Const(c), ...f32x4Add);
  code.push(...get(k), ...i32x4TruncSatF32x4S, ...i32x4Const(127), ...i32x4Add, ...i32(23), ...i32x4Shl, ...f32x4Mul);
  return code;
}

/** 1 / (1 + e^−x) of x on the stack, as the JavaScript module writes sigmoid. */
const sigmoidCode = (x: number, k: number): Code => [...f32x4Neg, ...set(x), ...f32x4Const(1), ...f32x4Const(1), ...expCode(x, k), ...f32x4Add, ...f32x4Div];
/** 1 − 2 / (e^2x + 1) of x on the stack, as the JavaScript module writes tanh. */
const tanhCode = (x: number, k: number): Code => [...f32x4Const(2), ...f32x4Mul, ...set(x), ...f32x4Const(1), ...f32x4Const(2), ...expCode(x, k), ...f32x4Const(1), ...f32x4Add, ...f32x4Div, ...f32x4Sub];

/**
 * The forward function's locals: T, B and the arrays' addresses (its
 * parameters), then step t, batch row b, the element's byte offset j·4, the
 * row addresses a pointwise kernel reads and writes, and its values; and two
 * v128 locals for exp.
 */
interface Frame {
  readonly address: (array: string) => number;
  readonly t: number;
  readonly b: number;
  readonly j4: number;
  readonly rows: number;
  readonly values: number;
  readonly scratch: number;
}
const T = 0, B = 1, ENDED = 2, LENGTHS = 3;

/** A per-row location's row, as the key of its row address within a kernel. */
const rowKey = (loc: Loc): string => `${loc.array}|${loc.timed}|${loc.shift}|${loc.width}|${loc.offset}`;

/** The per-row locations a pointwise kernel reads or writes, one per row key. */
function rowLocs(k: PointwiseKernel): Map<string, Loc> {
  const locs = k.items.flatMap((item) => [...readsOf(item.expr).map((r) => r.loc), ...item.stores.map((st) => st.loc)]);
  return new Map(locs.filter((loc) => loc.perRow).map((loc) => [rowKey(loc), loc]));
}

/** (t + shift)·B for a timed location, on the stack. */
const stepRows = (f: Frame, loc: Loc): Code => [...get(f.t), ...(loc.shift ? [...i32(loc.shift), ...add] : []), ...get(B), ...mul];

/** The byte address of a location's row `row` (code that pushes the row index), at its offset. */
const rowAddress = (f: Frame, loc: Loc, row: Code): Code => [...get(f.address(loc.array)), ...row, ...i32(loc.width * 4), ...mul, ...add, ...(loc.offset ? [...i32(loc.offset * 4), ...add] : [])];

/** C[B rows of this step] = A · Wᵀ through the GEMM kernel: gemm(a, lda, w, c, ldc, m, n, k). */
function gemmCode(f: Frame, k: GemmKernel): Code {
  const block = (loc: Loc): Code => rowAddress(f, loc, loc.timed ? stepRows(f, loc) : i32(0));
  return [...block(k.a), ...i32(k.a.width), ...get(f.address(k.w)), ...block(k.out), ...i32(k.out.width), ...get(B), ...i32(k.rows), ...i32(k.depth), ...call(GEMM)];
}

/** Loads and stores of four elements (`wide`), or of one element through all four lanes. */
const load = (wide: boolean, offset: number): Code => (wide ? v128Load(offset) : [...f32Load(offset), ...f32x4Splat]);
const store = (wide: boolean, offset = 0): Code => (wide ? v128Store(offset) : [...lane(0), ...f32Store(offset)]);

/** The items of a pointwise kernel for the elements at j4, with row addresses in `rows` (by row key) and values in `values`. */
function itemsCode(f: Frame, k: PointwiseKernel, rows: Map<string, number>, wide: boolean): Code {
  const values = new Map(k.items.map((item, i) => [item.local, f.values + i]));
  const walk = (e: Expr): Code => {
    switch (e.op) {
      case "read":
        if (e.loc.perRow) return [...get(rows.get(rowKey(e.loc))!), ...get(f.j4), ...add, ...load(wide, 4 * e.extra)];
        if (e.loc.scalar) return [...get(f.address(e.loc.array)), ...f32Load(4 * e.loc.offset), ...f32x4Splat];
        return [...get(f.address(e.loc.array)), ...get(f.j4), ...add, ...load(wide, 4 * (e.loc.offset + e.extra))];
      case "local":
        return get(values.get(e.name)!);
      case "const":
        return f32x4Const(e.value);
      case "neg":
        return [...walk(e.arg), ...f32x4Neg];
      case "apply":
        return [...walk(e.arg), ...FUNCTIONS[e.fn]!(f.scratch)];
      case "derivative":
        return [...walk(e.arg), ...DERIVATIVES[e.fn]!(f.scratch)];
      default:
        if (!("args" in e)) throw new Error(`internal: ${e.op} is not in the WebAssembly table`);
        return [...e.args.flatMap(walk), ...OPS[e.op]!];
    }
  };
  const storeCode = (st: PointwiseKernel["items"][number]["stores"][number], value: number): Code => {
    // The address of the element at j4, and the offset from it: per row, or in a shared vector.
    const [at, offset]: [Code, number] = st.loc.perRow ? [[...get(rows.get(rowKey(st.loc))!), ...get(f.j4), ...add], 0] : [[...get(f.address(st.loc.array)), ...get(f.j4), ...add], 4 * st.loc.offset];
    const stored = st.mode === "add" ? [...at, ...load(wide, offset), ...get(value), ...f32x4Add] : get(value);
    return [...at, ...stored, ...store(wide, offset)];
  };
  return k.items.flatMap((item) => [...walk(item.expr), ...set(values.get(item.local)!), ...item.stores.flatMap((st) => storeCode(st, values.get(item.local)!))]);
}

/** for (b = 0; b < B; b++) { row addresses; 4 elements at a time; then the rest one at a time }. */
function pointwiseCode(f: Frame, k: PointwiseKernel): Code {
  const locs = [...rowLocs(k).entries()];
  const rows = new Map(locs.map(([key], i) => [key, f.rows + i]));
  const bytes = k.length * 4;
  const row: Code = locs.flatMap(([key, loc]) => [...rowAddress(f, loc, loc.timed ? [...stepRows(f, loc), ...get(f.b), ...add] : get(f.b)), ...set(rows.get(key)!)]);
  const wide = k.length >= 4 ? whileLoop([...get(f.j4), ...i32(16), ...add, ...i32(bytes), ...leS], [...itemsCode(f, k, rows, true), ...get(f.j4), ...i32(16), ...add, ...set(f.j4)]) : [];
  const rest = k.length % 4 !== 0 ? whileLoop([...get(f.j4), ...i32(bytes), ...ltS], [...itemsCode(f, k, rows, false), ...get(f.j4), ...i32(4), ...add, ...set(f.j4)]) : [];
  return [...i32(0), ...set(f.b), ...whileLoop([...get(f.b), ...get(B), ...ltS], [...row, ...i32(0), ...set(f.j4), ...wide, ...rest, ...get(f.b), ...i32(1), ...add, ...set(f.b)])];
}

/**
 * After the step, from step `ended` on: each row whose length is at most t
 * gets its states' values from before the step back (slot t into slot t + 1
 * of each history), as the JavaScript loop's _freezeEnded does.
 */
function freezeEndedCode(f: Frame, histories: readonly { readonly name: string; readonly width: number }[]): Code {
  const slot = (next: number, width: number): Code => [...get(f.t), ...(next ? [...i32(next), ...add] : []), ...get(B), ...mul, ...get(f.b), ...add, ...i32(width * 4), ...mul];
  const keep = histories.flatMap((h) => [
    ...get(f.address(h.name)), ...slot(1, h.width), ...add,
    ...get(f.address(h.name)), ...slot(0, h.width), ...add,
    ...i32(h.width * 4), ...memoryCopy,
  ]);
  return endedRows(f, keep);
}

/** Buffers the TypeScript module stages into the kernel's memory (in, or out, once per call) to hand the step their addresses. */
export const STAGED_ROLES: ReadonlySet<BufferRole> = new Set(["param", "input", "history", "output", "tape", "upstream", "paramGradient", "inputGradient"]);
/** Buffers the steps can read and write: the staged ones, and the module's workspaces (already in the memory). */
const ADDRESSABLE: ReadonlySet<BufferRole> = new Set([
  ...STAGED_ROLES, "packed", "packedTransposed", "projection", "product", "scratch", "carry", "carryPrevious", "productGradient", "transposedProduct",
]);

/** A step function's code and its locals, from its parameters' count (T, B, ...) and its kernels. */
function stepFunction(parameters: number, address: (array: string) => number, kernels: readonly StepKernel[], loop: (f: Frame, step: Code) => Code, after: (f: Frame) => Code): Code {
  const pointwise = kernels.filter((k): k is PointwiseKernel => k.kind === "pointwise");
  const rowCount = Math.max(0, ...pointwise.map((k) => rowLocs(k).size));
  const i32s = 3 + rowCount;
  const valueCount = Math.max(0, ...pointwise.map((k) => k.items.length));
  const v128s = parameters + i32s;
  const f: Frame = { address, t: parameters, b: parameters + 1, j4: parameters + 2, rows: parameters + 3, values: v128s, scratch: v128s + valueCount };
  const step = [...kernels.flatMap((k) => (k.kind === "gemm" ? gemmCode(f, k) : pointwiseCode(f, k as PointwiseKernel))), ...after(f)];
  return funcBody([[i32s, I32], [valueCount + 2, V128]], loop(f, step));
}

/** Whether every kernel is in the table and every array they name can be addressed. */
function stepCovered(plan: ModulePlan, kernels: readonly StepKernel[], arrays: readonly string[]): boolean {
  const roles = new Map(plan.buffers.map((b) => [b.name, b.role]));
  return kernels.every(kernelCovered) && arrays.every((a) => ADDRESSABLE.has(roles.get(a)!));
}

/** forward(T, B, ended, lengths, ...arrays): t from 0 up, each step's kernels, then ended rows' states kept. */
function forwardFunction(plan: ModulePlan, arrays: readonly string[]): Code | null {
  const histories = plan.buffers.filter((b) => b.role === "history");
  // A state the step neither reads nor writes could not be kept for an ended row.
  if (!histories.every((h) => arrays.includes(h.name))) return null;
  const loop = (f: Frame, step: Code): Code => [...i32(0), ...set(f.t), ...whileLoop([...get(f.t), ...get(T), ...ltS], [...step, ...get(f.t), ...i32(1), ...add, ...set(f.t)])];
  return stepFunction(4 + arrays.length, (a) => 4 + arrays.indexOf(a), plan.forward.step.kernels, loop, (f) => freezeEndedCode(f, histories));
}

/** A state's carried gradients in backward: after its step, before it, and where an ended row's waits. */
interface Carry {
  readonly carry: string;
  readonly previous: string;
  readonly parked: string;
  readonly width: number;
  /** Whether no gradient flows back through the state: its previous carry is zeroed each step (plan.backward.zeroCarry). */
  readonly zero: boolean;
}

/**
 * backward(T, B, ended, lengths, ...arrays): t from T − 1 down, each step's kernels, then the states' carried
 * gradients moved on: the carry (dL/d state after step t) and the previous carry (before it) trade addresses, as
 * the JavaScript loop's variables do, so after an odd number of steps the caller's two are swapped. From step
 * `ended` down, ended rows' carries are parked and zeroed before the kernels and passed on after them, as the
 * JavaScript loop's _parkEnded and _unparkEnded do.
 */
function backwardFunction(plan: ModulePlan, arrays: readonly string[], carries: readonly Carry[]): Code {
  const address = (a: string) => 4 + arrays.indexOf(a);
  const loop = (f: Frame, step: Code): Code => [
    ...get(T), ...i32(-1), ...add, ...set(f.t),
    ...whileLoop([...get(f.t), ...i32(0), ...geS], [...endedRows(f, carries.flatMap((c) => parkCode(f, address, c))), ...step, ...get(f.t), ...i32(-1), ...add, ...set(f.t)]),
  ];
  const after = (f: Frame): Code => [
    ...carries.flatMap((c) => (c.zero ? [...get(address(c.previous)), ...i32(0), ...get(B), ...i32(c.width * 4), ...mul, ...memoryFill] : [])),
    ...endedRows(f, carries.flatMap((c) => rowCopy(f, address(c.previous), address(c.parked), c.width))),
    ...carries.flatMap((c) => [...get(address(c.carry)), ...set(f.j4), ...get(address(c.previous)), ...set(address(c.carry)), ...get(f.j4), ...set(address(c.previous))]),
  ];
  return stepFunction(4 + arrays.length, address, plan.backward.step.kernels, loop, after);
}

/** `body` for each row b whose length is at most t, from step `ended` on (row b in the frame's b). */
function endedRows(f: Frame, body: Code): Code {
  if (body.length === 0) return [];
  const rowEnded = [...get(f.t), ...get(LENGTHS), ...get(f.b), ...i32(4), ...mul, ...add, ...i32Load(), ...geS];
  const rows = [...i32(0), ...set(f.b), ...whileLoop([...get(f.b), ...get(B), ...ltS], [...ifThen(rowEnded, body), ...get(f.b), ...i32(1), ...add, ...set(f.b)])];
  return ifThen([...get(f.t), ...get(ENDED), ...geS], rows);
}

/** Row b of one [B, width] array copied into another (local indices of their addresses). */
const rowCopy = (f: Frame, to: number, from: number, width: number): Code => {
  const row = (array: number) => [...get(array), ...get(f.b), ...i32(width * 4), ...mul, ...add];
  return [...row(to), ...row(from), ...i32(width * 4), ...memoryCopy];
};

/** An ended row's carry parked, and zeroed. */
function parkCode(f: Frame, address: (array: string) => number, c: Carry): Code {
  return [...rowCopy(f, address(c.parked), address(c.carry), c.width), ...get(address(c.carry)), ...get(f.b), ...i32(c.width * 4), ...mul, ...add, ...i32(0), ...i32(c.width * 4), ...memoryFill];
}

/** The carried-gradient buffers of a plan's states. */
function carriesOf(plan: ModulePlan): Carry[] {
  return plan.buffers
    .filter((b) => b.role === "carry")
    .map((c) => {
      const state = c.of!;
      return { carry: c.name, previous: arrayNames.carryPrev(state), parked: arrayNames.parked(state), width: c.width, zero: plan.backward.zeroCarry.includes(state) };
    });
}

/** A module of one step loop, exported as `exported`, that imports the kernel's GEMM and memory. */
function loopModule(exported: string, parameters: number, body: Code): Uint8Array {
  const types = vector([funcType(Array(8).fill(I32), []), funcType(Array(parameters).fill(I32), [])]);
  const imports = vector([
    [...name("m"), ...name("gemm"), 0x00, ...uleb(0)],
    [...name("m"), ...name("memory"), 0x02, 0x00, ...uleb(1)],
  ]);
  return Uint8Array.from([
    ...MAGIC,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, vector([uleb(1)])),
    ...section(7, vector([[...name(exported), 0x00, ...uleb(LOOP)]])),
    ...section(10, vector([body])),
  ]);
}

/**
 * The fused steps of a plan, or null when its forward step has a form the WebAssembly table lacks (the module keeps
 * its JavaScript loops); `backward` is null when only the backward step does.
 */
export function forwardStepModule(plan: ModulePlan): ForwardStepModule | null {
  const arrays = arraysOf(plan.forward.step.kernels);
  if (!stepCovered(plan, plan.forward.step.kernels, arrays)) return null;
  const forward = forwardFunction(plan, arrays);
  if (forward === null) return null;
  const carries = carriesOf(plan);
  const carried = carries.flatMap((c) => [c.carry, c.previous]);
  const backwardArrays = [...arraysOf(plan.backward.step.kernels).filter((a) => !carried.includes(a)), ...carried];
  // The parked rows (the module's workspaces, not the plan's buffers) go last.
  const withParked = [...backwardArrays, ...carries.map((c) => c.parked)];
  const backward = stepCovered(plan, plan.backward.step.kernels, backwardArrays)
    ? { bytes: loopModule("backward", 4 + withParked.length, backwardFunction(plan, withParked, carries)), arrays: withParked }
    : null;
  return { bytes: loopModule("forward", 4 + arrays.length, forward), arrays, backward };
}
