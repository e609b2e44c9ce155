// Runtime source files (src/runtime/*.ts) are type-checked and imported like any
// other module, and the code generators copy part of their text into generated
// modules. The part to copy sits between two marker lines.

export const EMBED_BEGIN = "// BEGIN EMBED";
export const EMBED_END = "// END EMBED";

/**
 * The text between the `// BEGIN EMBED` and `// END EMBED` lines of a runtime
 * source file, with `export ` removed from the start of its declarations (a
 * generated module decides itself what it exports).
 */
export function extractEmbedded(sourceText: string): string {
  const lines = sourceText.split(/\r\n|\n|\r/);
  const begin = markerLine(lines, EMBED_BEGIN);
  const end = markerLine(lines, EMBED_END);
  if (end < begin) throw new Error(`'${EMBED_END}' comes before '${EMBED_BEGIN}'`);
  return lines
    .slice(begin + 1, end)
    .map((line) => line.replace(/^export (?=(async )?(function|const|let|type|interface|class|enum)\b)/, ""))
    .join("\n");
}

function markerLine(lines: readonly string[], marker: string): number {
  const found = lines.flatMap((line, index) => (line.trim() === marker ? [index] : []));
  if (found.length !== 1) throw new Error(`expected exactly one '${marker}' line, found ${found.length}`);
  return found[0]!;
}
