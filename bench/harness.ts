// Benchmark harness for a noisy 2-core machine (see /work/shared/notes/cpu-performance.md):
// all candidates in one process, sampled round-robin, gc() before every sample,
// medians, and ratios taken per round (candidate sample / reference sample of the
// same round) before taking their median.
//
// Run node with --expose-gc (e.g. `npx tsx --expose-gc bench/run.ts`); without it
// the harness still works but warns once.

import { type CellKind, type Mode, type Sizes, fmtSizes, modeFlops } from './competitors/common.ts';

export interface Candidate {
  name: string;
  /** Untimed, called before every sample (e.g. switch the tfjs backend). */
  setup?: () => void;
  /** One call of the timed work. May return a promise (awaited inside the timed region). */
  run: () => void | Promise<void>;
  /** Untimed, called once after measuring. */
  dispose?: () => void | Promise<void>;
  /** Optional hint: expected ms per call. Above `noWarmupAboveMs`, the warm-up call is skipped. */
  expectedMs?: number;
  /** Left out (marked 'skipped (too slow)') when its predicted ms per call exceeds this. */
  maxMs?: number;
}

export interface MeasureOptions {
  /** Number of round-robin rounds (= samples per candidate). */
  rounds: number;
  /** Each sample repeats the call until at least this much time has passed; the sample is time / calls. */
  minTimeMs: number;
  /** Warm-up: repeat calls for at least this long before the first round (default: max(minTimeMs, 300), at least 2 calls). */
  warmupMs?: number;
  /** Skip warm-up for candidates expected to take longer than this per call (default 2000 ms). */
  noWarmupAboveMs?: number;
  /** Progress callback (e.g. to stderr). */
  log?: (line: string) => void;
}

export interface Measurement {
  name: string;
  /** ms per call, one value per round, in round order (index r = round r). */
  samples: number[];
  median: number;
  /** calls per sample */
  calls: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

let warnedNoGc = false;
function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  else if (!warnedNoGc) {
    warnedNoGc = true;
    process.stderr.write('warning: gc() not exposed; run node with --expose-gc for steadier samples\n');
  }
}

const isPromise = (v: unknown): v is Promise<void> => !!v && typeof (v as Promise<void>).then === 'function';

async function timeCalls(c: Candidate, calls: number, async: boolean): Promise<number> {
  const t0 = performance.now();
  if (async) for (let i = 0; i < calls; i++) await c.run();
  else for (let i = 0; i < calls; i++) c.run();
  return performance.now() - t0;
}

/** Measure candidates round-robin; returns one Measurement per candidate, in input order. */
export async function measure(candidates: Candidate[], opts: MeasureOptions): Promise<Measurement[]> {
  const { rounds, minTimeMs } = opts;
  const warmupMs = opts.warmupMs ?? Math.max(minTimeMs, 300);
  const noWarmupAbove = opts.noWarmupAboveMs ?? 2000;
  const n = candidates.length;
  const calls: number[] = [];
  const async: boolean[] = [];
  // Warm-up and calibration of calls per sample.
  for (const c of candidates) {
    collect();
    c.setup?.();
    if (c.expectedMs !== undefined && c.expectedMs > noWarmupAbove) {
      // Too slow to warm up; one call per sample, sync/async decided on first call.
      async.push(false);
      calls.push(1);
      continue;
    }
    let t0 = performance.now();
    const first = c.run();
    const isAsync = isPromise(first);
    if (isAsync) await first;
    let elapsed = performance.now() - t0;
    let done = 1;
    let last = elapsed;
    while (elapsed < warmupMs || done < 2) {
      t0 = performance.now();
      if (isAsync) await c.run();
      else c.run();
      last = performance.now() - t0;
      elapsed += last;
      done++;
    }
    // Per-call estimate from the later calls (the first includes compilation).
    const perCall = done > 1 ? Math.min(last, (elapsed - 0) / done) : elapsed;
    async.push(isAsync);
    calls.push(Math.max(1, Math.ceil(minTimeMs / Math.max(perCall, 1e-3))));
  }
  const samples: number[][] = candidates.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let q = 0; q < n; q++) {
      const k = (q + r) % n; // rotate the starting candidate each round
      const c = candidates[k];
      collect();
      c.setup?.();
      let ms: number;
      if (calls[k] === 1 && !async[k]) {
        // Single call: detect a promise on the fly (for candidates that skipped warm-up).
        const t0 = performance.now();
        const v = c.run();
        if (isPromise(v)) {
          async[k] = true;
          await v;
        }
        ms = performance.now() - t0;
      } else {
        ms = (await timeCalls(c, calls[k], async[k])) / calls[k];
      }
      samples[k].push(ms);
    }
    opts.log?.(`  round ${r + 1}/${rounds}: ${candidates.map((c, k) => `${c.name} ${fmtMs(samples[k][r])}`).join(', ')}`);
  }
  return candidates.map((c, k) => ({ name: c.name, samples: samples[k], median: median(samples[k]), calls: calls[k] }));
}

// ---------------------------------------------------------------- table

export interface Row {
  cell: CellKind;
  sizes: Sizes;
  mode: Mode;
  candidate: string;
  /** Present when measured. */
  m?: Measurement;
  /** Reason it was not measured, e.g. 'skipped (too slow)'. */
  note?: string;
}

export interface TableOptions {
  /** Candidate name that ratios are relative to, within each (cell, sizes, mode) group. Default 'naive'. */
  reference?: string;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  if (ms >= 1) return ms.toFixed(3);
  return ms.toFixed(4);
}

/**
 * Ratio of a candidate's time to the reference's time (t / t_ref, > 1 = slower than the
 * reference), as the median over rounds of the per-round ratios. Falls back to the ratio of
 * medians when the two were not measured in the same rounds.
 */
export function ratioTo(m: Measurement, ref: Measurement): number {
  if (m.samples.length === ref.samples.length && m.samples.length > 0) {
    return median(m.samples.map((s, r) => s / ref.samples[r]));
  }
  return m.median / ref.median;
}

export function formatTable(rows: Row[], opts: TableOptions = {}): string {
  const refName = opts.reference ?? 'naive';
  const key = (r: Row) => `${r.cell}|${fmtSizes(r.sizes)}|${r.mode}`;
  // The reference leads its group; the others keep their order (the sort is stable).
  const groupOrder = [...new Set(rows.map(key))];
  rows = [...rows].sort((a, b) => groupOrder.indexOf(key(a)) - groupOrder.indexOf(key(b)) || Number(b.candidate === refName) - Number(a.candidate === refName));
  const refs = new Map<string, Measurement>();
  for (const r of rows) if (r.candidate === refName && r.m) refs.set(key(r), r.m);
  const header = ['cell', '(B,I,H,T)', 'mode', 'candidate', 'median ms', 'GFLOP/s', `t/t_${refName}`, 'spread', 'n'];
  const right = [false, false, false, false, true, true, true, true, true];
  const body: string[][] = rows.map((r) => {
    const base = [r.cell, fmtSizes(r.sizes), r.mode, r.candidate];
    if (!r.m) return [...base, r.note ?? 'n/a', '', '', '', ''];
    const gflops = modeFlops(r.cell, r.sizes, r.mode) / (r.m.median * 1e6);
    const ref = refs.get(key(r));
    const ratio = ref ? ratioTo(r.m, ref) : NaN;
    const lo = Math.min(...r.m.samples), hi = Math.max(...r.m.samples);
    return [
      ...base,
      fmtMs(r.m.median),
      gflops >= 10 ? gflops.toFixed(1) : gflops.toFixed(2),
      Number.isFinite(ratio) ? (ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)) + '×' : '—',
      `±${((50 * (hi - lo)) / r.m.median).toFixed(0)}%`,
      String(r.m.samples.length),
    ];
  });
  // Notes ('skipped (too slow)') spill over the numeric columns and do not widen them.
  const widths = header.map((h, c) => Math.max(h.length, ...body.filter((_, i) => rows[i].m || c < 4).map((b) => b[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((s, c) => {
        if (c === 4 && cells[5] === '' && cells[4] !== '' && !/^[\d.]+$/.test(s)) return s; // note
        return right[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]);
      })
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(header), sep];
  let prev = '';
  for (let i = 0; i < rows.length; i++) {
    const k = key(rows[i]);
    if (prev && k !== prev) out.push('');
    prev = k;
    out.push(line(body[i]));
  }
  return out.join('\n');
}

export function printTable(rows: Row[], opts: TableOptions = {}): void {
  process.stdout.write(formatTable(rows, opts) + '\n');
}
