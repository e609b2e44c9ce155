// Numerical checks for the benchmark competitors.
//   1. naive (float64) forward+backward vs central finite differences of its own
//      float64 forward, at a tiny size, for every weight, x, h0 (and c0);
//   2. naive float32 vs naive float64 at a small size;
//   3. naive float32 vs tfjs ('cpu' and 'wasm'), forward and all gradients;
//   4. naive float32 forward vs onnxruntime-node and onnxruntime-web (hand-built ONNX model),
//      and onnxruntime-web's one-step-per-call streaming model run T times.
// Run: npx tsx bench/check-competitors.ts      (exit code 1 if a check fails)

import {
  type CellKind,
  type FArr,
  type Problem,
  type Sizes,
  convertProblem,
  fmtSizes,
  makeProblem,
  maxAbs,
  maxAbsDiff,
} from './competitors/common.ts';
import { createNaive } from './competitors/naive.ts';
import { createTfjs, initBackend } from './competitors/tfjs.ts';
import { createOnnx } from './competitors/onnx.ts';
import { createOnnxWeb, createOnnxWebStep } from './competitors/onnx-web.ts';

let failed = false;
function report(label: string, err: number, scale: number, tol: number) {
  const rel = err / Math.max(scale, 1e-30);
  const ok = rel <= tol;
  if (!ok) failed = true;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${label.padEnd(58)} max|err| ${err.toExponential(2).padStart(9)}  rel ${rel.toExponential(2).padStart(9)}  (tol ${tol.toExponential(0)})`,
  );
}

/**
 * Max error over every gradient tensor the reference has. Prints the largest
 * absolute error and the largest per-tensor relative error (abs error / max|ref tensor|).
 */
function compareGrads(label: string, got: Record<string, FArr>, ref: Record<string, FArr>, tol: number) {
  let abs = 0, rel = 0, worst = '';
  for (const k of Object.keys(ref)) {
    if (!(k in got)) continue;
    const e = maxAbsDiff(got[k], ref[k]);
    const r = e / Math.max(maxAbs(ref[k]), 1e-30);
    abs = Math.max(abs, e);
    if (r >= rel) { rel = r; worst = k; }
  }
  report(`${label} (worst: ${worst})`, abs, abs / rel, tol);
}

function loss(h: FArr, dY: FArr): number {
  let s = 0;
  for (let i = 0; i < h.length; i++) s += h[i] * dY[i];
  return s;
}

// ---------------------------------------------------------------- 1. finite differences
function finiteDiff(cell: CellKind, s: Sizes) {
  const p = makeProblem<Float64Array>(cell, s, 7, Float64Array);
  const k = createNaive(cell, s, p.weights, Float64Array);
  const { grads } = k.forwardBackward(p.x, p.h0, p.c0, p.dY);
  const analytic: Record<string, Float64Array> = {};
  for (const [n, g] of Object.entries(grads)) analytic[n] = Float64Array.from(g);
  const eps = 1e-6;
  const targets: Record<string, Float64Array> = { ...p.weights, x: p.x, h0: p.h0 };
  if (cell === 'lstm') targets['c0'] = p.c0;
  let worst = 0, worstName = '', scale = 0;
  for (const [name, arr] of Object.entries(targets)) {
    const g = analytic[name];
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      arr[i] = v + eps;
      const lp = loss(k.forward(p.x, p.h0, p.c0), p.dY);
      arr[i] = v - eps;
      const lm = loss(k.forward(p.x, p.h0, p.c0), p.dY);
      arr[i] = v;
      const fd = (lp - lm) / (2 * eps);
      const e = Math.abs(fd - g[i]);
      if (e > worst) { worst = e; worstName = name; }
      scale = Math.max(scale, Math.abs(g[i]));
    }
  }
  report(`${cell} naive f64 BPTT vs finite diff ${fmtSizes(s)} [${Object.keys(targets).length} tensors, worst ${worstName}]`, worst, scale, 1e-7);
}

// ---------------------------------------------------------------- 2-4
async function crossCheck(cell: CellKind, s: Sizes) {
  const p32: Problem = makeProblem(cell, s, 11);
  const p64 = convertProblem<Float32Array, Float64Array>(p32, Float64Array);
  const n64 = createNaive(cell, s, p64.weights, Float64Array).forwardBackward(p64.x, p64.h0, p64.c0, p64.dY);
  const ref = { hseq: Float64Array.from(n64.hseq), grads: Object.fromEntries(Object.entries(n64.grads).map(([k, v]) => [k, Float64Array.from(v)])) };

  const n32 = createNaive(cell, s, p32.weights, Float32Array);
  const f32 = Float32Array.from(n32.forward(p32.x, p32.h0, p32.c0));
  report(`${cell} naive f32 fwd vs naive f64 ${fmtSizes(s)}`, maxAbsDiff(f32, ref.hseq), maxAbs(ref.hseq), 1e-5);
  const fb32 = n32.forwardBackward(p32.x, p32.h0, p32.c0, p32.dY);
  compareGrads(`${cell} naive f32 grads vs naive f64 ${fmtSizes(s)}`, fb32.grads, ref.grads, 1e-4);

  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend);
    const tk = createTfjs(cell, s, p32.weights, backend);
    const y = tk.forward(p32.x, p32.h0, p32.c0);
    report(`${cell} tfjs-${backend} fwd vs naive f64 ${fmtSizes(s)}`, maxAbsDiff(y, ref.hseq), maxAbs(ref.hseq), 1e-5);
    const { hseq, grads } = tk.forwardBackward(p32.x, p32.h0, p32.c0, p32.dY);
    report(`${cell} tfjs-${backend} fwd+bwd h_seq vs naive f64 ${fmtSizes(s)}`, maxAbsDiff(hseq, ref.hseq), maxAbs(ref.hseq), 1e-5);
    compareGrads(`${cell} tfjs-${backend} grads vs naive f64 ${fmtSizes(s)}`, grads, ref.grads, 1e-4);
    // Also directly against the f32 naive kernel (what the brief asks for).
    compareGrads(`${cell} tfjs-${backend} grads vs naive f32 ${fmtSizes(s)}`, grads, fb32.grads as Record<string, FArr>, 1e-4);
    tk.dispose();
  }

  const ok = await createOnnx(cell, s, p32.weights, 1);
  const yo = await ok.forward(p32.x, p32.h0, p32.c0);
  report(`${cell} onnxruntime fwd vs naive f64 ${fmtSizes(s)}`, maxAbsDiff(yo, ref.hseq), maxAbs(ref.hseq), 1e-5);
  report(`${cell} onnxruntime fwd vs naive f32 ${fmtSizes(s)}`, maxAbsDiff(yo, f32), maxAbs(f32), 1e-5);
  await ok.dispose();

  const web = await createOnnxWeb(cell, s, p32.weights, 1);
  report(`${cell} onnxruntime-web fwd vs naive f32 ${fmtSizes(s)}`, maxAbsDiff(await web.forward(p32.x, p32.h0, p32.c0), f32), maxAbs(f32), 1e-5);
  await web.dispose();
  // The streaming model, one step per call for T calls, must give the whole sequence's outputs.
  const stepper = await createOnnxWebStep(cell, s, p32.weights, { h: p32.h0, c: p32.c0 }, 1);
  const streamed = new Float32Array(f32.length);
  const row = s.B * s.I;
  for (let t = 0; t < s.T; t++) streamed.set(await stepper.step(p32.x.subarray(t * row, (t + 1) * row)), t * s.B * s.H);
  report(`${cell} onnxruntime-web step×T vs naive f32 ${fmtSizes(s)}`, maxAbsDiff(streamed, f32), maxAbs(f32), 1e-5);
  await stepper.dispose();
}

const tiny: Sizes = { B: 2, I: 3, H: 4, T: 5 };
const small: Sizes = { B: 3, I: 16, H: 24, T: 12 };
for (const cell of ['lstm', 'gru'] as const) finiteDiff(cell, tiny);
for (const cell of ['lstm', 'gru'] as const) await crossCheck(cell, small);
// A larger one for ONNX / tfjs shapes with B>1 and I != H at a benchmark-like size.
for (const cell of ['lstm', 'gru'] as const) await crossCheck(cell, { B: 4, I: 64, H: 32, T: 20 });
console.log(failed ? 'SOME CHECKS FAILED' : 'all checks passed');
process.exit(failed ? 1 : 0);
