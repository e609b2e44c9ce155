// The compiler's own output as a benchmark candidate: compiles specs/lstm.lstm
// or specs/gru_cudnn.lstm (f32) at the benchmark's sizes to a temporary module,
// imports it, and times forward (or forward + backward) on data prepared
// outside the timed call.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildCell } from '../src/ir/build.ts';
import { bindSizes } from '../src/ir/bind.ts';
import { parseDsl } from '../src/parse/dsl.ts';
import { loadGeneratedModule } from '../src/run/ts-engine.ts';
import type { Candidate } from './harness.ts';
import type { CellKind, Mode, Sizes } from './competitors/common.ts';

const SPEC_OF_CELL: Record<CellKind, string> = { lstm: 'specs/lstm.lstm', gru: 'specs/gru_cudnn.lstm' };

export async function generatedCandidate(cell: CellKind, sizes: Sizes, mode: Mode): Promise<Candidate> {
  const file = fileURLToPath(new URL(`../${SPEC_OF_CELL[cell]}`, import.meta.url));
  const parsed = parseDsl(readFileSync(file, 'utf8'), file);
  const ir = parsed.value ? buildCell(parsed.value).ir : null;
  if (!ir) throw new Error(`${file} does not build`);
  const module = await loadGeneratedModule(ir, bindSizes(ir, { I: sizes.I, H: sizes.H }), 'f32');
  const { B, I, H, T } = sizes;
  let seed = 1;
  const random = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);
  const params = module.initParams(42);
  const inputs = { x: random(T * B * I) };
  const initial = Object.fromEntries(Object.keys(module.createState(B)).map((k) => [k, random(B * H)]));
  const upstream = { outputs: { h: random(T * B * H) } };
  const run =
    mode === 'fwd'
      ? () => void module.forward(params as never, inputs as never, initial as never, { batch: B })
      : () => {
          const result = module.forward(params as never, inputs as never, initial as never, { batch: B });
          module.backward(params as never, result.saved, upstream as never);
        };
  return { name: 'generated TS', run };
}
