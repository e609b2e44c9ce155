import { codes, formatMessage, messages, type DiagnosticCode, type MessageArgument, type MessageId, type Severity } from "./catalogue.ts";

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

/** A located diagnostic: the catalogue's message `id` with its holes filled by `args`. */
export function diagnostic(id: MessageId, span: Span, ...args: MessageArgument[]): Diagnostic {
  const code = messages[id].code;
  return { code, severity: codes[code].severity, message: formatMessage(id, args), span };
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
 * A user error with no place in a spec file: a size binding, run data, a file
 * that cannot be written. It carries a catalogue code like a diagnostic, and
 * the CLI reports it as `error CODE: message` with exit 1.
 */
export class CodedError extends Error {
  readonly code: DiagnosticCode;
  readonly id: MessageId;
  readonly args: readonly MessageArgument[];
  constructor(id: MessageId, ...args: MessageArgument[]) {
    super(formatMessage(id, args));
    this.code = messages[id].code;
    this.id = id;
    this.args = args;
  }
}

/** Every way a line can end, treated alike by the lexer, the locator and the excerpt. */
export const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029/;

/**
 * Makes text safe to print on a terminal: control characters (which could
 * move the cursor, recolour or clear the screen), line and paragraph
 * separators, and lone line breaks inside a one-line message are written as
 * `\u001b`-style escapes. Tabs are kept, since carets line up under them.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** At most this many characters of a source line are shown in an excerpt; a longer line is shown as a window around the fault. */
const EXCERPT_WIDTH = 120;

/**
 * Renders a diagnostic as `file:line:col: error E201: message` followed by the
 * source line and a caret run under the offending span, as tsc and Babel do.
 */
export function formatDiagnostic(d: Diagnostic, sourceText: string | undefined): string {
  const { file, line, column } = d.span;
  const head = escapeForTerminal(`${file}:${line}:${column}: ${d.severity} ${d.code}: ${d.message}`);
  if (sourceText === undefined) return head;
  const text = sourceLine(sourceText, line);
  if (text === undefined) return head;
  const width = d.span.endLine === line ? Math.max(1, d.span.endColumn - column) : Math.max(1, text.length - column + 1);
  const start = Math.max(0, Math.min(column - 1 - EXCERPT_WIDTH / 2, text.length - EXCERPT_WIDTH));
  const shown = text.slice(start, start + EXCERPT_WIDTH);
  const lead = start > 0 ? "…" : "";
  const tail = start + EXCERPT_WIDTH < text.length ? "…" : "";
  const caretStart = column - 1 - start;
  const caretWidth = Math.max(1, Math.min(width, shown.length - caretStart));
  const excerpt = escapeForTerminal(shown);
  // Escaping widens a character to six; the caret lead widens with it.
  const caretLead = escapeForTerminal(shown.slice(0, caretStart)).replace(/[^\t]/g, " ");
  const gutter = String(line);
  const pad = " ".repeat(gutter.length);
  return `${head}\n ${gutter} | ${lead}${excerpt}${tail}\n ${pad} | ${" ".repeat(lead.length)}${caretLead}${"^".repeat(caretWidth)}`;
}

/** Line `line` (1-based) of `text`, without splitting the whole text. */
function sourceLine(text: string, line: number): string | undefined {
  const pattern = new RegExp(LINE_BREAK.source, "g");
  let start = 0;
  for (let current = 1; current < line; current++) {
    const match = pattern.exec(text);
    if (!match) return undefined;
    start = match.index + match[0].length;
  }
  pattern.lastIndex = start;
  const end = pattern.exec(text);
  return text.slice(start, end ? end.index : text.length);
}

/** At most this many diagnostics are printed for one file; the rest are counted. */
export const MAX_PRINTED_DIAGNOSTICS = 50;

/** The diagnostics of one file as printed: the first MAX_PRINTED_DIAGNOSTICS, then "… and N more". */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sourceText: string | undefined): string[] {
  const shown = diagnostics.slice(0, MAX_PRINTED_DIAGNOSTICS).map((d) => formatDiagnostic(d, sourceText));
  const hidden = diagnostics.length - shown.length;
  if (hidden > 0) shown.push(`… and ${hidden} more`);
  return shown;
}

/**
 * Line and column lookups in one text. The line starts are found once, so a
 * lookup is a binary search: a JSON spec asks for the position of every
 * node, and scanning from the start each time made a 1 MB file take minutes.
 */
export class LineMap {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    const pattern = new RegExp(LINE_BREAK.source, "g");
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) this.starts.push(m.index + m[0].length);
  }

  /** The 1-based line and column of `offset`; CR LF counts as one line break, like CR, LF, U+2028 and U+2029 alone. */
  at(offset: number): { line: number; column: number } {
    const stop = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= stop) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: stop - this.starts[low]! + 1 };
  }

  span(file: string, start: number, end: number): Span {
    const a = this.at(start);
    const b = this.at(Math.max(start, end));
    return { file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}
