// What every command does first: read a spec, check it, and report its
// diagnostics. Shared by main.ts and the commands in their own modules.
import { CodedError, escapeForTerminal, formatDiagnostics, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { readFileSync } from "node:fs";
import { loadSpecFile, MAX_SPEC_BYTES, parseSpecText, type LoadedSpec } from "../parse/load.ts";
import { colourDiagnostic, useColour } from "./colour.ts";
import type { SpecAst } from "../parse/ast.ts";
import { buildCell } from "../ir/build.ts";
import type { CellIR } from "../ir/types.ts";
import type { ModelIR } from "../ir/model-types.ts";
import type { ModelAst } from "../parse/model-ast.ts";
import { isModelText } from "../parse/model.ts";
import { parseModelText } from "../parse/load-model.ts";
import { check } from "../index.ts";
import { readTextFile } from "../parse/load.ts";
import { diagnostic } from "../diagnostics/diagnostic.ts";
import type { MessageArgument, MessageId } from "../diagnostics/catalogue.ts";

/** A mistake in the command line; main prints it with a pointer to --help (exit 2). */
export class UsageError extends Error {}

/** Thrown when diagnostics have already been printed (exit 1). */
export class ReportedFailure extends Error {}

/** Prints a file's diagnostics, at most MAX_PRINTED_DIAGNOSTICS of them. */
export function printDiagnostics(diagnostics: readonly Diagnostic[], text: string | null): void {
  const colour = useColour(process.env, process.stderr.isTTY === true);
  for (const line of formatDiagnostics(diagnostics, text ?? undefined)) console.error(colour ? colourDiagnostic(line) : line);
}

/** A line for the terminal with anything from the user (file names, names in a spec) escaped. */
export function report(text: string): void {
  console.error(escapeForTerminal(text));
}

/** The SPEC argument that means standard input, and the name diagnostics give it. */
export const STDIN = "-";
export const STDIN_NAME = "<stdin>";

/** Standard input, read once: `lstmc check - -` sees the same text twice rather than an empty second spec. */
let stdinText: string | undefined;

function readStdin(): string {
  stdinText ??= readFileSync(0, "utf8");
  return stdinText;
}

/**
 * A spec file, or standard input for `-`: JSON when its first non-blank
 * character is '{' (a .lstm spec starts with `cell`), the cell language
 * otherwise. Standard input is held to the same size limit as a file.
 */
export function loadSpec(file: string): LoadedSpec {
  if (file !== STDIN) return loadSpecFile(file);
  const text = readStdin();
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) throw new CodedError("fileTooLarge", STDIN_NAME, Buffer.byteLength(text), MAX_SPEC_BYTES);
  return { file: STDIN_NAME, text, ...parseSpecText(text, STDIN_NAME, /^\uFEFF?\s*\{/.test(text) ? "json" : "lstm") };
}

/** SPEC's text, or null when it cannot be read (loadSpec then reports why). */
function specText(file: string): string | null {
  if (file === STDIN) return readStdin();
  try {
    return readTextFile(file, MAX_SPEC_BYTES);
  } catch (e) {
    if (e instanceof CodedError) return null;
    throw e;
  }
}

/** Whether SPEC holds a model rather than a cell. */
export function isModelSpec(file: string): boolean {
  const text = specText(file);
  return text !== null && isModelText(text);
}

/** Loads, parses and checks a model and the cells it names; prints its diagnostics; throws if it has errors. */
export function loadCheckedModel(file: string): { readonly model: ModelAst; readonly ir: ModelIR; readonly text: string } {
  const { diagnostics, model, ir, text } = checkModel(file);
  printDiagnostics(diagnostics, text);
  if (!model || !ir || hasErrors(diagnostics)) throw new ReportedFailure();
  return { model, ir, text };
}

/** A model's diagnostics (parse, its cells' files, build), its syntax tree when it parses, and its IR when it has no errors. */
export function checkModel(file: string): { readonly diagnostics: readonly Diagnostic[]; readonly model: ModelAst | null; readonly ir: ModelIR | null; readonly text: string } {
  const text = specText(file) ?? "";
  const checked = check(text, { file: file === STDIN ? STDIN_NAME : file });
  return { diagnostics: checked.diagnostics, model: checked.model, ir: checked.modelIr, text };
}

/**
 * Refuses a model where a command handles cells only: a located error at the
 * model's name (exit 1), the catalogue's `id` filled with `args`.
 */
export function refuseModel(file: string, id: MessageId, ...args: MessageArgument[]): void {
  if (!isModelSpec(file)) return;
  printDiagnostics([modelRefusal(file, id, ...args)], specText(file));
  throw new ReportedFailure();
}

/** A diagnostic at a model's name (its first line if it does not parse). */
export function modelRefusal(file: string, id: MessageId, ...args: MessageArgument[]): Diagnostic {
  const name = file === STDIN ? STDIN_NAME : file;
  const at = parseModelText(specText(file) ?? "", name).value?.nameSpan ?? { file: name, line: 1, column: 1, endLine: 1, endColumn: 1 };
  return diagnostic(id, at, ...args);
}

/** Loads, parses and checks a spec; prints its diagnostics; throws if it has errors. */
export function loadCheckedSpec(file: string): { readonly spec: SpecAst; readonly ir: CellIR; readonly text: string } {
  const loaded = loadSpec(file);
  if (!loaded.value) {
    printDiagnostics(loaded.diagnostics, loaded.text);
    throw new ReportedFailure();
  }
  const built = buildCell(loaded.value);
  printDiagnostics(built.diagnostics, loaded.text);
  if (!built.ir || hasErrors(built.diagnostics)) throw new ReportedFailure();
  return { spec: loaded.value, ir: built.ir, text: loaded.text ?? "" };
}

export function loadCell(file: string): CellIR {
  return loadCheckedSpec(file).ir;
}
