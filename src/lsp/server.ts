// `lstmc lsp`: a Language Server for .lstm (and spec .json) files on stdin and
// stdout. Every change is checked with the library's check(); hover, go to
// definition and completion read the last spec that parsed, so they keep
// working while the user types a line that does not.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import {
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  MarkupKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CompletionItem,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Position,
  type Range,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { check, type CheckOutcome, type Diagnostic, type Span } from "../index.ts";
import { declarations, FUNCTION_NAMES, findDeclaration, hoverText, wordAt, type DeclarationKind } from "./features.ts";

/** The spec's path for diagnostics; a document that is not a file keeps its URI. */
function fileOf(uri: string): string {
  return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
}

function rangeOf(span: Span): Range {
  return { start: { line: span.line - 1, character: span.column - 1 }, end: { line: span.endLine - 1, character: span.endColumn - 1 } };
}

export function toLspDiagnostic(d: Diagnostic): LspDiagnostic {
  return {
    range: rangeOf(d.span),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "lstmc",
    message: d.message,
  };
}

const COMPLETION_KIND: Record<DeclarationKind, CompletionItemKind> = {
  size: CompletionItemKind.Constant,
  input: CompletionItemKind.Variable,
  state: CompletionItemKind.Variable,
  param: CompletionItemKind.Field,
  const: CompletionItemKind.Constant,
  intermediate: CompletionItemKind.Variable,
  output: CompletionItemKind.Variable,
};

/** Wires the language features to a connection; returns when the client has disconnected. */
export function serve(connection: Connection): Promise<void> {
  const documents = new TextDocuments(TextDocument);
  const lastParsed = new Map<string, CheckOutcome>();

  const outcomeAt = (uri: string, position: Position) => {
    const document = documents.get(uri);
    const outcome = lastParsed.get(uri);
    if (!document || !outcome?.spec) return null;
    const lineText = document.getText({ start: { line: position.line, character: 0 }, end: { line: position.line + 1, character: 0 } });
    const word = wordAt(lineText.replace(/\r?\n$/, ""), position.character + 1);
    return word ? { outcome, spec: outcome.spec, word, line: position.line } : null;
  };

  documents.onDidChangeContent(({ document }) => {
    const outcome = check(document.getText(), { file: fileOf(document.uri), format: document.uri.endsWith(".json") ? "json" : "lstm" });
    if (outcome.spec) lastParsed.set(document.uri, outcome);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: outcome.diagnostics.map(toLspDiagnostic) });
  });
  documents.onDidClose(({ document }) => {
    lastParsed.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      completionProvider: {},
    },
    serverInfo: { name: "lstmc" },
  }));

  connection.onHover(({ textDocument, position }) => {
    const at = outcomeAt(textDocument.uri, position);
    const text = at && hoverText(at.spec, at.outcome.ir, at.word.word);
    if (!at || !text) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: text },
      range: { start: { line: at.line, character: at.word.column - 1 }, end: { line: at.line, character: at.word.endColumn - 1 } },
    };
  });

  connection.onDefinition(({ textDocument, position }) => {
    const at = outcomeAt(textDocument.uri, position);
    const declaration = at && findDeclaration(at.spec, at.word.word);
    return declaration ? { uri: textDocument.uri, range: rangeOf(declaration.span) } : null;
  });

  connection.onCompletion(({ textDocument }): CompletionItem[] => {
    const spec = lastParsed.get(textDocument.uri)?.spec;
    const names = spec ? declarations(spec).filter((d, i, all) => all.findIndex((e) => e.name === d.name) === i) : [];
    return [
      ...names.map((d) => ({ label: d.name, kind: COMPLETION_KIND[d.kind], detail: d.kind })),
      ...FUNCTION_NAMES.map((name) => ({ label: name, kind: CompletionItemKind.Function, detail: "function" })),
    ];
  });

  documents.listen(connection);
  const closed = new Promise<void>((resolve) => connection.onExit(resolve));
  connection.listen();
  return closed;
}

export function startServer(input: Readable, output: Writable): Promise<void> {
  return serve(createConnection(input, output));
}

/** `lstmc lsp [--stdio]`: LSP on stdin and stdout, the only transport; anything else is a usage error from parseArgs. */
export async function commandLsp(args: string[]): Promise<number> {
  parseArgs({ args, options: { stdio: { type: "boolean" } } });
  await startServer(process.stdin, process.stdout);
  return 0;
}
