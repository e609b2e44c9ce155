// Compiling a model to ONE TypeScript (or JavaScript) module with a cell
// module's API shape. Each distinct layer cell (cell and sizes) is compiled
// by the cell code generator unchanged and inlined as a closed scope (its own
// function, so no names clash and two layers of the same cell share one
// copy); the model driver (runtime/model-driver.ts) runs the layers in the
// reference interpreter's order. Nothing is fused across layers: each layer
// runs its whole sequence before the next starts, as the interpreter does.
import { basename } from "node:path";
import { ts } from "ts-morph";
import { elementCount, evaluateDim } from "../ir/dims.ts";
import type { SizeBinding } from "../ir/bind.ts";
import type { LayerIR, ModelIR, Wire, Wiring } from "../ir/model-types.ts";
import type { CellIR } from "../ir/types.ts";
import { compileCell, compilerVersion, eraseTypes, formatTypeScript, type CompiledModule } from "./compile.ts";
import { commentText, generatedLocal, specIdentifier } from "./names.ts";
import { LENGTHS, MODEL_DRIVER, MODEL_DRIVER_SYNC } from "./runtime/embedded.ts";
import { STEP_INDEX_CHECK } from "./ts/render.ts";
import { INIT_HELPERS } from "./ts/runtime.ts";
import { floatArrayDeclarations, sizesLiteral } from "./shell.ts";

export interface ModelCompileOptions {
  readonly precision: "f32" | "f64";
  /** Every model size, bound (bindModelSizes). */
  readonly sizes: SizeBinding;
}

/** What a cell module's closure hands the driver; every other name it exported is dropped when unused inside. */
const CELL_API = ["initParams", "forward", "backward", "createState", "step"];

/** A layer's cell compiled once per distinct cell and sizes: the local its closed scope is bound to, and its output fields. */
export interface LayerCell {
  readonly local: string;
  readonly fields: Record<string, string>;
}

/** Each cell size of a layer, as a number. */
export function layerSizes(layer: LayerIR, sizes: SizeBinding): SizeBinding {
  return Object.fromEntries(Object.entries(layer.sizes).map(([name, d]) => [name, evaluateDim(d, sizes)]));
}

/**
 * The layer's cell with each output the model added for a state it reads after the step (`c'`, see
 * build-model.ts) renamed to an identifier the code generator accepts and no other name of the cell has.
 */
function compilableCell(cell: CellIR): { cell: CellIR; fields: Record<string, string> } {
  const taken = new Set([...cell.inputs, ...cell.states, ...cell.params, ...cell.outputs, ...cell.sizes].map((d) => d.name));
  const fields: Record<string, string> = {};
  const outputs = cell.outputs.map((o) => {
    if (!o.name.endsWith("'")) return ((fields[o.name] = o.name), o);
    let name = `${o.name.slice(0, -1)}_next`;
    while (taken.has(name)) name += "_";
    taken.add(name);
    fields[o.name] = name;
    return { ...o, name };
  });
  return { cell: { ...cell, outputs }, fields };
}

/** A top-level statement of a cell module: its text without `export`, the names it declares and the names it reads. */
interface TopStatement {
  /** The comments and blank lines before it. */
  readonly leading: string;
  readonly text: string;
  readonly declares: readonly string[];
  readonly reads: ReadonlySet<string>;
}

function topStatements(text: string): TopStatement[] {
  const file = ts.createSourceFile("cell.ts", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  return file.statements.map((statement) => {
    const declares = ts.isVariableStatement(statement)
      ? statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []))
      : (ts.isFunctionDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && statement.name
        ? [statement.name.text]
        : [];
    const reads = new Set<string>();
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) reads.add(node.text);
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(statement, visit);
    for (const name of declares) reads.delete(name);
    // The statement's text from its first token (comments before it kept), without its export keyword.
    const exported = ts.canHaveModifiers(statement) ? ts.getModifiers(statement)?.find((m) => m.kind === ts.SyntaxKind.ExportKeyword) : undefined;
    const full = text.slice(statement.getFullStart(), statement.getEnd());
    const cut = exported ? exported.getStart(file) - statement.getFullStart() : -1;
    return { leading: text.slice(statement.getFullStart(), statement.getStart(file)), text: cut < 0 ? full : full.slice(0, cut) + full.slice(cut + "export".length).replace(/^\s+/, ""), declares, reads };
  });
}

/**
 * A cell module as a closed scope: its exports become locals, what the driver does not use (the size constants,
 * the weight adapters and what only they read) is dropped, and it returns its API.
 *
 * One parse and a graph of which top-level name reads which: a declaration is kept when the API reaches it.
 * A name read under another binding of the same name keeps a declaration it need not, never drops one it needs.
 */
export function closedScope(text: string, local: string, api: readonly string[] = CELL_API, type = "_CellModule & _CellSource"): string {
  const statements = topStatements(text);
  // A name may be declared twice: a type and a value (`type FloatArray` and `const FloatArray`).
  const byName = new Map<string, TopStatement[]>();
  for (const s of statements) for (const name of s.declares) byName.set(name, [...(byName.get(name) ?? []), s]);
  const kept = new Set<TopStatement>();
  const keep = (s: TopStatement): void => {
    if (kept.has(s)) return;
    kept.add(s);
    for (const name of s.reads) for (const declared of byName.get(name) ?? []) keep(declared);
  };
  // Statements that declare nothing (expression statements) run for their effect; the API is what the driver calls.
  for (const s of statements) if (s.declares.length === 0 || s.declares.some((name) => api.includes(name))) keep(s);
  // The module's header comment (its cell's equations and API) stays, whatever happens to the statement it precedes.
  const [first] = statements;
  const header = first && !kept.has(first) ? first.leading.trimEnd() : "";
  const body = header + statements.filter((s) => kept.has(s)).map((s) => s.text).join("");
  return `const ${local}: ${type} = (() => {\n${body.replace(/^\n+/, "")}\n\nreturn { ${api.join(", ")} } as unknown as ${type};\n})();`;
}

function wireKey(w: Wire): string {
  return w.kind === "input" ? w.name : `${w.layer}.${w.output}`;
}

function parts(ir: ModelIR, wiring: Wiring, sizes: SizeBinding): { key: string; width: number }[] {
  return wiring.parts.map((w) => ({
    key: wireKey(w),
    width: evaluateDim(w.kind === "input" ? ir.inputs.find((i) => i.name === w.name)!.shape[0]! : ir.layers.find((l) => l.name === w.layer)!.outputWidths[w.output]!, sizes),
  }));
}

/** The model's shape for the driver, as a TypeScript expression: plain data, with each layer's cell module by its local (as `key`). */
export function modelShape(ir: ModelIR, sizes: SizeBinding, cells: readonly LayerCell[], key: "cell" | "source" = "cell"): string {
  const width = (w: Wiring) => parts(ir, w, sizes).reduce((n, p) => n + p.width, 0);
  const layers = ir.layers.map((layer, i) => {
    const own = layerSizes(layer, sizes);
    const data = {
      name: layer.name,
      reverse: layer.direction === "reverse",
      params: layer.cell.params.map((p) => ({ name: p.name, length: elementCount(p.shape, own) })),
      states: layer.cell.states.map((s) => ({ name: s.name, width: evaluateDim(s.shape[0]!, own) })),
      inputs: Object.entries(layer.inputs).map(([name, wiring]) => ({ name, parts: parts(ir, wiring, sizes) })),
      outputs: layer.cell.outputs.map((o) => ({ field: cells[i]!.fields[o.name]!, key: `${layer.name}.${o.name}` })),
    };
    return `{ ${key}: ${cells[i]!.local}, ${JSON.stringify(data).slice(1)}`;
  });
  const head = ir.head && { name: ir.head.name, parts: parts(ir, ir.head.input, sizes), width: width(ir.head.input), size: evaluateDim(ir.head.size, sizes), at: ir.head.at };
  const rest = {
    inputs: ir.inputs.map((i) => ({ name: i.name, width: evaluateDim(i.shape[0]!, sizes) })),
    outputs: ir.outputs.map((o) => ({ name: o.name, parts: parts(ir, o, sizes) })),
    head,
    loss: ir.loss?.kind ?? null,
  };
  return `{ layers: [${layers.join(", ")}], ${JSON.stringify(rest).slice(1)}`;
}

/** An interface of FloatArray fields with quoted names ("fwd.W_i"), each with its shape. */
function record(name: string, doc: string, fields: readonly { name: string; shape: string; optional?: boolean }[]): string {
  const lines = fields.map((f) => `  /** ${commentText(f.shape)} */\n  ${JSON.stringify(f.name)}${f.optional ? "?" : ""}: FloatArray;`);
  return `/** ${commentText(doc)} */\nexport interface ${name} {\n${lines.join("\n")}\n}`;
}

export function apiRecords(ir: ModelIR, sizes: SizeBinding): string[] {
  const n = (d: Parameters<typeof evaluateDim>[0]) => evaluateDim(d, sizes);
  const params = ir.layers.flatMap((l) => l.cell.params.map((p) => ({ name: `${l.name}.${p.name}`, shape: `[${p.shape.map((d) => evaluateDim(d, layerSizes(l, sizes))).join(", ")}]` })));
  if (ir.head) params.push({ name: `${ir.head.name}.W`, shape: `[${n(ir.head.size)}, ${n(ir.head.input.width)}]` }, { name: `${ir.head.name}.b`, shape: `[${n(ir.head.size)}]` });
  const states = ir.layers.flatMap((l) => l.cell.states.map((s) => ({ name: `${l.name}.${s.name}`, shape: `[batch, ${evaluateDim(s.shape[0]!, layerSizes(l, sizes))}]` })));
  const outputs = ir.outputs.map((o) => ({ name: o.name, shape: `[steps, batch, ${n(o.width)}]` }));
  if (ir.head) outputs.push({ name: ir.head.name, shape: ir.head.at === "step" ? `[steps, batch, ${n(ir.head.size)}] (0 past a row's length)` : `[batch, ${n(ir.head.size)}], at each row's last step` });
  return [
    record("Params", "The model's parameters, row-major: each layer's as '<layer>.<param>', the head's W and b.", params),
    record("Inputs", "Per-step inputs, [steps, batch, n] flat (time-major).", ir.inputs.map((i) => ({ name: i.name, shape: `[steps, batch, ${n(i.shape[0]!)}]` }))),
    record("States", "Each layer's states as '<layer>.<state>', [batch, n] flat.", states),
    record("Outputs", "The model's outputs (and its head's).", outputs),
  ];
}

/** The module's header: what it was compiled from, its layers, then `api` (the API's lines). */
export function header(ir: ModelIR, options: ModelCompileOptions, target: "ts" | "js" | "wgsl", api: readonly string[]): string[] {
  const dims = ir.sizes.map((s) => `${s.name}=${options.sizes[s.name]}`).join(",");
  const layers = ir.layers.map((l) => `//   ${commentText(`${l.name}: ${l.cell.name}, ${l.direction}`)}`);
  return [
    `// Generated by lstmc ${commentText(compilerVersion())} from ${commentText(basename(ir.file))}: do not edit; run lstmc compile again.`,
    `// Options: --target ${target} --dims ${dims}${target === "wgsl" ? "" : ` --precision ${options.precision}`}`,
    "//",
    `// Model '${commentText(ir.name)}', its layers in the order they run:`,
    ...layers,
    ...(ir.head ? [`//   head ${commentText(ir.head.name)}: linear, ${ir.head.at === "step" ? "at every valid step" : "at each row's last valid step"}${ir.loss ? `, loss ${ir.loss.kind}` : ""}`] : []),
    "//",
    ...api.map((line) => `// ${line}`),
  ];
}

const TS_API = (ir: ModelIR): string[] => [
  "API (no dependencies; arrays are flat and row-major), a cell module's with names '<layer>.<name>':",
  "  initParams(seed): Params                 layer i's cells' initializers for seed + i; the head uniform in ±1/√width",
  "  forward(params, inputs, initial?, { batch?, lengths?, targets? }) -> { outputs, final, loss, saved }",
  "      lengths [batch]: each row's steps (pack_padded_sequence); a reverse layer starts at each row's last one",
  "      targets: the loss's (class indices, or one number per head output); loss is null without them",
  "  backward(params, saved, upstream?) -> { params, inputs, initial }   from the loss (when forward had targets)",
  "      plus upstream: { outputs?, final? } (missing = zeros)",
  `  createState(batch?) / step(params, inputs, state${readsStep(ir) ? ", t" : ""}) -> outputs    streaming, for models without reverse layers`,
  "Each layer is its cell's generated module in a closed scope; the layers run one after another over the",
  "whole sequence (nothing is fused across layers).",
];

/** Whether a layer's cell reads the step index t. */
export function readsStep(ir: ModelIR): boolean {
  return ir.layers.some((layer) => layer.cell.nodes.some((node) => node.op === "step"));
}

/** initParams: layer i's cell's initializers for seed + i (its module's, by its local), then the head's. */
export function initParamsFunction(ir: ModelIR, sizes: SizeBinding, cells: readonly LayerCell[]): string {
  const head = ir.head;
  const headInit = head
    ? (() => {
        const [size, width] = [evaluateDim(head.size, sizes), evaluateDim(head.input.width, sizes)];
        const bound = 1 / Math.sqrt(width);
        const init = (name: string, rows: number, cols: number) => `${JSON.stringify(`${head.name}.${name}`)}: _initialValues("uniform", ${-bound}, ${bound}, ${rows}, ${cols}, _parameterSeed(seed, ${JSON.stringify(`${head.name}.${name}`)}), new FloatArray(${rows * cols})),`;
        return [init("W", size, width), init("b", size, 1)].join("\n");
      })()
    : "";
  return `export function initParams(seed: number): Params {
  return {
${ir.layers.map((layer, i) => `    ..._prefixedParams(${JSON.stringify(layer.name)}, ${cells[i]!.local}.initParams(seed + ${i})),`).join("\n")}
    ${headInit}
  } as unknown as Params;
}`;
}

/** The types of the API's arguments and results. */
export function apiTypes(ir: ModelIR): string {
  return `
export interface ForwardOptions {
  /** Batch rows (default 1). */
  batch?: number;
  /** Each row's length (1..steps), as PyTorch's pack_padded_sequence. Default: every row runs every step. */
  lengths?: ArrayLike<number>;
  /** The loss's targets${ir.loss ? "" : " (this model has no loss: never given)"}. */
  targets?: ArrayLike<number>;
}

/** What backward needs from forward. */
export type Saved = _ModelSaved;

export interface ForwardResult {
  outputs: Outputs;
  final: States;
  /** The loss, when the model has one and forward was given targets; else null. */
  loss: number | null;
  saved: Saved;
}

export interface Upstream {
  outputs?: Partial<Outputs>;
  final?: Partial<States>;
}

export interface Gradients {
  params: Params;
  inputs: Inputs;
  initial: States;
}
`;
}

function apiFunctions(ir: ModelIR, sizes: SizeBinding, cells: readonly LayerCell[]): string {
  return `${apiTypes(ir)}
${initParamsFunction(ir, sizes, cells)}

export function forward(params: Params, inputs: Inputs, initial: Partial<States> = {}, options: ForwardOptions = {}): ForwardResult {
  const result = _modelForward(_MODEL, params, inputs, initial, options);
  _saves.add(result.saved);
  return result as unknown as ForwardResult;
}

export function backward(params: Params, saved: Saved, upstream: Upstream = {}): Gradients {
  if (!_saves.has(saved)) throw new Error("saved must be the saved object this module's forward() returned");
  return _modelBackward(_MODEL, params, saved, upstream as { outputs?: Partial<Record<string, FloatArray>>; final?: Partial<Record<string, FloatArray>> }) as unknown as Gradients;
}

export function createState(batch: number = 1): States {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(\`batch must be a whole number of rows from 1 up, not \${batch}\`);
  return _modelCreateState(_MODEL, batch) as unknown as States;
}

${
  readsStep(ir)
    ? `/** One step of every layer; \`t\`, this step's index counted from 0, is read by the layers whose cells use it. */
export function step(params: Params, inputs: Partial<Record<keyof Inputs, FloatArray>>, state: States, t: number): Partial<Outputs> {
  // Checked before any layer updates the state in place.
  ${STEP_INDEX_CHECK}
  return _modelStep(_MODEL, params, inputs, state, t) as unknown as Partial<Outputs>;
}`
    : `export function step(params: Params, inputs: Partial<Record<keyof Inputs, FloatArray>>, state: States): Partial<Outputs> {
  return _modelStep(_MODEL, params, inputs, state, 0) as unknown as Partial<Outputs>;
}`
}
`;
}

/**
 * Each layer's cell, compiled once per distinct cell and sizes by `compile` (the cell as the code generator
 * accepts it, its sizes, the local to bind): the layers' cells, and the distinct closed scopes' texts in order.
 */
export async function layerCells(ir: ModelIR, sizes: SizeBinding, compile: (cell: CellIR, own: SizeBinding, local: string) => Promise<string>): Promise<{ cells: LayerCell[]; scopes: string[] }> {
  const distinct = new Map<string, LayerCell & { text: Promise<string> }>();
  const cells = ir.layers.map((layer) => {
    const own = layerSizes(layer, sizes);
    const key = JSON.stringify([layer.cell, own]);
    if (!distinct.has(key)) {
      const { cell, fields } = compilableCell(layer.cell);
      const local = generatedLocal("cell", distinct.size);
      distinct.set(key, { local, fields, text: compile(cell, own, local) });
    }
    return distinct.get(key)!;
  });
  return { cells, scopes: await Promise.all([...distinct.values()].map((c) => c.text)) };
}

/** The model's module as TypeScript, formatted. */
export async function compileModel(ir: ModelIR, options: ModelCompileOptions, target: "ts" | "js" = "ts"): Promise<CompiledModule> {
  const sizes = options.sizes;
  const { cells, scopes } = await layerCells(ir, sizes, async (cell, own, local) => closedScope((await compileCell(cell, { target: "ts", precision: options.precision, dims: own })).text, local));
  const floatType = options.precision === "f32" ? "Float32Array" : "Float64Array";
  const raw = [
    ...header(ir, options, target, TS_API(ir)),
    "",
    ...ir.sizes.map((s) => `export const ${specIdentifier(s.name)} = ${sizes[s.name]};`),
    "/** The sizes this module was compiled for. */",
    `export const sizes = ${sizesLiteral(ir.sizes.map((s) => ({ name: s.name, value: sizes[s.name]! })))};`,
    ...floatArrayDeclarations(floatType),
    // The head's initializer; a model without a head initializes through its cells only.
    ...(ir.head ? [INIT_HELPERS] : []),
    LENGTHS,
    MODEL_DRIVER,
    MODEL_DRIVER_SYNC,
    ...scopes,
    `const _MODEL: _Model = ${modelShape(ir, sizes, cells)};`,
    "/** Every saved object forward() returned: backward() takes no other. */",
    "const _saves = new WeakSet<object>();",
    ...apiRecords(ir, sizes),
    apiFunctions(ir, sizes, cells),
  ].join("\n");
  const fileName = `${specIdentifier(ir.name)}.ts`;
  return { fileName, text: await formatTypeScript(raw, fileName) };
}

/** The JavaScript target: the TypeScript module with its types erased, and its declarations. */
export async function compileJsModel(ir: ModelIR, options: ModelCompileOptions): Promise<{ js: CompiledModule; dts: CompiledModule }> {
  return eraseTypes(specIdentifier(ir.name), (await compileModel(ir, options, "js")).text);
}
