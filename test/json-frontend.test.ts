import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDsl } from "../src/parse/dsl.ts";
import { parseJsonSpec } from "../src/parse/json.ts";
import { printJson } from "../src/parse/print-json.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import type { Diagnostic } from "../src/diagnostics/diagnostic.ts";
import { stripSpans } from "./helpers/ir.ts";
import { isModelFile } from "../src/parse/load-model.ts";
import { LSTMC } from "./helpers/cli.ts";

// Cells only: a model file (specs/bilstm.lstm, …) has its own parser and tests (test/models.*.test.ts, test/codegen.models*.test.ts).
const SPECS = readdirSync("specs").filter((f) => f.endsWith(".lstm") && !isModelFile(join("specs", f)));

function dslIr(file: string) {
  const parsed = parseDsl(readFileSync(file, "utf8"), file);
  expect(parsed.diagnostics).toEqual([]);
  const built = buildCell(parsed.value!);
  expect(built.ir).not.toBeNull();
  return built.ir!;
}

function jsonIr(text: string) {
  const parsed = parseJsonSpec(text, "cell.json");
  expect(parsed.diagnostics).toEqual([]);
  const built = buildCell(parsed.value!);
  expect(built.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return built.ir!;
}

function jsonDiagnostics(text: string): Diagnostic[] {
  const parsed = parseJsonSpec(text, "cell.json");
  return parsed.value ? [...buildCell(parsed.value).diagnostics] : [...parsed.diagnostics];
}

/** `file:line:col code message`, the way a user sees a diagnostic. */
function brief(d: Diagnostic): string {
  return `${d.span.line}:${d.span.column} ${d.code} ${d.message}`;
}

// Written by hand, compactly and in another key order than printJson uses, so
// the front end is not only tested against its own printer.
const LSTM_JSON = `{
  "$schema": "../grammar/cell.schema.json",
  "cell": "lstm",
  "doc": ["The LSTM with a forget gate."],
  "sizes": {"I": 8, "H": 16},
  "inputs": {"x": ["I"]},
  "states": {"h": {"shape": ["H"]}, "c": {"init": 0, "shape": ["H"]}},
  "params": {
    "W_i": {"shape": ["H", "I"], "init": "glorot"}, "U_i": {"shape": ["H", "H"], "init": "orthogonal"}, "b_i": {"shape": ["H"], "init": "zeros"},
    "W_f": {"shape": ["H", "I"], "init": "glorot"}, "U_f": {"shape": ["H", "H"], "init": "orthogonal"}, "b_f": {"shape": ["H"], "init": "ones"},
    "W_g": {"shape": ["H", "I"], "init": "glorot"}, "U_g": {"shape": ["H", "H"], "init": "orthogonal"}, "b_g": {"shape": ["H"], "init": "zeros"},
    "W_o": {"shape": ["H", "I"], "init": "glorot"}, "U_o": {"shape": ["H", "H"], "init": "orthogonal"}, "b_o": {"shape": ["H"], "init": "zeros"}
  },
  "equations": [
    "f = σ(W_f @ x + U_f @ h + b_f)",
    "i = σ(W_i @ x + U_i @ h + b_i)",
    "g = tanh(W_g @ x + U_g @ h + b_g)",
    "o = σ(W_o @ x + U_o @ h + b_o)",
    "c' = f * c + i * g",
    "h' = o * tanh(c')"
  ],
  "outputs": {"h": "h'"}
}`;

describe("JSON front end", () => {
  it("builds the same IR for a hand-written lstm JSON as for specs/lstm.lstm", () => {
    const fromDsl = dslIr("specs/lstm.lstm");
    const fromJson = jsonIr(LSTM_JSON);
    expect(stripSpans({ ...fromJson, doc: [] })).toEqual(stripSpans({ ...fromDsl, doc: [] }));
  });

  it.each(SPECS)("converts specs/%s to JSON that builds the same IR", (name) => {
    const file = join("specs", name);
    const ast = parseDsl(readFileSync(file, "utf8"), file).value!;
    expect(stripSpans(jsonIr(printJson(ast)))).toEqual(stripSpans(dslIr(file)));
  });

  it("locates each IR node of a JSON spec inside the JSON file", () => {
    const ir = jsonIr(LSTM_JSON);
    const line = LSTM_JSON.split("\n").findIndex((l) => l.includes(`"c' = f * c + i * g"`)) + 1;
    const equation = ir.equations.find((e) => e.kind === "next" && e.target === "c")!;
    expect(equation.span).toMatchObject({ file: "cell.json", line, column: 6 });
  });

  it("reports a schema error with its JSON pointer and the line:column of the offending value", () => {
    const text = LSTM_JSON.replace(`"b_o": {"shape": ["H"], "init": "zeros"}`, `"b_o": {"shape": ["H"], "init": "zeroes"}`);
    const diagnostics = jsonDiagnostics(text);
    const line = text.split("\n").findIndex((l) => l.includes(`"zeroes"`)) + 1;
    const column = text.split("\n")[line - 1]!.indexOf(`"zeroes"`) + 1;
    expect(diagnostics.map(brief)).toEqual([expect.stringMatching(new RegExp(`^${line}:${column} E004 /params/b_o/init: must be "zeros", `))]);
  });

  it("reports a missing section, an unknown key and a wrong type, each with a pointer", () => {
    const text = `{\n  "cell": "x",\n  "inputs": {"x": "I"},\n  "states": {},\n  "params": {},\n  "equations": [],\n  "output": {}\n}`;
    expect(jsonDiagnostics(text).map(brief)).toEqual([
      `1:1 E004 (root): missing required property "outputs"`,
      `3:19 E004 /inputs/x: must be an array`,
      `7:3 E004 /output: unknown property "output"`,
    ]);
  });

  it("reports the error inside an initializer's arguments rather than every form it could take", () => {
    const text = `{"cell": "x", "inputs": {}, "states": {}, "params": {"b": {"shape": [2], "init": {"uniform": [0.1]}}}, "equations": [], "outputs": {}}`;
    const column = text.indexOf(`"uniform"`) + 1;
    expect(jsonDiagnostics(text).map(brief)).toEqual([`1:${column} E004 /params/b/init/uniform: must NOT have fewer than 2 items`]);
  });

  it("reports the first JSON syntax error as E003 at its line and column", () => {
    const text = `{\n  "cell": "x",\n  "inputs": {"x": ["I"],}\n}`;
    expect(jsonDiagnostics(text).map(brief)).toEqual(["3:25 E003 trailing commas are not allowed in JSON"]);
  });

  it("rejects comments, since the schema is for plain JSON", () => {
    expect(jsonDiagnostics(`// a cell\n{}`).map(brief)[0]).toBe("1:1 E003 comments are not allowed in JSON");
  });

  it("keeps a state declared twice, so the IR builder reports E102 at the second key", () => {
    const text = LSTM_JSON.replace(`"states": {"h": {"shape": ["H"]},`, `"states": {"h": {"shape": ["H"]}, "h": {"shape": ["H"]},`);
    const line = text.split("\n").findIndex((l) => l.includes(`"states"`)) + 1;
    const second = text.split("\n")[line - 1]!.lastIndexOf(`"h":`) + 1;
    const first = text.split("\n")[line - 1]!.indexOf(`"h":`) + 1;
    expect(jsonDiagnostics(text).filter((d) => d.code === "E102").map(brief)).toEqual([
      `${line}:${second} E102 'h' is already declared as a state at ${line}:${first}`,
    ]);
  });

  it("reports a repeated field that is not a name as E004", () => {
    const text = `{"cell": "x", "cell": "y", "inputs": {}, "states": {}, "params": {}, "equations": [], "outputs": {}}`;
    expect(jsonDiagnostics(text).map(brief)).toEqual([`1:15 E004 /cell: duplicate property "cell"`]);
  });

  it("points a syntax error in an equation string at its column inside the JSON file", () => {
    const text = LSTM_JSON.replace(`"g = tanh(W_g @ x + U_g @ h + b_g)"`, `"g = tanh(W_g @ x + U_g @ h + )"`);
    const line = text.split("\n").findIndex((l) => l.includes(`"g = tanh(`)) + 1;
    const column = text.split("\n")[line - 1]!.indexOf(")") + 1;
    const diagnostics = jsonDiagnostics(text);
    expect(diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code}`)).toEqual([`${line}:${column} E002`]);
  });

  it("points a name error in an output expression at the name inside the JSON file", () => {
    const text = LSTM_JSON.replace(`"outputs": {"h": "h'"}`, `"outputs": {"h": "h' + nope"}`);
    const line = text.split("\n").findIndex((l) => l.includes(`"outputs"`)) + 1;
    const column = text.split("\n")[line - 1]!.indexOf("nope") + 1;
    expect(jsonDiagnostics(text).filter((d) => d.code === "E101").map(brief)).toEqual([`${line}:${column} E101 unknown name 'nope'`]);
  });

  it("points an error in a dimension string at its column inside the JSON file", () => {
    const text = LSTM_JSON.replace(`"inputs": {"x": ["I"]}`, `"inputs": {"x": ["I + K"]}`);
    const line = text.split("\n").findIndex((l) => l.includes(`"inputs"`)) + 1;
    const column = text.split("\n")[line - 1]!.indexOf("K") + 1;
    expect(jsonDiagnostics(text).filter((d) => d.code === "E105").map((d) => `${d.span.line}:${d.span.column}`)).toEqual([`${line}:${column}`]);
  });
});

describe("lstmc convert", () => {
  const lstmc = (...args: string[]) => spawnSync(process.execPath, [LSTMC, ...args], { encoding: "utf8" });

  it("round-trips specs/gru.lstm through JSON to the same canonical DSL and IR", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-convert-"));
    const toJson = lstmc("convert", "specs/gru.lstm", "--to", "json");
    expect(toJson.stderr).toBe("");
    expect(toJson.status).toBe(0);
    const jsonFile = join(dir, "gru.json");
    writeFileSync(jsonFile, toJson.stdout);
    const back = lstmc("convert", jsonFile, "--to", "lstm");
    expect(back.status).toBe(0);
    expect(back.stdout).toBe(lstmc("convert", "specs/gru.lstm", "--to", "lstm").stdout);
    const lstmFile = join(dir, "gru.lstm");
    writeFileSync(lstmFile, back.stdout);
    expect(stripSpans(dslIr(lstmFile))).toEqual(stripSpans(dslIr("specs/gru.lstm")));
  });

  it("writes --out through a temporary file and leaves only the result", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-convert-"));
    const out = join(dir, "gru.json");
    const result = lstmc("convert", "specs/gru.lstm", "--to", "json", "--out", out);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("");
    expect(readdirSync(dir)).toEqual(["gru.json"]);
    expect(stripSpans(jsonIr(readFileSync(out, "utf8")))).toEqual(stripSpans(dslIr("specs/gru.lstm")));
  });

  it("does not create the --out file when the spec has errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstmc-convert-"));
    const spec = join(dir, "bad.lstm");
    writeFileSync(spec, "cell bad {\n  input x[I]\n  output y = x\n}\n");
    const out = join(dir, "bad.json");
    const result = lstmc("convert", spec, "--to", "json", "--out", out);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("E105");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(["bad.lstm"]);
  });

  it("rejects a missing or unknown --to as a usage error", () => {
    expect(lstmc("convert", "specs/gru.lstm").status).toBe(2);
    expect(lstmc("convert", "specs/gru.lstm", "--to", "yaml").stderr).toContain("--to must be json or lstm, not 'yaml'");
  });
});

describe("doc strings", () => {
  it("keep every line of a multi-line JSON doc string inside a comment when printed as DSL", () => {
    const text = JSON.stringify({
      cell: "c",
      doc: ["line one\n}\ncell evil {"],
      sizes: { H: 2 },
      inputs: { x: ["H"] },
      states: { h: { shape: ["H"] } },
      params: {},
      equations: ["h' = tanh(x + h)"],
      outputs: { h: "h'" },
    });
    const spec = parseJsonSpec(text, "doc.json").value!;
    const printed = printDsl(spec);
    expect(printed.split("\n").slice(0, 3)).toEqual(["# line one", "# }", "# cell evil {"]);
    const reparsed = parseDsl(printed, "doc.lstm");
    expect(reparsed.value?.name).toBe("c");
    const { doc: _a, file: _b, ...reprinted } = buildCell(reparsed.value!).ir!;
    const { doc: _c, file: _d, ...original } = buildCell(spec).ir!;
    expect(stripSpans(reprinted)).toEqual(stripSpans(original));
  });
});

describe("positions inside JSON strings with escapes", () => {
  const specWithEquation = (equation: string) =>
    ['{', '  "cell": "c",', '  "sizes": { "H": 2 },', '  "inputs": { "x": ["H"] },', '  "states": { "h": { "shape": ["H"] } },', '  "params": {},', `  "equations": ["${equation}"],`, '  "outputs": { "h": "h\'" }', "}"].join("\n");

  it.each([
    ["a \\u escape", "h' = tanh(\\u0078 + h + bias)"],
    ["a \\n escape (a line break in the equation)", "h' = tanh(x +\\n h + bias)"],
    ["a \\t escape", "h' = tanh(x\\t+ h + bias)"],
  ])("point at the character as written in the file after %s", (_, equation) => {
    const text = specWithEquation(equation);
    const spec = parseJsonSpec(text, "esc.json").value!;
    const unknown = buildCell(spec).diagnostics.find((d) => d.code === "E101")!;
    const line = text.split("\n")[6]!;
    expect({ line: unknown.span.line, column: unknown.span.column }).toEqual({ line: 7, column: line.indexOf("bias") + 1 });
    expect(unknown.span.endColumn).toBe(line.indexOf("bias") + 5);
  });
});
