// `lstmc diagram SPEC [--style essay|graph] [--out FILE.svg|-]`: the cell's step, or a model's layers, as a picture.
import { DIAGRAM_STYLES, drawDiagram, type DiagramStyle } from "../diagram/draw.ts";
import { layoutModel, renderModelSvg } from "../diagram/model.ts";
import { isModelSpec, loadCell, loadCheckedModel, report, STDIN, UsageError } from "./load-cell.ts";
import { didYouMean, parseCommandArgs } from "./options.ts";
import { writeFileAtomically } from "../write-file.ts";

function styleOption(value: string): DiagramStyle {
  if ((DIAGRAM_STYLES as readonly string[]).includes(value)) return value as DiagramStyle;
  throw new UsageError(`unknown style '${value}'${didYouMean(value, DIAGRAM_STYLES)} (available: ${DIAGRAM_STYLES.join(", ")})`);
}

export async function commandDiagram(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("diagram", args);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "missing SPEC" : `unexpected argument '${positionals[1]}'`);
  const style = styleOption(values.style);
  const file = positionals[0]!;
  const svg = isModelSpec(file) ? renderModelSvg(layoutModel(loadCheckedModel(file).ir)) : (await drawDiagram(loadCell(file), style)).svg;
  if (values.out === undefined || values.out === STDIN) process.stdout.write(svg);
  else {
    writeFileAtomically(values.out, svg);
    report(`wrote ${values.out}`);
  }
  return 0;
}
