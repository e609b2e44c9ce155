// Writes src/codegen/runtime/embedded.ts: the runtime sources' embedded parts
// (see src/codegen/runtime/embed.ts) as string constants for the code
// generators. Run after changing a runtime source; `npm run generate` runs it first.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "../src/write-file.ts";
import { EMBEDDED_FILE, RUNTIME_DIR, RUNTIME_SOURCES, SHARED_SOURCES, extractEmbeds, renderEmbedded } from "../src/codegen/runtime/embed.ts";

/** The text embedded.ts should have, from the sources as they are on disk. */
export function embeddedText(root = "."): string {
  return renderEmbedded(RUNTIME_SOURCES.flatMap((file) => extractEmbeds(join(RUNTIME_DIR, file), readFileSync(join(root, RUNTIME_DIR, file), "utf8"), SHARED_SOURCES.has(file))));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = join(RUNTIME_DIR, EMBEDDED_FILE);
  writeFileAtomically(file, embeddedText());
  console.log(`wrote ${file}`);
}
