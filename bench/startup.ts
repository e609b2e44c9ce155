// `npm run bench:startup`: how long the installed lstmc takes to start, next
// to `node -e 0`, `tsc --version` and esbuild in the same run.
//
// It builds dist/, packs the package as npm would publish it and unpacks the
// tarball into a temporary folder (with this checkout's node_modules linked
// in), so what is timed is the published bin running compiled JavaScript, not
// the checkout's tsx fallback. Commands are sampled round-robin, so load from
// other processes falls on all of them alike; the table gives medians and the
// median of each round's difference from `node -e 0`.
//   npx tsx bench/startup.ts [--rounds=N]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

interface Command {
  readonly name: string;
  readonly argv: readonly string[];
}

const ROOT = resolve(import.meta.dirname, "..");

function option(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  return given === undefined ? fallback : Number(given.slice(name.length + 3));
}

/** Builds, packs and unpacks the package; returns the unpacked package folder. */
function installPackedCopy(workDir: string): string {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  const [packed] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", workDir], { cwd: ROOT, encoding: "utf8" })) as { filename: string }[];
  execFileSync("tar", ["-xzf", join(workDir, packed!.filename), "-C", workDir]);
  const packageDir = join(workDir, "package");
  symlinkSync(join(ROOT, "node_modules"), join(packageDir, "node_modules"));
  return packageDir;
}

function timeOnce(command: Command): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command.argv[0]!, command.argv.slice(1), { cwd: ROOT, encoding: "utf8" });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command.name} exited with ${result.status}: ${result.stderr}`);
  return elapsed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function measure(commands: readonly Command[], rounds: number): number[][] {
  for (const c of commands) timeOnce(c); // warm the file cache
  const samples = commands.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) commands.forEach((c, i) => samples[i]!.push(timeOnce(c)));
  return samples;
}

function printTable(commands: readonly Command[], samples: readonly number[][]): void {
  const baseline = samples[0]!;
  const nameWidth = Math.max(...commands.map((c) => c.name.length));
  console.log(`${"command".padEnd(nameWidth)}  median ms  above node -e 0 (ms)`);
  commands.forEach((c, i) => {
    const above = median(samples[i]!.map((t, r) => t - baseline[r]!));
    console.log(`${c.name.padEnd(nameWidth)}  ${median(samples[i]!).toFixed(0).padStart(9)}  ${i === 0 ? "" : above.toFixed(0).padStart(20)}`);
  });
}

const rounds = option("rounds", 15);
const workDir = mkdtempSync(join(tmpdir(), "lstmc-startup-"));
try {
  const lstmc = join(installPackedCopy(workDir), "bin", "lstmc.js");
  const node = process.execPath;
  const commands: Command[] = [
    { name: "node -e 0", argv: [node, "-e", "0"] },
    { name: "lstmc --version", argv: [node, lstmc, "--version"] },
    { name: "lstmc check specs/lstm.lstm", argv: [node, lstmc, "check", "specs/lstm.lstm"] },
    { name: "lstmc check (checkout, through tsx)", argv: [node, join(ROOT, "bin", "lstmc.js"), "check", "specs/lstm.lstm"] },
    { name: "tsc --version", argv: [node, join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--version"] },
    { name: "esbuild --version (native)", argv: [join(ROOT, "node_modules", ".bin", "esbuild"), "--version"] },
  ];
  console.error(`${rounds} rounds, round-robin`);
  printTable(commands, measure(commands, rounds));
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
