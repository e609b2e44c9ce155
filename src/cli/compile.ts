// `lstmc compile SPEC... --target ts|js|wgsl [--emit module|plan] [--wgsl-path auto|sequence|step] [--dims I=128,H=256] [--precision f32|f64] [--out DIR]`
import { parseArgs } from "node:util";
import { parseSizeList } from "../ir/bind.ts";
import { compileCell, compileJsCell, planCell, planJson, writeAtomically } from "../codegen/compile.ts";
import { compileWgslCell } from "../codegen/wgsl/compile.ts";
import { readFileSync } from "node:fs";
import { targetDiagnostics } from "../codegen/check.ts";
import { loadCell, printDiagnostics, report, ReportedFailure, UsageError } from "./load-cell.ts";

export async function commandCompile(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      target: { type: "string", default: "ts" },
      dims: { type: "string" },
      precision: { type: "string", default: "f32" },
      out: { type: "string" },
      emit: { type: "string", default: "module" },
      "wgsl-path": { type: "string", default: "auto" },
    },
  });
  if (positionals.length === 0) throw new UsageError("missing SPEC");
  if (values.target !== "ts" && values.target !== "js" && values.target !== "wgsl") throw new UsageError(`unknown target '${values.target}' (available: ts, js, wgsl)`);
  const wgslPath = values["wgsl-path"];
  if (wgslPath !== "auto" && wgslPath !== "sequence" && wgslPath !== "step") throw new UsageError(`--wgsl-path must be auto, sequence or step, not '${wgslPath}'`);
  if (values.precision !== "f32" && values.precision !== "f64") throw new UsageError(`--precision must be f32 or f64, not '${values.precision}'`);
  if (values.emit !== "module" && values.emit !== "plan") throw new UsageError(`--emit must be module or plan, not '${values.emit}'`);
  const dims = parseSizeList(values.dims ?? "");
  const out = values.out ?? "generated";
  for (const file of positionals) {
    const ir = loadCell(file);
    // What `lstmc check --target` would refuse is refused here the same way: located, exit 1.
    const refused = targetDiagnostics(ir, values.target);
    if (refused.length > 0) {
      printDiagnostics(refused, readFileSync(file, "utf8"));
      throw new ReportedFailure();
    }
    // Sizes a cell does not declare are ignored, so one --dims can serve several specs.
    const own = Object.fromEntries(Object.entries(dims).filter(([name]) => ir.sizes.some((s) => s.name === name)));
    if (values.emit === "plan") {
      // The plan alone, on stdout; with --out, as DIR/<cell>.plan.json.
      const text = planJson(planCell(ir, { target: values.target, dims: own }));
      if (values.out === undefined) process.stdout.write(text);
      else report(`${file}: wrote ${writeAtomically(values.out, `${ir.name}.plan.json`, text)}`);
      continue;
    }
    if (values.target === "wgsl") {
      for (const f of (await compileWgslCell(ir, { dims: own, path: wgslPath })).files) report(`${file}: wrote ${writeAtomically(out, f.fileName, f.text)}`);
      continue;
    }
    const modules = values.target === "js" ? Object.values(await compileJsCell(ir, { precision: values.precision, dims: own })) : [await compileCell(ir, { target: "ts", precision: values.precision, dims: own })];
    for (const compiled of modules) report(`${file}: wrote ${writeAtomically(out, compiled.fileName, compiled.text)}`);
  }
  return 0;
}
