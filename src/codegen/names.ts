// Every identifier the generator writes that comes from a spec passes through
// here. The checker already validated the names; this is the second lock, for
// IRs that did not come through the checker.
import { GENERATED_EXPORTS, IDENTIFIER_PATTERN, RESERVED_WORDS } from "../ir/names.ts";
import type { CellIR } from "../ir/types.ts";
import { CodedError } from "../diagnostics/diagnostic.ts";

export class CodegenError extends Error {}

/** Internal parameters' names (derived matrices, see derived.ts): a spec name starts with a letter, so none can collide. */
export const derivedName = (index: number): string => `_m${index}`;
export const DERIVED_NAME = /^_m[0-9]{1,6}$/;

/** Returns the spec name (or a derived matrix's internal name, `_m<k>`) unchanged once it is known to be a safe identifier. */
export function specIdentifier(name: string): string {
  if (typeof name === "string" && DERIVED_NAME.test(name)) return name;
  if (typeof name !== "string" || !IDENTIFIER_PATTERN.test(name) || RESERVED_WORDS.has(name)) {
    throw new CodegenError(`refusing to generate code for the name ${JSON.stringify(name)}: it must match ${IDENTIFIER_PATTERN.source} and not be reserved`);
  }
  return name;
}

/** A local of generated code: always starts with '_', which no spec name can. */
export function generatedLocal(...parts: (string | number)[]): string {
  const name = `_${parts.join("_")}`;
  if (!/^_[A-Za-z0-9_]+$/.test(name)) throw new CodegenError(`bad generated name ${JSON.stringify(name)}`);
  return name;
}

/** Checks every name of the IR before anything is generated. */
export function checkCellNames(ir: CellIR): void {
  specIdentifier(ir.name);
  for (const group of [ir.sizes, ir.inputs, ir.states, ir.params, ir.outputs]) for (const d of group) specIdentifier(d.name);
  for (const s of ir.nextState) specIdentifier(s.state);
  for (const e of ir.equations) specIdentifier(e.target);
  for (const s of ir.sizes) if (GENERATED_EXPORTS.has(s.name)) throw new CodedError("generatedNameCollision", s.name);
}

/** Text for a // comment: one line, no control characters. */
export function commentText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}
