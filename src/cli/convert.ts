// `lstmc convert SPEC --to json|lstm [--out FILE|-]`: the same cell or model in the other syntax.
import { printDsl } from "../parse/print-dsl.ts";
import { printJson } from "../parse/print-json.ts";
import { printModelDsl, printModelJson } from "../parse/print-model.ts";
import type { SpecAst } from "../parse/ast.ts";
import type { ModelAst } from "../parse/model-ast.ts";
import type { ModelIR } from "../ir/model-types.ts";
import { diagnostic } from "../diagnostics/diagnostic.ts";
import { writeFileAtomically } from "../write-file.ts";
import { isModelSpec, loadCheckedModel, loadCheckedSpec, printDiagnostics, ReportedFailure, STDIN, UsageError } from "./load-cell.ts";
import { parseCommandArgs } from "./options.ts";

type Syntax = "json" | "lstm";

const PRINTERS: Record<Syntax, (spec: SpecAst) => string> = { json: printJson, lstm: printDsl };

/** Only a checked spec is converted, so the output is always a cell or model that compiles. */
export function commandConvert(args: string[]): number {
  const { values, positionals } = parseCommandArgs("convert", args);
  const [file, extra] = positionals;
  if (!file) throw new UsageError("missing SPEC");
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  const to = values.to !== undefined && Object.hasOwn(PRINTERS, values.to) ? (values.to as Syntax) : undefined;
  if (!to) throw new UsageError(values.to === undefined ? "give --to json or --to lstm" : `--to must be json or lstm, not '${values.to}'`);
  const text = isModelSpec(file) ? convertModel(file, to) : PRINTERS[to](loadCheckedSpec(file).spec);
  if (values.out === undefined || values.out === STDIN) {
    process.stdout.write(text);
    return 0;
  }
  writeFileAtomically(values.out, text);
  return 0;
}

function convertModel(file: string, to: Syntax): string {
  const { model, ir, text } = loadCheckedModel(file);
  if (to === "lstm") return printModelDsl(model);
  // The JSON form has no cell blocks: a layer's cell in the model's own file cannot be written there.
  const inline = model.layers.map((l) => l.cell).find((cell) => cell.kind === "inline");
  if (inline) {
    printDiagnostics([diagnostic("modelCellNotInJson", inline.span, inline.name)], text);
    throw new ReportedFailure();
  }
  return printModelJson(withNamedInputs(model, ir));
}

/** The JSON form names every layer input: `lstm.lstm(x)` feeds the cell's only input, which the checked IR knows. */
function withNamedInputs(model: ModelAst, ir: ModelIR): ModelAst {
  const onlyInput = (layer: string) => ir.layers.find((l) => l.name === layer)!.cell.inputs[0]!.name;
  return { ...model, layers: model.layers.map((layer) => ({ ...layer, inputs: layer.inputs.map((input) => (input.name === null ? { ...input, name: onlyInput(layer.name) } : input)) })) };
}
