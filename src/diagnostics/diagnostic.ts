import { catalogue, type DiagnosticCode, type Severity } from "./catalogue.ts";

/** A location in a source file. Lines and columns are 1-based; `end*` is exclusive. */
export interface Span {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
}

export function diagnostic(code: DiagnosticCode, message: string, span: Span): Diagnostic {
  return { code, severity: catalogue[code].severity, message, span };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Thrown by library entry points that cannot return a result; carries located diagnostics. */
export class DiagnosticError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => `${d.span.file}:${d.span.line}:${d.span.column} ${d.code}: ${d.message}`).join("\n"));
    this.diagnostics = diagnostics;
  }
}

/**
 * Renders a diagnostic as `file:line:col: error E201: message` followed by the
 * source line and a caret run under the offending span, as tsc and Babel do.
 */
export function formatDiagnostic(d: Diagnostic, sourceText: string | undefined): string {
  const { file, line, column } = d.span;
  const head = `${file}:${line}:${column}: ${d.severity} ${d.code}: ${d.message}`;
  if (sourceText === undefined) return head;
  const lines = sourceText.split(/\r?\n/);
  const text = lines[line - 1];
  if (text === undefined) return head;
  const gutter = String(line);
  const pad = " ".repeat(gutter.length);
  const width = d.span.endLine === line ? Math.max(1, d.span.endColumn - column) : Math.max(1, text.length - column + 1);
  const caretLead = text.slice(0, column - 1).replace(/[^\t]/g, " ");
  return `${head}\n ${gutter} | ${text}\n ${pad} | ${caretLead}${"^".repeat(width)}`;
}

export function spanFromOffsets(file: string, text: string, start: number, end: number): Span {
  const a = lineColumnAt(text, start);
  const b = lineColumnAt(text, Math.max(start, end));
  return { file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
}

export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const stop = Math.min(offset, text.length);
  for (let i = 0; i < stop; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: stop - lineStart + 1 };
}
