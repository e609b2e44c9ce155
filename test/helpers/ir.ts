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
