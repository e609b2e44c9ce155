// `lstmc diagram SPEC [--out FILE.svg|-]`: the cell's step as a picture.
import { layoutCell } from "../diagram/layout.ts";
import { renderSvg } from "../diagram/svg.ts";
import { layoutModel, renderModelSvg } from "../diagram/model.ts";
import { isModelSpec, loadCell, loadCheckedModel, report, STDIN, UsageError } from "./load-cell.ts";
import { parseCommandArgs } from "./options.ts";
import { writeFileAtomically } from "../write-file.ts";

export function commandDiagram(args: string[]): number {
  const { values, positionals } = parseCommandArgs("diagram", args);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "missing SPEC" : `unexpected argument '${positionals[1]}'`);
  const file = positionals[0]!;
  const svg = isModelSpec(file) ? renderModelSvg(layoutModel(loadCheckedModel(file).ir)) : renderSvg(layoutCell(loadCell(file)));
  if (values.out === undefined || values.out === STDIN) process.stdout.write(svg);
  else {
    writeFileAtomically(values.out, svg);
    report(`wrote ${values.out}`);
  }
  return 0;
}
