// `lstmc/vite`: a Vite (and Rollup) plugin that compiles an imported spec,
//   import * as cell from "./gru.lstm?dims=I=32,H=64&target=ts";
// Errors stop the build (or show in the dev overlay) with the spec's file,
// line and column. Vite watches the spec like any loaded file, so an edit
// reloads the modules that import it; addWatchFile does the same for
// `rollup --watch` and `vite build --watch`, and for a model's cell files.
import type { Plugin } from "vite";
import { loadSpecModule, readSpecImport, splitSpecId, type LocatedError } from "./spec-module.ts";

/** Rollup's error fields: `loc.column` is 0-based there, and `frame` is shown under the message. */
function bundlerError(error: LocatedError) {
  if (error.line === null) return { message: error.message, id: error.file };
  const gutter = String(error.line);
  const frame = error.lineText === null ? undefined : `${gutter} | ${error.lineText}\n${" ".repeat(gutter.length)} | ${" ".repeat(error.column! - 1)}^`;
  return {
    message: `${error.file}:${error.line}:${error.column}: ${error.message}`,
    id: error.file,
    loc: { file: error.file, line: error.line, column: error.column! - 1 },
    frame,
  };
}

/** TypeScript modules become JavaScript here: the bundler would not transform an id that ends in `.lstm?…`. */
async function toJavaScript(code: string, fileName: string): Promise<string> {
  const { ts } = await import("ts-morph");
  return ts.transpileModule(code, { fileName, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

export default function lstmc(): Plugin {
  return {
    name: "lstmc",
    async load(id) {
      const parts = splitSpecId(id);
      if (!parts) return null;
      this.addWatchFile(parts.file);
      const request = readSpecImport(parts.file, parts.query);
      if ("message" in request) return this.error(bundlerError(request));
      const module = await loadSpecModule(request);
      // A model's cells: Vite makes each a dependency of this module, so an edit to one reloads it.
      for (const file of module.watchFiles) this.addWatchFile(file);
      if (!module.ok) {
        const [first, ...rest] = module.errors;
        const error = bundlerError(first!);
        return this.error({ ...error, message: [error.message, ...rest.map((e) => bundlerError(e).message)].join("\n") });
      }
      return { code: module.lang === "ts" ? await toJavaScript(module.code, `${parts.file}.ts`) : module.code, map: null };
    },
  };
}

export { lstmc };
