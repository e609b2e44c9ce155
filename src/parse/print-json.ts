// AST -> JSON text in the form of grammar/cell.schema.json. Each declaration
// and each equation takes one line, so a JSON spec reads like a .lstm file.
// Written by hand rather than with JSON.stringify so that a name declared
// twice prints twice, as the DSL printer does.
import type { DimAst, InitializerAst, SpecAst } from "./ast.ts";
import { printConstText, printDim, printEquationText, printExpr } from "./print-dsl.ts";

export type Entry = readonly [key: string, value: string];

export function str(text: string): string {
  return JSON.stringify(text);
}

function num(value: number): string {
  return JSON.stringify(value);
}

/** `{ "a": 1, "b": 2 }` on one line. */
export function inlineObject(entries: readonly Entry[]): string {
  return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${str(k)}: ${v}`).join(", ")} }`;
}

export function inlineArray(items: readonly string[]): string {
  return `[${items.join(", ")}]`;
}

/** An object or array with one member per line, at the given indentation. */
export function block(open: string, close: string, members: readonly string[], indent: string): string {
  if (members.length === 0) return `${open}${close}`;
  return `${open}\n${members.map((m) => `${indent}  ${m}`).join(",\n")}\n${indent}${close}`;
}

export function blockObject(entries: readonly Entry[], indent: string): string {
  return block("{", "}", entries.map(([k, v]) => `${str(k)}: ${v}`), indent);
}

/** A whole number stays a number; any other dimension is written in the cell language. */
export function printJsonDim(d: DimAst): string {
  return d.kind === "number" && Number.isInteger(d.value) && d.value >= 0 ? num(d.value) : str(printDim(d));
}

function printJsonShape(shape: readonly DimAst[]): string {
  return inlineArray(shape.map(printJsonDim));
}

/** `"glorot"`, `{ "constant": 0.5 }`, `{ "uniform": [-0.1, 0.1] }`. */
function printJsonInitializer(init: InitializerAst): string {
  if (init.args.length === 0) return str(init.name);
  const value = init.name === "uniform" || init.args.length !== 1 ? inlineArray(init.args.map(num)) : num(init.args[0]!);
  return inlineObject([[init.name, value]]);
}

/** The whole spec as a `.json` file. */
export function printJson(spec: SpecAst): string {
  const sections: Entry[] = [["cell", str(spec.name)]];
  if (spec.doc.length > 0) sections.push(["doc", block("[", "]", spec.doc.map(str), "  ")]);
  const sizeValue = (s: SpecAst["sizes"][number]) => (s.formula !== null ? str(printDim(s.formula)) : s.default === null ? "null" : num(s.default));
  if (spec.sizes.length > 0) sections.push(["sizes", blockObject(spec.sizes.map((s) => [s.name, sizeValue(s)]), "  ")]);
  const inputsOf = (isStatic: boolean): Entry[] => spec.inputs.filter((i) => i.static === isStatic).map((i) => [i.name, printJsonShape(i.shape)]);
  sections.push(["inputs", blockObject(inputsOf(false), "  ")]);
  if (spec.inputs.some((i) => i.static)) sections.push(["staticInputs", blockObject(inputsOf(true), "  ")]);
  const declaration = (shape: readonly DimAst[], extra: Entry[]) => inlineObject([["shape", printJsonShape(shape)], ...extra]);
  sections.push(["states", blockObject(spec.states.map((s) => [s.name, declaration(s.shape, s.init === 0 ? [] : [["init", num(s.init)]])]), "  ")]);
  sections.push(["params", blockObject(spec.params.map((p) => [p.name, declaration(p.shape, p.init ? [["init", printJsonInitializer(p.init)]] : [])]), "  ")]);
  if (spec.consts.length > 0) sections.push(["consts", block("[", "]", spec.consts.map((c) => str(printConstText(c))), "  ")]);
  sections.push(["equations", block("[", "]", spec.equations.map((eq) => str(printEquationText(eq.target, eq.next, eq.value))), "  ")]);
  sections.push(["outputs", blockObject(spec.outputs.map((o) => [o.name, str(printExpr(o.value))]), "  ")]);
  return `${blockObject(sections, "")}\n`;
}
