// Entry point: LSTM / GRU benchmark of the competitors.
//   npx tsx --expose-gc bench/run.ts            full run (4 sizes × 2 cells × fwd, fwd+bwd; ~10 min)
//   npx tsx --expose-gc bench/run.ts --quick    smallest size only (smoke test)
// Options: --rounds=N --min-time=MS --max-sample=MS --cell=lstm|gru --mode=fwd|fwd+bwd --reference=NAME
// Progress goes to stderr, the table to stdout.
//
// To add candidates (e.g. the interpreter or generated kernels), import from ./suite.ts:
//   import { runBench, parseArgs, type CandidateFactory } from './suite.ts';
//   await runBench([myFactory], { ...parseArgs(), reference: 'generated TS' });

import { pathToFileURL } from 'node:url';
import { parseArgs, runBench } from './suite.ts';

export * from './suite.ts';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench([], parseArgs());
}
