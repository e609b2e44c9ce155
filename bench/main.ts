// `npm run bench`: the LSTM and GRU benchmark of the generated TypeScript
// against the interpreter, plain loops, tfjs (cpu, wasm) and onnxruntime-node.
//   npm run bench               4 sizes × 2 cells × (fwd, fwd+bwd), about 10 minutes
//   npm run bench:quick         the smallest size only
// Flags as in bench/run.ts (--rounds=N --min-time=MS --cell=lstm|gru --mode=fwd|fwd+bwd).
// Progress goes to stderr, the table to stdout; ratios are t / t(generated TS),
// taken per round.
import { generatedFactory, interpreterFactory } from './generated-candidates.ts';
import { parseArgs, runBench } from './suite.ts';

await runBench([generatedFactory, interpreterFactory], { reference: 'generated TS', ...parseArgs() });
