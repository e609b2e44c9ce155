// TensorFlow.js competitor: LSTM / GRU written with tfjs-core ops, run on the
// 'cpu' (plain JS) or 'wasm' (XNNPACK, SIMD, single-threaded in Node) backend.
//
// Formulation (the usual way to write it in tfjs, not a naive one):
//   - gate weights fused once at upload time: Wt = [W_i;W_f;W_g;W_o]^T  [I,G·H],
//     Ut [H,G·H], one bias row;
//   - the input projection for all steps is one matMul before the time loop;
//   - per step one matMul h·Ut, then split into gates;
//   - the time loop runs inside tf.tidy; backward via tf.grads over
//     loss = sum(h_seq * dY), gradients for x and every (fused) weight.
// Weights are uploaded once (outside the timed region). The timed call
// includes uploading x / h0 / c0 / dY and downloading h_seq (fwd) or all
// gradients (fwd+bwd), split back into the per-gate names.

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type CellKind, type Grads, type Sizes, type Weights, gatesOf } from './common.ts';

export type TfBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;
const initialised = new Set<string>();

/** Initialise a backend once (async); later switches via useBackend() are synchronous. */
export async function initBackend(backend: TfBackend): Promise<void> {
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner; no debug checks either way
  if (backend === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dir + path.sep);
    wasmPathsSet = true;
  }
  if (!initialised.has(backend)) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs backend '${backend}' failed to initialise`);
    await tf.ready();
    initialised.add(backend);
  }
  await tf.setBackend(backend);
}

/**
 * Switch the global tfjs backend synchronously. Engine.setBackend is an async
 * function, but once the backend is registered its body runs to completion
 * before returning the promise, so the switch is immediate.
 */
export function useBackend(backend: TfBackend): void {
  if (tf.getBackend() !== backend) {
    if (!initialised.has(backend)) throw new Error(`tfjs backend '${backend}' not initialised`);
    void tf.setBackend(backend);
    if (tf.getBackend() !== backend) throw new Error(`tfjs backend switch to '${backend}' was not synchronous`);
  }
}

export interface TfjsCell {
  backend: TfBackend;
  forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Float32Array;
  forwardBackward(x: Float32Array, h0: Float32Array, c0: Float32Array, dY: Float32Array): { hseq: Float32Array; grads: Grads };
  dispose(): void;
}

/** [k][H,X] row-major blocks -> transposed fused [X, G·H]. */
function fuseTransposed(blocks: Float32Array[], H: number, X: number): Float32Array {
  const G = blocks.length;
  const out = new Float32Array(X * G * H);
  for (let k = 0; k < G; k++) {
    const w = blocks[k];
    for (let j = 0; j < H; j++) for (let i = 0; i < X; i++) out[i * G * H + k * H + j] = w[j * X + i];
  }
  return out;
}

/** Inverse of fuseTransposed for gradients: [X, G·H] -> G blocks [H,X]. */
function splitTransposed(fused: Float32Array, G: number, H: number, X: number): Float32Array[] {
  const outs: Float32Array[] = [];
  for (let k = 0; k < G; k++) {
    const w = new Float32Array(H * X);
    for (let j = 0; j < H; j++) for (let i = 0; i < X; i++) w[j * X + i] = fused[i * G * H + k * H + j];
    outs.push(w);
  }
  return outs;
}

function concat(parts: Float32Array[]): Float32Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Create a tfjs cell on the given backend. Call `await initBackend(backend)` first. */
export function createTfjs(cell: CellKind, sizes: Sizes, weights: Weights, backend: TfBackend): TfjsCell {
  useBackend(backend);
  const { B, I, H, T } = sizes;
  const gates = gatesOf(cell);
  const G = gates.length;
  const Wt = tf.tensor2d(fuseTransposed(gates.map((k) => weights[`W_${k}`]), H, I), [I, G * H]);
  const Ut = tf.tensor2d(fuseTransposed(gates.map((k) => weights[`U_${k}`]), H, H), [H, G * H]);
  const bx = tf.tensor1d(concat(gates.map((k) => weights[`b_${k}`])));
  // GRU: recurrent-side bias only on the n gate (b_hn); packed as one [H] vector.
  const bhn = cell === 'gru' ? tf.tensor1d(weights['b_hn']) : null;

  // Pure function of tensors: returns h_seq [T,B,H].
  function seqLstm(x: tf.Tensor, Wt: tf.Tensor, Ut: tf.Tensor, bx: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor): tf.Tensor {
    const xp = tf.add(tf.matMul(tf.reshape(x, [T * B, I]), Wt), bx); // [T·B, 4H]
    const xs = tf.unstack(tf.reshape(xp, [T, B, G * H]));
    let h = h0 as tf.Tensor2D;
    let c = c0 as tf.Tensor2D;
    const out: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const pre = tf.add(xs[t], tf.matMul(h, Ut));
      const [pi, pf, pg, po] = tf.split(pre, 4, 1);
      const i = tf.sigmoid(pi), f = tf.sigmoid(pf), g = tf.tanh(pg), o = tf.sigmoid(po);
      c = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
      h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;
      out.push(h);
    }
    return tf.stack(out);
  }

  function seqGru(x: tf.Tensor, Wt: tf.Tensor, Ut: tf.Tensor, bx: tf.Tensor, bhn: tf.Tensor, h0: tf.Tensor): tf.Tensor {
    const xp = tf.add(tf.matMul(tf.reshape(x, [T * B, I]), Wt), bx); // [T·B, 3H]
    const xs = tf.unstack(tf.reshape(xp, [T, B, G * H]));
    let h = h0 as tf.Tensor2D;
    const out: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const hp = tf.matMul(h, Ut);
      const [xz, xr, xn] = tf.split(xs[t], 3, 1);
      const [hz, hr, hn] = tf.split(hp, 3, 1);
      const z = tf.sigmoid(tf.add(xz, hz));
      const r = tf.sigmoid(tf.add(xr, hr));
      const n = tf.tanh(tf.add(xn, tf.mul(r, tf.add(hn, bhn))));
      h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D; // (1-z)·n + z·h
      out.push(h);
    }
    return tf.stack(out);
  }

  const gradLstm = tf.grads((x, Wt, Ut, bx, h0, c0, dY) =>
    tf.sum(tf.mul(seqLstm(x, Wt, Ut, bx, h0, c0), dY)),
  );
  const gradGru = tf.grads((x, Wt, Ut, bx, bhn, h0, dY) => tf.sum(tf.mul(seqGru(x, Wt, Ut, bx, bhn, h0), dY)));

  function forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Float32Array {
    useBackend(backend);
    // Return tensors (not typed arrays) from tidy: tidy walks its result element by element.
    const y = tf.tidy(() => {
      const xt = tf.tensor3d(x, [T, B, I]);
      const ht = tf.tensor2d(h0, [B, H]);
      return cell === 'lstm' ? seqLstm(xt, Wt, Ut, bx, ht, tf.tensor2d(c0, [B, H])) : seqGru(xt, Wt, Ut, bx, bhn!, ht);
    });
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  }

  function forwardBackward(x: Float32Array, h0: Float32Array, c0: Float32Array, dY: Float32Array) {
    useBackend(backend);
    const gs = tf.tidy(() => {
      const xt = tf.tensor3d(x, [T, B, I]);
      const ht = tf.tensor2d(h0, [B, H]);
      const dYt = tf.tensor3d(dY, [T, B, H]);
      return cell === 'lstm'
        ? gradLstm([xt, Wt, Ut, bx, ht, tf.tensor2d(c0, [B, H]), dYt])
        : gradGru([xt, Wt, Ut, bx, bhn!, ht, dYt]);
    });
    const raw = gs.map((g) => g.dataSync() as Float32Array);
    tf.dispose(gs);
    const grads: Grads = {};
    grads['x'] = raw[0];
    const dW = splitTransposed(raw[1], G, H, I);
    const dU = splitTransposed(raw[2], G, H, H);
    gates.forEach((k, n) => {
      grads[`W_${k}`] = dW[n];
      grads[`U_${k}`] = dU[n];
      grads[`b_${k}`] = raw[3].subarray(n * H, (n + 1) * H);
    });
    if (cell === 'lstm') {
      grads['h0'] = raw[4];
      grads['c0'] = raw[5];
    } else {
      grads['b_hn'] = raw[4];
      grads['h0'] = raw[5];
    }
    // d loss / d dY = h_seq, so the last gradient is the forward output.
    return { hseq: raw[raw.length - 1], grads };
  }

  function dispose() {
    tf.dispose([Wt, Ut, bx]);
    if (bhn) bhn.dispose();
  }

  return { backend, forward, forwardBackward, dispose };
}

export { tf };
