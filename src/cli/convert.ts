// `lstmc convert SPEC --to json|lstm [--out FILE|-]`: the same cell in the other syntax.
import { printDsl } from "../parse/print-dsl.ts";
import { printJson } from "../parse/print-json.ts";
import type { SpecAst } from "../parse/ast.ts";
import { writeFileAtomically } from "../write-file.ts";
import { loadCheckedSpec, refuseModel, STDIN, UsageError } from "./load-cell.ts";
import { parseCommandArgs } from "./options.ts";

const PRINTERS: Record<string, (spec: SpecAst) => string> = { json: printJson, lstm: printDsl };

/** Only a checked spec is converted, so the output is always a cell that compiles. */
export function commandConvert(args: string[]): number {
  const { values, positionals } = parseCommandArgs("convert", args);
  const [file, extra] = positionals;
  if (!file) throw new UsageError("missing SPEC");
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  const print = values.to !== undefined && Object.hasOwn(PRINTERS, values.to) ? PRINTERS[values.to] : undefined;
  if (!print) throw new UsageError(values.to === undefined ? "give --to json or --to lstm" : `--to must be json or lstm, not '${values.to}'`);
  refuseModel(file, "modelNotSupported", "convert");
  const text = print(loadCheckedSpec(file).spec);
  if (values.out === undefined || values.out === STDIN) {
    process.stdout.write(text);
    return 0;
  }
  writeFileAtomically(values.out, text);
  return 0;
}

