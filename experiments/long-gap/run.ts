// npx tsx experiments/long-gap/run.ts [--quick] [--init chrono|spec] [--cells a,b] [--gaps 5,100] [--seeds 1,2] [--workers N] [--replot]
// The full run trains with chrono init (results.json), then with the specs'
// own init (results.spec-init.json), and draws docs/long-gap.svg and
// results.md from both. --quick writes results.quick.json only; runs narrowed
// by --cells/--gaps/--seeds/--init write results.partial.json: neither ever
// replaces the full run's files. --replot redraws the figure and table from
// the committed results. --workers: worker threads sharing the runs (default:
// the machine's cores); every run is seeded on its own, so the numbers are the same.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { CELL_SPECS, FULL, QUICK, runExperiment, writeResults, type ExperimentConfig, type Results } from "./experiment.ts";
import { writeReport } from "./report.ts";

const HERE = import.meta.dirname;

function numbers(text: string | undefined): number[] | undefined {
  return text?.split(",").map(Number);
}

function fail(message: string): never {
  console.error(`run.ts: ${message}`);
  process.exit(1);
}

async function runAndSave(config: ExperimentConfig, file: string, workers: number): Promise<Results> {
  const started = performance.now();
  const results = await runExperiment(config, (line) => console.log(line), workers);
  writeResults(file, results);
  console.log(`wrote ${file} (${((performance.now() - started) / 60000).toFixed(1)} min)`);
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, init: { type: "string" }, cells: { type: "string" }, gaps: { type: "string" }, seeds: { type: "string" }, workers: { type: "string" }, replot: { type: "boolean" } } });
  if (values.replot) {
    const load = (file: string) => JSON.parse(readFileSync(join(HERE, file), "utf8")) as Results;
    for (const file of writeReport({ chrono: load("results.json"), spec: load("results.spec-init.json") }, FULL)) console.log(`wrote ${file}`);
    return;
  }
  const base = values.quick ? QUICK : FULL;
  const cells = values.cells?.split(",") ?? base.cells;
  const unknown = cells.filter((c) => !(c in CELL_SPECS));
  if (unknown.length > 0) fail(`unknown cell ${unknown.join(", ")} (known: ${Object.keys(CELL_SPECS).join(", ")})`);
  if (values.init !== undefined && values.init !== "chrono" && values.init !== "spec") fail(`--init must be chrono or spec, not '${values.init}'`);
  const gaps = numbers(values.gaps) ?? base.gaps;
  const seeds = numbers(values.seeds) ?? base.seeds;
  if ([...gaps, ...seeds].some((n) => !Number.isInteger(n) || n < 0)) fail("--gaps and --seeds take whole numbers separated by commas");
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) fail("--workers takes a whole number from 1 up");
  const config: ExperimentConfig = { ...base, cells, gaps, seeds, init: (values.init as ExperimentConfig["init"] | undefined) ?? base.init };
  const partial = values.cells !== undefined || values.gaps !== undefined || values.seeds !== undefined || values.init !== undefined;
  if (values.quick || partial) {
    await runAndSave(config, join(HERE, values.quick && !partial ? "results.quick.json" : "results.partial.json"), workers);
    return;
  }
  const chrono = await runAndSave(config, join(HERE, "results.json"), workers);
  const spec = await runAndSave({ ...config, init: "spec" }, join(HERE, "results.spec-init.json"), workers);
  for (const file of writeReport({ chrono, spec }, config)) console.log(`wrote ${file}`);
}

await main();
