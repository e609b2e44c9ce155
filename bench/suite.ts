// The LSTM / GRU benchmark suite: sizes × cells × modes × candidates.
// Built-in competitors: naive (plain JS loops), tfjs-cpu, tfjs-wasm, onnxruntime-node and onnxruntime-web
// (fwd, and onnxruntime-web's batch-1 streaming step too).
// Extra candidates (the project's interpreter / generated kernels) plug in as CandidateFactory.

import {
  type CellKind,
  type Mode,
  type Problem,
  type Sizes,
  fmtSizes,
  makeProblem,
  modeFlops,
} from './competitors/common.ts';
import { createNaive } from './competitors/naive.ts';
import { type TfBackend, createTfjs, initBackend, useBackend } from './competitors/tfjs.ts';
import { type Candidate, type Row, fmtMs, measure, printTable } from './harness.ts';

export type { Candidate, Row } from './harness.ts';
export type { CellKind, Mode, Problem, Sizes } from './competitors/common.ts';

/**
 * Makes a candidate for one (cell, sizes, mode), or null when it does not apply.
 * `problem` holds the shared float32 weights (named W_k, U_k, b_k[, b_hn]) and inputs
 * x, h0, c0, dY; every candidate must compute on these so that times are comparable.
 * fwd: compute h_seq; fwd+bwd: h_seq and gradients of sum(h_seq·dY) for all weights and x;
 * step: one call computes one step of h for the batch-1 problem (sizes B = T = 1), carrying the states
 * over to the next call as a streaming caller does.
 */
export type CandidateFactory = (
  cell: CellKind,
  sizes: Sizes,
  mode: Mode,
  problem: Problem,
) => Candidate | null | Promise<Candidate | null>;

export const BENCH_SIZES: Sizes[] = [
  { B: 1, I: 32, H: 32, T: 100 },
  { B: 1, I: 128, H: 128, T: 100 },
  { B: 16, I: 128, H: 256, T: 50 },
  { B: 64, I: 256, H: 512, T: 20 },
];

// ---------------------------------------------------------------- built-in competitors

export const naiveFactory: CandidateFactory = (cell, sizes, mode, p) => {
  if (mode === 'step') return null;
  const k = createNaive(cell, sizes, p.weights);
  return {
    name: 'naive',
    run: mode === 'fwd' ? () => void k.forward(p.x, p.h0, p.c0) : () => void k.forwardBackward(p.x, p.h0, p.c0, p.dY),
  };
};

export function tfjsFactory(backend: TfBackend): CandidateFactory {
  return async (cell, sizes, mode, p) => {
    if (mode === 'step') return null;
    await initBackend(backend);
    const k = createTfjs(cell, sizes, p.weights, backend);
    return {
      name: `tfjs-${backend}`,
      setup: () => useBackend(backend),
      run: mode === 'fwd' ? () => void k.forward(p.x, p.h0, p.c0) : () => void k.forwardBackward(p.x, p.h0, p.c0, p.dY),
      dispose: () => {
        useBackend(backend);
        k.dispose();
      },
    };
  };
}

// onnxruntime-node is optional: imported on first use, and left out (once, with a note) where it is missing.
let onnxModule: Promise<typeof import('./competitors/onnx.ts') | null> | null = null;
function loadOnnx(): Promise<typeof import('./competitors/onnx.ts') | null> {
  onnxModule ??= import('./competitors/onnx.ts').catch((e: Error) => {
    process.stderr.write(`onnxruntime-node is not available (${e.message.split('\n')[0]}); its rows are left out\n`);
    return null;
  });
  return onnxModule;
}

export const onnxFactory: CandidateFactory = async (cell, sizes, mode, p) => {
  if (mode !== 'fwd') return null; // onnxruntime-node has no backward; its step latency is not the browser's question
  const onnx = await loadOnnx();
  if (!onnx) return null;
  const k = await onnx.createOnnx(cell, sizes, p.weights, 1);
  return {
    name: 'onnxruntime',
    run: async () => void (await k.forward(p.x, p.h0, p.c0)),
    dispose: () => k.dispose(),
  };
};

// onnxruntime-web, the WebAssembly peer: optional like onnxruntime-node, on the same model bytes and thread count.
let onnxWebModule: Promise<typeof import('./competitors/onnx-web.ts') | null> | null = null;
function loadOnnxWeb(): Promise<typeof import('./competitors/onnx-web.ts') | null> {
  onnxWebModule ??= import('./competitors/onnx-web.ts').catch((e: Error) => {
    process.stderr.write(`onnxruntime-web is not available (${e.message.split('\n')[0]}); its rows are left out\n`);
    return null;
  });
  return onnxWebModule;
}

/** Threads for the WebAssembly competitors: lstmc's generated module runs on one. */
export const WASM_THREADS = 1;

export const onnxWebFactory: CandidateFactory = async (cell, sizes, mode, p) => {
  if (mode === 'fwd+bwd') return null; // no backward in onnxruntime-web's inference build
  const onnx = await loadOnnxWeb();
  if (!onnx) return null;
  if (mode === 'step') {
    const k = await onnx.createOnnxWebStep(cell, sizes, p.weights, { h: p.h0, c: p.c0 }, WASM_THREADS);
    return { name: 'onnxruntime-web', run: async () => void (await k.step(p.x)), dispose: () => k.dispose() };
  }
  const k = await onnx.createOnnxWeb(cell, sizes, p.weights, WASM_THREADS);
  return {
    name: 'onnxruntime-web',
    run: async () => void (await k.forward(p.x, p.h0, p.c0)),
    dispose: () => k.dispose(),
  };
};

export const BUILTIN_FACTORIES: CandidateFactory[] = [naiveFactory, tfjsFactory('cpu'), tfjsFactory('wasm'), onnxFactory, onnxWebFactory];

// ---------------------------------------------------------------- runner

export interface BenchOptions {
  sizes?: Sizes[];
  cells?: CellKind[];
  modes?: Mode[];
  /** Ratio column reference (default 'naive'). */
  reference?: string;
  /** Max rounds per configuration (default 5). */
  rounds?: number;
  /** Min rounds per configuration, even when slow (default 3). */
  minRounds?: number;
  /** Per-sample minimum time (default 100 ms). */
  minTimeMs?: number;
  /** Skip a candidate whose predicted time per call exceeds this (default 20000 ms). */
  maxSampleMs?: number;
  /** Aim for at most this much measuring time per configuration when choosing rounds (default 40000 ms). */
  configBudgetMs?: number;
  /** Include the built-in competitors (default true). */
  builtins?: boolean;
  /** Print the table to stdout at the end (default true). */
  print?: boolean;
  log?: (line: string) => void;
}

/** Run the suite with the built-in competitors plus `extraFactories`; returns the table rows. */
export async function runBench(extraFactories: CandidateFactory[] = [], opts: BenchOptions = {}): Promise<Row[]> {
  const sizes = opts.sizes ?? BENCH_SIZES;
  const cells = opts.cells ?? ['lstm', 'gru'];
  const modes = opts.modes ?? ['fwd', 'fwd+bwd', 'step'];
  const maxRounds = opts.rounds ?? 5;
  const minRounds = Math.min(opts.minRounds ?? 3, maxRounds);
  const minTimeMs = opts.minTimeMs ?? 100;
  const maxSampleMs = opts.maxSampleMs ?? 20000;
  const budget = opts.configBudgetMs ?? 40000;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const factories = [...(opts.builtins === false ? [] : BUILTIN_FACTORIES), ...extraFactories];

  // Last seen throughput (FLOP per ms) per cell|mode|candidate, to predict the next (larger) size.
  const speed = new Map<string, number>();
  const rows: Row[] = [];
  const total = sizes.length * cells.length * modes.length;
  let idx = 0;
  const t0 = performance.now();
  for (const size of sizes) {
    for (const cell of cells) {
      for (const mode of modes) {
        // A step is one streaming call at batch 1: the size's I and H, one row, one step.
        const s = mode === 'step' ? { ...size, B: 1, T: 1 } : size;
        const problem = makeProblem(cell, s, 1234);
        idx++;
        log(`[${idx}/${total}] ${cell} ${mode} ${fmtSizes(s)} … (${((performance.now() - t0) / 1000).toFixed(0)} s elapsed)`);
        const flops = modeFlops(cell, s, mode);
        const cands: Candidate[] = [];
        const order: string[] = []; // candidate names in factory order, skipped ones included
        const skipped: Row[] = [];
        for (const f of factories) {
          let c: Candidate | null;
          try {
            c = await f(cell, s, mode, problem);
          } catch (e) {
            log(`  candidate factory failed: ${(e as Error).message}`);
            continue;
          }
          if (!c) continue;
          order.push(c.name);
          const fpms = speed.get(`${cell}|${mode}|${c.name}`);
          const predicted = fpms ? flops / fpms : undefined;
          if (predicted !== undefined && predicted > Math.min(maxSampleMs, c.maxMs ?? Infinity)) {
            log(`  ${c.name}: skipped, predicted ${(predicted / 1000).toFixed(1)} s per call`);
            skipped.push({ cell, sizes: s, mode, candidate: c.name, note: 'skipped (too slow)' });
            await c.dispose?.();
            continue;
          }
          c.expectedMs ??= predicted;
          cands.push(c);
        }
        if (cands.length === 0) {
          rows.push(...skipped);
          continue;
        }
        const known = cands.map((c) => c.expectedMs);
        const roundMs = known.every((v) => v !== undefined) ? known.reduce((a, b) => a! + Math.max(b!, minTimeMs), 0)! : 0;
        const rounds = roundMs > 0 ? Math.max(minRounds, Math.min(maxRounds, Math.floor(budget / roundMs))) : maxRounds;
        const ms = await measure(cands, { rounds, minTimeMs, log });
        const group: Row[] = [...skipped];
        for (let k = 0; k < cands.length; k++) {
          speed.set(`${cell}|${mode}|${cands[k].name}`, flops / ms[k].median);
          group.push({ cell, sizes: s, mode, candidate: cands[k].name, m: ms[k] });
          await cands[k].dispose?.();
        }
        group.sort((a, b) => order.indexOf(a.candidate) - order.indexOf(b.candidate));
        rows.push(...group);
        log(`  medians: ${ms.map((m) => `${m.name} ${fmtMs(m.median)} ms`).join(', ')}`);
      }
    }
  }
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (opts.print !== false) printTable(rows, { reference: opts.reference });
  return rows;
}

/** Parse the common CLI flags: --quick (or BENCH_QUICK=1), --rounds=N, --min-time=MS, --max-sample=MS, --cell=lstm|gru, --mode=fwd|fwd+bwd|step. */
export function parseArgs(argv: string[] = process.argv.slice(2)): BenchOptions {
  const o: BenchOptions = {};
  const val = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  if (argv.includes('--quick') || process.env.BENCH_QUICK === '1') {
    o.sizes = [BENCH_SIZES[0]];
  }
  if (val('rounds')) o.rounds = Number(val('rounds'));
  if (val('min-time')) o.minTimeMs = Number(val('min-time'));
  if (val('max-sample')) o.maxSampleMs = Number(val('max-sample'));
  if (val('cell')) o.cells = [val('cell') as CellKind];
  if (val('mode')) o.modes = [val('mode') as Mode];
  if (val('reference')) o.reference = val('reference');
  return o;
}
