// A model file of specs/ built to its IR; a library model that does not build fails the test that loads it.
import path from "node:path";
import { formatDiagnostic } from "../../src/diagnostics/diagnostic.ts";
import { buildModel } from "../../src/ir/build-model.ts";
import type { ModelIR } from "../../src/ir/model-types.ts";
import { loadModelFile } from "../../src/parse/load-model.ts";
import { REPO_ROOT } from "./torch-oracle.ts";

export function loadLibraryModel(specFile: string): ModelIR {
  const loaded = loadModelFile(path.join(REPO_ROOT, specFile));
  const built = loaded.model ? buildModel(loaded.model, loaded.cells) : { ir: null, diagnostics: [] };
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
  if (!built.ir) throw new Error(`${specFile} does not build:\n${diagnostics.map((d) => formatDiagnostic(d, loaded.text ?? "")).join("\n")}`);
  return built.ir;
}
