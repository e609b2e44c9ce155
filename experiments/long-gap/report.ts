// The long-gap experiment's figure (docs/long-gap.svg) and table (results.md)
// from the results of both initialisations.
import { writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { chartSvg, type Panel } from "../shared/svg-chart.ts";
import type { ExperimentConfig, Results } from "./experiment.ts";
import { TARGETS } from "./task.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const COLORS: Readonly<Record<string, string>> = { rnn: "#d62728", lstm: "#1f77b4", peephole: "#17becf", cifg: "#9467bd", gru: "#2ca02c", mut1: "#ff7f0e" };

export interface ResultSets {
  /** Chrono init on the gate that keeps the state. */
  readonly chrono: Results;
  /** Every parameter as the spec initialises it. */
  readonly spec: Results;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const gapsOf = (results: Results) => [...new Set(Object.values(results).flatMap((byGap) => Object.keys(byGap).map(Number)))].sort((a, b) => a - b);

function panel(title: string, results: Results): Panel {
  const gaps = gapsOf(results);
  return {
    title,
    xLabel: "gap (distractors between the symbol and the query)",
    yLabel: "test accuracy",
    xLog: true,
    xDomain: [gaps[0]!, gaps.at(-1)!],
    yDomain: [0, 1],
    xTicks: gaps,
    yTicks: [0, 0.25, 0.5, 0.75, 1],
    yFormat: (y) => `${Math.round(y * 100)}%`,
    references: [{ y: 1 / TARGETS, label: "chance" }],
    series: Object.entries(results).map(([cell, byGap]) => ({
      name: cell,
      color: COLORS[cell] ?? "#000",
      points: gaps.filter((g) => byGap[String(g)]).map((g) => {
        const accs = byGap[String(g)]!;
        return { x: g, y: mean(accs), lo: Math.min(...accs), hi: Math.max(...accs) };
      }),
    })),
  };
}

export function longGapSvg(sets: ResultSets, config: ExperimentConfig): string {
  return chartSvg(
    [panel("chrono init on the keep gate", sets.chrono), panel("the specs' own init (b_f = 1, b_z = 0)", sets.spec)],
    `Long-gap recall (first of ${TARGETS} symbols after a gap of distractors), H = ${config.hidden}, ${config.seeds.length} seeds (line: mean, band: min to max), at most ${config.maxSteps} Adam steps of batch ${config.batch}.`,
  );
}

function table(results: Results): string {
  const gaps = gapsOf(results);
  const pct = (x: number) => `${(x * 100).toFixed(1)}`;
  const rows = Object.entries(results).map(([cell, byGap]) => `| ${cell} | ${gaps.map((g) => (byGap[String(g)] ? `${pct(mean(byGap[String(g)]!))} (${pct(Math.min(...byGap[String(g)]!))}–${pct(Math.max(...byGap[String(g)]!))})` : "")).join(" | ")} |`);
  return [`| cell | ${gaps.map((g) => `gap ${g}`).join(" | ")} |`, `|---|${gaps.map(() => "---:").join("|")}|`, ...rows].join("\n");
}

export function longGapMarkdown(sets: ResultSets, config: ExperimentConfig): string {
  return [
    "# Long-gap recall: results",
    "",
    `Test accuracy in % (mean over ${config.seeds.length} seeds, min–max in brackets) on ${config.testSize} fresh sequences; chance is ${100 / TARGETS}%.`,
    `H = ${config.hidden}, batch ${config.batch}, Adam (lr ${config.lr}), global-norm clipping at ${config.clipNorm}, at most ${config.maxSteps} steps, stopping once ${config.evalSize} validation sequences are ≥ ${config.stopAt * 100}% right.`,
    "",
    "## Chrono init on the gate that keeps the state (results.json)",
    "",
    table(sets.chrono),
    "",
    "## Every parameter as the spec initialises it (results.spec-init.json)",
    "",
    table(sets.spec),
    "",
  ].join("\n");
}

/** Writes docs/long-gap.svg and experiments/long-gap/results.md; returns their paths relative to the repository. */
export function writeReport(sets: ResultSets, config: ExperimentConfig): string[] {
  const svg = join(ROOT, "docs", "long-gap.svg");
  const md = join(ROOT, "experiments", "long-gap", "results.md");
  writeFileSync(svg, longGapSvg(sets, config));
  writeFileSync(md, longGapMarkdown(sets, config));
  return [svg, md].map((f) => relative(ROOT, f));
}
