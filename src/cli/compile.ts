// `lstmc compile SPEC... --target ts|js|wgsl [--emit module|plan] [--wgsl-path auto|sequence|step] [--dims I=128,H=256] [--precision f32|f64] [--out DIR|-]`
import { parseSizeList } from "../ir/bind.ts";
import { CodedError } from "../diagnostics/diagnostic.ts";
import { compileCell, compileJsCell, planCell, planJson, writeAtomically } from "../codegen/compile.ts";
import { compileWgslCell } from "../codegen/wgsl/compile.ts";
import { targetDiagnostics } from "../codegen/check.ts";
import { isModelSpec, loadCheckedModel, loadCheckedSpec, printDiagnostics, report, ReportedFailure, STDIN, UsageError } from "./load-cell.ts";
import { compileJsModel, compileModel } from "../codegen/model.ts";
import { compileWgslModel } from "../codegen/model-wgsl.ts";
import { bindModelSizes } from "../run/model-contract.ts";
import { parseCommandArgs, targetOption } from "./options.ts";

interface OutputFile {
  readonly fileName: string;
  readonly text: string;
}

export async function commandCompile(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("compile", args);
  if (positionals.length === 0) throw new UsageError("missing SPEC");
  const target = targetOption(values.target);
  const wgslPath = values["wgsl-path"];
  if (wgslPath !== "auto" && wgslPath !== "sequence" && wgslPath !== "step") throw new UsageError(`--wgsl-path must be auto, sequence or step, not '${wgslPath}'`);
  const precision = values.precision;
  if (precision !== "f32" && precision !== "f64") throw new UsageError(`--precision must be f32 or f64, not '${precision}'`);
  if (values.emit !== "module" && values.emit !== "plan") throw new UsageError(`--emit must be module or plan, not '${values.emit}'`);
  const toStdout = values.out === STDIN || (values.emit === "plan" && values.out === undefined);
  if (values.out === STDIN && positionals.length > 1) throw new UsageError("--out - writes one file to standard output, but several specs would give several");
  const dims = parseSizeList(values.dims ?? "");
  const out = values.out ?? "generated";
  for (const file of positionals) {
    const files = isModelSpec(file)
      ? await modelFiles(file, { target, precision, emit: values.emit, dims: (ir) => ownSizes(ir, dims, positionals.length) })
      : await cellFiles(file, { target, precision, emit: values.emit, wgslPath, dims: (ir) => ownSizes(ir, dims, positionals.length) });
    if (toStdout) {
      if (files.length > 1) throw new UsageError(`--out - writes one file to standard output, but the ${target} target writes ${files.length} (${files.map((f) => f.fileName).join(", ")})`);
      process.stdout.write(files[0]!.text);
      continue;
    }
    for (const f of files) report(`${file}: wrote ${writeAtomically(out, f.fileName, f.text)}`);
  }
  return 0;
}

interface FileOptions<Target> {
  readonly target: Target;
  readonly precision: "f32" | "f64";
  readonly emit: "module" | "plan";
  readonly dims: (ir: { readonly sizes: readonly { readonly name: string }[] }) => Record<string, number>;
}

async function cellFiles(file: string, options: FileOptions<"ts" | "js" | "wgsl"> & { readonly wgslPath: "auto" | "sequence" | "step" }): Promise<readonly OutputFile[]> {
  const { target, precision } = options;
  const { ir, text } = loadCheckedSpec(file);
  // What `lstmc check --target` would refuse is refused here the same way: located, exit 1.
  const refused = targetDiagnostics(ir, target);
  if (refused.length > 0) {
    printDiagnostics(refused, text);
    throw new ReportedFailure();
  }
  const own = options.dims(ir);
  if (options.emit === "plan") return [{ fileName: `${ir.name}.plan.json`, text: planJson(planCell(ir, { target, dims: own })) }];
  if (target === "wgsl") return (await compileWgslCell(ir, { dims: own, path: options.wgslPath })).files;
  return target === "js" ? Object.values(await compileJsCell(ir, { precision, dims: own })) : [await compileCell(ir, { target: "ts", precision, dims: own })];
}

/** A model: one module (its layers' cell modules and the driver), TypeScript, JavaScript or WebGPU (a TypeScript host, f32). */
async function modelFiles(file: string, options: FileOptions<"ts" | "js" | "wgsl">): Promise<readonly OutputFile[]> {
  if (options.emit === "plan") throw new UsageError("--emit plan prints a cell's module plan; a model has one per layer cell: compile the cell files with --emit plan");
  const { ir } = loadCheckedModel(file);
  const compiled = { precision: options.precision, sizes: bindModelSizes(ir, options.dims(ir)) };
  if (options.target === "wgsl") return [await compileWgslModel(ir, compiled)];
  return options.target === "js" ? Object.values(await compileJsModel(ir, compiled)) : [await compileModel(ir, compiled)];
}

/**
 * The --dims sizes that apply to a cell or model. With several specs, sizes a cell does
 * not declare are skipped on purpose, so one --dims can serve them all; with
 * one spec, such a size is a mistake, refused (E401) naming the cell's sizes.
 */
function ownSizes(ir: { readonly sizes: readonly { readonly name: string }[] }, dims: Readonly<Record<string, number>>, specCount: number): Record<string, number> {
  const declared = ir.sizes.map((s) => s.name);
  const unknown = Object.keys(dims).find((name) => !declared.includes(name));
  if (specCount === 1 && unknown !== undefined) throw new CodedError("unknownSizeBinding", unknown, declared.join(", ") || "none");
  return Object.fromEntries(Object.entries(dims).filter(([name]) => declared.includes(name)));
}
