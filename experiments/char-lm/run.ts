// npx tsx experiments/char-lm/run.ts [--quick | --replot]
// A 2-layer LSTM character model of the essay against a unigram baseline and
// a 2-layer GRU with (nearly) the same number of parameters. The full run
// writes results.json, results.md and docs/char-lm-loss.svg; --quick writes
// results.quick.json only; --replot redraws the figure and table from results.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { saveCheckpoint } from "../../src/train/checkpoint.ts";
import { compileCells } from "../shared/compile-cell.ts";
import { chartSvg } from "../shared/svg-chart.ts";
import { loadCorpus, unigramBitsPerChar } from "./corpus.ts";
import { sampleText, trainLm, type CurvePoint, type LmOutcome, type LmSettings } from "./lm.ts";

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, "../..");

interface Config extends LmSettings {
  readonly hidden: number;
  readonly temperatures: readonly number[];
  readonly sampleLength: number;
}

const FULL: Config = { hidden: 64, window: 64, batch: 16, maxSteps: 800, evalEvery: 25, lr: 3e-3, clipNorm: 5, patience: 4, seed: 1, temperatures: [0.5, 0.8, 1.0], sampleLength: 300 };
const QUICK: Config = { ...FULL, hidden: 8, window: 16, batch: 4, maxSteps: 20, evalEvery: 10, temperatures: [0.8], sampleLength: 40 };

/** Parameters of the stacked cells and the readout (V·H + V), from the specs' shapes. */
const lstm2Count = (i: number, h: number, v: number) => 4 * h * (i + h) + 4 * h + 4 * h * (2 * h) + 4 * h + v * h + v;
const gru2Count = (i: number, h: number, v: number) => 3 * h * (i + h) + 3 * h + 3 * h * (2 * h) + 3 * h + v * h + v;

/** The GRU hidden size whose parameter count is nearest the LSTM's. */
function matchingGruHidden(lstmHidden: number, v: number): number {
  const target = lstm2Count(v, lstmHidden, v);
  let best = 1;
  for (let h = 1; h <= 2 * lstmHidden; h++) if (Math.abs(gru2Count(v, h, v) - target) < Math.abs(gru2Count(v, best, v) - target)) best = h;
  return best;
}

interface ModelSummary {
  readonly hidden: number;
  readonly parameters: number;
  readonly validationBpc: number;
  readonly bestStep: number;
  readonly seconds: number;
  readonly curve: readonly CurvePoint[];
}

interface LmResults {
  readonly unigramBpc: number;
  readonly lstm: ModelSummary;
  readonly gru: ModelSummary;
  readonly samples: Readonly<Record<string, string>>;
}

function summary(o: LmOutcome, hidden: number): ModelSummary {
  return { hidden, parameters: o.parameterCount, validationBpc: o.bestValidationBpc, bestStep: o.bestStep, seconds: o.seconds, curve: o.curve };
}

function writeReport(results: LmResults, config: Config): void {
  writeFileSync(join(ROOT, "docs", "char-lm-loss.svg"), lossChart(results, config));
  writeFileSync(join(HERE, "results.md"), markdown(results, config));
  console.log("wrote docs/char-lm-loss.svg, experiments/char-lm/results.md");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, replot: { type: "boolean" } } });
  const config = values.quick ? QUICK : FULL;
  if (values.replot) return writeReport(JSON.parse(readFileSync(join(HERE, "results.json"), "utf8")) as LmResults, config);
  const corpus = loadCorpus();
  const v = corpus.vocab.length;
  const gruHidden = matchingGruHidden(config.hidden, v);
  const [{ lstm2 }, { gru2 }] = await Promise.all([
    compileCells({ specs: ["experiments/char-lm/cells/lstm2.lstm"], dims: { I: v, H: config.hidden }, precision: "f32" }),
    compileCells({ specs: ["experiments/char-lm/cells/gru2.lstm"], dims: { I: v, H: gruHidden }, precision: "f32" }),
  ]);
  const unigram = unigramBitsPerChar(corpus.train, corpus.validation, v);
  console.log(`corpus: ${corpus.train.length} training and ${corpus.validation.length} validation characters, ${v} distinct; unigram ${unigram.toFixed(3)} bits/char`);
  const lstm = trainLm(lstm2!, corpus, config);
  console.log(`2-layer LSTM (H=${config.hidden}, ${lstm.parameterCount} parameters): ${lstm.bestValidationBpc.toFixed(3)} bits/char at step ${lstm.bestStep} (${lstm.seconds.toFixed(0)} s)`);
  const gru = trainLm(gru2!, corpus, config);
  console.log(`2-layer GRU (H=${gruHidden}, ${gru.parameterCount} parameters): ${gru.bestValidationBpc.toFixed(3)} bits/char at step ${gru.bestStep} (${gru.seconds.toFixed(0)} s)`);
  const samples = Object.fromEntries(config.temperatures.map((t) => [String(t), sampleText(lstm2!, lstm.params, corpus.vocab, "LSTM", config.sampleLength, t, config.seed)]));
  for (const [t, text] of Object.entries(samples)) console.log(`--- temperature ${t}\nLSTM${text}`);
  const results: LmResults = { unigramBpc: unigram, lstm: summary(lstm, config.hidden), gru: summary(gru, gruHidden), samples };
  const file = join(HERE, values.quick ? "results.quick.json" : "results.json");
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
  if (values.quick) return;
  saveCheckpoint(join(ROOT, ".tmp", "char-lm", "lstm2.safetensors"), { params: lstm.params, metadata: { spec: "experiments/char-lm/cells/lstm2.lstm", H: String(config.hidden), vocab: JSON.stringify(corpus.vocab) } });
  console.log("wrote .tmp/char-lm/lstm2.safetensors");
  writeReport(results, config);
}

function lossChart(results: LmResults, config: Config): string {
  const { lstm, gru, unigramBpc: unigram } = results;
  const line = (o: ModelSummary, key: "trainBpc" | "validationBpc") => o.curve.map((p) => ({ x: p.step, y: p[key] }));
  const lastStep = Math.max(lstm.curve.at(-1)!.step, gru.curve.at(-1)!.step);
  const top = Math.ceil(Math.max(unigram, ...lstm.curve.map((p) => p.trainBpc), ...gru.curve.map((p) => p.trainBpc)));
  return chartSvg(
    [
      {
        title: "Character model of the essay: bits per character",
        xLabel: `Adam steps (batches of ${config.batch} windows of ${config.window} characters)`,
        yLabel: "bits per character",
        xDomain: [0, lastStep],
        yDomain: [0, top],
        xTicks: Array.from({ length: 6 }, (_, k) => Math.round((lastStep * k) / 5)),
        yTicks: Array.from({ length: top + 1 }, (_, k) => k),
        references: [{ y: unigram, label: "unigram (validation)" }],
        series: [
          { name: `LSTM ×2 H=${config.hidden} val`, color: "#1f77b4", points: line(lstm, "validationBpc") },
          { name: "LSTM train", color: "#9ecae1", points: line(lstm, "trainBpc") },
          { name: `GRU ×2 H=${gru.hidden} val`, color: "#2ca02c", points: line(gru, "validationBpc") },
          { name: "GRU train", color: "#a1d99b", points: line(gru, "trainBpc") },
        ],
      },
    ],
    "Training and validation bits per character of 2-layer LSTM and GRU character models of the essay (last 10% held out), with the unigram baseline.",
    640,
  );
}

function markdown(results: LmResults, config: Config): string {
  const trainAtBest = (r: ModelSummary) => r.curve.find((p) => p.step === r.bestStep)!.trainBpc.toFixed(3);
  const row = (name: string, r: ModelSummary) => `| ${name} | ${r.hidden} | ${r.parameters} | ${r.validationBpc.toFixed(3)} | ${r.bestStep} | ${trainAtBest(r)} |`;
  return [
    "# Character model of the essay: results",
    "",
    `Validation bits per character on the essay's last 10% (${config.window}-character windows, batch ${config.batch}, Adam lr ${config.lr}, clipping at ${config.clipNorm}, early stopping after ${config.patience} validations without improvement; the best validation's parameters are kept).`,
    "",
    "| model | H | parameters | validation bits/char | best at step | training bits/char there |",
    "|---|---:|---:|---:|---:|---:|",
    `| unigram (training frequencies, add-one) | | | ${results.unigramBpc.toFixed(3)} | | |`,
    row("2-layer LSTM", results.lstm),
    row("2-layer GRU", results.gru),
    "",
    "## Samples from the LSTM (prompt \"LSTM\")",
    "",
    ...Object.entries(results.samples).flatMap(([t, text]) => [`Temperature ${t}:`, "", "```", `LSTM${text}`, "```", ""]),
  ].join("\n");
}

await main();
