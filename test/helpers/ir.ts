// Helpers for comparing IRs and ASTs built from different texts.

/** Keys that record where something was written, not what it means. */
function isLocation(key: string): boolean {
  return key === "span" || key === "file" || key.endsWith("Span");
}

/**
 * A deep copy without spans and file names, so that an IR (or AST) built from
 * a .lstm file compares equal to the one built from the same cell in JSON.
 */
export function stripSpans<T>(value: T): unknown {
  if (Array.isArray(value)) return value.map(stripSpans);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !isLocation(key))
      .map(([key, v]) => [key, stripSpans(v)]),
  );
}

/** The inputs of step t of a run of `steps` steps, as step() takes them: a per-step input's slice, a static input whole. */
export function stepInputs<T extends { subarray(begin: number, end: number): T; readonly length: number }>(
  ir: { readonly inputs: readonly { readonly name: string; readonly static: boolean }[] },
  inputs: Readonly<Record<string, T>>,
  t: number,
  steps: number,
): Record<string, T> {
  const isStatic = (name: string) => ir.inputs.some((i) => i.name === name && i.static);
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, isStatic(k) ? v : v.subarray((t * v.length) / steps, ((t + 1) * v.length) / steps)]));
}
