// `npm run bench:threads`: lstmc/threads (issue 13) against the single-threaded
// generated module in the same process, forward and forward+backward, and
// against ONNX Runtime's forward at the same thread count.
//
// onnxruntime-web runs one thread in Node whatever ort.env.wasm.numThreads says
// (it disables its threads there: microsoft/onnxruntime#19179; measured here:
// its CPU time equals its wall time at numThreads = 2), so it appears at 1
// thread only; onnxruntime-node (intraOpNumThreads) is the multi-threaded
// reference. Neither has a backward.
//
// The machine is shared and has 2 cores: ratios come from one run, per round
// (bench/harness.ts), and are noisy. More threads than cores only measures contention.
// Wall time shows a second thread only when a second core is free; the CPU time
// of all threads per call (a second table) shows what threading costs in work,
// whatever the load.
// Flags: --threads=2[,4]  --rounds=5  --quick (the two issue sizes only, forward+backward at the smaller)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compileJsCell } from '../src/codegen/compile.ts';
import { buildCell } from '../src/ir/build.ts';
import { parseDsl } from '../src/parse/dsl.ts';
import { createThreadPool, type ThreadPool } from '../src/threads/index.ts';
import type { Tensors } from '../src/train/tensors.ts';
import { type CellKind, type Mode, type Problem, type Sizes, fmtSizes, makeProblem } from './competitors/common.ts';
import { createOnnx } from './competitors/onnx.ts';
import { createOnnxWeb } from './competitors/onnx-web.ts';
import { type Candidate, measure, printTable, type Row } from './harness.ts';

// The specs whose parameters are named as the competitors' weights (W_k, U_k, b_k[, b_hn]): every candidate runs the same problem.
const SPEC_OF_CELL = { lstm: 'specs/lstm.lstm', gru: 'specs/gru_cudnn.lstm' } as const;

interface Module {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: object): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: object): unknown;
}

const { values: flags } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } } });
const THREADS = flags.threads.split(',').map(Number);
const ROUNDS = Number(flags.rounds);

/** The two sizes, then smaller problems to find where a second thread stops paying. */
const PROBLEMS: { cell: CellKind; sizes: Sizes; modes: Mode[] }[] = flags.quick
  ? [
      { cell: 'lstm', sizes: { B: 16, I: 128, H: 256, T: 50 }, modes: ['fwd', 'fwd+bwd'] },
      { cell: 'lstm', sizes: { B: 64, I: 256, H: 512, T: 20 }, modes: ['fwd'] },
    ]
  : [
      ...(['lstm', 'gru'] as const).flatMap((cell) => [
        { cell, sizes: { B: 16, I: 128, H: 256, T: 50 }, modes: ['fwd', 'fwd+bwd'] as Mode[] },
        { cell, sizes: { B: 64, I: 256, H: 512, T: 20 }, modes: ['fwd', 'fwd+bwd'] as Mode[] },
      ]),
      ...[8, 32].flatMap((B) => [32, 128].map((H) => ({ cell: 'lstm' as const, sizes: { B, I: H, H, T: 20 }, modes: ['fwd', 'fwd+bwd'] as Mode[] }))),
    ];

/** The cell's module (f32) at these sizes, written where worker threads can import it. */
async function writeModule(dir: string, cell: CellKind, sizes: Sizes): Promise<string> {
  const file = fileURLToPath(new URL(`../${SPEC_OF_CELL[cell]}`, import.meta.url));
  const ir = buildCell(parseDsl(readFileSync(file, 'utf8'), file).value!).ir!;
  const { js } = await compileJsCell(ir, { precision: 'f32', dims: { I: sizes.I, H: sizes.H } });
  const path = join(dir, `${cell}-${sizes.I}-${sizes.H}.mjs`);
  writeFileSync(path, js.text);
  return pathToFileURL(path).href;
}

function lstmcCandidates(module: Module, pools: ThreadPool[], p: Problem, mode: Mode): Candidate[] {
  const params = p.weights as Tensors;
  const inputs = { x: p.x };
  const initial: Tensors = p.cell === 'lstm' ? { h: p.h0, c: p.c0 } : { h: p.h0 };
  const options = { batch: p.sizes.B };
  const upstream = { outputs: { h: p.dY } };
  const single: Candidate = {
    name: 'lstmc 1 thread',
    run: mode === 'fwd' ? () => void module.forward(params, inputs, initial, options) : () => void module.backward(params, module.forward(params, inputs, initial, options).saved, upstream),
  };
  const pooled = pools.map(
    (pool): Candidate => ({
      name: `lstmc/threads ${pool.threads}`,
      run:
        mode === 'fwd'
          ? async () => void (await pool.forward(params, inputs, initial, options))
          : async () => void (await pool.backward(params, (await pool.forward(params, inputs, initial, options)).saved, upstream)),
    }),
  );
  return [single, ...pooled];
}

function onnxCandidates(p: Problem, threads: readonly number[]): Promise<Candidate>[] {
  const run = (cell: { forward(x: Float32Array, h0: Float32Array, c0: Float32Array): Promise<Float32Array>; dispose(): Promise<void> }) => ({
    run: async () => void (await cell.forward(p.x, p.h0, p.c0)),
    dispose: () => cell.dispose(),
  });
  return [
    createOnnxWeb(p.cell, p.sizes, p.weights, 1).then((cell) => ({ name: 'onnxruntime-web 1', ...run(cell) })),
    ...threads.map((n) => createOnnx(p.cell, p.sizes, p.weights, n).then((cell) => ({ name: `onnxruntime-node ${n}`, ...run(cell) }))),
  ];
}

/** CPU time of every thread of the process per call, over a few calls after one untimed call. */
async function cpuPerCall(candidate: Candidate, calls = 3): Promise<number> {
  await candidate.run();
  const start = process.cpuUsage();
  for (let k = 0; k < calls; k++) await candidate.run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / calls;
}

interface CpuRow {
  readonly problem: string;
  readonly candidate: string;
  readonly ms: number;
  readonly ratio: number;
}

function printCpuTable(rows: readonly CpuRow[]): void {
  const lines = [['problem', 'candidate', 'CPU ms/call (all threads)', 'CPU / 1 thread'], ...rows.map((r) => [r.problem, r.candidate, r.ms.toFixed(1), `${r.ratio.toFixed(2)}×`])];
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  process.stdout.write(`\n${lines.map((l) => l.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n')}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lstmc-bench-threads-'));
  const rows: Row[] = [];
  const cpuRows: CpuRow[] = [];
  try {
    for (const { cell, sizes, modes } of PROBLEMS) {
      const url = await writeModule(dir, cell, sizes);
      const module = (await import(url)) as Module;
      const pools = await Promise.all(THREADS.map((threads) => createThreadPool(url, { threads })));
      const p = makeProblem(cell, sizes);
      try {
        for (const mode of modes) {
          process.stderr.write(`${cell} ${fmtSizes(sizes)} ${mode}\n`);
          const candidates = [...lstmcCandidates(module, pools, p, mode), ...(mode === 'fwd' ? await Promise.all(onnxCandidates(p, [1, ...THREADS])) : [])];
          const measured = await measure(candidates, { rounds: ROUNDS, minTimeMs: 100 });
          for (const m of measured) rows.push({ cell, sizes, mode, candidate: m.name, m });
          const lstmc = candidates.filter((c) => c.name.startsWith('lstmc'));
          const cpu: number[] = [];
          for (const c of lstmc) cpu.push(await cpuPerCall(c));
          lstmc.forEach((c, k) => cpuRows.push({ problem: `${cell} ${fmtSizes(sizes)} ${mode}`, candidate: c.name, ms: cpu[k], ratio: cpu[k] / cpu[0] }));
          await Promise.all(candidates.map((c) => c.dispose?.()));
        }
      } finally {
        await Promise.all(pools.map((pool) => pool.close()));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows, { reference: 'lstmc 1 thread' });
  printCpuTable(cpuRows);
}

await main();
