// `npx tsx bench/scaling.ts`: how lstmc's costs grow with the problem (issue 10,
// item 9). Prints two tables:
//   (a) orthogonal initialisation of an H×H matrix against H;
//   (b) `lstmc check` (parse + build) and `lstmc compile --target ts` (f32),
//       as in-process library calls, against the number of equations of a
//       generated spec.
// Flags: --sizes=512,1024,...  --equations=100,500,2000  --skip-init  --skip-compile
// Wall times depend on the machine's load; CPU time is the process's user time
// over the call (this process runs one thing at a time).
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { buildCell } from "../src/ir/build.ts";
import { compileCell } from "../src/codegen/compile.ts";
import { parseSpecText } from "../src/parse/load.ts";
import type { CellIR } from "../src/ir/types.ts";
import { _initialValues } from "../src/runtime/init.ts";

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function time<T>(work: () => T | Promise<T>): Promise<Timing & { readonly result: T }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  return { wallMs: performance.now() - start, cpuMs: process.cpuUsage(cpu).user / 1000, result };
}

/**
 * A cell of `count` equations: a chain of pointwise gates over the hidden
 * state with a product every fifth equation, the shape of a deep stacked cell.
 */
export function chainSpec(count: number): string {
  const lines = ["cell chain {", "  size I = 8, H = 16", "  input x[I]", "  state h[H]", "  param W[H, I] ~ glorot", "  param U[H, H] ~ orthogonal", "  param b[H] ~ zeros", ""];
  lines.push("  e0 = tanh(W @ x + U @ h + b)");
  for (let k = 1; k < count - 1; k++) {
    const previous = `e${k - 1}`;
    const older = k >= 2 ? `e${k - 2}` : "h";
    lines.push(k % 5 === 0 ? `  e${k} = tanh(U @ ${previous} + ${older})` : `  e${k} = σ(${previous}) * ${older} + 0.5 * ${previous}`);
  }
  lines.push(`  h' = tanh(e${count - 2} + b)`, "", "  output h = h'", "}");
  return lines.join("\n") + "\n";
}

/** What `lstmc check` does to a spec's text, in process. */
function checkSpec(text: string, file: string): CellIR {
  const parsed = parseSpecText(text, file);
  if (!parsed.value) throw new Error(`generated spec does not parse: ${parsed.diagnostics[0]?.message}`);
  const built = buildCell(parsed.value);
  if (!built.ir) throw new Error(`generated spec does not check: ${built.diagnostics[0]?.message}`);
  return built.ir;
}

function format(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log("");
}

async function orthogonalTable(sizes: readonly number[]): Promise<void> {
  const rows: string[][] = [];
  for (const h of sizes) {
    const t = await time(() => _initialValues("orthogonal", 0, 0, h, h, 1, new Float64Array(h * h)));
    rows.push([String(h), format(t.wallMs), format(t.cpuMs), (t.cpuMs / (h / sizes[0]!) ** 2).toFixed(1)]);
    console.error(`orthogonal ${h}: ${format(t.wallMs)}`);
  }
  console.log("(a) orthogonal initialisation, H×H, f64 (last column: CPU ms / (H/H₀)², flat when quadratic)");
  printTable(["H", "wall", "CPU", "CPU/(H/H₀)²"], rows);
}

async function compileTable(counts: readonly number[]): Promise<void> {
  const rows: string[][] = [];
  // The first compile loads ts-morph and prettier; keep that out of the table.
  await compileCell(checkSpec(chainSpec(3), "warm-up.lstm"), { target: "ts", precision: "f32" });
  for (const count of counts) {
    const text = chainSpec(count);
    const check = await time(() => checkSpec(text, `chain${count}.lstm`));
    console.error(`check ${count}: ${format(check.wallMs)}`);
    const compile = await time(() => compileCell(check.result, { target: "ts", precision: "f32" }));
    console.error(`compile ${count}: ${format(compile.wallMs)}`);
    rows.push([String(count), format(check.wallMs), format(check.cpuMs), format(compile.wallMs), format(compile.cpuMs), (compile.cpuMs / count).toFixed(1), String(compile.result.text.length)]);
  }
  console.log("(b) check (parse + build) and compile --target ts (f32), in process, generated chain specs");
  printTable(["equations", "check wall", "check CPU", "compile wall", "compile CPU", "compile CPU ms/eq", "output chars"], rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "512,1024,2048,4096,8192" },
      equations: { type: "string", default: "100,500,2000" },
      "skip-init": { type: "boolean", default: false },
      "skip-compile": { type: "boolean", default: false },
    },
  });
  const numbers = (list: string) => list.split(",").map((s) => Number.parseInt(s, 10));
  if (!values["skip-init"]) await orthogonalTable(numbers(values.sizes));
  if (!values["skip-compile"]) await compileTable(numbers(values.equations));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
