// Reads a spec file in either front end's syntax, chosen by its extension.
import { readFileSync } from "node:fs";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { SpecAst } from "./ast.ts";
import { parseDsl, type ParseResult } from "./dsl.ts";
import { parseJsonSpec } from "./json.ts";

export interface LoadedSpec extends ParseResult<SpecAst> {
  readonly file: string;
  /** The file's text, for diagnostics with a source excerpt; null if unreadable. */
  readonly text: string | null;
}

export type SpecFormat = "lstm" | "json";

export function formatOf(file: string): SpecFormat {
  return file.toLowerCase().endsWith(".json") ? "json" : "lstm";
}

export function parseSpecText(text: string, file: string, format: SpecFormat = formatOf(file)): ParseResult<SpecAst> {
  if (format === "json") return parseJsonSpec(text, file);
  return parseDsl(text, file);
}

export function loadSpecFile(file: string): LoadedSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    const d: Diagnostic = diagnostic("E005", `cannot read ${file}: ${reason}`, { file, line: 1, column: 1, endLine: 1, endColumn: 1 });
    return { file, text: null, value: null, diagnostics: [d] };
  }
  return { file, text, ...parseSpecText(text, file) };
}
