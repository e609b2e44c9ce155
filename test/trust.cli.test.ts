// Hostile and careless input to the lstmc command (issue 10): every user
// error, file-system errors included, is exit 1 with a message naming the
// path or the size; nothing ends as "internal error" (exit 70), a stack trace,
// a hang, or a flood of output.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LSTMC } from "./helpers/cli.ts";

const ROOT = join(import.meta.dirname, "..");
const CORPUS = join("test", "corpus");

/** Runs lstmc; a command that does not finish in a minute (a spin, a blocked read) fails the test. */
function lstmc(...args: string[]) {
  const result = spawnSync(process.execPath, [LSTMC, ...args], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "lstmc-trust-"));
}

/** A user error: exit 1, the expected code, no internal error and no stack trace. */
function expectUserError(result: ReturnType<typeof lstmc>, code: string): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(code);
  expect(result.stderr).not.toContain("internal error");
  expect(result.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
}

const RNN = "specs/rnn.lstm";
const LONG_SUM = join(CORPUS, "nesting_long_sum.lstm");

describe("nesting, numbers and sizes are refused by every command, located", () => {
  it("check reports each corpus case of issue 10 with its code", () => {
    const cases = {
      "nesting_calls.lstm": "E007",
      "nesting_parens.lstm": "E007",
      "nesting_unary_minus.lstm": "E007",
      "nesting_long_sum.lstm": "E007",
      "json_nesting_arrays.json": "E007",
      "number_literal_overflow.lstm": "E307",
      "number_division_by_zero.lstm": "E307",
      "number_state_init_overflow.lstm": "E307",
      "size_literal_too_large.lstm": "E206",
      "size_default_too_large.lstm": "E206",
    };
    const result = lstmc("check", ...Object.keys(cases).map((f) => join(CORPUS, f)));
    expectUserError(result, "E007");
    for (const [file, code] of Object.entries(cases)) expect(result.stderr).toMatch(new RegExp(`${file}:\\d+:\\d+: error ${code}`));
  });

  it.each([
    ["run", "--example", "--grad"],
    ["gradcheck"],
    ["convert", "--to", "json"],
    ["diagram"],
    ["compile", "--target", "ts", "--out", "unused"],
    ["compile", "--target", "wgsl", "--out", "unused"],
  ])("%s refuses a 10,000-term sum with E007", (command, ...options) => {
    expectUserError(lstmc(command!, LONG_SUM, ...options), "E007");
  });

  it("compile refuses 1e400 with E307 instead of emitting Infinity", () => {
    expectUserError(lstmc("compile", join(CORPUS, "number_literal_overflow.lstm"), "--out", scratch()), "E307");
  });

  it("compile refuses --dims H=99999999999999999999, naming the size as written", () => {
    const result = lstmc("compile", RNN, "--dims", "H=99999999999999999999", "--out", scratch());
    expectUserError(result, "E206");
    expect(result.stderr).toContain("size 'H' = 99999999999999999999");
  });

  it("run refuses a parameter too large to allocate, naming it", () => {
    const result = lstmc("run", RNN, "--example", "--dims", "H=20000");
    expectUserError(result, "E206");
    expect(result.stderr).toContain("parameter 'U'");
  });

  it("run refuses [steps, batch, n] buffers too large to allocate", () => {
    const result = lstmc("run", RNN, "--example", "--steps", "100000000", "--batch", "100");
    expectUserError(result, "E206");
    expect(result.stderr).toContain("[steps, batch, I] with steps=100000000, batch=100");
  });

  it("run --data refuses dims past the limit", () => {
    const file = join(scratch(), "data.json");
    writeFileSync(file, '{"dims": {"I": 2, "H": 1e20}, "batch": 1, "steps": 1, "params": {}, "inputs": {}}');
    expectUserError(lstmc("run", RNN, "--data", file), "E206");
  });

  it("run --data reports 1e309 as not a finite number, not as null", () => {
    const file = join(scratch(), "data.json");
    writeFileSync(file, '{"dims": {"I": 2, "H": 1}, "batch": 1, "steps": 1, "params": {"W": [1e309, 0], "U": [0], "b": [0]}, "inputs": {"x": [1, 2]}}');
    const result = lstmc("run", RNN, "--data", file);
    expectUserError(result, "E402");
    expect(result.stderr).toContain("params.W[0] is not a finite number (it reads as Infinity)");
    expect(result.stderr).not.toContain("null");
  });
});

describe("bounded output", () => {
  it("refuses 10 MB of garbage in one short line", () => {
    const file = join(scratch(), "garbage.lstm");
    writeFileSync(file, "\u0001 ".repeat(5 * 1024 * 1024));
    const result = lstmc("check", file);
    expectUserError(result, "E006");
    expect(result.stderr.length).toBeLessThan(500);
  });

  it("prints at most 50 diagnostics for a file, then how many more", () => {
    const file = join(scratch(), "garbage.lstm");
    writeFileSync(file, "\u0001\n".repeat(100_000));
    const result = lstmc("check", file);
    expectUserError(result, "E001");
    expect(result.stderr.match(/: error E001:/g)).toHaveLength(50);
    expect(result.stderr).toContain("99951 more runs of unexpected characters follow this one");
  });
});

describe("terminal output escapes control characters", () => {
  it("escapes them in names from a JSON spec and in file names", () => {
    const dir = scratch();
    const file = join(dir, "evil\u001b[2J\nname.json");
    writeFileSync(file, '{"cell": "c\\u001b[31m"}');
    const result = lstmc("check", file, join(CORPUS, "json_control_character_name.json"));
    expectUserError(result, "E004");
    expect(result.stderr).toContain("\\u001b[2J\\u000aname.json");
    expect(result.stderr).toContain("E103: cell name \"c\\u001b[2J\"");
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });
});

describe("names that Object.prototype also has", () => {
  it("work as size names in --dims and the spec", () => {
    const file = join(scratch(), "proto.lstm");
    writeFileSync(file, "cell c {\n  size toString = 2, valueOf\n  input x[toString]\n  state h[valueOf]\n  param W[valueOf, toString]\n  h' = tanh(W @ x + h)\n  output h = h'\n}\n");
    const result = lstmc("run", file, "--example", "--dims", "valueOf=3");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).outputs.h).toHaveLength(4 * 3);
  });

  it.each([["toString"], ["run", RNN, "--example", "--engine", "toString"], ["convert", RNN, "--to", "constructor"]])("are usage errors as commands and options: %s", (...args) => {
    const result = lstmc(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("internal error");
  });
});

describe("file-system errors are exit 1 and name the path", () => {
  const fifo = (): string => {
    const path = join(scratch(), "fifo");
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    return path;
  };
  const file = (): string => {
    const path = join(scratch(), "a-file");
    writeFileSync(path, "");
    return path;
  };

  it("compile --out onto a file", () => {
    const out = file();
    const result = lstmc("compile", RNN, "--out", out);
    expectUserError(result, "E008");
    expect(result.stderr).toContain(`${out} is not a directory`);
  });

  it("compile --out into a folder that cannot be written (/proc stands in for a read-only folder, even as root)", () => {
    const result = lstmc("compile", RNN, "--out", "/proc");
    expectUserError(result, "E008");
    expect(result.stderr).toContain("/proc/rnn.ts");
  });

  it("compile --out under /proc fails fast instead of spinning", () => {
    const result = lstmc("compile", RNN, "--target", "wgsl", "--out", "/proc/x");
    expectUserError(result, "E008");
    expect(result.stderr).toContain("/proc/x");
  });

  it("diagram --out under a file", () => {
    const out = join(file(), "picture.svg");
    expectUserError(lstmc("diagram", RNN, "--out", out), "E008");
  });

  it.each([["/dev/null"], ["a FIFO"]])("convert --out onto %s is refused before writing", (target) => {
    const out = target === "/dev/null" ? target : fifo();
    const result = lstmc("convert", RNN, "--to", "json", "--out", out);
    expectUserError(result, "E008");
    expect(result.stderr).toContain(`${out}: it is not a regular file`);
  });

  it("check of a FIFO, a directory or a missing file", () => {
    const dir = join(scratch(), "folder.lstm");
    mkdirSync(dir);
    const pipe = fifo();
    const result = lstmc("check", pipe, dir, "/proc/x/missing.lstm");
    expectUserError(result, "E005");
    expect(result.stderr).toContain(`cannot read ${pipe}: it is not a regular file`);
    expect(result.stderr).toContain(`cannot read ${dir}: it is not a regular file`);
    expect(result.stderr).toContain("cannot read /proc/x/missing.lstm: no such file or directory");
  });

  it("run --data from a device", () => {
    const result = lstmc("run", RNN, "--data", "/dev/zero");
    expectUserError(result, "E005");
    expect(result.stderr).toContain("/dev/zero");
  });
});

describe("byte-order marks", () => {
  it("are accepted in a .json spec", () => {
    const dir = scratch();
    const json = lstmc("convert", RNN, "--to", "json").stdout;
    writeFileSync(join(dir, "rnn.json"), `\ufeff${json}`);
    const result = lstmc("check", join(dir, "rnn.json"));
    expect(result.code, result.stderr).toBe(0);
  });
});
