// `lstmc compile SPEC... --target ts|wgsl [--wgsl-path auto|sequence|step] [--dims I=128,H=256] [--precision f32|f64] [--out DIR]`
import { parseArgs } from "node:util";
import { parseSizeList } from "../ir/bind.ts";
import { compileCell, writeAtomically } from "../codegen/compile.ts";
import { compileWgslCell } from "../codegen/wgsl/compile.ts";
import { loadCell, report, UsageError } from "./load-cell.ts";

export async function commandCompile(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      target: { type: "string", default: "ts" },
      dims: { type: "string" },
      precision: { type: "string", default: "f32" },
      out: { type: "string", default: "generated" },
      "wgsl-path": { type: "string", default: "auto" },
    },
  });
  if (positionals.length === 0) throw new UsageError("missing SPEC");
  if (values.target !== "ts" && values.target !== "wgsl") throw new UsageError(`unknown target '${values.target}' (available: ts, wgsl)`);
  const wgslPath = values["wgsl-path"];
  if (wgslPath !== "auto" && wgslPath !== "sequence" && wgslPath !== "step") throw new UsageError(`--wgsl-path must be auto, sequence or step, not '${wgslPath}'`);
  if (values.precision !== "f32" && values.precision !== "f64") throw new UsageError(`--precision must be f32 or f64, not '${values.precision}'`);
  const dims = parseSizeList(values.dims ?? "");
  for (const file of positionals) {
    const ir = loadCell(file);
    // Sizes a cell does not declare are ignored, so one --dims can serve several specs.
    const own = Object.fromEntries(Object.entries(dims).filter(([name]) => ir.sizes.some((s) => s.name === name)));
    if (values.target === "wgsl") {
      for (const f of (await compileWgslCell(ir, { dims: own, path: wgslPath })).files) report(`${file}: wrote ${writeAtomically(values.out!, f.fileName, f.text)}`);
      continue;
    }
    const compiled = await compileCell(ir, { target: "ts", precision: values.precision, dims: own });
    const written = writeAtomically(values.out!, compiled.fileName, compiled.text);
    report(`${file}: wrote ${written}`);
  }
  return 0;
}
