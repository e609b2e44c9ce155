// Shared definitions for the competitor side of the LSTM/GRU benchmark.
//
// Conventions (all row-major, time-major):
//   x  [T,B,I]   h0, c0 [B,H]   h_seq [T,B,H]
//   LSTM: for k in i,f,g,o:  W_k [H,I], U_k [H,H], b_k [H]
//         i,f,o = sigmoid(W_k x + U_k h + b_k), g = tanh(...)
//         c' = f*c + i*g,  h' = o*tanh(c')
//   GRU (PyTorch / cuDNN / ONNX linear_before_reset=1 form):
//         z,r = sigmoid(W_k x + U_k h + b_k)
//         n   = tanh(W_n x + b_n + r*(U_n h + b_hn))
//         h'  = (1-z)*n + z*h

export type CellKind = 'lstm' | 'gru';
/** fwd: a sequence forward; fwd+bwd: forward then backward; step: one streaming step at batch 1 (sizes B = T = 1). */
export type Mode = 'fwd' | 'fwd+bwd' | 'step';

export interface Sizes {
  B: number;
  I: number;
  H: number;
  T: number;
}

/** Any float array; the naive kernels run in float32 (benchmark) or float64 (checks). */
export type FArr = Float32Array | Float64Array;
export type FCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export type Weights<A extends FArr = Float32Array> = Record<string, A>;

export const LSTM_GATES = ['i', 'f', 'g', 'o'] as const;
export const GRU_GATES = ['z', 'r', 'n'] as const;

export function gatesOf(cell: CellKind): readonly string[] {
  return cell === 'lstm' ? LSTM_GATES : GRU_GATES;
}

/** Weight names and shapes of a cell. */
export function weightShapes(cell: CellKind, s: Sizes): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of gatesOf(cell)) {
    out[`W_${k}`] = [s.H, s.I];
    out[`U_${k}`] = [s.H, s.H];
    out[`b_${k}`] = [s.H];
  }
  if (cell === 'gru') out['b_hn'] = [s.H];
  return out;
}

export const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** FLOPs of the matrix products of one forward pass: 2·G·H·(I+H)·B·T. */
export function forwardFlops(cell: CellKind, s: Sizes): number {
  const G = cell === 'lstm' ? 4 : 3;
  return 2 * G * s.H * (s.I + s.H) * s.B * s.T;
}

export function modeFlops(cell: CellKind, s: Sizes, mode: Mode): number {
  return forwardFlops(cell, s) * (mode === 'fwd+bwd' ? 3 : 1);
}

/** Small deterministic PRNG (mulberry32) so every candidate sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform<A extends FArr>(ctor: FCtor, n: number, r: () => number, scale: number): A {
  const a = new ctor(n) as A;
  for (let i = 0; i < n; i++) a[i] = (2 * r() - 1) * scale;
  return a;
}

export interface Problem<A extends FArr = Float32Array> {
  cell: CellKind;
  sizes: Sizes;
  weights: Weights<A>;
  x: A; // [T,B,I]
  h0: A; // [B,H]
  c0: A; // [B,H] (unused by GRU, still allocated)
  dY: A; // [T,B,H]  loss = sum(h_seq * dY)
}

/** Random problem: weights ~ U(-1/sqrt(H), 1/sqrt(H)), inputs ~ U(-1,1), states ~ U(-0.5,0.5). */
export function makeProblem<A extends FArr = Float32Array>(
  cell: CellKind,
  sizes: Sizes,
  seed = 1234,
  ctor: FCtor = Float32Array,
): Problem<A> {
  const r = rng(seed);
  const { B, I, H, T } = sizes;
  const ws = 1 / Math.sqrt(H);
  const weights: Weights<A> = {};
  for (const [name, shape] of Object.entries(weightShapes(cell, sizes))) {
    weights[name] = uniform<A>(ctor, numel(shape), r, ws);
  }
  return {
    cell,
    sizes,
    weights,
    x: uniform<A>(ctor, T * B * I, r, 1),
    h0: uniform<A>(ctor, B * H, r, 0.5),
    c0: uniform<A>(ctor, B * H, r, 0.5),
    dY: uniform<A>(ctor, T * B * H, r, 1),
  };
}

/** Convert a problem to another float type (same values, rounded). */
export function convertProblem<A extends FArr, B2 extends FArr>(p: Problem<A>, ctor: FCtor): Problem<B2> {
  const cv = (a: FArr) => new ctor(a) as unknown as B2;
  const weights: Weights<B2> = {};
  for (const [k, v] of Object.entries(p.weights)) weights[k] = cv(v);
  return { cell: p.cell, sizes: p.sizes, weights, x: cv(p.x), h0: cv(p.h0), c0: cv(p.c0), dY: cv(p.dY) };
}

/** Gradients: one entry per weight name plus 'x' (and 'h0', 'c0' where a candidate provides them). */
export type Grads<A extends FArr = Float32Array> = Record<string, A>;

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export const fmtSizes = (s: Sizes) => `(${s.B},${s.I},${s.H},${s.T})`;
