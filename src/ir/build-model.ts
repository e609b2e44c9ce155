// ModelAst -> ModelIR: builds each layer's cell, orders the layers by their
// wiring, binds every cell size to the model's sizes and checks that every
// wire is as wide as the input it feeds. Every mistake is a located diagnostic.
import { diagnostic, hasErrors, type Diagnostic, type Span } from "../diagnostics/diagnostic.ts";
import type { DimAst, SpecAst } from "../parse/ast.ts";
import { cellKey, type LayerAst, type ModelAst, type WireAst } from "../parse/model-ast.ts";
import { buildCell } from "./build.ts";
import { addDims, constantDim, dimsEqual, formatDim, multiplyDims, sizeDim } from "./dims.ts";
import { GENERATED_EXPORTS } from "./names.ts";
import type { HeadIR, LayerIR, ModelIR, Wire, Wiring } from "./model-types.ts";
import type { CellIR, Dim, SizeFormula } from "./types.ts";

export interface ModelBuildResult {
  readonly ir: ModelIR | null;
  readonly diagnostics: readonly Diagnostic[];
}

/** A cell dimension with the model's Dim put in for each cell size. */
function substitute(d: Dim, sizes: Readonly<Record<string, Dim>>): Dim {
  return d.terms.reduce((sum, [name, c]) => addDims(sum, multiplyDims(constantDim(c), sizes[name]!)!), constantDim(d.constant));
}

/**
 * A cell's size formula in the model's sizes: null when it is not linear in
 * them (a product of two sizes), "unbound" when it reads a size that is not
 * bound (already reported).
 */
function formulaDim(f: SizeFormula, sizes: Readonly<Record<string, Dim>>): Dim | null | "unbound" {
  switch (f.kind) {
    case "number":
      return constantDim(f.value);
    case "size":
      return sizes[f.name] ?? "unbound";
    case "binary": {
      const [left, right] = [formulaDim(f.left, sizes), formulaDim(f.right, sizes)];
      if (left === "unbound" || right === "unbound") return "unbound";
      if (!left || !right) return null;
      return f.op === "*" ? multiplyDims(left, right) : addDims(left, right, f.op === "+" ? 1 : -1);
    }
  }
}

function firstSize(f: SizeFormula): string | null {
  if (f.kind === "size") return f.name;
  return f.kind === "binary" ? (firstSize(f.left) ?? firstSize(f.right)) : null;
}

class ModelBuilder {
  readonly diagnostics: Diagnostic[] = [];
  private readonly modelSizes: Set<string>;
  private readonly layers = new Map<string, LayerIR>();

  constructor(
    private readonly model: ModelAst,
    private readonly cells: ReadonlyMap<string, CellIR>,
  ) {
    this.modelSizes = new Set(model.sizes.map((s) => s.name));
  }

  report(d: Diagnostic): null {
    this.diagnostics.push(d);
    return null;
  }

  /** A dimension written in the model, in its sizes; null (reported) if it names another. */
  dim(d: DimAst): Dim | null {
    switch (d.kind) {
      case "number":
        return Number.isInteger(d.value) && d.value >= 1 ? constantDim(d.value) : this.report(diagnostic("dimensionNotWhole", d.span, d.value));
      case "size":
        return this.modelSizes.has(d.name) ? sizeDim(d.name) : this.report(diagnostic("unknownSize", d.span, d.name));
      case "binary": {
        const [left, right] = [this.dim(d.left), this.dim(d.right)];
        if (!left || !right) return null;
        if (d.op !== "*") return addDims(left, right, d.op === "+" ? 1 : -1);
        return multiplyDims(left, right) ?? this.report(diagnostic("dimensionNotLinear", d.span));
      }
    }
  }

  wireWidth(w: WireAst): Dim | null {
    if (w.kind === "input") {
      const input = this.model.inputs.find((i) => i.name === w.name);
      if (!input) return this.report(diagnostic("unknownModelInput", w.span, w.name, this.model.inputs.map((i) => i.name).join(", ") || "none"));
      return this.dim(input.shape[0]!);
    }
    const layer = this.layers.get(w.layer);
    // A declared layer that did not build has had its errors reported: its wires add none.
    if (!layer && this.model.layers.some((l) => l.name === w.layer)) return null;
    if (!layer) return this.report(diagnostic("unknownLayer", w.span, w.layer, this.model.layers.map((l) => l.name).join(", ") || "none"));
    const width = layer.outputWidths[w.output];
    return width ?? this.report(diagnostic("unknownLayerOutput", w.span, w.layer, layer.cell.name, w.output, layer.cell.outputs.map((o) => o.name).join(", ")));
  }

  wiring(parts: readonly WireAst[]): Wiring | null {
    const widths = parts.map((p) => this.wireWidth(p));
    if (widths.some((w) => w === null)) return null;
    const wires: Wire[] = parts.map((p) => (p.kind === "input" ? { kind: "input", name: p.name } : { kind: "layer", layer: p.layer, output: p.output }));
    return { parts: wires, width: widths.reduce((sum, w) => addDims(sum!, w!), constantDim(0))! };
  }

  /** Which cell input each of the layer's arguments feeds: named, or the cell's only input. */
  inputNames(layer: LayerAst, cell: CellIR): (string | null)[] {
    return layer.inputs.map((input) => {
      if (input.name === null) {
        if (cell.inputs.length === 1 && layer.inputs.length === 1) return cell.inputs[0]!.name;
        return this.report(diagnostic("positionalLayerInput", input.span, cell.name, cell.inputs.length, cell.inputs.map((i) => `${i.name} = …`).join(", ")));
      }
      if (cell.inputs.some((i) => i.name === input.name)) return input.name;
      return this.report(diagnostic("unknownCellInput", input.span, cell.name, input.name, cell.inputs.map((i) => i.name).join(", ")));
    });
  }

  /**
   * Each cell size, in the model's sizes: given in `{ H = K }`, else read off
   * an input declared `[S]` from the width wired to it, else the model's size
   * of the same name.
   */
  bindSizes(layer: LayerAst, cell: CellIR, wired: Readonly<Record<string, Wiring>>): Record<string, Dim> | null {
    const sizes: Record<string, Dim> = {};
    for (const given of layer.sizes) {
      if (!cell.sizes.some((s) => s.name === given.name)) this.report(diagnostic("unknownLayerSize", given.span, cell.name, given.name, cell.sizes.map((s) => s.name).join(", ")));
      const value = this.dim(given.value);
      if (value) sizes[given.name] = value;
    }
    for (const input of cell.inputs) {
      const [d] = input.shape;
      const only = d!.constant === 0 && d!.terms.length === 1 && d!.terms[0]![1] === 1 ? d!.terms[0]![0] : null;
      if (only !== null && !(only in sizes) && wired[input.name]) sizes[only] = wired[input.name]!.width;
    }
    for (const s of cell.sizes) {
      if (s.name in sizes || s.formula) continue;
      if (this.modelSizes.has(s.name)) sizes[s.name] = sizeDim(s.name);
      else this.report(diagnostic("unboundLayerSize", layer.nameSpan, layer.name, s.name));
    }
    // A size the cell defines (`size H = G * K`) follows from the others, in declaration order.
    for (const s of cell.sizes) {
      if (s.name in sizes || !s.formula) continue;
      const value = formulaDim(s.formula.value, sizes);
      if (value === "unbound") continue;
      if (value) sizes[s.name] = value;
      else this.report(diagnostic("layerSizeNotLinear", layer.nameSpan, layer.name, s.name, s.formula.text, firstSize(s.formula.value) ?? s.name));
    }
    return cell.sizes.every((s) => s.name in sizes) ? sizes : null;
  }

  /**
   * The layer's cell, with an output `s'` added for each state `s` whose value
   * after the step the model reads (`L1.c'`): the cell's own next-state node,
   * so the interpreter runs and differentiates it like any output.
   */
  withReadStates(layer: LayerAst, cell: CellIR): CellIR {
    const read = new Set(this.allWires().filter((w) => w.kind === "layer" && w.layer === layer.name && w.output.endsWith("'")).map((w) => (w as { output: string }).output));
    const added = cell.nextState
      .filter((s) => read.has(`${s.state}'`))
      .map((s) => ({ name: `${s.state}'`, node: s.node, shape: cell.states.find((d) => d.name === s.state)!.shape }));
    return added.length === 0 ? cell : { ...cell, outputs: [...cell.outputs, ...added] };
  }

  allWires(): WireAst[] {
    const { layers, outputs, head } = this.model;
    return [...layers.flatMap((l) => l.inputs.flatMap((i) => i.parts)), ...outputs.flatMap((o) => o.parts), ...(head?.parts ?? [])];
  }

  layer(layer: LayerAst): LayerIR | null {
    const shared = this.cells.get(cellKey(layer.cell));
    if (!shared) return null;
    const cell = this.withReadStates(layer, shared);
    const names = this.inputNames(layer, cell);
    const wired: Record<string, Wiring> = {};
    layer.inputs.forEach((input, i) => {
      const name = names[i];
      const wiring = this.wiring(input.parts);
      if (name && wiring) wired[name] = wiring;
    });
    for (const input of cell.inputs) {
      if (!layer.inputs.some((_, i) => names[i] === input.name) && !names.includes(null)) this.report(diagnostic("unwiredCellInput", layer.nameSpan, layer.name, input.name));
    }
    const statics = layer.inputs.filter((input, i) => cell.inputs.find((d) => d.name === names[i])?.static);
    for (const input of statics) this.report(diagnostic("wireStatic", input.span, layer.name, names[layer.inputs.indexOf(input)]!));
    if (statics.length > 0) return null;
    const sizes = this.bindSizes(layer, cell, wired);
    if (!sizes || Object.keys(wired).length !== cell.inputs.length) return null;
    const mismatched = layer.inputs.filter((input, i) => {
      const name = names[i]!;
      const declared = substitute(cell.inputs.find((d) => d.name === name)!.shape[0]!, sizes);
      if (dimsEqual(declared, wired[name]!.width)) return false;
      this.report(diagnostic("wireWidth", input.span, layer.name, name, formatDim(declared), formatDim(wired[name]!.width)));
      return true;
    });
    if (mismatched.length > 0) return null;
    const outputWidths = Object.fromEntries(cell.outputs.map((o) => [o.name, substitute(o.shape[0]!, sizes)]));
    return { name: layer.name, direction: layer.direction, cell, sizes, inputs: wired, outputWidths, span: layer.span };
  }

  /** The layers in an order where each follows those it reads; a cycle is reported along its path. */
  order(): LayerAst[] {
    const byName = new Map(this.model.layers.map((l) => [l.name, l]));
    const ordered: LayerAst[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (layer: LayerAst, path: readonly LayerAst[]): void => {
      if (state.get(layer.name) === "done") return;
      if (state.get(layer.name) === "visiting") {
        const cycle = [...path.slice(path.indexOf(layer)), layer].map((l) => l.name).join(" -> ");
        this.report(diagnostic("layerCycle", layer.nameSpan, cycle));
        return;
      }
      state.set(layer.name, "visiting");
      for (const input of layer.inputs) {
        for (const part of input.parts) {
          const source = part.kind === "layer" ? byName.get(part.layer) : undefined;
          if (source) visit(source, [...path, layer]);
        }
      }
      state.set(layer.name, "done");
      ordered.push(layer);
    };
    for (const layer of this.model.layers) visit(layer, []);
    return ordered;
  }

  declareNames(): void {
    const seen = new Map<string, Span>();
    const declare = (name: string, span: Span, what: string) => {
      const earlier = seen.get(name);
      if (earlier) this.report(diagnostic("alreadyDeclared", span, name, what, `${earlier.line}:${earlier.column}`));
      else seen.set(name, span);
    };
    for (const s of this.model.sizes) {
      declare(s.name, s.span, "a size");
      if (GENERATED_EXPORTS.has(s.name)) this.report(diagnostic("generatedNameCollision", s.span, s.name));
    }
    for (const i of this.model.inputs) declare(i.name, i.span, "an input");
    for (const l of this.model.layers) declare(l.name, l.nameSpan, "a layer");
    for (const o of this.model.outputs) declare(o.name, o.span, "an output");
    if (this.model.head) declare(this.model.head.name, this.model.head.span, "the head");
    for (const s of this.model.sizes) {
      if (s.default !== null && !(Number.isInteger(s.default) && s.default >= 1)) this.report(diagnostic("sizeDefaultNotPositive", s.span, s.name, s.default));
    }
  }

  head(): HeadIR | null {
    const head = this.model.head;
    if (!head) return null;
    const input = this.wiring(head.parts);
    const size = this.dim(head.size);
    return input && size ? { name: head.name, input, size, at: head.at } : null;
  }

  build(): ModelIR | null {
    this.declareNames();
    const inputs = this.model.inputs.map((i) => ({ name: i.name, static: false, shape: [this.dim(i.shape[0]!) ?? constantDim(1)] }));
    if (hasErrors(this.diagnostics)) return null;
    for (const ast of this.order()) {
      const layer = this.layer(ast);
      if (layer) this.layers.set(layer.name, layer);
    }
    if (hasErrors(this.diagnostics)) return null;
    const outputs = this.model.outputs.map((o) => ({ name: o.name, wiring: this.wiring(o.parts) }));
    const head = this.head();
    const { loss } = this.model;
    if (loss && loss.head !== head?.name) this.report(diagnostic("lossWithoutHead", loss.span, loss.head, head ? `'${head.name}'` : "not declared"));
    if (outputs.length === 0 && !this.model.head) this.report(diagnostic("modelNoOutput", this.model.nameSpan));
    if (hasErrors(this.diagnostics)) return null;
    return {
      name: this.model.name,
      file: this.model.file,
      doc: this.model.doc,
      sizes: this.model.sizes.map((s) => ({ name: s.name, default: s.default, formula: null })),
      inputs,
      layers: [...this.layers.values()],
      outputs: outputs.map((o) => ({ name: o.name, ...o.wiring! })),
      head,
      loss: loss ? { kind: loss.kind } : null,
    };
  }
}

/**
 * Builds a model from its syntax tree and the cells its layers name
 * (`cellKey` -> SpecAst: the loader reads the files; the model's own cells
 * are in `model.cells`). Each cell is built once and checked on its own.
 */
export function buildModel(model: ModelAst, fileCells: ReadonlyMap<string, SpecAst>): ModelBuildResult {
  const diagnostics: Diagnostic[] = [];
  const specs = new Map(fileCells);
  for (const cell of model.cells) specs.set(`inline:${cell.name}`, cell);
  const cells = new Map<string, CellIR>();
  // A cell with errors is in no map: without this, each layer using it would report them again.
  const tried = new Set<string>();
  for (const layer of model.layers) {
    const key = cellKey(layer.cell);
    if (tried.has(key)) continue;
    tried.add(key);
    const spec = specs.get(key);
    if (!spec) {
      if (layer.cell.kind === "inline") diagnostics.push(diagnostic("unknownCell", layer.cell.span, layer.cell.name, model.cells.map((c) => c.name).join(", ") || "none"));
      continue;
    }
    const built = buildCell(spec);
    diagnostics.push(...built.diagnostics);
    if (built.ir && !hasErrors(built.diagnostics)) cells.set(key, built.ir);
  }
  if (hasErrors(diagnostics)) return { ir: null, diagnostics };
  const builder = new ModelBuilder(model, cells);
  const ir = builder.build();
  return { ir, diagnostics: [...diagnostics, ...builder.diagnostics] };
}
