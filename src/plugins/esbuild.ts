// `lstmc/esbuild`: an esbuild plugin that compiles an imported spec,
//   import * as cell from "./gru.lstm?dims=I=32,H=64&target=ts";
// Each distinct query is its own module. Errors are esbuild messages with the
// spec's file, line, column and line text; the spec (and, for a model, its
// cells' files) are watched files, so `esbuild --watch` and `serve` rebuild
// when one changes.
import { dirname, resolve } from "node:path";
import type { Message, PartialMessage, Plugin } from "esbuild";
import { loadSpecModule, readSpecImport, SPEC_IMPORT, splitSpecId, type LocatedError } from "./spec-module.ts";

const NAMESPACE = "lstmc";

function esbuildMessage(error: LocatedError): PartialMessage {
  const location: Partial<Message["location"]> | null =
    error.line === null ? null : { file: error.file, line: error.line, column: error.column! - 1, lineText: error.lineText ?? "" };
  return { text: error.message, location };
}

export default function lstmc(): Plugin {
  return {
    name: "lstmc",
    setup(build) {
      build.onResolve({ filter: SPEC_IMPORT }, (args) => {
        const parts = splitSpecId(args.path)!;
        const file = resolve(args.resolveDir, parts.file);
        return { path: parts.query ? `${file}?${parts.query}` : file, namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        const parts = splitSpecId(args.path)!;
        const watchFiles = [parts.file];
        const request = readSpecImport(parts.file, parts.query);
        if ("message" in request) return { errors: [esbuildMessage(request)], watchFiles };
        const module = await loadSpecModule(request);
        if (!module.ok) return { errors: module.errors.map(esbuildMessage), watchFiles: [...module.watchFiles] };
        return { contents: module.code, loader: module.lang, resolveDir: dirname(parts.file), watchFiles: [...module.watchFiles] };
      });
    },
  };
}

export { lstmc };
