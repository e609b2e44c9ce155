// The CLI habits of issue 11: --watch, '-' for stdin, colour, check --format
// json, "did you mean", per-command --help, --dims checks and --out -.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colourDiagnostic, useColour } from "../src/cli/colour.ts";
import { WAITING } from "../src/cli/watch.ts";
import { closest } from "../src/diagnostics/suggest.ts";
import { LSTMC } from "./helpers/cli.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = LSTMC;

function lstmc(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const env = { ...process.env, NO_COLOR: "", FORCE_COLOR: undefined, ...options.env };
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", input: options.input, env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "lstmc-habits-"));
}

function spec(body: string): string {
  return `cell a {\n  size I = 2, H = 3\n  input x[I]\n  param W[H, I] ~ glorot\n${body}\n}\n`;
}

const GOOD = spec("  output y = tanh(W @ x)");
const UNKNOWN_NAME = spec("  output y = tanh(W @ xx)");
const UNKNOWN_FUNCTION = spec("  output y = tahn(W @ x)");

describe("did you mean", () => {
  it("finds the nearest word within a third of its length, or none", () => {
    expect(closest("compiel", ["check", "compile", "convert"])).toBe("compile");
    expect(closest("CHECK", ["check", "run"])).toBe("check");
    expect(closest("frobnicate", ["check", "compile"])).toBeUndefined();
  });
  it("answers an unknown command, option, target and engine with the nearest known one", () => {
    expect(lstmc(["comple", "specs/rnn.lstm"]).stderr).toContain("unknown command 'comple'; did you mean 'compile'?");
    const option = lstmc(["compile", "specs/rnn.lstm", "--dim", "I=2"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--dim'; did you mean '--dims'?");
    expect(lstmc(["check", "specs/rnn.lstm", "--target", "wsgl"]).stderr).toContain("unknown target 'wsgl'; did you mean 'wgsl'?");
    expect(lstmc(["run", "specs/rnn.lstm", "--example", "--engine", "intrp"]).stderr).toContain("unknown engine 'intrp'; did you mean 'interp'?");
  });
  it("adds the nearest name to E101 and the nearest function to E106", () => {
    expect(lstmc(["check", "-"], { input: UNKNOWN_NAME }).stderr).toContain("<stdin>:5:23: error E101: unknown name 'xx'; did you mean 'x'?");
    expect(lstmc(["check", "-"], { input: UNKNOWN_FUNCTION }).stderr).toContain("error E106: unknown function 'tahn'; did you mean 'tanh'?");
    expect(lstmc(["check", "-"], { input: spec("  output y = tanh(W @ zzzz)") }).stderr).toContain("unknown name 'zzzz'\n");
  });
});

describe("per-command --help", () => {
  it("prints the command's usage and options, not the global usage", () => {
    const { code, stdout } = lstmc(["compile", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("lstmc compile SPEC...");
    expect(stdout).toContain("--precision");
    expect(stdout).not.toContain("lstmc run");
  });
});

describe("'-' reads the spec from standard input", () => {
  it("checks a .lstm spec and a JSON spec, naming them <stdin>", () => {
    expect(lstmc(["check", "-"], { input: GOOD }).stderr).toBe("<stdin>: ok\n");
    const json = lstmc(["convert", "-", "--to", "json"], { input: GOOD });
    expect(json.code).toBe(0);
    expect(lstmc(["check", "-"], { input: json.stdout }).stderr).toBe("<stdin>: ok\n");
  });
  it("is refused for --watch", () => {
    const { code, stderr } = lstmc(["check", "-", "--watch"], { input: GOOD });
    expect(code).toBe(2);
    expect(stderr).toContain("--watch cannot watch standard input");
  });
});

describe("colour", () => {
  it("is on for a terminal or FORCE_COLOR, off for NO_COLOR or FORCE_COLOR=0", () => {
    expect(useColour({}, true)).toBe(true);
    expect(useColour({}, false)).toBe(false);
    expect(useColour({ NO_COLOR: "1" }, true)).toBe(false);
    expect(useColour({ FORCE_COLOR: "1", NO_COLOR: "1" }, false)).toBe(true);
    expect(useColour({ FORCE_COLOR: "0" }, true)).toBe(false);
  });
  it("colours the severity and the caret only", () => {
    const text = "a.lstm:5:24: error E101: unknown name 'xx'\n 5 |   output y = xx\n   |              ^^";
    expect(colourDiagnostic(text)).toBe("a.lstm:5:24: \u001b[31merror\u001b[0m E101: unknown name 'xx'\n 5 |   output y = xx\n   |              \u001b[31m^^\u001b[0m");
  });
  it("reaches the terminal with FORCE_COLOR and not without", () => {
    expect(lstmc(["check", "-"], { input: UNKNOWN_NAME, env: { FORCE_COLOR: "1" } }).stderr).toContain("\u001b[31merror\u001b[0m E101");
    expect(lstmc(["check", "-"], { input: UNKNOWN_NAME }).stderr).not.toContain("\u001b");
  });
});

describe("check --format json", () => {
  it("prints the diagnostics as a JSON array on stdout and exits 1 on errors", () => {
    const { code, stdout, stderr } = lstmc(["check", "--format", "json", "-"], { input: UNKNOWN_NAME });
    expect(code).toBe(1);
    expect(stderr).toBe("");
    const diagnostics = JSON.parse(stdout) as Record<string, unknown>[];
    expect(diagnostics).toContainEqual({ code: "E101", severity: "error", message: "unknown name 'xx'; did you mean 'x'?", file: "<stdin>", line: 5, column: 23, endLine: 5, endColumn: 25 });
  });
  it("prints [] for a clean spec and exits 0", () => {
    const { code, stdout } = lstmc(["check", "--format", "json", "specs/rnn.lstm"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([]);
  });
});

describe("compile --dims and --out -", () => {
  it("refuses a size the one spec does not declare (E401), naming the cell's sizes", () => {
    const { code, stderr } = lstmc(["compile", "specs/rnn.lstm", "--dims", "Z=2", "--out", tempDir()]);
    expect(code).toBe(1);
    expect(stderr).toContain("error E401: unknown size 'Z' (the cell's sizes: I, H)");
  });
  it("ignores such a size when several specs share one --dims", () => {
    const out = tempDir();
    expect(lstmc(["compile", "specs/rnn.lstm", "specs/gru.lstm", "--dims", "I=4,Z=2", "--out", out]).code).toBe(0);
    expect(readFileSync(join(out, "gru.ts"), "utf8")).toContain("--dims I=4,");
  });
  it("writes one file to stdout and nothing on disk", () => {
    const { code, stdout } = lstmc(["compile", "specs/rnn.lstm", "--out", "-"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\/\/ Generated by lstmc .* from rnn\.lstm/);
    expect(existsSync(join(ROOT, "-"))).toBe(false);
  });
  it("is a usage error when the command would write several files", () => {
    const js = lstmc(["compile", "specs/rnn.lstm", "--target", "js", "--out", "-"]);
    expect(js.code).toBe(2);
    expect(js.stderr).toContain("the js target writes 2 (rnn.js, rnn.d.ts)");
    expect(js.stdout).toBe("");
    expect(lstmc(["compile", "specs/rnn.lstm", "specs/gru.lstm", "--out", "-"]).code).toBe(2);
  });
});

/**
 * Runs `lstmc ARGS --watch` and calls `onRun(n, stderr so far)` after its n-th
 * run (counted by WAITING lines); `onRun` returns true to end it with SIGINT.
 * Bounded by counts of runs, not by time.
 */
function watch(args: string[], onRun: (runs: number) => boolean): Promise<{ code: number | null; runs: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args, "--watch"], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  let stderr = "";
  let seen = 0;
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    const runs = stderr.split(`${WAITING}\n`).length - 1;
    while (seen < runs) if (onRun(++seen)) child.kill("SIGINT");
  });
  return new Promise((done) => child.on("exit", (code) => done({ code, runs: stderr.split(`${WAITING}\n`) })));
}

describe("--watch", () => {
  it("reruns check when the spec changes, keeps going after a spec error, and ends with 0 on Ctrl-C", async () => {
    const file = join(tempDir(), "a.lstm");
    writeFileSync(file, UNKNOWN_NAME);
    const { code, runs } = await watch(["check", file], (run) => {
      if (run === 1) writeFileSync(file, GOOD);
      return run === 2;
    });
    expect(code).toBe(0);
    expect(runs[0]).toContain("error E101");
    expect(runs[1]).toBe(`${file}: ok\n`);
  });
  it("ends at once on a usage error, which no edit of the spec mends", () => {
    const { code, stderr } = lstmc(["compile", "specs/rnn.lstm", "--target", "wsgl", "--watch"]);
    expect(code).toBe(2);
    expect(stderr).not.toContain(WAITING);
  });
  it("reruns compile into its output folder", async () => {
    const dir = tempDir();
    const file = join(dir, "rnn.lstm");
    const rnn = readFileSync(join(ROOT, "specs", "rnn.lstm"), "utf8");
    writeFileSync(file, rnn);
    const { code, runs } = await watch(["compile", file, "--out", join(dir, "out")], (run) => {
      if (run === 1) writeFileSync(file, rnn.replace("size I = 8", "size I = 5"));
      return run === 2;
    });
    expect(code).toBe(0);
    expect(runs[1]).toContain("wrote");
    expect(readFileSync(join(dir, "out", "rnn.ts"), "utf8")).toContain("--dims I=5,");
  });
});
