// What the language server knows about one .lstm document, as pure functions
// of the checked spec: the declaration a name refers to, its shape, the names
// and functions to complete. Positions here are the compiler's (1-based line
// and column); server.ts converts to and from the protocol's.
import type { Span } from "../diagnostics/diagnostic.ts";
import type { SpecAst } from "../parse/ast.ts";
import { evaluateDim, formatShape } from "../ir/dims.ts";
import { KNOWN_FUNCTIONS } from "../ir/functions.ts";
import { UNARY_FUNCTIONS, type CellIR, type Shape } from "../ir/types.ts";
import { printDim } from "../parse/print-dsl.ts";

export type DeclarationKind = "size" | "input" | "state" | "param" | "const" | "intermediate" | "output";

export interface Declaration {
  readonly name: string;
  readonly kind: DeclarationKind;
  /** Where the name is declared (for an intermediate, the target of its equation). */
  readonly span: Span;
}

/** `σ` is the cell language's spelling of `sigmoid`. */
export const FUNCTION_NAMES: readonly string[] = [...KNOWN_FUNCTIONS, "σ"];

/** Every name the spec declares, in the order a reader meets them; outputs last, since an output may share a state's name. */
export function declarations(spec: SpecAst): Declaration[] {
  return [
    ...spec.sizes.map((d) => ({ name: d.name, kind: "size" as const, span: d.span })),
    ...spec.inputs.map((d) => ({ name: d.name, kind: "input" as const, span: d.span })),
    ...spec.states.map((d) => ({ name: d.name, kind: "state" as const, span: d.span })),
    ...spec.params.map((d) => ({ name: d.name, kind: "param" as const, span: d.span })),
    ...spec.consts.map((d) => ({ name: d.name, kind: "const" as const, span: d.span })),
    ...spec.equations.filter((e) => !e.next).map((e) => ({ name: e.target, kind: "intermediate" as const, span: e.targetSpan })),
    ...spec.outputs.map((d) => ({ name: d.name, kind: "output" as const, span: d.span })),
  ];
}

export function findDeclaration(spec: SpecAst, name: string): Declaration | undefined {
  return declarations(spec).find((d) => d.name === name);
}

/** The identifier (or `σ`) under 1-based `column` of `lineText`, with its columns; a trailing `'` is not part of it. */
export function wordAt(lineText: string, column: number): { readonly word: string; readonly column: number; readonly endColumn: number } | null {
  for (const match of lineText.matchAll(/[A-Za-z_][A-Za-z0-9_]*|σ/g)) {
    const start = match.index + 1;
    const end = start + match[0].length;
    if (column >= start && column <= end) return { word: match[0], column: start, endColumn: end };
  }
  return null;
}

function shapeOf(ir: CellIR, declaration: Declaration): Shape | null {
  const { name } = declaration;
  switch (declaration.kind) {
    case "size":
      return null;
    case "input":
      return ir.inputs.find((d) => d.name === name)?.shape ?? null;
    case "state":
      return ir.states.find((d) => d.name === name)?.shape ?? null;
    case "param":
      return ir.params.find((d) => d.name === name)?.shape ?? null;
    case "const":
    case "intermediate": {
      const equation = ir.equations.find((e) => e.kind === declaration.kind && e.target === name);
      return equation ? ir.nodes[equation.node]!.shape : null;
    }
    case "output":
      return ir.outputs.find((d) => d.name === name)?.shape ?? null;
  }
}

/** `[H, I]`, followed by the numbers at the spec's default sizes when every size has one: `[H, I] = [16, 8]`. */
function describeShape(ir: CellIR, shape: Shape): string {
  const written = formatShape(shape);
  if (ir.sizes.some((s) => s.default === null) || shape.every((d) => d.terms.length === 0)) return written;
  const defaults = Object.fromEntries(ir.sizes.map((s) => [s.name, s.default!]));
  return `${written} = [${shape.map((d) => evaluateDim(d, defaults)).join(", ")}]`;
}

/** Markdown for a hover over `word`: what it is and its shape (from the IR when the spec checks), or what a function does. */
export function hoverText(spec: SpecAst, ir: CellIR | null, word: string): string | null {
  if (FUNCTION_NAMES.includes(word)) {
    const elementwise = word === "σ" || (UNARY_FUNCTIONS as readonly string[]).includes(word);
    return `\`${word === "σ" ? "sigmoid" : word}\`: ${elementwise ? "elementwise function" : "function"}`;
  }
  const declaration = findDeclaration(spec, word);
  if (!declaration) return null;
  if (declaration.kind === "size") {
    const size = spec.sizes.find((s) => s.name === word)!;
    const value = size.formula ? printDim(size.formula) : size.default;
    return `size \`${word}\`${value === null ? "" : ` = ${value}`}`;
  }
  const shape = ir ? shapeOf(ir, declaration) : null;
  return `${declaration.kind} \`${word}\`${shape && ir ? `: ${describeShape(ir, shape)}` : ""}`;
}
