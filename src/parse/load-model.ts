// Reads a model file and the spec files its layers name (relative to the
// model's own file). A missing or unreadable cell file is a diagnostic at the
// place the model names it.
import { dirname, resolve } from "node:path";
import { CodedError, diagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { SpecAst } from "./ast.ts";
import { MAX_SPEC_BYTES, parseSpecText, readTextFile, withoutByteOrderMark } from "./load.ts";
import { isModelText, parseModelDsl } from "./model.ts";
import { parseModelJson } from "./model-json.ts";
import type { ParseResult } from "./dsl.ts";
import { cellKey, type ModelAst } from "./model-ast.ts";

export interface LoadedModel {
  readonly model: ModelAst | null;
  /** The cells of the layers that name a file, by `cellKey`. */
  readonly cells: ReadonlyMap<string, SpecAst>;
  /** Every cell file the model names, resolved, read or not: what a watcher watches (a missing one may appear). */
  readonly cellFiles: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Reads a cell file by its resolved path. It throws a CodedError (cannotRead,
 * fileTooLarge, ...) for a file it cannot give; the loader locates that at
 * the layer that names the file.
 */
export type CellFileReader = (path: string) => string;

/** The file system, with the size limit every spec file has. */
export const readCellFile: CellFileReader = (path) => readTextFile(path, MAX_SPEC_BYTES);

/** A model in either front end's syntax: JSON when the text is an object. */
export function parseModelText(text: string, file: string): ParseResult<ModelAst> {
  const source = withoutByteOrderMark(text);
  return /^\s*\{/.test(source) ? parseModelJson(source, file) : parseModelDsl(source, file);
}

/** Parses a model's text and reads the cell files it names, relative to the model's `file`. */
export function loadModelText(text: string, file: string, readCell: CellFileReader = readCellFile): LoadedModel {
  const parsed = parseModelText(text, file);
  const cells = new Map<string, SpecAst>();
  if (!parsed.value) return { model: null, cells, cellFiles: [], diagnostics: parsed.diagnostics };
  const diagnostics: Diagnostic[] = [];
  const cellFiles: string[] = [];
  const seen = new Set<string>();
  for (const layer of parsed.value.layers) {
    const ref = layer.cell;
    if (ref.kind !== "file" || seen.has(cellKey(ref))) continue;
    seen.add(cellKey(ref));
    const path = resolve(dirname(file), ref.path);
    cellFiles.push(path);
    let cellText: string;
    try {
      cellText = readCell(path);
    } catch (e) {
      if (!(e instanceof CodedError)) throw e;
      diagnostics.push(diagnostic(e.id, ref.span, ...e.args));
      continue;
    }
    if (isModelText(cellText)) {
      diagnostics.push(diagnostic("cellFileIsModel", ref.span, ref.path));
      continue;
    }
    const cell = parseSpecText(cellText, path);
    diagnostics.push(...cell.diagnostics);
    if (cell.value) cells.set(cellKey(ref), cell.value);
  }
  return { model: parsed.value, cells, cellFiles, diagnostics };
}

/** Reads a model file; an unreadable one is a diagnostic at its first line. */
export function loadModelFile(file: string): LoadedModel & { readonly text: string | null } {
  let text: string;
  try {
    text = readTextFile(file, MAX_SPEC_BYTES);
  } catch (e) {
    if (!(e instanceof CodedError)) throw e;
    const at = { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return { model: null, cells: new Map(), cellFiles: [], text: null, diagnostics: [diagnostic(e.id, at, ...e.args)] };
  }
  return { ...loadModelText(text, file), text };
}

/** Whether a spec file holds a model (the commands that handle cells only skip or refuse it). */
export function isModelFile(file: string): boolean {
  return isModelText(readTextFile(file, MAX_SPEC_BYTES));
}
