// What argument checking costs a generated module: the current module against
// the same cell compiled by the commit before entry points validated their
// arguments (0db3a3d), in one process, round-robin, at the smallest benchmark
// size (LSTM, batch 1, I = H = 32, 100 steps) and for batch-1 step().
//
//   npx tsx --expose-gc bench/validation.ts [--baseline COMMIT]
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { measure } from "./harness.ts";

const baseline = process.argv.includes("--baseline") ? process.argv[process.argv.indexOf("--baseline") + 1]! : "0db3a3d";
const dims = "I=32,H=32";

interface Module {
  initParams(seed: number): Record<string, Float32Array>;
  forward(p: unknown, i: unknown, s?: unknown, o?: unknown): { saved: unknown };
  backward(p: unknown, saved: unknown, u?: unknown): unknown;
  createState(b?: number): Record<string, Float32Array>;
  step(p: unknown, i: unknown, s: unknown): unknown;
}

/** Compiles specs/lstm.lstm with the compiler of `ref` (a commit, or null for the working tree) and imports it. */
async function compileAt(ref: string | null): Promise<Module> {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-validation-"));
  let root = process.cwd();
  if (ref !== null) {
    root = join(dir, "checkout");
    execFileSync("git", ["worktree", "add", "--detach", root, ref], { stdio: "ignore" });
    execFileSync("ln", ["-s", join(process.cwd(), "node_modules"), join(root, "node_modules")]);
  }
  try {
    execFileSync(process.execPath, [join(root, "bin/lstmc.js"), "compile", join(root, "specs/lstm.lstm"), "--target", "ts", "--dims", dims, "--out", dir], { stdio: "ignore" });
  } finally {
    if (ref !== null) execFileSync("git", ["worktree", "remove", "--force", root], { stdio: "ignore" });
  }
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  return (await import(pathToFileURL(join(dir, "lstm.ts")).href)) as Module;
}

const [current, before] = [await compileAt(null), await compileAt(baseline)];
const T = 100;
const x = new Float32Array(T * 32).map((_, i) => Math.sin(i));
const x1 = new Float32Array(32).map((_, i) => Math.cos(i));
const rows: { what: string; current: number; before: number }[] = [];
for (const [what, make] of [
  ["forward (B=1, T=100)", (m: Module) => { const p = m.initParams(1); return () => void m.forward(p, { x }, {}, { batch: 1 }); }],
  ["forward + backward", (m: Module) => { const p = m.initParams(1); return () => void m.backward(p, m.forward(p, { x }, {}, { batch: 1 }).saved, {}); }],
  ["step (B=1)", (m: Module) => { const p = m.initParams(1); const s = m.createState(1); return () => void m.step(p, { x: x1 }, s); }],
] as const) {
  const [a, b] = await measure([{ name: "current", run: make(current) }, { name: "before", run: make(before) }], { rounds: 15, minTimeMs: 50 });
  rows.push({ what, current: a!.median, before: b!.median });
}
console.log(`| call | with checks (ms) | without (${baseline}) (ms) | cost |`);
console.log("|---|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.what} | ${r.current.toFixed(4)} | ${r.before.toFixed(4)} | ${(((r.current - r.before) / r.before) * 100).toFixed(1)}% |`);
