// What every command does first: read a spec, check it, and report its
// diagnostics. Shared by main.ts and the commands in their own modules.
import { escapeForTerminal, formatDiagnostics, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { loadSpecFile } from "../parse/load.ts";
import type { SpecAst } from "../parse/ast.ts";
import { buildCell } from "../ir/build.ts";
import type { CellIR } from "../ir/types.ts";

/** A mistake in the command line; main prints it with a pointer to --help (exit 2). */
export class UsageError extends Error {}

/** Thrown when diagnostics have already been printed (exit 1). */
export class ReportedFailure extends Error {}

/** Prints a file's diagnostics, at most MAX_PRINTED_DIAGNOSTICS of them. */
export function printDiagnostics(diagnostics: readonly Diagnostic[], text: string | null): void {
  for (const line of formatDiagnostics(diagnostics, text ?? undefined)) console.error(line);
}

/** A line for the terminal with anything from the user (file names, names in a spec) escaped. */
export function report(text: string): void {
  console.error(escapeForTerminal(text));
}

/** Loads, parses and checks a spec; prints its diagnostics; throws if it has errors. */
export function loadCheckedSpec(file: string): { readonly spec: SpecAst; readonly ir: CellIR } {
  const loaded = loadSpecFile(file);
  if (!loaded.value) {
    printDiagnostics(loaded.diagnostics, loaded.text);
    throw new ReportedFailure();
  }
  const built = buildCell(loaded.value);
  printDiagnostics(built.diagnostics, loaded.text);
  if (!built.ir || hasErrors(built.diagnostics)) throw new ReportedFailure();
  return { spec: loaded.value, ir: built.ir };
}

export function loadCell(file: string): CellIR {
  return loadCheckedSpec(file).ir;
}
