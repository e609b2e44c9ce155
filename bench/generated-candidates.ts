// The compiler's own output, and its reference interpreter, as benchmark
// candidates. The generated module compiles specs/lstm.lstm or
// specs/gru_cudnn.lstm (f32) at the benchmark's sizes to a temporary module;
// both run on the problem's own weights and data (the specs name their
// parameters W_k, U_k, b_k[, b_hn] like the competitors do), so every
// candidate computes the same numbers.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildCell } from '../src/ir/build.ts';
import { bindSizes } from '../src/ir/bind.ts';
import type { CellIR } from '../src/ir/types.ts';
import { forward, forwardBackward } from '../src/interp/interpret.ts';
import { parseDsl } from '../src/parse/dsl.ts';
import { compileCell } from '../src/codegen/compile.ts';
import { importOnce, loadGeneratedModule, type GeneratedModule } from '../src/run/ts-engine.ts';
import { convertProblem } from './competitors/common.ts';
import type { CandidateFactory } from './suite.ts';

const SPEC_OF_CELL = { lstm: 'specs/lstm.lstm', gru: 'specs/gru_cudnn.lstm' } as const;

function loadSpec(cell: keyof typeof SPEC_OF_CELL): CellIR {
  const file = fileURLToPath(new URL(`../${SPEC_OF_CELL[cell]}`, import.meta.url));
  const parsed = parseDsl(readFileSync(file, 'utf8'), file);
  const ir = parsed.value ? buildCell(parsed.value).ir : null;
  if (!ir) throw new Error(`${file} does not build`);
  return ir;
}

/**
 * The generated TypeScript module (f32): forward, forward then backward of sum(h_seq·dY), or one streaming step().
 * `fusedStep: false` compiles it with its JavaScript step loop instead of the fused WebAssembly step.
 */
const generatedCandidate = (name: string, fusedStep: boolean): CandidateFactory => async (cell, sizes, mode, p) => {
  const ir = loadSpec(cell);
  const dims = bindSizes(ir, { I: sizes.I, H: sizes.H });
  const module = fusedStep
    ? await loadGeneratedModule(ir, dims, 'f32')
    : await importOnce<GeneratedModule>(JSON.stringify(['js-step', ir, dims]), () => compileCell(ir, { target: 'ts', precision: 'f32', dims, fusedStep }));
  const B = sizes.B;
  const params = p.weights;
  const inputs = { x: p.x };
  if (mode === 'step') {
    const state = cell === 'lstm' ? { h: p.h0.slice(), c: p.c0.slice() } : { h: p.h0.slice() };
    return { name, run: () => void module.step(params as never, inputs as never, state as never) };
  }
  const initial = cell === 'lstm' ? { h: p.h0, c: p.c0 } : { h: p.h0 };
  const upstream = { outputs: { h: p.dY } };
  const run =
    mode === 'fwd'
      ? () => void module.forward(params as never, inputs as never, initial as never, { batch: B })
      : () => {
          const result = module.forward(params as never, inputs as never, initial as never, { batch: B });
          module.backward(params as never, result.saved, upstream as never);
        };
  return { name, run };
};

export const generatedFactory = generatedCandidate('generated TS', true);
export const generatedJsStepFactory = generatedCandidate('generated TS, JS step', false);

/** The float64 reference interpreter (src/interp): one row and one step at a time, no optimisation. */
export const interpreterFactory: CandidateFactory = (cell, sizes, mode, p32) => {
  if (mode === 'step') return null;
  const ir = loadSpec(cell);
  const bound = bindSizes(ir, { I: sizes.I, H: sizes.H });
  const p = convertProblem<Float32Array, Float64Array>(p32, Float64Array);
  const initial: Record<string, Float64Array> = cell === 'lstm' ? { h: p.h0, c: p.c0 } : { h: p.h0 };
  const seq = { batch: sizes.B, steps: sizes.T, params: p.weights, inputs: { x: p.x }, initial };
  const final = Object.fromEntries(Object.entries(initial).map(([k, v]) => [k, new Float64Array(v.length)]));
  const upstream = { outputs: { h: p.dY }, final };
  return {
    name: 'interpreter',
    // Interpreting is slow; past this it is left out of the run rather than stretch it.
    maxMs: 3000,
    run: mode === 'fwd' ? () => void forward(ir, bound, seq) : () => void forwardBackward(ir, bound, seq, upstream),
  };
};
