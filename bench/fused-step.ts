// The fused forward step (src/codegen/wasm/step.ts) against the module's
// JavaScript step loop and onnxruntime-web, in one process: forward and
// batch-1 step() latency, LSTM and GRU.
//   npx tsx --expose-gc bench/fused-step.ts          the batch-1 sizes (B=1, I=H=32 and 128, T=100)
//   npx tsx --expose-gc bench/fused-step.ts --all    the four benchmark sizes
// Flags as in bench/run.ts (--rounds=N --min-time=MS --cell=lstm|gru --mode=fwd|step).
// Ratios are t / t(generated TS, fused): onnxruntime-web's ratio above 1 means the module is faster.
import { generatedFactory, generatedJsStepFactory } from './generated-candidates.ts';
import { BENCH_SIZES, onnxWebFactory, parseArgs, runBench } from './suite.ts';

const sizes = process.argv.includes('--all') ? BENCH_SIZES : BENCH_SIZES.filter((s) => s.B === 1);
await runBench([generatedFactory, generatedJsStepFactory, onnxWebFactory], { reference: 'generated TS', builtins: false, sizes, modes: ['fwd', 'step'], ...parseArgs() });
