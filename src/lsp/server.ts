// `lstmc lsp`: a Language Server for .lstm (and spec .json) files on stdin and
// stdout. Every change is checked with the library's check(); hover, go to
// definition and completion read the last spec that parsed, so they keep
// working while the user types a line that does not. A model reads its cell
// files from the open documents first (so an unsaved edit counts), is checked
// again when one of them changes (in the editor or, where the client watches
// files for the server, on disk), and shows an error in one at its layer.
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Readable, Writable } from "node:stream";
import {
  CompletionItemKind,
  createConnection,
  DidChangeWatchedFilesNotification,
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
import { cellAtLine, cellFilePath, cellRefAt, diagnosticsAtUse, modelDeclarations, modelHoverText, wireHoverText, wireLayerBefore, type ModelDeclarationKind } from "./model-features.ts";
import type { SpecAst } from "../parse/ast.ts";
import { readCellFile } from "../parse/load-model.ts";
import type { CellIR } from "../ir/types.ts";

/** The spec's path for diagnostics; a document that is not a file keeps its URI. */
function fileOf(uri: string): string {
  return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
}

function rangeOf(span: Span): Range {
  return { start: { line: span.line - 1, character: span.column - 1 }, end: { line: span.endLine - 1, character: span.endColumn - 1 } };
}

/** `origin`: where a diagnostic shown at a model's layer really is (a cell file), as related information. */
export function toLspDiagnostic(d: Diagnostic, origin: Span | null = null): LspDiagnostic {
  return {
    range: rangeOf(d.span),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "lstmc",
    message: d.message,
    ...(origin && { relatedInformation: [{ location: { uri: pathToFileURL(origin.file).href, range: rangeOf(origin) }, message: "the error in the cell file" }] }),
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

const MODEL_COMPLETION_KIND: Record<ModelDeclarationKind, CompletionItemKind> = {
  size: CompletionItemKind.Constant,
  input: CompletionItemKind.Variable,
  layer: CompletionItemKind.Module,
  output: CompletionItemKind.Variable,
  head: CompletionItemKind.Variable,
  cell: CompletionItemKind.Class,
};

/** The cell a position of a document is in: the document's own, or a model's cell block there (with its IR when the model checks). */
function cellAt(outcome: CheckOutcome, line: number): { readonly spec: SpecAst; readonly ir: CellIR | null } | null {
  if (outcome.spec) return { spec: outcome.spec, ir: outcome.ir };
  const spec = outcome.model && cellAtLine(outcome.model, line);
  return spec ? { spec, ir: outcome.modelIr?.layers.find((l) => l.cell.name === spec.name)?.cell ?? null } : null;
}

function uniqueByName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  return items.filter((d, i, all) => all.findIndex((e) => e.name === d.name) === i);
}

/** Labels to complete in a model: its names, each layer's outputs as wires (`L1.h`), and in its own cells, theirs. */
function modelCompletions(outcome: CheckOutcome): CompletionItem[] {
  const model = outcome.model!;
  const wires = (outcome.modelIr?.layers ?? []).flatMap((l) => Object.keys(l.outputWidths).map((o) => ({ label: `${l.name}.${o}`, kind: CompletionItemKind.Variable, detail: `${l.name}'s output` })));
  const cellNames = uniqueByName(model.cells.flatMap(declarations)).map((d) => ({ label: d.name, kind: COMPLETION_KIND[d.kind], detail: d.kind }));
  return [...uniqueByName(modelDeclarations(model)).map((d) => ({ label: d.name, kind: MODEL_COMPLETION_KIND[d.kind], detail: d.kind })), ...wires, ...cellNames];
}

/** The cell language's functions, where cells are written. */
function functionCompletions(inCells: boolean): CompletionItem[] {
  return inCells ? FUNCTION_NAMES.map((name) => ({ label: name, kind: CompletionItemKind.Function, detail: "function" })) : [];
}

/** Wires the language features to a connection; returns when the client has disconnected. */
export function serve(connection: Connection): Promise<void> {
  const documents = new TextDocuments(TextDocument);
  const lastParsed = new Map<string, CheckOutcome>();

  const outcomeAt = (uri: string, position: Position) => {
    const document = documents.get(uri);
    const outcome = lastParsed.get(uri);
    if (!document || !(outcome?.spec || outcome?.model)) return null;
    const lineText = document.getText({ start: { line: position.line, character: 0 }, end: { line: position.line + 1, character: 0 } });
    const text = lineText.replace(/\r?\n$/, "");
    const word = wordAt(text, position.character + 1);
    return word ? { outcome, word, line: position.line, wireLayer: wireLayerBefore(text, word.column) } : null;
  };

  /** An open document's text by file path: a model reads its cells from the editor before the disk. */
  const openText = (path: string) => documents.all().find((d) => fileOf(d.uri) === path)?.getText();
  const readFile = (path: string) => openText(path) ?? readCellFile(path);

  const validate = (document: TextDocument) => {
    const file = fileOf(document.uri);
    const outcome = check(document.getText(), { file, format: document.uri.endsWith(".json") ? "json" : "lstm", readFile });
    if (outcome.spec || outcome.model) lastParsed.set(document.uri, outcome);
    const shown = diagnosticsAtUse(outcome.model, file, outcome.diagnostics);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: shown.map((d) => toLspDiagnostic(d.diagnostic, d.origin)) });
  };

  /** The open models that read `uri`'s file as a cell: checked again when it changes or closes. */
  const revalidateUsers = (uri: string) => {
    const file = fileOf(uri);
    for (const document of documents.all()) if (document.uri !== uri && lastParsed.get(document.uri)?.cellFiles.includes(file)) validate(document);
  };

  documents.onDidChangeContent(({ document }) => {
    validate(document);
    revalidateUsers(document.uri);
  });
  documents.onDidClose(({ document }) => {
    lastParsed.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
    // Its users now read the file on disk.
    revalidateUsers(document.uri);
  });

  // A cell file edited outside the editor: the client tells of it where it can be asked to watch.
  let watchSpecFiles = false;
  connection.onInitialize(({ capabilities }) => {
    watchSpecFiles = capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        completionProvider: {},
      },
      serverInfo: { name: "lstmc" },
    };
  });
  connection.onInitialized(() => {
    if (watchSpecFiles) void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: "**/*.{lstm,json}" }] });
  });
  connection.onDidChangeWatchedFiles(({ changes }) => {
    for (const change of changes) revalidateUsers(change.uri);
  });

  connection.onHover(({ textDocument, position }) => {
    const at = outcomeAt(textDocument.uri, position);
    if (!at) return null;
    const cell = cellAt(at.outcome, at.line + 1);
    const { model, modelIr } = at.outcome;
    const text = cell
      ? hoverText(cell.spec, cell.ir, at.word.word)
      : at.wireLayer
        ? wireHoverText(model!, modelIr, at.wireLayer, at.word.word)
        : modelHoverText(model!, modelIr, at.word.word);
    if (!text) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: text },
      range: { start: { line: at.line, character: at.word.column - 1 }, end: { line: at.line, character: at.word.endColumn - 1 } },
    };
  });

  connection.onDefinition(({ textDocument, position }) => {
    const at = outcomeAt(textDocument.uri, position);
    if (!at) return null;
    const cell = cellAt(at.outcome, at.line + 1);
    if (cell) {
      const declaration = findDeclaration(cell.spec, at.word.word);
      return declaration ? { uri: textDocument.uri, range: rangeOf(declaration.span) } : null;
    }
    // The `h` of `L1.h` is declared in L1's cell, not in the model.
    if (at.wireLayer) return null;
    const model = at.outcome.model!;
    // A layer's cell: the file it names, or the cell block in this file.
    const ref = cellRefAt(model, position.line + 1, position.character + 1);
    if (ref?.kind === "file") return { uri: pathToFileURL(cellFilePath(fileOf(textDocument.uri), ref)).href, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    const declaration = modelDeclarations(model).find((d) => d.name === at.word.word && (ref === null || d.kind === "cell"));
    return declaration ? { uri: textDocument.uri, range: rangeOf(declaration.span) } : null;
  });

  connection.onCompletion(({ textDocument }): CompletionItem[] => {
    const outcome = lastParsed.get(textDocument.uri);
    if (outcome?.model) return [...modelCompletions(outcome), ...functionCompletions(outcome.model.cells.length > 0)];
    const names = outcome?.spec ? uniqueByName(declarations(outcome.spec)) : [];
    return [...names.map((d) => ({ label: d.name, kind: COMPLETION_KIND[d.kind], detail: d.kind })), ...functionCompletions(true)];
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
