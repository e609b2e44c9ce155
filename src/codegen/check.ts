// `lstmc check --target`: what a target cannot compile, as located
// diagnostics, so that anything check accepts for a target compiles there.
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { CellIR } from "../ir/types.ts";
import { planCell } from "./compile.ts";
import { CodegenError } from "./names.ts";
import { F32_MAX } from "./wgsl/syntax.ts";

export type TargetName = "ts" | "js" | "wgsl";
export const TARGET_NAMES: readonly TargetName[] = ["ts", "js", "wgsl"];


export function targetDiagnostics(ir: CellIR, target: TargetName): Diagnostic[] {
  const found: Diagnostic[] = [];
  if (target === "wgsl") {
    for (const n of ir.nodes) if (n.op === "const" && Math.abs(n.value) > F32_MAX) found.push(diagnostic("targetNumberRange", n.span, n.value, target));
    for (const s of ir.states) {
      const span = ir.nodes.find((n) => n.op === "state" && n.name === s.name)?.span;
      if (Math.abs(s.init) > F32_MAX && span) found.push(diagnostic("targetNumberRange", span, s.init, target));
    }
  }
  if (found.length > 0) return found;
  // Lowering is where a target's schedule meets the cell: sizes do not change its structure, so the defaults (or 2) do.
  const dims = Object.fromEntries(ir.sizes.filter((s) => s.formula === null).map((s) => [s.name, s.default ?? 2]));
  try {
    planCell(ir, { target, dims });
  } catch (e) {
    if (!(e instanceof CodegenError)) throw e;
    const where = ir.equations[0]?.span ?? ir.nodes[0]?.span;
    if (where) found.push(diagnostic("targetCannotCompile", where, target, e.message));
  }
  return found;
}
