// Every malformed spec in test/corpus gives its expected diagnostic code at
// its expected line and column (test/corpus/EXPECTED.txt), and never throws.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSpecText } from "../src/parse/load.ts";
import { buildCell } from "../src/ir/build.ts";
import { formatDiagnostic, type Diagnostic } from "../src/diagnostics/diagnostic.ts";

const CORPUS = join(import.meta.dirname, "corpus");

const expectations = readFileSync(join(CORPUS, "EXPECTED.txt"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const [file, code, position] = line.trim().split(/\s+/) as [string, string, string];
    const [lineNumber, column] = position.split(":").map(Number) as [number, number];
    return { file, code, line: lineNumber, column };
  });

function diagnosticsOf(file: string): { diagnostics: Diagnostic[]; text: string } {
  const text = readFileSync(join(CORPUS, file), "utf8");
  const parsed = parseSpecText(text, file);
  const diagnostics = parsed.value ? [...parsed.diagnostics, ...buildCell(parsed.value).diagnostics] : [...parsed.diagnostics];
  return { diagnostics, text };
}

describe("the malformed-spec corpus", () => {
  it("has at least 30 cases, and every file in the folder is listed", () => {
    const files = readdirSync(CORPUS).filter((f) => f.endsWith(".lstm") || f.endsWith(".json"));
    expect(expectations.length).toBeGreaterThanOrEqual(30);
    expect(files.sort()).toEqual(expectations.map((e) => e.file).sort());
  });

  it.each(expectations)("$file reports $code at $line:$column", ({ file, code, line, column }) => {
    const { diagnostics, text } = diagnosticsOf(file);
    const firstError = diagnostics.find((d) => d.severity === "error");
    expect(firstError, `no error for ${file}`).toBeDefined();
    expect({ code: firstError!.code, line: firstError!.span.line, column: firstError!.span.column }).toEqual({ code, line, column });
    // The rendered form names the file, the position and shows a caret under the fault.
    const rendered = formatDiagnostic(firstError!, text);
    expect(rendered.split("\n")[0]).toBe(`${file}:${line}:${column}: error ${code}: ${firstError!.message}`);
    expect(rendered).toMatch(/\n\s+\|\s+\^+/);
  });
});

describe("warnings", () => {
  it("reports an unused parameter as W501 without failing the build", () => {
    const text = "cell c {\n  size H = 2\n  input x[H]\n  state h[H]\n  param unused[H]\n  h' = tanh(x + h)\n  output h = h'\n}\n";
    const parsed = parseSpecText(text, "w.lstm");
    const built = buildCell(parsed.value!);
    expect(built.ir).not.toBeNull();
    expect(built.diagnostics.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["W501", 5, 3]]);
  });

  it("does not call a name unused when its only use sits in a cycle", () => {
    const { diagnostics } = diagnosticsOf("cycle_through_next.lstm");
    expect(diagnostics.map((d) => d.code)).toEqual(["E303"]);
  });
});
