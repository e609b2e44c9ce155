// "Plain JS loops" baseline: a straightforward hand-written LSTM / GRU with
// obvious triple loops over (batch, output row, input column). No blocking, no
// gate fusion, no hoisting of the input projection out of the time loop. The
// only concession to speed is that work buffers are allocated once per instance.
//
// Works in float32 (benchmark) or float64 (gradient checks): pass the array
// constructor.

import {
  type CellKind,
  type FArr,
  type FCtor,
  type Grads,
  type Sizes,
  type Weights,
  gatesOf,
  weightShapes,
  numel,
} from './common.ts';

export interface NaiveCell {
  /** Forward pass. Returns h_seq [T,B,H] (a view into an internal buffer, overwritten by the next call). */
  forward(x: FArr, h0: FArr, c0: FArr): FArr;
  /** Forward pass, then BPTT for loss = sum(h_seq * dY). Gradients are internal buffers too. */
  forwardBackward(x: FArr, h0: FArr, c0: FArr, dY: FArr): { hseq: FArr; grads: Grads<FArr> };
}

// out[oo + j] += sum_i M[j, i] * v[vo + i]           (M is rows x cols)
function matVecAcc(out: FArr, oo: number, M: FArr, v: FArr, vo: number, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    let s = 0;
    for (let i = 0; i < cols; i++) s += M[j * cols + i] * v[vo + i];
    out[oo + j] += s;
  }
}

// out[oo + i] += sum_j M[j, i] * a[ao + j]            (M^T a)
function matTVecAcc(out: FArr, oo: number, M: FArr, a: FArr, ao: number, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    const aj = a[ao + j];
    for (let i = 0; i < cols; i++) out[oo + i] += M[j * cols + i] * aj;
  }
}

// dM[j, i] += a[ao + j] * v[vo + i]
function outerAcc(dM: FArr, a: FArr, ao: number, v: FArr, vo: number, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    const aj = a[ao + j];
    for (let i = 0; i < cols; i++) dM[j * cols + i] += aj * v[vo + i];
  }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function createNaive(cell: CellKind, sizes: Sizes, weights: Weights<FArr>, ctor: FCtor = Float32Array): NaiveCell {
  return cell === 'lstm' ? createLstm(sizes, weights, ctor) : createGru(sizes, weights, ctor);
}

function allocGrads(cell: CellKind, sizes: Sizes, ctor: FCtor): Grads<FArr> {
  const g: Grads<FArr> = {};
  for (const [k, shape] of Object.entries(weightShapes(cell, sizes))) g[k] = new ctor(numel(shape));
  g['x'] = new ctor(sizes.T * sizes.B * sizes.I);
  g['h0'] = new ctor(sizes.B * sizes.H);
  if (cell === 'lstm') g['c0'] = new ctor(sizes.B * sizes.H);
  return g;
}

function createLstm(sizes: Sizes, w: Weights<FArr>, ctor: FCtor): NaiveCell {
  const { B, I, H, T } = sizes;
  const BH = B * H;
  const Ws = gatesOf('lstm').map((k) => w[`W_${k}`]);
  const Us = gatesOf('lstm').map((k) => w[`U_${k}`]);
  const bs = gatesOf('lstm').map((k) => w[`b_${k}`]);
  // Saved activations, [T,B,H] each; states [T+1,B,H] (slot 0 = initial state).
  const act = [0, 1, 2, 3].map(() => new ctor(T * BH)); // i, f, g, o (post-nonlinearity)
  const tanhC = new ctor(T * BH);
  const hs = new ctor((T + 1) * BH);
  const cs = new ctor((T + 1) * BH);
  const grads = allocGrads('lstm', sizes, ctor);
  const dWs = gatesOf('lstm').map((k) => grads[`W_${k}`]);
  const dUs = gatesOf('lstm').map((k) => grads[`U_${k}`]);
  const dbs = gatesOf('lstm').map((k) => grads[`b_${k}`]);
  const dh = grads['h0']; // running dL/dh_{t}
  const dc = grads['c0']; // running dL/dc_{t}
  const dx = grads['x'];
  const a = [0, 1, 2, 3].map(() => new ctor(H)); // pre-activation gradients for one batch row
  const hseq = hs.subarray(BH);

  function forward(x: FArr, h0: FArr, c0: FArr): FArr {
    hs.set(h0.subarray(0, BH));
    cs.set(c0.subarray(0, BH));
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const xo = (t * B + b) * I;
        const hpo = t * BH + b * H; // previous h / c
        const o = (t * B + b) * H; // this step's row in [T,B,H]
        for (let k = 0; k < 4; k++) {
          const pre = act[k];
          for (let j = 0; j < H; j++) pre[o + j] = bs[k][j];
          matVecAcc(pre, o, Ws[k], x, xo, H, I);
          matVecAcc(pre, o, Us[k], hs, hpo, H, H);
        }
        for (let j = 0; j < H; j++) {
          const ig = sigmoid(act[0][o + j]);
          const fg = sigmoid(act[1][o + j]);
          const gg = Math.tanh(act[2][o + j]);
          const og = sigmoid(act[3][o + j]);
          act[0][o + j] = ig;
          act[1][o + j] = fg;
          act[2][o + j] = gg;
          act[3][o + j] = og;
          const c = fg * cs[hpo + j] + ig * gg;
          const tc = Math.tanh(c);
          cs[hpo + BH + j] = c;
          tanhC[o + j] = tc;
          hs[hpo + BH + j] = og * tc;
        }
      }
    }
    return hseq;
  }

  function forwardBackward(x: FArr, h0: FArr, c0: FArr, dY: FArr) {
    forward(x, h0, c0);
    for (const g of Object.values(grads)) g.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      for (let b = 0; b < B; b++) {
        const xo = (t * B + b) * I;
        const hpo = t * BH + b * H;
        const o = (t * B + b) * H;
        const so = b * H; // row in the running dh / dc
        for (let j = 0; j < H; j++) {
          const ig = act[0][o + j], fg = act[1][o + j], gg = act[2][o + j], og = act[3][o + j];
          const tc = tanhC[o + j];
          const dhj = dY[o + j] + dh[so + j];
          const dcj = dc[so + j] + dhj * og * (1 - tc * tc);
          a[0][j] = dcj * gg * ig * (1 - ig);
          a[1][j] = dcj * cs[hpo + j] * fg * (1 - fg);
          a[2][j] = dcj * ig * (1 - gg * gg);
          a[3][j] = dhj * tc * og * (1 - og);
          dc[so + j] = dcj * fg;
        }
        // dh_{t-1} = sum_k U_k^T a_k ; dx_t = sum_k W_k^T a_k
        for (let m = 0; m < H; m++) dh[so + m] = 0;
        for (let k = 0; k < 4; k++) {
          matTVecAcc(dh, so, Us[k], a[k], 0, H, H);
          matTVecAcc(dx, xo, Ws[k], a[k], 0, H, I);
          outerAcc(dWs[k], a[k], 0, x, xo, H, I);
          outerAcc(dUs[k], a[k], 0, hs, hpo, H, H);
          for (let j = 0; j < H; j++) dbs[k][j] += a[k][j];
        }
      }
    }
    return { hseq, grads };
  }

  return { forward, forwardBackward };
}

function createGru(sizes: Sizes, w: Weights<FArr>, ctor: FCtor): NaiveCell {
  const { B, I, H, T } = sizes;
  const BH = B * H;
  const [Wz, Wr, Wn] = [w.W_z, w.W_r, w.W_n];
  const [Uz, Ur, Un] = [w.U_z, w.U_r, w.U_n];
  const [bz, br, bn, bhn] = [w.b_z, w.b_r, w.b_n, w.b_hn];
  const Z = new ctor(T * BH), R = new ctor(T * BH), N = new ctor(T * BH);
  const HN = new ctor(T * BH); // U_n h + b_hn
  const hs = new ctor((T + 1) * BH);
  const grads = allocGrads('gru', sizes, ctor);
  const dh = grads['h0'];
  const dx = grads['x'];
  const az = new ctor(H), ar = new ctor(H), an = new ctor(H), ahn = new ctor(H);
  const hseq = hs.subarray(BH);

  function forward(x: FArr, h0: FArr, _c0: FArr): FArr {
    hs.set(h0.subarray(0, BH));
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const xo = (t * B + b) * I;
        const hpo = t * BH + b * H;
        const o = (t * B + b) * H;
        for (let j = 0; j < H; j++) {
          Z[o + j] = bz[j];
          R[o + j] = br[j];
          N[o + j] = bn[j];
          HN[o + j] = bhn[j];
        }
        matVecAcc(Z, o, Wz, x, xo, H, I);
        matVecAcc(Z, o, Uz, hs, hpo, H, H);
        matVecAcc(R, o, Wr, x, xo, H, I);
        matVecAcc(R, o, Ur, hs, hpo, H, H);
        matVecAcc(N, o, Wn, x, xo, H, I);
        matVecAcc(HN, o, Un, hs, hpo, H, H);
        for (let j = 0; j < H; j++) {
          const z = sigmoid(Z[o + j]);
          const r = sigmoid(R[o + j]);
          const n = Math.tanh(N[o + j] + r * HN[o + j]);
          Z[o + j] = z;
          R[o + j] = r;
          N[o + j] = n;
          hs[hpo + BH + j] = (1 - z) * n + z * hs[hpo + j];
        }
      }
    }
    return hseq;
  }

  function forwardBackward(x: FArr, h0: FArr, c0: FArr, dY: FArr) {
    forward(x, h0, c0);
    for (const g of Object.values(grads)) g.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      for (let b = 0; b < B; b++) {
        const xo = (t * B + b) * I;
        const hpo = t * BH + b * H;
        const o = (t * B + b) * H;
        const so = b * H;
        for (let j = 0; j < H; j++) {
          const z = Z[o + j], r = R[o + j], n = N[o + j], hn = HN[o + j];
          const hp = hs[hpo + j];
          const dhj = dY[o + j] + dh[so + j];
          const dn = dhj * (1 - z);
          const dz = dhj * (hp - n);
          an[j] = dn * (1 - n * n);
          ahn[j] = an[j] * r;
          ar[j] = an[j] * hn * r * (1 - r);
          az[j] = dz * z * (1 - z);
          dh[so + j] = dhj * z; // direct path; matrix paths added below
        }
        matTVecAcc(dh, so, Uz, az, 0, H, H);
        matTVecAcc(dh, so, Ur, ar, 0, H, H);
        matTVecAcc(dh, so, Un, ahn, 0, H, H);
        matTVecAcc(dx, xo, Wz, az, 0, H, I);
        matTVecAcc(dx, xo, Wr, ar, 0, H, I);
        matTVecAcc(dx, xo, Wn, an, 0, H, I);
        outerAcc(grads.W_z, az, 0, x, xo, H, I);
        outerAcc(grads.W_r, ar, 0, x, xo, H, I);
        outerAcc(grads.W_n, an, 0, x, xo, H, I);
        outerAcc(grads.U_z, az, 0, hs, hpo, H, H);
        outerAcc(grads.U_r, ar, 0, hs, hpo, H, H);
        outerAcc(grads.U_n, ahn, 0, hs, hpo, H, H);
        for (let j = 0; j < H; j++) {
          grads.b_z[j] += az[j];
          grads.b_r[j] += ar[j];
          grads.b_n[j] += an[j];
          grads.b_hn[j] += ahn[j];
        }
      }
    }
    return { hseq, grads };
  }

  return { forward, forwardBackward };
}
