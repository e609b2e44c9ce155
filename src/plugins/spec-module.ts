// What the bundler plugins share: an import of a spec such as
// `./gru.lstm?dims=I=32,H=64&target=ts` read as a compile request, and the
// module it becomes, or the located errors a bundler should show instead. A
// model's module depends on its cells' files too: they are watched with it.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { compile, type Target } from "../index.ts";
import { parseSizeList } from "../ir/bind.ts";
import { CodedError } from "../diagnostics/diagnostic.ts";

export interface SpecImport {
  /** The spec's path, without the query. */
  readonly file: string;
  readonly target: Target;
  readonly dims: Readonly<Record<string, number>>;
  readonly precision: "f32" | "f64";
}

export interface LocatedError {
  readonly message: string;
  readonly file: string;
  /** 1-based, as the compiler's diagnostics; null when the error is in the import's query, not the spec. */
  readonly line: number | null;
  readonly column: number | null;
  readonly lineText: string | null;
}

/** `watchFiles`: the spec and, for a model, the cell files it names, whether the build failed or not. */
export type SpecModule =
  | { readonly ok: true; readonly code: string; readonly lang: "ts" | "js"; readonly watchFiles: readonly string[] }
  | { readonly ok: false; readonly errors: readonly LocatedError[]; readonly watchFiles: readonly string[] };

export const SPEC_IMPORT = /\.lstm(?:\?.*)?$/;

const TARGETS: readonly string[] = ["ts", "js", "wgsl"];

/** Splits `path?query`; null unless the path is a .lstm spec. */
export function splitSpecId(id: string): { readonly file: string; readonly query: string } | null {
  if (!SPEC_IMPORT.test(id)) return null;
  const mark = id.indexOf("?");
  return mark < 0 ? { file: id, query: "" } : { file: id.slice(0, mark), query: id.slice(mark + 1) };
}

/** The compile request an import asks for, or the error in its query. */
export function readSpecImport(file: string, query: string): SpecImport | LocatedError {
  const params = new URLSearchParams(query);
  const queryError = (message: string): LocatedError => ({ message: `${file}?${query}: ${message}`, file, line: null, column: null, lineText: null });
  const target = params.get("target") ?? "ts";
  if (!TARGETS.includes(target)) return queryError(`unknown target '${target}' (available: ${TARGETS.join(", ")})`);
  const precision = params.get("precision") ?? "f32";
  if (precision !== "f32" && precision !== "f64") return queryError(`precision must be f32 or f64, not '${precision}'`);
  try {
    return { file, target: target as Target, precision, dims: parseSizeList(params.get("dims") ?? "") };
  } catch (e) {
    if (e instanceof CodedError) return queryError(`error ${e.code}: ${e.message}`);
    throw e;
  }
}

export async function loadSpecModule(request: SpecImport): Promise<SpecModule> {
  const text = await readFile(request.file, "utf8");
  const { files, diagnostics, cellFiles } = await compile(text, { file: request.file, target: request.target, dims: request.dims, precision: request.precision });
  const watchFiles = [request.file, ...cellFiles];
  const lineOf = lineReader(request.file, text);
  const errors = diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => ({
      message: `${d.code}: ${d.message}`,
      file: d.span.file,
      line: d.span.line,
      column: d.span.column,
      lineText: lineOf(d.span.file, d.span.line),
    }));
  if (errors.length > 0) return { ok: false, errors, watchFiles };
  // The module to import: the TypeScript or JavaScript one (a WGSL target's host module embeds its shaders).
  const module = files.find((f) => /\.[jt]s$/.test(f.fileName) && !f.fileName.endsWith(".d.ts"))!;
  return { ok: true, code: module.text, lang: module.fileName.endsWith(".ts") ? "ts" : "js", watchFiles };
}

/** A line of the spec or of a cell file its model names (an error may be in either); null when that file cannot be read. */
function lineReader(file: string, text: string): (file: string, line: number) => string | null {
  const texts = new Map<string, string | null>([[file, text]]);
  const textOf = (path: string): string | null => {
    if (!texts.has(path)) {
      try {
        texts.set(path, readFileSync(path, "utf8"));
      } catch {
        // A cell file that cannot be read is itself the error, located in the model.
        texts.set(path, null);
      }
    }
    return texts.get(path)!;
  };
  return (path, line) => textOf(path)?.split(/\r?\n/)[line - 1] ?? null;
}
