// What the language server knows about a model document, as pure functions
// of its syntax tree and, when it checks, its IR: the names it declares (sizes,
// inputs, layers, outputs, its head, its own cells), hovers, where a layer's
// cell is, and where to show an error found in a cell file it uses (at the
// layer that names that file). Positions are the compiler's (1-based).
import { dirname, resolve } from "node:path";
import type { Diagnostic, Span } from "../diagnostics/diagnostic.ts";
import type { SpecAst } from "../parse/ast.ts";
import type { CellRefAst, ModelAst } from "../parse/model-ast.ts";
import type { ModelIR } from "../ir/model-types.ts";
import { formatDim, formatShape } from "../ir/dims.ts";
import { printDim } from "../parse/print-dsl.ts";

export type ModelDeclarationKind = "size" | "input" | "layer" | "output" | "head" | "cell";

export interface ModelDeclaration {
  readonly name: string;
  readonly kind: ModelDeclarationKind;
  readonly span: Span;
}

/** Every name the model declares at its own level, in the order a reader meets them. */
export function modelDeclarations(model: ModelAst): ModelDeclaration[] {
  return [
    ...model.sizes.map((d) => ({ name: d.name, kind: "size" as const, span: d.span })),
    ...model.inputs.map((d) => ({ name: d.name, kind: "input" as const, span: d.span })),
    ...model.layers.map((d) => ({ name: d.name, kind: "layer" as const, span: d.nameSpan })),
    ...model.outputs.map((d) => ({ name: d.name, kind: "output" as const, span: d.span })),
    ...(model.head ? [{ name: model.head.name, kind: "head" as const, span: model.head.span }] : []),
    ...model.cells.map((c) => ({ name: c.name, kind: "cell" as const, span: c.nameSpan })),
  ];
}

/** The model's own cell whose block holds 1-based `line`, or null when the line is in the model block (or before any cell). */
export function cellAtLine(model: ModelAst, line: number): SpecAst | null {
  // The parser keeps the cells in the file's order.
  const cell = model.cells.filter((c) => c.nameSpan.line <= line).at(-1);
  if (!cell) return null;
  const modelBetween = model.nameSpan.line > cell.nameSpan.line && model.nameSpan.line <= line;
  return modelBetween ? null : cell;
}

/** The cell file a layer's reference names, resolved as the loader resolves it. */
export function cellFilePath(modelFile: string, ref: CellRefAst & { kind: "file" }): string {
  return resolve(dirname(modelFile), ref.path);
}

/** The layer cell reference under 1-based `line` and `column`, if any. */
export function cellRefAt(model: ModelAst, line: number, column: number): CellRefAst | null {
  const inside = (s: Span) => s.line === line && column >= s.column && column <= s.endColumn;
  return model.layers.map((l) => l.cell).find((ref) => inside(ref.span)) ?? null;
}

function describeCellRef(ref: CellRefAst): string {
  return ref.kind === "file" ? ref.path : "this file";
}

/** Markdown for a hover over `word` in the model block: what it is, with widths from the IR when the model checks. */
export function modelHoverText(model: ModelAst, ir: ModelIR | null, word: string): string | null {
  const size = model.sizes.find((s) => s.name === word);
  if (size) return `size \`${word}\`${size.default === null ? "" : ` = ${size.default}`}`;
  const input = model.inputs.find((i) => i.name === word);
  if (input) return `input \`${word}\`: [${printDim(input.shape[0]!)}]`;
  const layer = model.layers.find((l) => l.name === word);
  if (layer) {
    const built = ir?.layers.find((l) => l.name === word);
    const cell = built ? `\`${built.cell.name}\` (${describeCellRef(layer.cell)})` : describeCellRef(layer.cell);
    const outputs = built ? `; outputs ${Object.entries(built.outputWidths).map(([name, width]) => `${name} [${formatDim(width)}]`).join(", ")}` : "";
    return `layer \`${word}\`: ${cell}, ${layer.direction}${outputs}`;
  }
  const output = ir?.outputs.find((o) => o.name === word);
  if (output) return `output \`${word}\`: [${formatDim(output.width)}]`;
  if (model.outputs.some((o) => o.name === word)) return `output \`${word}\``;
  const head = model.head;
  if (head?.name === word) return `head \`${word}\`: [${printDim(head.size)}], linear${head.at === "last" ? " at each row's last valid step" : " at every step"}${model.loss ? `, ${model.loss.kind}` : ""}`;
  return null;
}

/** The layer a word is read from when it follows `LAYER.` (the `h` of `L1.h`, the `c` of `L1.c'`), else null. */
export function wireLayerBefore(lineText: string, column: number): string | null {
  return /([A-Za-z_][A-Za-z0-9_]*)\.$/.exec(lineText.slice(0, column - 1))?.[1] ?? null;
}

/** Markdown for a hover over the output or state part of a wire `layer.name`. */
export function wireHoverText(model: ModelAst, ir: ModelIR | null, layer: string, name: string): string | null {
  if (!model.layers.some((l) => l.name === layer)) return null;
  const built = ir?.layers.find((l) => l.name === layer);
  const width = built?.outputWidths[name];
  if (width) return `output \`${name}\` of layer \`${layer}\`: [${formatDim(width)}]`;
  const state = built?.cell.states.find((s) => s.name === name);
  if (state) return `state \`${name}\` of layer \`${layer}\` (\`${name}'\`: after the step): ${formatShape(state.shape)} in its cell's sizes`;
  return `\`${name}\` of layer \`${layer}\``;
}

/** A diagnostic as the model's document shows it, and where it really is when that is a cell file. */
export interface LocatedInModel {
  readonly diagnostic: Diagnostic;
  readonly origin: Span | null;
}

/**
 * Diagnostics of the model's own file as they are; one found in a cell file
 * the model uses is moved to the first layer that names that file, its
 * message prefixed with where it is (`lstm.lstm:28:25: …`), and its own
 * location kept as the origin.
 */
export function diagnosticsAtUse(model: ModelAst | null, modelFile: string, diagnostics: readonly Diagnostic[]): LocatedInModel[] {
  return diagnostics.map((d) => {
    if (d.span.file === modelFile || !model) return { diagnostic: d, origin: null };
    const ref = model.layers.map((l) => l.cell).find((r): r is CellRefAst & { kind: "file" } => r.kind === "file" && cellFilePath(modelFile, r) === d.span.file);
    const at = ref?.span ?? model.nameSpan;
    const where = `${ref?.path ?? d.span.file}:${d.span.line}:${d.span.column}`;
    return { diagnostic: { ...d, span: at, message: `${where}: ${d.message}` }, origin: d.span };
  });
}
