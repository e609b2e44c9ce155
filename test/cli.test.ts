// The lstmc command as a user meets it: exit codes, messages, the run contract.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LSTMC } from "./helpers/cli.ts";

const ROOT = join(import.meta.dirname, "..");

function lstmc(...args: string[]) {
  const result = spawnSync(process.execPath, [LSTMC, ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function dataFile(data: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "lstmc-cli-")), "data.json");
  writeFileSync(file, JSON.stringify(data));
  return file;
}

const RNN_DATA = {
  dims: { I: 2, H: 1 },
  batch: 1,
  steps: 2,
  params: { W: [0.5, -0.25], U: [0.75], b: [0.1] },
  inputs: { x: [1, 2, 3, 4] },
};

function noStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at .*:\d+:\d+/);
}

describe("lstmc --help and --version", () => {
  it("prints usage naming every command", () => {
    const { code, stdout } = lstmc("--help");
    expect(code).toBe(0);
    for (const command of ["check", "run", "gradcheck", "convert"]) expect(stdout).toContain(`lstmc ${command}`);
  });
  it("prints the package version", () => {
    expect(lstmc("--version").stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it("rejects an unknown command with exit 2", () => {
    const { code, stderr } = lstmc("frobnicate");
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});

describe("bin/lstmc.js in a git checkout", () => {
  // Every other case here runs the CLI bundle (test/helpers/cli.ts); these run the
  // checkout's own entry point, which loads the TypeScript sources through tsx.
  const fromCheckout = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin", "lstmc.js"), ...args], { cwd: ROOT, encoding: "utf8" });

  it("checks a spec from the sources", () => {
    const result = fromCheckout("check", "specs/lstm.lstm");
    expect([result.status, result.stderr.trim()]).toEqual([0, "specs/lstm.lstm: ok"]);
  });

  it("answers --version with package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(fromCheckout("--version").stdout.trim()).toBe(version);
  });

  it("reports a bad spec with its location and exit 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-bin-"));
    writeFileSync(join(dir, "bad.lstm"), "cell c {\n  state h[H] = tanh(W @ x + q)\n}\n");
    const result = fromCheckout("check", join(dir, "bad.lstm"));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bad\.lstm:\d+:\d+/);
  });
});

describe("lstmc check", () => {
  it("exits 0 for the spec library", () => {
    expect(lstmc("check", "specs/lstm.lstm", "specs/gru.lstm").code).toBe(0);
  });
  it("exits 1 with file:line:column and a caret for a bad spec", () => {
    const { code, stderr } = lstmc("check", "test/corpus/shape_matvec.lstm");
    expect(code).toBe(1);
    expect(stderr).toContain("test/corpus/shape_matvec.lstm:6:13: error E202");
    expect(stderr).toMatch(/\|\s+\^+/);
    noStackTrace(stderr);
  });
  it("exits 0 when there are only warnings", () => {
    const file = join(mkdtempSync(join(tmpdir(), "lstmc-cli-")), "warn.lstm");
    writeFileSync(file, "cell c {\n size H = 2\n input x[H]\n state h[H]\n param p[H]\n h' = tanh(x + h)\n output h = h'\n}\n");
    const { code, stderr } = lstmc("check", file);
    expect(code).toBe(0);
    expect(stderr).toContain("warning W501");
  });
  it("reports a missing file as a located error, not a crash", () => {
    const { code, stderr } = lstmc("check", "no/such/file.lstm");
    expect(code).toBe(1);
    expect(stderr).toContain("no/such/file.lstm:1:1: error E005");
    noStackTrace(stderr);
  });
});

describe("lstmc run", () => {
  it("computes the tanh RNN by hand-checkable numbers", () => {
    const { code, stdout } = lstmc("run", "specs/rnn.lstm", "--data", dataFile(RNN_DATA));
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    const h1 = Math.tanh(0.5 * 1 - 0.25 * 2 + 0.75 * 0 + 0.1);
    const h2 = Math.tanh(0.5 * 3 - 0.25 * 4 + 0.75 * h1 + 0.1);
    expect(out.outputs.h[0]).toBeCloseTo(h1, 14);
    expect(out.outputs.h[1]).toBeCloseTo(h2, 14);
    expect(out.final.h[0]).toBeCloseTo(h2, 14);
    expect(out.grads).toBeUndefined();
  });

  it("adds gradients for params, inputs and initial states with --grad", () => {
    const data = { ...RNN_DATA, upstream: { outputs: { h: [0, 1] } } };
    const out = JSON.parse(lstmc("run", "specs/rnn.lstm", "--data", dataFile(data), "--grad").stdout);
    expect(Object.keys(out.grads)).toEqual(["params", "inputs", "initial"]);
    expect(Object.keys(out.grads.params)).toEqual(["W", "U", "b"]);
    // dL/db = (1 - h2²) + (1 - h2²)·U·(1 - h1²) with L = h2
    const h1 = Math.tanh(0.1);
    const h2 = Math.tanh(0.5 + 0.75 * h1 + 0.1);
    expect(out.grads.params.b[0]).toBeCloseTo((1 - h2 ** 2) * (1 + 0.75 * (1 - h1 ** 2)), 12);
  });

  it.each([
    ["a missing parameter", { ...RNN_DATA, params: { W: [0.5, -0.25], U: [0.75] } }, "params.b is missing"],
    ["a wrong length", { ...RNN_DATA, inputs: { x: [1, 2, 3] } }, "inputs.x has 3 numbers, but the spec needs 4"],
    ["an unknown name", { ...RNN_DATA, params: { ...RNN_DATA.params, V: [1] } }, "params.V is not in the spec"],
    ["an unknown size", { ...RNN_DATA, dims: { I: 2, H: 1, K: 3 } }, "unknown size 'K'"],
    ["a non-number", { ...RNN_DATA, inputs: { x: [1, 2, "3", 4] } }, "inputs.x[2] must be a finite number"],
    ["an unknown upstream field", { ...RNN_DATA, upstream: { outputs: { y: [0, 0] } } }, "upstream.outputs.y is not in the spec"],
  ])("rejects %s with a message naming the field", (_, data, message) => {
    const { code, stderr, stdout } = lstmc("run", "specs/rnn.lstm", "--data", dataFile(data));
    expect(code).toBe(1);
    expect(stderr).toContain(message);
    expect(stdout).toBe("");
    noStackTrace(stderr);
  });

  it("runs an example on random data", () => {
    const { code, stdout } = lstmc("run", "specs/lstm.lstm", "--example", "--grad");
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.outputs.h.length).toBe(4 * 16);
    expect(out.grads.params.W_f.length).toBe(16 * 8);
  });
});

describe("lstmc gradcheck", () => {
  it("prints the worst relative error per tensor and exits 0", () => {
    const { code, stdout } = lstmc("gradcheck", "specs/gru.lstm", "--dims", "I=2,H=3", "--steps", "2", "--batch", "1");
    expect(code).toBe(0);
    expect(stdout).toMatch(/params\.U_h\s+\d\.\d+e-\d+/);
    expect(stdout.trim().endsWith("ok")).toBe(true);
  });
  it("rejects a size binding it cannot read", () => {
    const { code, stderr } = lstmc("gradcheck", "specs/gru.lstm", "--dims", "H:3");
    expect(code).toBe(1);
    expect(stderr).toContain("cannot read size binding 'H:3'");
  });
});
