// `lstmc import MODEL.onnx --out DIR`, `lstmc import WEIGHTS.safetensors --like SPEC`
// and `lstmc run MODEL.onnx --data FEEDS.json`: argument handling and files;
// the work is in src/onnx/ and src/adapters/.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { targetDiagnostics } from "../codegen/check.ts";
import { CodedError } from "../diagnostics/diagnostic.ts";
import { fileSystemReason } from "../diagnostics/file-system.ts";
import { parseSpecText } from "../parse/load.ts";
import { buildCell } from "../ir/build.ts";
import { bindSizes, parseSizeList } from "../ir/bind.ts";
import type { CellIR } from "../ir/types.ts";
import type { Engine } from "../run/engines.ts";
import { AdapterError } from "../adapters/onnx.ts";
import { readOnnxModel, OnnxError, type OnnxModel } from "../onnx/model.ts";
import { readFeeds, runOnnxModel, type CellRunner } from "../onnx/run.ts";
import { importOnnxModel } from "../onnx/import.ts";
import { mapWeights, WeightsError } from "../onnx/weights.ts";
import { decodeSafetensors, encodeSafetensors } from "../runtime/safetensors.ts";
import { writeFileAtomically } from "../write-file.ts";
import { loadCell, report, UsageError } from "./load-cell.ts";
import { parseCommandArgs } from "./options.ts";

/** The largest model or weights file read: 2 GiB, protobuf's own limit for one message. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** `length` bytes (undefined: all) at `offset` of a regular file; a CodedError naming the path otherwise. */
function readBytes(file: string, offset = 0, length?: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new CodedError("cannotRead", file, fileSystemReason(e));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CodedError("notARegularFile", file);
    const size = length ?? stat.size - offset;
    if (size > MAX_MODEL_BYTES) throw new CodedError("fileTooLarge", file, stat.size, MAX_MODEL_BYTES);
    if (offset + size > stat.size) throw new CodedError("cannotRead", file, `${size} bytes at offset ${offset} run past its end (${stat.size} bytes)`);
    const out = new Uint8Array(size);
    for (let at = 0; at < size; ) {
      const read = readSync(fd, out, at, size - at, offset + at);
      if (read === 0) break;
      at += read;
    }
    return out;
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw new CodedError("cannotRead", file, fileSystemReason(e));
  } finally {
    closeSync(fd);
  }
}

/** An OnnxError (or the ONNX adapter's AdapterError) as E701 naming the file; anything else as it is. */
function located(file: string, e: unknown): unknown {
  return e instanceof OnnxError || e instanceof AdapterError ? new CodedError("onnxModel", file, e.message) : e;
}

export function loadOnnxModel(file: string): OnnxModel {
  const bytes = readBytes(file);
  try {
    return readOnnxModel(bytes, (location, offset, length) => readBytes(join(dirname(file), location), offset, length));
  } catch (e) {
    throw located(file, e);
  }
}

/** A CellRunner over an engine: each generated spec text is built once. */
function engineRunner(engine: Engine): CellRunner {
  const built = new Map<string, CellIR>();
  return async (text, sizes, sequence) => {
    let ir = built.get(text);
    if (!ir) {
      ir = buildGeneratedSpec(text);
      // A compiling engine refuses what its target does not compile, as `lstmc run SPEC --engine` does.
      if (engine.name !== "interp") {
        const refused = targetDiagnostics(ir, engine.name === "wgsl" ? "wgsl" : "ts");
        if (refused.length > 0) throw new OnnxError(`the cell generated for this node does not compile for --engine ${engine.name}: ${refused[0]!.code} ${refused[0]!.message}; --engine interp runs it`);
      }
      built.set(text, ir);
    }
    return engine.run(ir, { sizes: bindSizes(ir, sizes), sequence, upstream: { outputs: {}, final: {} } }, false);
  };
}

/** A spec lstmc generated; its first error (for example a function the language lacks) as an OnnxError on one line. */
function buildGeneratedSpec(text: string): CellIR {
  const parsed = parseSpecText(text, "<imported>", "lstm");
  const built = parsed.value ? buildCell(parsed.value) : null;
  const errors = [...parsed.diagnostics, ...(built?.diagnostics ?? [])].filter((d) => d.severity === "error");
  if (built?.ir && errors.length === 0) return built.ir;
  const first = errors[0]!;
  const line = text.split("\n")[first.span.line - 1]?.trim() ?? "";
  throw new OnnxError(`the cell generated for this node does not build in this version of the language: ${first.code} ${first.message} in '${line}'`);
}

/** `lstmc run MODEL.onnx --data FEEDS.json`: the graph's outputs by name, each { dims, data }. */
export async function runOnnxFile(file: string, feedsJson: unknown, engine: Engine): Promise<Record<string, { dims: number[]; data: number[] }>> {
  const model = loadOnnxModel(file);
  try {
    const outputs = await runOnnxModel(model, readFeeds(model, feedsJson), engineRunner(engine));
    return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, { dims: [...t.shape], data: Array.from(t.data) }]));
  } catch (e) {
    throw located(file, e);
  }
}

export async function commandImport(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("import", args);
  const [file, ...rest] = positionals;
  if (!file) throw new UsageError("missing MODEL.onnx or WEIGHTS.safetensors");
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (values.out === undefined) throw new UsageError("give --out (a folder for a model, a .safetensors or .json file for weights)");
  if (file.endsWith(".onnx")) {
    if (values.like !== undefined || values.dims !== undefined) throw new UsageError("--like and --dims are for .safetensors weights; an .onnx model brings its own cells and sizes");
    const model = loadOnnxModel(file);
    let files;
    try {
      files = importOnnxModel(model, basename(file));
    } catch (e) {
      throw located(file, e);
    }
    for (const [name, content] of Object.entries(files)) writeFileAtomically(join(values.out, name), content);
    report(`wrote ${Object.keys(files).map((name) => join(values.out!, name)).join(", ")}`);
    return 0;
  }
  if (file.endsWith(".safetensors")) return importSafetensors(file, values.like, values.dims, values.out);
  throw new UsageError(`'${file}' is neither an .onnx model nor .safetensors weights`);
}

/** Weights renamed onto a spec's parameters: .safetensors out (the spec's names), or .json / '-' ({ dims, params } for `lstmc run --data`). */
function importSafetensors(file: string, like: string | undefined, dims: string | undefined, out: string): number {
  if (like === undefined) throw new UsageError("give --like SPEC: the spec whose parameters the weights are for");
  const ir = loadCell(like);
  const sizes = bindSizes(ir, parseSizeList(dims ?? ""));
  const bytes = readBytes(file);
  let tensors;
  try {
    tensors = decodeSafetensors(bytes).tensors;
  } catch (e) {
    throw new CodedError("weightsMismatch", file, `not a readable safetensors file (${(e as Error).message})`);
  }
  let mapped;
  try {
    mapped = mapWeights(ir, sizes, tensors);
  } catch (e) {
    if (e instanceof WeightsError) throw new CodedError("weightsMismatch", file, e.message);
    throw e;
  }
  if (out.endsWith(".safetensors")) {
    writeFileAtomically(out, encodeSafetensors({ tensors: mapped.tensors, metadata: { source: basename(file), spec: ir.name } }));
    return 0;
  }
  const json = `${JSON.stringify({ dims: sizes, params: Object.fromEntries(Object.entries(mapped.tensors).map(([k, t]) => [k, Array.from(t.data)])) })}\n`;
  if (out === "-") process.stdout.write(json);
  else writeFileAtomically(out, json);
  report(`${like}: ${mapped.how}`);
  return 0;
}
