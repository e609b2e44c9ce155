// The TypeScript renderer: a module plan -> a ts-morph source file. The
// structure (imports none, constants, interfaces, functions) is built with
// ts-morph structures; function bodies are written with its code writer from
// the plan's kernels through one table of op -> syntax (EXPRESSIONS below).
import { VariableDeclarationKind, type CodeBlockWriter } from "ts-morph";
import { ModuleFile } from "./module-file.ts";
import type { UnaryFunction } from "../../ir/types.ts";
import { HARD_SIGMOID_ALPHA, HARD_SIGMOID_BETA } from "../../ir/types.ts";
import { arrays, type ModulePlan } from "../lower.ts";
import { BINARY_OPERATORS, readsOf, renderExpression, type ExpressionSyntax, type ReadExpr } from "../expression.ts";
import { isConstantDerived } from "../derived.ts";
import { operandIndex, renderStep, stepsRead, type Target } from "../target.ts";
import { floatArrayDeclarations, headerLines, initialValuesCall, interfaceRecords, numberLiteral, sizesLiteral } from "../shell.ts";
import { CodegenError, commentText, generatedLocal, specIdentifier } from "../names.ts";
import type { AfterLoopKernel, BufferPlan, DerivedMatrixPlan, Expr, Loc, StepKernel, StepPlan } from "../plan.ts";
import { addWeightAdapters, type LibraryMatch } from "./adapters.ts";
import { EXP_F32, GROW_JS, HELPERS, INIT_HELPERS, SAFETENSORS, WASM_F32, gemmNT, gemvFunction, gemvName, wasmStep } from "./runtime.ts";
import { STAGED_ROLES, forwardStepModule, type ForwardStepModule } from "../wasm/step.ts";

export interface RenderOptions {
  /** The target named in the header: the JavaScript target is this module with its types erased. */
  readonly target: "ts" | "js";
  readonly precision: "f32" | "f64";
  readonly specFile: string;
  readonly compilerVersion: string;
  /** The library layout the cell's parameters match, for fromOnnx / fromTorch; null for any other cell. */
  readonly adapters: LibraryMatch | null;
  /** f32 modules: run the forward step loop in one WebAssembly call where src/codegen/wasm/step.ts covers the spec (default true). */
  readonly fusedStep?: boolean;
}

const num = numberLiteral;

/** The op -> TypeScript table. */
const FUNCTION_SYNTAX: Record<UnaryFunction, (x: string) => string> = {
  sigmoid: (x) => `1 / (1 + Math.exp(-(${x})))`,
  tanh: (x) => `Math.tanh(${x})`,
  relu: (x) => `Math.max(0, ${x})`,
  exp: (x) => `Math.exp(${x})`,
  log: (x) => `Math.log(${x})`,
  softsign: (x) => `(${x}) / (1 + Math.abs(${x}))`,
  softplus: (x) => `((${x}) > 0 ? (${x}) + Math.log1p(Math.exp(-(${x}))) : Math.log1p(Math.exp(${x})))`,
  hard_sigmoid: (x) => `Math.max(0, Math.min(1, ${num(HARD_SIGMOID_ALPHA)} * (${x}) + ${num(HARD_SIGMOID_BETA)}))`,
  identity: (x) => `(${x})`,
  sqrt: (x) => `Math.sqrt(${x})`,
  rsqrt: (x) => `1 / Math.sqrt(${x})`,
  abs: (x) => `Math.abs(${x})`,
  floor: (x) => `Math.floor(${x})`,
};

/**
 * f32 modules: sigmoid and tanh through _expf (runtime.ts), accurate to float32
 * (e^x within 1e-8 relative, tanh within 4e-9 absolute) and about twice as
 * fast as Math.exp and Math.tanh, which are accurate to float64 and stay in
 * f64 modules. Plain exp keeps Math.exp: _expf clamps its argument.
 */
const FUNCTION_SYNTAX_F32: Record<UnaryFunction, (x: string) => string> = {
  ...FUNCTION_SYNTAX,
  sigmoid: (x) => `1 / (1 + _expf(-(${x})))`,
  tanh: (x) => `1 - 2 / (_expf(2 * (${x})) + 1)`,
};

type FunctionSyntax = typeof FUNCTION_SYNTAX;

/** f'(x) written from the saved output y (or, for log and abs, the saved input x). */
const DERIVATIVE_SYNTAX: Record<UnaryFunction, (v: string) => string> = {
  sigmoid: (y) => `(${y}) * (1 - (${y}))`,
  tanh: (y) => `1 - (${y}) * (${y})`,
  relu: (y) => `((${y}) > 0 ? 1 : 0)`,
  exp: (y) => `(${y})`,
  log: (x) => `1 / (${x})`,
  softsign: (y) => `(1 - Math.abs(${y})) * (1 - Math.abs(${y}))`,
  softplus: (y) => `-Math.expm1(-(${y}))`,
  hard_sigmoid: (y) => `((${y}) > 0 && (${y}) < 1 ? ${num(HARD_SIGMOID_ALPHA)} : 0)`,
  identity: () => `1`,
  sqrt: (y) => `0.5 / (${y})`,
  rsqrt: (y) => `-0.5 * (${y}) * (${y}) * (${y})`,
  abs: (x) => `Math.sign(${x})`,
  floor: () => `0`,
};


/** Row bases of the locations one loop reads or writes, hoisted out of its inner loop. */
class RowBases {
  readonly entries = new Map<string, { name: string; loc: Loc }>();
  key(loc: Loc): string {
    return `${loc.timed}|${loc.shift}|${loc.perRow}|${loc.width}|${loc.offset}`;
  }
  index(loc: Loc, extra: number, j: string): string {
    if (!loc.perRow) return loc.scalar ? num(loc.offset) : loc.offset + extra === 0 ? j : `${num(loc.offset + extra)} + ${j}`;
    const k = this.key(loc);
    if (!this.entries.has(k)) this.entries.set(k, { name: `_r${this.entries.size}`, loc });
    // A per-row scalar (a reduction's result) is the row's one element, whichever element reads it.
    if (loc.scalar) return this.entries.get(k)!.name;
    return `${this.entries.get(k)!.name} + ${j}${extra ? ` + ${num(extra)}` : ""}`;
  }
  declarations(): string[] {
    return [...this.entries.values()].map(({ name, loc }) => `const ${name} = ${rowStart(loc, "_b")};`);
  }
}

function rowStart(loc: Loc, b: string): string {
  const row = loc.timed ? (loc.shift ? `(_t + ${loc.shift}) * _B + ${b}` : `_t * _B + ${b}`) : b;
  return `(${row}) * ${num(loc.width)}${loc.offset ? ` + ${num(loc.offset)}` : ""}`;
}

/** Where the B rows of one step start in a location's array. */
function blockStart(loc: Loc): string {
  if (!loc.perRow) return num(loc.offset);
  return loc.timed ? `${loc.shift ? `(_t + ${loc.shift})` : "_t"} * _B * ${num(loc.width)}${loc.offset ? ` + ${num(loc.offset)}` : ""}` : num(loc.offset);
}

/** Comparisons as 1 or 0, the interpreter's meaning. `as number`: tsc refuses to compare two different literals. */
const comparison = (op: string) => (a: string, b: string) => `(${a} as number) ${op} (${b}) ? 1 : 0`;

/** pow, floored mod, min, max and comparisons in TypeScript: the interpreter's formulas, so f64 agrees exactly. */
const TS_OPERATORS: ExpressionSyntax["operators"] = {
  pow: (a, b) => `(${a}) ** (${b})`,
  mod: (a, b) => `(${a}) - (${b}) * Math.floor((${a}) / (${b}))`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  lt: comparison("<"),
  le: comparison("<="),
  gt: comparison(">"),
  ge: comparison(">="),
  eq: comparison("==="),
  ne: comparison("!=="),
};

/** The op -> TypeScript table (f64, or f32 with its faster sigmoid and tanh). */
const syntaxOf = (fns: FunctionSyntax): ExpressionSyntax => ({
  literal: (value) => (value < 0 ? `(${num(value)})` : num(value)),
  binary: BINARY_OPERATORS,
  neg: (x) => `-(${x})`,
  operators: TS_OPERATORS,
  select: (c, a, b) => `(${c} as number) !== 0 ? ${a} : ${b}`,
  // _t counts the steps of one call; _t0 is the step the call starts at (step() is called once per step).
  step: "(_t0 + _t)",
  index: (stride, extent) => `Math.floor(_j / ${num(stride)}) % ${num(extent)}`,
  functions: fns,
  derivatives: DERIVATIVE_SYNTAX,
});

function expression(e: Expr, rows: RowBases, fns: FunctionSyntax): string {
  return renderExpression(e, syntaxOf(fns), (r) => readElement(r, rows));
}

/** A read of element _j (of _j mod period, broadcast over rows). `!`: every index is in bounds by construction, and consumers type-check with noUncheckedIndexedAccess. */
function readElement(r: ReadExpr, rows: RowBases): string {
  return `${r.loc.array}[${rows.index(r.loc, r.extra, r.period === undefined ? "_j" : `(_j % ${num(r.period)})`)}]!`;
}

/** What kernels need from the module being rendered: the function table, and the specialised products they call. */
interface KernelContext {
  readonly fns: FunctionSyntax;
  readonly gemvs: Map<string, string>;
  /** f32 modules: the per-row products are only for when the WebAssembly kernel is missing. */
  readonly simd: boolean;
  /** The schedule's threshold: below this batch, one specialised product per row. */
  readonly rowProductsBelowBatch: number;
}

/**
 * The TypeScript target (see ../target.ts): a loop nest over batch rows and
 * elements per kernel, with each row's base index hoisted out of the inner
 * loop; a step's products through the GEMM.
 */
function tsTarget(ctx: KernelContext): Target {
  return {
    syntax: syntaxOf(ctx.fns),
    scope: () => {
      const rows = new RowBases();
      return {
        declare: (local, value) => `const ${local} = ${value};`,
        read: (r) => readElement(r, rows),
        readAt: (loc, index) => `${loc.array}[${rows.index(loc, 0, index)}]!`,
        store: (s, local) => {
          const at = `${s.loc.array}[${rows.index(s.loc, 0, "_j")}]`;
          return s.mode === "add" ? `${at} = ${at}! + ${local};` : `${at} = ${local};`;
        },
        loop: (length, body) => ["for (let _b = 0; _b < _B; _b++) {", ...rows.declarations(), `for (let _j = 0; _j < ${num(length)}; _j++) {`, ...body, "}", "}"],
        perRow: (body) => ["for (let _b = 0; _b < _B; _b++) {", ...rows.declarations(), ...body, "}"],
        barrier: () => [],
      };
    },
    reduce: (k, scope, element) => {
      // Element by element from the first, as the interpreter: the same sum, and the first of equal largest elements.
      const fold = k.fn === "sum" ? ["_acc += _x;"] : [`if (_j === 0 || _x > _acc) { _acc = _x;${k.argmax ? " _arg = _j;" : ""} }`];
      const stores = [scope.store({ loc: k.out, mode: "set", param: null }, "_acc"), ...(k.argmax ? [scope.store({ loc: k.argmax, mode: "set", param: null }, "_arg")] : [])];
      const body = [`let _acc = 0;`, ...(k.argmax ? ["let _arg = 0;"] : []), `for (let _j = 0; _j < ${num(k.length)}; _j++) {`, `const _x = ${element};`, ...fold, "}", ...stores];
      return [...(k.comment ? [`// ${commentText(k.comment)}`] : []), ...scope.perRow(body)];
    },
    contract: (k, scope) => {
      // Element _j = _m · cols + _n of the row's result; the coordinates an operand does not move along are not declared.
      const coordinates = [
        ...(k.a.outerStride !== 0 ? [`const _m = ${k.cols === 1 ? "_j" : `Math.floor(_j / ${num(k.cols)})`};`] : []),
        ...(k.b !== null && k.b.outerStride !== 0 ? [`const _n = ${k.rows === 1 ? "_j" : `_j % ${num(k.cols)}`};`] : []),
      ];
      const a = scope.readAt(k.a.loc, operandIndex(k.a, "_m", "_k", num));
      const term = k.b === null ? a : `${a} * ${scope.readAt(k.b.loc, operandIndex(k.b, "_n", "_k", num))}`;
      const body = [...coordinates, "let _acc = 0;", `for (let _k = 0; _k < ${num(k.depth)}; _k++) _acc += ${term};`, scope.store({ loc: k.out, mode: "set", param: null }, "_acc")];
      return [...(k.comment ? [`// ${commentText(k.comment)}`] : []), ...scope.loop(k.rows * k.cols, body)];
    },
    gemm: (k) => {
      // Under 4 rows the register-blocked GEMM has no full block: one specialised product per row instead.
      const gemv = gemvName(k.rows, k.depth);
      ctx.gemvs.set(gemv, gemvFunction(k.rows, k.depth));
      const row = (loc: Loc) => `${blockStart(loc) === "0" ? "" : `${blockStart(loc)} + `}_i * ${num(loc.width)}`;
      return [
        `// ${commentText(k.comment)}`,
        `if (_B < ${num(ctx.rowProductsBelowBatch)}${ctx.simd ? " && _simd === null" : ""}) for (let _i = 0; _i < _B; _i++) ${gemv}(${k.a.array}, ${row(k.a)}, ${k.w}, ${k.out.array}, ${row(k.out)});`,
        `else _gemmNT(${k.a.array}, ${blockStart(k.a)}, ${num(k.a.width)}, ${k.w}, ${k.out.array}, ${blockStart(k.out)}, ${num(k.out.width)}, _B, ${num(k.rows)}, ${num(k.depth)});`,
      ];
    },
    copy: (k) => {
      const sets: string[] = [];
      let offset = 0;
      for (const part of k.parts) {
        const start = rowStart(part.loc, "_b");
        sets.push(`${k.out.array}.set(${part.loc.array}.subarray(${start}, ${start} + ${num(part.length)}), ${rowStart(k.out, "_b")}${offset ? ` + ${num(offset)}` : ""});`);
        offset += part.length;
      }
      return [...(k.comment ? [`// ${commentText(k.comment)}`] : []), "for (let _b = 0; _b < _B; _b++) {", ...sets, "}"];
    },
  };
}

/** Matrix parameters an expression reads, as locals of the block that evaluates it element by element. */
function matrixLocals(e: Expr, into: Set<string> = new Set()): Set<string> {
  for (const r of readsOf(e)) if (!r.loc.perRow && !r.loc.scalar) into.add(r.loc.array);
  return into;
}

/** The local of a parameter's array, read from `params`: `_p_W` -> `params.W`. */
function paramLocal(plan: ModulePlan, array: string, params: string): string {
  const p = plan.cell.params.find((x) => arrays.param(x.name) === array);
  if (!p) throw new CodegenError(`internal: ${array} is not a parameter`);
  return `const ${array} = ${params}.${specIdentifier(p.name)};`;
}

/**
 * Derived matrices (see derived.ts): `_withDerived(params)` adds each matrix
 * expression a product reads, computed element by element, to the parameters.
 * Returns the type name the module's internal functions take parameters as.
 */
function addDerivedMatrices(file: ModuleFile, plan: ModulePlan, ctx: KernelContext): string {
  if (plan.derived.length === 0) return "Params";
  file.addInterface({ name: "_AllParams", extends: ["Params"], docs: ["The parameters and the matrix expressions products read."], properties: plan.derived.map((d) => ({ name: d.name, type: "FloatArray" })) });
  file.addFunction({
    name: "_withDerived",
    docs: ["The matrix expressions products read, for these parameters: the same at every step, so computed once per call."],
    parameters: [{ name: "params", type: "Params" }],
    returnType: "_AllParams",
    statements: (w) => {
      for (const d of plan.derived) {
        const rows = new RowBases();
        w.writeLine(`const ${d.array} = new FloatArray(${num(d.length)});`);
        w.block(() => {
          // A constant computed above (the mask a matrix expression reads) is a local already.
          const computed = new Set(plan.derived.map((x) => x.array));
          for (const array of [...matrixLocals(d.value), ...scalarLocals(d.value)]) if (!computed.has(array)) w.writeLine(paramLocal(plan, array, "params"));
          w.writeLine(`for (let _j = 0; _j < ${num(d.length)}; _j++) ${d.array}[_j] = ${expression(d.value, rows, ctx.fns)};`);
        });
      }
      w.writeLine(`return { ...params, ${plan.derived.map((d) => `${d.name}: ${d.array}`).join(", ")} };`);
    },
  });
  return "_AllParams";
}

/** `_withDerived` on its own (f32), for the WebGPU host, which computes the derived matrices on the CPU at upload. */
export function renderDerivedFunction(plan: ModulePlan): string {
  const file = new ModuleFile();
  // Math.exp / Math.tanh: the host carries no _expf; these run once per upload.
  const ctx: KernelContext = { fns: FUNCTION_SYNTAX, gemvs: new Map(), simd: false, rowProductsBelowBatch: 0 };
  if (addDerivedMatrices(file, plan, ctx) === "Params") {
    file.addFunction({ name: "_withDerived", docs: ["This cell's products read parameters only."], parameters: [{ name: "params", type: "Params" }], returnType: "Params", statements: "return params;" });
  }
  return file.getFullText();
}

/** Scalar parameters an expression reads. */
function scalarLocals(e: Expr, into: Set<string> = new Set()): Set<string> {
  for (const r of readsOf(e)) if (r.loc.scalar) into.add(r.loc.array);
  return into;
}

/** Backward, after the weight gradients: a derived matrix's gradient, sent on to the parameters inside it. */
function writeDerivedGradient(w: CodeBlockWriter, plan: ModulePlan, d: DerivedMatrixPlan, ctx: KernelContext): void {
  {
    w.writeLine(`// d${commentText(d.label)} -> ${commentText(d.partials.map((p) => p.param).join(", "))}, element by element`);
    w.block(() => {
      const reads = new Set<string>();
      for (const p of d.partials) {
        matrixLocals(p.expr, reads);
        scalarLocals(p.expr, reads);
      }
      reads.delete(d.gradient);
      for (const array of reads) if (!plan.cell.params.some((p) => p.shape.length < 2 && arrays.param(p.name) === array)) w.writeLine(paramLocal(plan, array, backwardParams(plan)));
      w.write(`for (let _j = 0; _j < ${num(d.length)}; _j++)`).block(() => {
        for (const p of d.partials) {
          const at = `${arrays.gradParam(p.param)}[${p.scalar ? "0" : "_j"}]`;
          w.writeLine(`${at} = ${at}! + ${expression(p.expr, new RowBases(), ctx.fns)};`);
        }
      });
    });
  }
}

/** A parameter's name in comments: a derived matrix is shown as its expression. */
function paramLabel(plan: ModulePlan, name: string): string {
  return plan.derived.find((d) => d.name === name)?.label ?? name;
}

type Workspace = (w: CodeBlockWriter, array: string, length: string) => void;

/** The kernels after the backward loop: weight gradients, deferred input gradients, derived matrices' gradients. */
function writeAfterLoop(w: CodeBlockWriter, plan: ModulePlan, k: AfterLoopKernel, ctx: KernelContext, workspace: Workspace): void {
  switch (k.kind) {
    case "weightGradient": {
      const g = plan.groups[k.group]!;
      if (k.group === 0) w.writeLine("// Weight gradients: one product over all steps per group, Σ_t gradᵀ · vector.");
      w.writeLine(`// d(${commentText(g.products.map((p) => paramLabel(plan, p.param)).join(", "))})`);
      workspace(w, `_gT${g.index}`, `_T * _B * ${num(g.rows)}`);
      workspace(w, `_vT${g.index}`, `_T * _B * ${num(g.depth)}`);
      workspace(w, `_dW${g.index}`, num(g.rows * g.depth));
      w.writeLine(`_transpose(${g.gradBuffer}, 0, _T * _B, ${num(g.rows)}, _gT${g.index});`);
      w.writeLine(`_transpose(${g.operand.array}, ${g.operand.shift ? `_B * ${num(g.operand.width)}` : "0"}, _T * _B, ${num(g.depth)}, _vT${g.index});`);
      w.writeLine(`_gemmNT(_gT${g.index}, 0, _T * _B, _vT${g.index}, _dW${g.index}, 0, ${num(g.depth)}, ${num(g.rows)}, ${num(g.depth)}, _T * _B);`);
      for (const p of g.products) {
        w.writeLine(
          `for (let _r = 0; _r < ${p.rows}; _r++) for (let _c = 0; _c < ${p.cols}; _c++) ${arrays.gradParam(p.param)}[_r * ${p.paramCols} + ${p.colOffset} + _c] = ${arrays.gradParam(p.param)}[_r * ${p.paramCols} + ${p.colOffset} + _c]! + _dW${g.index}[(${p.rowOffset} + _r) * ${g.depth} + _c]!;`,
        );
      }
      return;
    }
    case "deferredInputGradient": {
      const g = plan.groups[k.group]!;
      w.writeLine(`// d${commentText(k.input)} = Σ Wᵀ · grad, for every step at once`);
      w.writeLine(`_gemmNT(${g.gradBuffer}, 0, ${num(g.rows)}, ${g.packedT}, ${arrays.gradInput(k.input)}, 0, ${num(g.depth)}, _T * _B, ${num(g.depth)}, ${num(g.rows)});`);
      return;
    }
    case "derivedGradient":
      writeDerivedGradient(w, plan, plan.derived[k.derived]!, ctx);
      return;
  }
}

function writeStep(w: CodeBlockWriter, step: StepPlan, ctx: KernelContext): void {
  for (const k of renderStep(step, tsTarget(ctx))) for (const line of [...k.lines, ...k.barrier]) w.writeLine(line);
}

export function renderModule(plan: ModulePlan, options: RenderOptions): string {
  const cell = plan.cell;
  const simd = options.precision === "f32";
  const file = new ModuleFile();
  const ctx: KernelContext = { fns: simd ? FUNCTION_SYNTAX_F32 : FUNCTION_SYNTAX, gemvs: new Map(), simd, rowProductsBelowBatch: plan.schedule.rowProductsBelowBatch };
  const base = {
    plan,
    options,
    cell,
    publicParams: cell.params.filter((p) => !p.internal),
    file,
    ctx,
    field: (name: string) => specIdentifier(name),
    withDerived: (params: string) => (plan.derived.length > 0 ? `_withDerived(${params})` : params),
    simd,
    workspaces: new Workspaces(),
    stateLength: (name: string) => cell.states.find((s) => s.name === name)!.width,
    widest: Math.max(1, ...cell.inputs.map((i) => i.width), ...cell.states.map((x) => x.width), ...cell.outputs.map((o) => o.width), ...plan.tapes.map((t) => t.width)),
    fused: simd && options.fusedStep !== false ? forwardStepModule(plan) : null,
  };
  addHeader({ ...base, allParams: "Params" });
  addTypes({ ...base, allParams: "Params" });
  addRuntime({ ...base, allParams: "Params" });
  addInitParams({ ...base, allParams: "Params" });
  addSaveLoad({ ...base, allParams: "Params" });
  addWeightAdapters(file, options.adapters);
  const m: ModuleContext = { ...base, allParams: addDerivedMatrices(file, plan, ctx) };
  addNameLists(m);
  addPackWeights(m);
  addForwardCore(m);
  addSequenceRun(m);
  addForward(m);
  addCreateState(m);
  addStep(m);
  addInvalidate(m);
  addKernels(m);
  addPackTransposed(m);
  addBackward(m);
  // The specialised products the kernels above called, known once they are printed.
  file.addStatements((w) => {
    for (const text of ctx.gemvs.values()) w.writeLine(text);
  });
  addReserves(m);
  addWorkspaceDeclarations(m);
  return file.getFullText();
}

/** What every part of the module's rendering reads. */
interface ModuleContext {
  readonly plan: ModulePlan;
  readonly options: RenderOptions;
  readonly cell: ModulePlan["cell"];
  readonly publicParams: ModulePlan["cell"]["params"];
  readonly file: ModuleFile;
  readonly ctx: KernelContext;
  readonly field: (name: string) => string;
  /** `params`, or `_withDerived(params)` when products read matrix expressions. */
  readonly withDerived: (params: string) => string;
  /** The type internal functions take parameters as. */
  readonly allParams: string;
  readonly simd: boolean;
  readonly workspaces: Workspaces;
  readonly stateLength: (name: string) => number;
  /** The most numbers a batch row has in any per-step array: what a row count is checked against. */
  readonly widest: number;
  /** The forward step loop as one WebAssembly function, when the module has one. */
  readonly fused: ForwardStepModule | null;
}

type Entry = "forward" | "step" | "backward";

/**
 * Workspaces, kept across calls: each entry point grows what it uses, and the
 * module declares them all once rendering has seen every use. f32 modules grow
 * each entry point's workspaces before binding any (the _reserve functions):
 * growing the WebAssembly memory they live in detaches the views bound before.
 */
class Workspaces {
  readonly all = new Set<string>();
  readonly byEntry: Record<Entry, Map<string, string>> = { forward: new Map(), step: new Map(), backward: new Map() };
  use(w: CodeBlockWriter, entry: Entry, array: string, length: string, binding: "const" | "let" = "const"): void {
    this.all.add(array);
    this.byEntry[entry].set(array, length);
    w.writeLine(`_ws${array} = _grow(_ws${array}, ${length});`);
    w.writeLine(`${binding} ${array} = _ws${array};`);
  }
}

/** The checks every entry point that takes parameters starts with. */
function writeParamChecks(w: CodeBlockWriter, m: ModuleContext, remembered = false): void {
  const checks = () => {
    w.writeLine(`_checkRecord(params, "params", _PARAMS);`);
    for (const p of m.publicParams) w.writeLine(`_checkLength(params.${m.field(p.name)}, ${p.count}, "params.${m.field(p.name)}");`);
  };
  if (!remembered) return checks();
  // step() is called once per token with the same parameters: it checks and packs them again only when an array
  // changed (another array, or one whose length changed, as a detached buffer's does), or after forward() or
  // invalidate(). A check costs more than a small step, and packing a large one's matrices several times it.
  const fields = m.publicParams.map((p, i) => `params.${m.field(p.name)} === _stepParams[${i}] && _stepParams[${i}]!.length === ${p.count}`);
  w.write(`if (!(params === _stepParamsOf${fields.length > 0 ? ` && ${fields.join(" && ")}` : ""}))`).block(() => {
    checks();
    if (m.plan.derived.length > 0) w.writeLine(`_stepAllParams = _withDerived(params);`);
    w.writeLine(`_packWeights(${stepParams(m)});`);
    w.writeLine(`_stepParamsOf = params;`);
    w.writeLine(`_stepParams = [${m.publicParams.map((p) => `params.${m.field(p.name)}`).join(", ")}];`);
  });
}

/** What step() passes its kernels: the parameters, with the matrix expressions they had when step() last packed them. */
function stepParams(m: ModuleContext): string {
  return m.plan.derived.length > 0 ? "_stepAllParams" : "params";
}

/**
 * invalidate(): step() packs the parameters' matrices once and reuses them while it is given the same arrays, so an
 * edit inside an array (a training update in place) is not seen until the next pack. Comparing every weight on every
 * call would cost as much as packing them again, which is what caching avoids.
 */
function addInvalidate(m: ModuleContext): void {
  m.file.addFunction({
    name: "invalidate",
    isExported: true,
    docs: ["Makes the next step() read its parameters afresh: call it after changing a parameter array in place (a new params object needs nothing)."],
    returnType: "void",
    statements: "_stepParamsOf = {};",
  });
}

/**
 * kernels: which code this engine runs the module on, settled when the module loads: the matrix products in
 * WebAssembly SIMD (relaxed where the engine has it) or JavaScript, and the forward and backward step loops in
 * their WebAssembly modules or JavaScript. A page can report it rather than guess from the speed.
 */
function addKernels(m: ModuleContext): void {
  const { simd, fused } = m;
  const products = simd ? `_simd === null ? "js" : _simd.relaxed ? "wasm-relaxed-simd" : "wasm-simd"` : `"js"`;
  const loop = (loaded: string | null) => (loaded === null ? `"js"` : `${loaded} === null ? "js" : "wasm"`);
  m.file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["Which code runs this module here, settled on load: products in WebAssembly SIMD (relaxed where available) or JavaScript; step loops in WebAssembly or JavaScript."],
    declarations: [
      {
        name: "kernels",
        type: `{ readonly products: "wasm-relaxed-simd" | "wasm-simd" | "js"; readonly forwardLoop: "wasm" | "js"; readonly backwardLoop: "wasm" | "js" }`,
        initializer: `{ products: ${products}, forwardLoop: ${loop(fused ? "_forwardStep" : null)}, backwardLoop: ${loop(fused ? "_backwardStep" : null)} }`,
      },
    ],
  });
}

/** The cell's names, which entry points check the objects they are given against; and every saved object forward() made. */
function addNameLists(m: ModuleContext): void {
  const list = (names: readonly { name: string }[]) => `new Set([${names.map((n) => JSON.stringify(m.field(n.name))).join(", ")}])`;
  m.file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    declarations: [
      { name: "_PARAMS", type: "ReadonlySet<string>", initializer: list(m.publicParams) },
      { name: "_INPUTS", type: "ReadonlySet<string>", initializer: list(m.cell.inputs) },
      { name: "_STATES", type: "ReadonlySet<string>", initializer: list(m.cell.states) },
      { name: "_OUTPUTS", type: "ReadonlySet<string>", initializer: list(m.cell.outputs) },
      { name: "_UPSTREAM", type: "ReadonlySet<string>", initializer: `new Set(["outputs", "final"])` },
      { name: "_OPTIONS", type: "ReadonlySet<string>", initializer: `new Set(["batch", "steps", "lengths", "replay"])` },
    ],
  });
  m.file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Let,
    docs: ["The parameters step() last checked and packed, and their arrays: {} when the packed matrices are not theirs."],
    declarations: [
      // An object no caller has: the first call is always checked, whatever it passes (null included).
      { name: "_stepParamsOf", type: "object", initializer: "{}" },
      { name: "_stepParams", type: "readonly (Float32Array | Float64Array)[]", initializer: "[]" },
      ...(m.plan.derived.length > 0 ? [{ name: "_stepAllParams", type: "_AllParams", initializer: "{} as _AllParams" }] : []),
    ],
  });
  m.file.addVariableStatement({ declarationKind: VariableDeclarationKind.Const, docs: ["Every saved object forward() returned, with a record of what it held: backward() takes no other, and reads the record."], declarations: [{ name: "_saves", initializer: "new WeakMap<object, Saved & { readonly replay: boolean }>()" }] });
}

/** Locals for the parameters the function's kernels read (products read matrices packed; a contraction reads its matrix as it is). */
function paramLocals(w: CodeBlockWriter, cell: ModulePlan["cell"], read: ReadonlySet<string>, params = "params"): void {
  for (const p of cell.params) if (read.has(arrays.param(p.name))) w.writeLine(`const ${arrays.param(p.name)} = ${params}.${specIdentifier(p.name)};`);
}

/** Whether backward computes a parameter's gradient: every parameter's but a constant's that no product reads. */
function gradientWritten(plan: ModulePlan, param: string): boolean {
  const constant = plan.derived.some((d) => d.name === param && isConstantDerived(d));
  return !constant || plan.groups.some((g) => g.products.some((p) => p.param === param));
}

/**
 * Where backward reads parameters: the user's, or, when the cell has consts
 * (internal parameters with no gradient, which backward may read) or its step
 * reads a derived matrix (a contraction's), the user's with every derived value
 * added (`_allParams`, declared by backward).
 */
function backwardParams(plan: ModulePlan): string {
  const read = arraysRead(plan.backward.step.kernels);
  return plan.derived.some((d) => isConstantDerived(d) || read.has(d.array)) ? "_allParams" : "params";
}

/** The arrays a step's kernels read. */
function arraysRead(kernels: readonly StepKernel[]): Set<string> {
  const read = new Set<string>();
  for (const k of kernels) {
    if (k.kind === "pointwise") for (const item of k.items) for (const r of readsOf(item.expr)) read.add(r.loc.array);
    else if (k.kind === "copy") for (const part of k.parts) read.add(part.loc.array);
    else if (k.kind === "reduce") for (const r of readsOf(k.element)) read.add(r.loc.array);
    else if (k.kind === "contract") for (const operand of [k.a, k.b]) operand && read.add(operand.loc.array);
    else read.add(k.a.array);
  }
  return read;
}


function addHeader(m: ModuleContext): void {
  const { options, cell, file } = m;
  const optionsText = `--target ${options.target} --dims ${cell.sizes.map((s) => `${s.name}=${s.value}`).join(",")} --precision ${options.precision}`;
  const header = headerLines(cell, { compilerVersion: options.compilerVersion, specFile: options.specFile, optionsText, engine: "", notes: [], api: API_DOC(options.precision) });
  file.addStatements((w) => {
    for (const line of header) w.writeLine(line);
  });
  file.addStatements((w) => w.blankLine());
}

function addTypes(m: ModuleContext): void {
  const { options, cell, file, field } = m;
  for (const s of cell.sizes) file.addVariableStatement({ isExported: true, declarationKind: VariableDeclarationKind.Const, declarations: [{ name: specIdentifier(s.name), initializer: num(s.value) }] });
  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ["The sizes this module was compiled for."],
    declarations: [{ name: "sizes", initializer: sizesLiteral(cell.sizes) }],
  });
  const floatType = options.precision === "f32" ? "Float32Array" : "Float64Array";
  file.addStatements(floatArrayDeclarations(floatType));

  for (const r of interfaceRecords(cell)) {
    file.addInterface({ name: r.name, isExported: true, docs: [r.doc], properties: r.entries.map((e) => ({ name: field(e.name), type: "FloatArray", docs: [e.doc] })) });
  }
  file.addInterface({
    name: "Saved",
    isExported: true,
    docs: ["What backward needs from forward: frozen, and accepted by backward() only as forward() returned it."],
    properties: [
      { name: "batch", type: "number", isReadonly: true },
      { name: "steps", type: "number", isReadonly: true },
      { name: "inputs", type: "Readonly<Inputs>", isReadonly: true, docs: ["forward()'s own copy of the inputs."] },
      { name: "hist", type: "Readonly<States>", isReadonly: true, docs: ["Each state before every step and after the last: [steps + 1, batch, n]; at batch 1, the initial states only ([1, 1, n]): backward() replays the steps."] },
      { name: "outputs", type: "Readonly<Outputs>", isReadonly: true },
      { name: "tape", type: "readonly FloatArray[]", isReadonly: true, docs: ["Intermediate values of every step that backward reads; empty at batch 1, where backward() replays the steps."] },
      { name: "lengths", type: "Int32Array | null", isReadonly: true, docs: ["Each row's length, or null when every row ran every step."] },
    ],
  });
  file.addInterface({
    name: "ForwardOptions",
    isExported: true,
    properties: [
      { name: "batch", type: "number", hasQuestionToken: true, docs: ["Batch rows (default 1)."] },
      { name: "steps", type: "number", hasQuestionToken: true, docs: ["Steps: needed only by a cell without inputs, else the inputs' length says."] },
      { name: "lengths", type: "ArrayLike<number>", hasQuestionToken: true, docs: ["Each row's length (1..steps), as PyTorch's pack_padded_sequence: a row's state is frozen after its last step and its outputs are 0 there. Default: every row runs every step."] },
      {
        name: "replay",
        type: "boolean",
        hasQuestionToken: true,
        docs: ["Keep only the inputs and initial states, and have backward() run the steps again (with the params it is given): a faster forward and a smaller saved object, for a backward that costs about one forward more. Default: at batch 1 only."],
      },
    ],
  });
  file.addInterface({ name: "ForwardResult", isExported: true, properties: [{ name: "outputs", type: "Outputs" }, { name: "final", type: "States" }, { name: "saved", type: "Saved" }] });
  file.addInterface({
    name: "Upstream",
    isExported: true,
    docs: ["Gradients of the loss arriving from outside; missing ones are zeros."],
    properties: [{ name: "outputs", type: "Partial<Outputs>", hasQuestionToken: true }, { name: "final", type: "Partial<States>", hasQuestionToken: true }],
  });
  file.addInterface({ name: "Gradients", isExported: true, properties: [{ name: "params", type: "Params" }, { name: "inputs", type: "Inputs" }, { name: "initial", type: "States" }] });
}

function addRuntime(m: ModuleContext): void {
  const { file, simd, fused } = m;
  if (simd) file.addStatements([gemmNT("_gemmNTjs"), WASM_F32, ...(fused ? [wasmStep(fused)] : []), HELPERS, EXP_F32]);
  else file.addStatements([gemmNT("_gemmNT"), GROW_JS, HELPERS]);
  file.addStatements(INIT_HELPERS);
  file.addStatements(SAFETENSORS);
}

/**
 * saveParams / loadParams: the parameters as a safetensors file, the format
 * PyTorch and Hugging Face users already have; each tensor under its
 * parameter's name with its shape, in the module's precision.
 */
function addSaveLoad(m: ModuleContext): void {
  const { publicParams, file, field, options } = m;
  const dtype = options.precision === "f32" ? "F32" : "F64";
  file.addFunction({
    name: "saveParams",
    isExported: true,
    docs: [`The parameters as a safetensors file (${dtype}, each under its name with its shape); \`metadata\` goes into its header.`],
    parameters: [{ name: "params", type: "Params" }, { name: "metadata", type: "Readonly<Record<string, string>>", initializer: "{}" }],
    returnType: "Uint8Array",
    statements: (w) => {
      w.writeLine(`_checkRecord(params, "params", _PARAMS);`);
      w.writeLine("if (typeof metadata !== \"object\" || metadata === null || Array.isArray(metadata)) throw new Error(`saveParams: metadata must be an object of strings, not ${_describe(metadata)}`);");
      w.write("for (const [key, value] of Object.entries(metadata))").block(() => {
        w.writeLine("if (typeof value !== \"string\") throw new Error(`saveParams: metadata.${key} must be a string (safetensors metadata is text), not ${typeof value}`);");
      });
      w.write("return encodeSafetensors(").inlineBlock(() => {
        w.write("tensors:").inlineBlock(() => {
          for (const p of publicParams) {
            w.writeLine(`${JSON.stringify(field(p.name))}: { dtype: ${JSON.stringify(dtype)}, shape: [${p.shape.join(", ")}], data: _checkLength(params.${field(p.name)}, ${p.count}, "params.${field(p.name)}") },`);
          }
        });
        w.write(",");
        w.writeLine(`metadata: { ...metadata, lstmc_cell: ${JSON.stringify(m.cell.name)} },`);
      });
      w.write(");");
    },
  });
  file.addFunction({
    name: "loadParams",
    isExported: true,
    docs: ["Parameters from a safetensors file (saveParams', or PyTorch's after `lstmc import --like`): every parameter by its name and shape, F32 or F64, in this module's precision; anything else in the file is an error."],
    parameters: [{ name: "bytes", type: "Uint8Array" }],
    returnType: "Params",
    statements: (w) => {
      w.writeLine(`if (!(bytes instanceof Uint8Array)) throw new Error(\`loadParams: bytes must be a Uint8Array (a safetensors file's contents), not \${_describe(bytes)}\`);`);
      w.writeLine(`let tensors: Readonly<Record<string, StoredTensor>>;`);
      w.writeLine(`try { tensors = decodeSafetensors(bytes).tensors; } catch (e) { throw new Error(\`loadParams: \${(e as Error).message}\`); }`);
      w.writeLine(`for (const name of Object.keys(tensors)) if (!_PARAMS.has(name)) throw new Error(\`loadParams: the file has a tensor '\${name}', which is not one of this cell's parameters (\${[..._PARAMS].join(", ")})\`);`);
      w.write("const take = (name: string, shape: readonly number[]): FloatArray =>").block(() => {
        w.writeLine("const t = tensors[name];");
        w.writeLine("if (t === undefined) throw new Error(`loadParams: the file has no tensor '${name}'`);");
        w.writeLine("if (t.dtype === \"I32\") throw new Error(`loadParams: tensor '${name}' holds integers (I32); parameters are F32 or F64`);");
        w.writeLine("if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) throw new Error(`loadParams: tensor '${name}' has shape [${t.shape.join(\", \")}], the parameter [${shape.join(\", \")}]`);");
        w.writeLine("return FloatArray.from(t.data);");
      });
      w.write("return").block(() => {
        for (const p of publicParams) w.writeLine(`${field(p.name)}: take(${JSON.stringify(field(p.name))}, [${p.shape.join(", ")}]),`);
      });
      w.write(";");
    },
  });
}

function addInitParams(m: ModuleContext): void {
  const { publicParams, file, field } = m;
  // initParams
  file.addFunction({
    name: "initParams",
    isExported: true,
    docs: ["The spec's initializers: the same numbers as `lstmc` and its interpreter for the same seed."],
    parameters: [{ name: "seed", type: "number" }],
    returnType: "Params",
    statements: (w) => {
      w.write("return").block(() => {
        for (const p of publicParams) w.writeLine(`${field(p.name)}: ${initialValuesCall(p, field(p.name))},`);
      });
      w.write(";");
    },
  });
}

function addPackWeights(m: ModuleContext): void {
  const { plan, file, field, allParams, workspaces } = m;
  const packForward = file.addFunction({
    name: "_packWeights",
    docs: ["Copies each group's matrices into one packed [rows, depth] matrix: one pass over the shared vector per step."],
    parameters: [{ name: "params", type: allParams }],
    statements: (w) => {
      for (const g of plan.groups) {
        workspaces.use(w, "forward", g.packed, num(g.rows * g.depth));
        for (const p of g.products) {
          const src = `params.${field(p.param)}`;
          if (p.cols === p.paramCols) w.writeLine(`${g.packed}.set(${src}, ${num(p.rowOffset * g.depth)});`);
          else w.writeLine(`for (let _r = 0; _r < ${p.rows}; _r++) ${g.packed}.set(${src}.subarray(_r * ${p.paramCols} + ${p.colOffset}, _r * ${p.paramCols} + ${p.colOffset + p.cols}), (${p.rowOffset} + _r) * ${g.depth});`);
        }
      }
    },
  });
  void packForward;

}

function addForwardCore(m: ModuleContext): void {
  const { plan, cell, file, ctx, field, allParams, simd, workspaces } = m;
  file.addFunction({
    name: "_forwardCore",
    docs: ["Runs T steps for B rows on the packed matrices; hist[s] holds slot 0 (the initial state) on entry and gets slots 1..T."],
    parameters: [
      { name: "_B", type: "number" },
      { name: "_T", type: "number" },
      { name: "params", type: allParams },
      { name: "inputs", type: "Inputs" },
      { name: "hist", type: "States" },
      { name: "outputs", type: "Outputs" },
      // Unread (and so named with a leading '_') when the cell saves nothing.
      { name: plan.tapes.length > 0 ? "tape" : "_tape", type: "FloatArray[]" },
      // Unread (and so named with a leading '_') by a cell without states or outputs.
      { name: cell.states.length + cell.outputs.length > 0 ? "lengths" : "_lengths", type: "Int32Array | null" },
      ...(stepsRead(plan.forward.step) ? [{ name: "_t0", type: "number" }] : []),
    ],
    statements: (w) => {
      if (simd) w.writeLine("_reserveForward(_B, _T);");
      paramLocals(w, cell, arraysRead(plan.forward.step.kernels));
      for (const i of cell.inputs) w.writeLine(`const ${arrays.input(i.name)} = inputs.${field(i.name)};`);
      for (const s of cell.states) w.writeLine(`const ${arrays.hist(s.name)} = hist.${field(s.name)};`);
      for (const o of cell.outputs) w.writeLine(`const ${arrays.output(o.name)} = outputs.${field(o.name)};`);
      plan.tapes.forEach((t, i) => w.writeLine(`const ${t.array} = tape[${i}]!;`));
      for (const g of plan.groups) {
        // Packed by the caller; bound through _grow like every workspace, as reserving may have moved the memory since.
        workspaces.use(w, "forward", g.packed, num(g.rows * g.depth));
        workspaces.use(w, "forward", g.out, g.precomputed ? `_T * _B * ${num(g.rows)}` : `_B * ${num(g.rows)}`);
      }
      for (const t of plan.forward.step.temps) workspaces.use(w, "forward", t.array, `_B * ${num(t.width)}`);
      for (const k of plan.forward.before) {
        const g = plan.groups[k.group]!;
        w.writeLine(`// ${commentText(`${g.products.map((p) => paramLabel(plan, p.param)).join(", ")} @ ${g.vectorLabel}, for every step at once`)}`);
        w.writeLine(`_gemmNT(${g.operand.array}, 0, ${num(g.depth)}, ${g.packed}, ${g.out}, 0, ${num(g.rows)}, _T * _B, ${num(g.rows)}, ${num(g.depth)});`);
      }
      if (m.fused) writeFusedForward(w, m, m.fused);
      if (cell.states.length > 0) w.writeLine("const _ended = _firstEnd(lengths, _T);");
      w.write("for (let _t = 0; _t < _T; _t++)").block(() => {
        writeStep(w, plan.forward.step, ctx);
        writeFreezeEnded(w, m);
      });
      writeZeroEndedOutputs(w, m);
    },
  });

}

/**
 * The forward steps in one WebAssembly call (src/codegen/wasm/step.ts), where
 * it loaded: the arrays it reads and writes that are not workspaces are staged
 * through copies in its memory, in once and out once per call, to the very
 * places the JavaScript loop below writes; with lengths, the rows' lengths too,
 * and ended rows' outputs are zeroed after the call, as after the loop.
 */
function writeFusedForward(w: CodeBlockWriter, m: ModuleContext, fused: ForwardStepModule): void {
  const { plan, cell, workspaces } = m;
  const buffers = new Map(plan.buffers.map((b) => [b.name, b]));
  const staged = fused.arrays.filter((a) => STAGED_ROLES.has(buffers.get(a)!.role));
  const rows = (array: string) => `_B * ${num(buffers.get(array)!.width)}`;
  const lengthOf = (array: string): string => stagedLength(buffers.get(array)!);
  w.write("if (_forwardStep !== null)").block(() => {
    for (const a of staged) workspaces.use(w, "forward", stage(a), lengthOf(a));
    const lengths = writeStagedLengths(w, m, "forward", "lengths");
    for (const a of staged) {
      const role = buffers.get(a)!.role;
      if (role === "param" || role === "input") w.writeLine(`${stage(a)}.set(${a});`);
      else if (role === "history") w.writeLine(`${stage(a)}.set(${a}.subarray(0, ${rows(a)}));`);
    }
    const addresses = fused.arrays.map((a) => `${staged.includes(a) ? stage(a) : a}.byteOffset`);
    w.writeLine(`_forwardStep(_T, _B, _firstEnd(lengths, _T), ${lengths}.byteOffset, ${addresses.join(", ")});`);
    for (const a of staged) {
      const role = buffers.get(a)!.role;
      if (role === "history") w.writeLine(`${a}.set(${stage(a)}.subarray(${rows(a)}, ${lengthOf(a)}), ${rows(a)});`);
      else if (role === "output" || role === "tape") w.writeLine(`${a}.set(${stage(a)}.subarray(0, ${lengthOf(a)}));`);
    }
    writeZeroEndedOutputs(w, m);
    w.writeLine("return;");
  });
}

/** Stages the rows' lengths (the local `given`, when not null) for a fused loop; returns the workspace's name. */
function writeStagedLengths(w: CodeBlockWriter, m: ModuleContext, entry: Entry, given: string): string {
  // One float32 slot per row, read by the loop as int32.
  const lengths = generatedLocal("st", "lengths");
  m.workspaces.use(w, entry, lengths, "_B");
  w.writeLine(`if (${given} !== null) new Int32Array(${lengths}.buffer, ${lengths}.byteOffset, _B).set(${given});`);
  return lengths;
}

/** The workspace an array is staged through in the kernel's memory, for the fused step loops. */
const stage = (array: string): string => generatedLocal("st", array.slice(1));

/** The elements a staged buffer holds for B rows and T steps. */
function stagedLength(b: BufferPlan): string {
  const rows = `_B * ${num(b.width)}`;
  return { steps: `_T * ${rows}`, history: `(_T + 1) * ${rows}`, row: rows, shared: num(b.width) }[b.extent];
}

/**
 * The backward steps in one WebAssembly call where it loaded (else `loop`, the JavaScript loop): what it reads is
 * staged into its memory once, with the rows' lengths, the gradients it sums (zeroed there first) copied out once;
 * it swaps the carried gradients' addresses each step, so after an odd number of steps the caller's two are
 * swapped too (`swap`).
 */
function writeFusedBackward(w: CodeBlockWriter, m: ModuleContext, fused: readonly string[], loop: () => void, swap: () => void): void {
  const buffers = new Map(m.plan.buffers.map((b) => [b.name, b]));
  // The parked rows are workspaces of this module, not the plan's buffers.
  const staged = fused.filter((a) => buffers.has(a) && STAGED_ROLES.has(buffers.get(a)!.role));
  const sums = (a: string) => ["paramGradient", "inputGradient"].includes(buffers.get(a)!.role);
  w.write("if (_backwardStep !== null)").block(() => {
    for (const a of staged) m.workspaces.use(w, "backward", stage(a), stagedLength(buffers.get(a)!));
    const lengths = writeStagedLengths(w, m, "backward", "_lengths");
    for (const a of staged) w.writeLine(sums(a) ? `${stage(a)}.fill(0, 0, ${stagedLength(buffers.get(a)!)});` : `${stage(a)}.set(${a});`);
    w.writeLine(`_backwardStep(_T, _B, _firstEnd(_lengths, _T), ${lengths}.byteOffset, ${fused.map((a) => `${staged.includes(a) ? stage(a) : a}.byteOffset`).join(", ")});`);
    for (const a of staged.filter(sums)) w.writeLine(`${a}.set(${stage(a)}.subarray(0, ${stagedLength(buffers.get(a)!)}));`);
    if (m.cell.states.length > 0) w.write("if (_T % 2 === 1)").block(swap);
  });
  w.write("else").block(loop);
}

function addForward(m: ModuleContext): void {
  const { plan, cell, file, field, withDerived, stateLength, widest } = m;
  file.addFunction({
    name: "forward",
    isExported: true,
    docs: ["Runs the sequence: steps = inputs' length / (batch · n). Returns per-step outputs, final states and what backward needs."],
    parameters: [
      { name: "params", type: "Params" },
      { name: "inputs", type: "Inputs" },
      { name: "initial", type: "Partial<States>", initializer: "{}" },
      { name: "options", type: "ForwardOptions", initializer: "{}" },
    ],
    returnType: "ForwardResult",
    statements: (w) => {
      w.writeLine(`const _B = _checkRows(_checkRecord(options, "options", _OPTIONS).batch ?? 1, ${num(widest)}, "options.batch");`);
      writeParamChecks(w, m);
      w.writeLine(`_checkRecord(inputs, "inputs", _INPUTS);`);
      w.writeLine(`_checkRecord(initial, "initial", _STATES);`);
      // A static input is the same at every step: the first per-step input counts the steps.
      const first = cell.inputs.find((i) => !i.static);
      if (first === undefined) {
        // A cell without per-step inputs has nothing to count steps by: options.steps says how many.
        w.writeLine(`const _T = _checkRows(options.steps, 1, "options.steps (this cell has no per-step inputs)");`);
      } else {
        w.writeLine(`const _T = _rowsIn(inputs.${field(first.name)}, _B * ${first.width}, "inputs.${field(first.name)} (steps · batch · ${first.width} numbers)");`);
        w.writeLine(`if (options.steps !== undefined && options.steps !== _T) throw new Error(\`options.steps is \${options.steps}, but inputs.${field(first.name)} holds \${_T} steps\`);`);
      }
      w.writeLine(`_checkRows(_T + 1, _B * ${num(widest)}, "the steps");`);
      for (const i of cell.inputs) w.writeLine(`_checkLength(inputs.${field(i.name)}, ${i.static ? "" : "_T * "}_B * ${i.width}, "inputs.${field(i.name)}");`);
      // At batch 1 (or as options.replay says) saved keeps only the inputs and the initial states, and backward
      // replays the steps from them (addSequenceRun); a replay costs backward about one forward.
      w.writeLine('if (options.replay !== undefined && typeof options.replay !== "boolean") throw new Error(`options.replay must be true or false, not ${String(options.replay)}`);');
      w.writeLine("const _replay = options.replay ?? _B === 1;");
      w.writeLine("const { hist, tape } = _runArrays(_B, _T, _replay);");
      for (const s of cell.states) {
        w.writeLine(`if (initial.${field(s.name)} === undefined) hist.${field(s.name)}.fill(${num(s.init)}, 0, _B * ${stateLength(s.name)});`);
        w.writeLine(`else hist.${field(s.name)}.set(_checkLength(initial.${field(s.name)}, _B * ${stateLength(s.name)}, "initial.${field(s.name)}"));`);
      }
      w.write("const outputs: Outputs =").block(() => {
        for (const o of cell.outputs) w.writeLine(`${field(o.name)}: new FloatArray(_T * _B * ${o.width}),`);
      });
      w.write(";");
      w.writeLine(`const _lengths = options.lengths === undefined ? null : _checkLengths(options.lengths, _B, _T, "options.lengths");`);
      w.writeLine(`_runSequence(_B, _T, ${withDerived("params")}, inputs, hist, outputs, tape, _lengths);`);
      w.write("const final: States =").block(() => {
        for (const s of cell.states) w.writeLine(`${field(s.name)}: hist.${field(s.name)}.slice(_T * _B * ${stateLength(s.name)}),`);
      });
      w.write(";");
      // Saved keeps its own copy of the inputs (a caller may reuse its buffers), and the module keeps a record of it
      // that the caller cannot reach: backward() refuses a saved object forward() did not make or that was changed
      // since, and reads only the record. (Not Object.freeze: frozen saved objects made backward 3× slower in V8.)
      const initialStates = `{ ${cell.states.map((s) => `${field(s.name)}: hist.${field(s.name)}.slice(0, _B * ${stateLength(s.name)})`).join(", ")} }`;
      // An output backward reads (a value saved where it is output) is saved's own copy: the caller may edit theirs.
      const read = backwardReads(plan);
      const readOutputs = cell.outputs.filter((o) => read.has(arrays.output(o.name)));
      const savedOutputs = readOutputs.length === 0 ? "{ ...outputs }" : `_replay ? { ...outputs } : { ...outputs, ${readOutputs.map((o) => `${field(o.name)}: outputs.${field(o.name)}.slice()`).join(", ")} }`;
      w.writeLine(`const saved: Saved = { batch: _B, steps: _T, inputs: { ${cell.inputs.map((i) => `${field(i.name)}: inputs.${field(i.name)}.slice()`).join(", ")} }, hist: _replay ? ${initialStates} : hist, outputs: ${savedOutputs}, tape: _replay ? [] : tape, lengths: _lengths };`);
      w.writeLine("_saves.set(saved, { ...saved, inputs: { ...saved.inputs }, hist: { ...saved.hist }, outputs: { ...saved.outputs }, tape: [...saved.tape], replay: _replay });");
      w.writeLine("return { outputs, final, saved };");
    },
  });

}

/**
 * A sequence's run, shared by forward() and by backward()'s replay of it: its arrays (_runArrays), and the steps
 * on packed matrices (_runSequence). A replay (at batch 1 by default) keeps only the inputs and the initial states
 * in saved, and backward() runs the steps again from them with the parameters it is given, into arrays reused
 * across calls (_replayForward): the same code on the same numbers gives the same bits as forward's run.
 */
function addSequenceRun(m: ModuleContext): void {
  const { plan, cell, file, field, stateLength, allParams } = m;
  // _replayArray's slots: each state's history, each tape, then each output.
  const outputSlot = (i: number) => cell.states.length + plan.tapes.length + i;
  file.addVariableStatement({ declarationKind: VariableDeclarationKind.Const, declarations: [{ name: "_replayArrays", type: "FloatArray[]", initializer: "[]" }] });
  file.addFunction({
    name: "_replayArray",
    docs: ["An array of a replayed run (see _replayForward), reused across calls: the same array while the length is the same."],
    parameters: [{ name: "slot", type: "number" }, { name: "length", type: "number" }],
    returnType: "FloatArray",
    statements: (w) => {
      w.writeLine("const kept = _replayArrays[slot];");
      w.writeLine("if (kept !== undefined && kept.length === length) return kept;");
      w.writeLine("return (_replayArrays[slot] = new FloatArray(length));");
    },
  });
  file.addFunction({
    name: "_runArrays",
    docs: ["The states' history and the tapes of T steps for B rows: fresh for saved, or reused across calls for a replay (fresh arrays, cold in the cache, were up to a fifth of a batch-1 forward's time)."],
    // Unread (and so named with a leading '_') by a cell without states or tapes.
    parameters: [{ name: "_B", type: "number" }, { name: "_T", type: "number" }, { name: cell.states.length + plan.tapes.length > 0 ? "replay" : "_replay", type: "boolean" }],
    returnType: "{ hist: States; tape: FloatArray[] }",
    statements: (w) => {
      const make = (slot: number, length: string) => `replay ? _replayArray(${slot}, ${length}) : new FloatArray(${length})`;
      w.write("const hist: States =").block(() => {
        cell.states.forEach((s, i) => w.writeLine(`${field(s.name)}: ${make(i, `(_T + 1) * _B * ${stateLength(s.name)}`)},`));
      });
      w.write(";");
      w.writeLine(`return { hist, tape: [${plan.tapes.map((t, i) => make(cell.states.length + i, `_T * _B * ${num(t.width)}`)).join(", ")}] };`);
    },
  });
  file.addFunction({
    name: "_runSequence",
    docs: ["Runs T steps for B rows: packs the parameters' matrices (step() packs its own again after), then the steps; hist[s] holds slot 0 (the initial state) on entry and gets slots 1..T."],
    parameters: [
      { name: "_B", type: "number" },
      { name: "_T", type: "number" },
      { name: "params", type: allParams },
      { name: "inputs", type: "Inputs" },
      { name: "hist", type: "States" },
      { name: "outputs", type: "Outputs" },
      { name: "tape", type: "FloatArray[]" },
      { name: "lengths", type: "Int32Array | null" },
    ],
    statements: (w) => {
      w.writeLine("_packWeights(params);");
      w.writeLine("// The packed matrices are now these parameters': step() packs its own again.");
      w.writeLine("_stepParamsOf = {};");
      w.writeLine(`_forwardCore(_B, _T, params, inputs, hist, outputs, tape, lengths${stepsRead(plan.forward.step) ? ", 0" : ""});`);
    },
  });
  file.addFunction({
    name: "_replayForward",
    docs: ["The forward pass a replayed saved object came from, run again from its inputs and initial states: what backward reads."],
    parameters: [{ name: "params", type: allParams }, { name: "saved", type: "Saved" }],
    returnType: "Saved",
    statements: (w) => {
      w.writeLine("const { hist, tape } = _runArrays(saved.batch, saved.steps, true);");
      for (const s of cell.states) w.writeLine(`hist.${field(s.name)}.set(saved.hist.${field(s.name)});`);
      w.write("const outputs: Outputs =").block(() => {
        cell.outputs.forEach((o, i) => w.writeLine(`${field(o.name)}: _replayArray(${outputSlot(i)}, saved.steps * saved.batch * ${o.width}),`));
      });
      w.write(";");
      w.writeLine("_runSequence(saved.batch, saved.steps, params, saved.inputs, hist, outputs, tape, saved.lengths);");
      w.writeLine("return { ...saved, hist, outputs, tape };");
    },
  });
}

function addCreateState(m: ModuleContext): void {
  const { cell, file, field, stateLength , widest } = m;
  file.addFunction({
    name: "createState",
    isExported: true,
    docs: ["A fresh state for step(): the spec's initial values, for `batch` rows."],
    parameters: [{ name: "batch", type: "number", initializer: "1" }],
    returnType: "States",
    statements: (w) => {
      w.writeLine(`_checkRows(batch, ${num(widest)}, "batch");`);
      w.write("return").block(() => {
        for (const s of cell.states) w.writeLine(`${field(s.name)}: new FloatArray(batch * ${stateLength(s.name)}).fill(${num(s.init)}),`);
      });
      w.write(";");
    },
  });

}

/** step()'s check of the step index a cell reads: a wrong t would silently pick the wrong modules or masks. */
export const STEP_INDEX_CHECK = 'if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) throw new Error(`step: t, the index of this step counted from 0, must be a whole number from 0 up, not ${String(t)}`);';

function addStep(m: ModuleContext): void {
  const { plan, cell, file, field, simd, workspaces, stateLength , widest } = m;
  file.addFunction({
    name: "step",
    isExported: true,
    docs: ["One step of streaming inference: reads and updates `state` in place; batch = the state's rows."],
    parameters: [
      { name: "params", type: "Params" },
      { name: "inputs", type: "Inputs" },
      { name: "state", type: "States" },
      // A cell that reads the step index t needs to be told which step this is.
      ...(stepsRead(plan.forward.step) ? [{ name: "t", type: "number" }] : []),
    ],
    returnType: "Outputs",
    statements: (w) => {
      writeParamChecks(w, m, true);
      if (stepsRead(plan.forward.step)) w.writeLine(STEP_INDEX_CHECK);
      w.writeLine(`_checkRecord(state, "state", _STATES);`);
      w.writeLine(`_checkRecord(inputs, "inputs", _INPUTS);`);
      // The batch is the state's rows; a cell without states counts its first input's, one without either is one row.
      const firstState = cell.states[0];
      const firstInput = cell.inputs.find((i) => !i.static) ?? cell.inputs[0];
      if (firstState !== undefined) w.writeLine(`const _B = _rowsIn(state.${field(firstState.name)}, ${stateLength(firstState.name)}, "state.${field(firstState.name)}");`);
      else if (firstInput !== undefined) w.writeLine(`const _B = _rowsIn(inputs.${field(firstInput.name)}, ${firstInput.width}, "inputs.${field(firstInput.name)}");`);
      else w.writeLine("const _B = 1;");
      w.writeLine(`_checkRows(_B, ${num(widest)}, "the batch rows");`);
      for (const s of cell.states) w.writeLine(`_checkLength(state.${field(s.name)}, _B * ${stateLength(s.name)}, "state.${field(s.name)}");`);
      for (const i of cell.inputs) w.writeLine(`_checkLength(inputs.${field(i.name)}, _B * ${i.width}, "inputs.${field(i.name)} (${i.static ? "static" : "one step"}: batch · ${i.width} numbers)");`);
      if (simd) w.writeLine("_reserveForward(_B, 1);\n_reserveStep(_B);");
      for (const s of cell.states) {
        const n = stateLength(s.name);
        workspaces.use(w, "step", generatedLocal("stepHist", specIdentifier(s.name)), `2 * _B * ${n}`);
        w.writeLine(`${generatedLocal("stepHist", specIdentifier(s.name))}.set(state.${field(s.name)});`);
      }
      for (const o of cell.outputs) workspaces.use(w, "step", generatedLocal("stepOut", specIdentifier(o.name)), `_B * ${o.width}`);
      plan.tapes.forEach((t, i) => workspaces.use(w, "step", generatedLocal("stepTape", i), `_B * ${num(t.width)}`));
      w.writeLine(
        `_forwardCore(_B, 1, ${stepParams(m)}, inputs, { ${cell.states.map((s) => `${field(s.name)}: ${generatedLocal("stepHist", specIdentifier(s.name))}`).join(", ")} }, { ${cell.outputs.map((o) => `${field(o.name)}: ${generatedLocal("stepOut", specIdentifier(o.name))}`).join(", ")} }, [${plan.tapes.map((_, i) => generatedLocal("stepTape", i)).join(", ")}], null${stepsRead(plan.forward.step) ? ", t" : ""});`,
      );
      for (const s of cell.states) w.writeLine(`state.${field(s.name)}.set(${generatedLocal("stepHist", specIdentifier(s.name))}.subarray(_B * ${stateLength(s.name)}, 2 * _B * ${stateLength(s.name)}));`);
      w.writeLine(`return { ${cell.outputs.map((o) => `${field(o.name)}: ${generatedLocal("stepOut", specIdentifier(o.name))}.slice(0, _B * ${o.width})`).join(", ")} };`);
    },
  });

}

function addPackTransposed(m: ModuleContext): void {
  const { plan, file, field, allParams, workspaces } = m;
  file.addFunction({
    name: "_packTransposed",
    docs: ["Each group's packed matrix, transposed to [depth, rows]: the backward product reads it row by row."],
    parameters: [{ name: "params", type: allParams }],
    statements: (w) => {
      for (const g of plan.groups) {
        workspaces.use(w, "backward", g.packedT, num(g.rows * g.depth));
        for (const p of g.products) {
          w.writeLine(
            `for (let _r = 0; _r < ${p.rows}; _r++) for (let _c = 0; _c < ${p.cols}; _c++) ${g.packedT}[_c * ${g.rows} + ${p.rowOffset} + _r] = params.${field(p.param)}[_r * ${p.paramCols} + ${p.colOffset} + _c]!;`,
          );
        }
      }
    },
  });

}

/** What backward's loop and weight gradients read of the forward pass. */
function backwardReads(plan: ModulePlan): Set<string> {
  return new Set([...arraysRead(plan.backward.step.kernels), ...plan.groups.map((g) => g.operand.array)]);
}

function addBackward(m: ModuleContext): void {
  const { plan, cell, publicParams, file, ctx, field, withDerived, simd, workspaces, stateLength } = m;
  file.addFunction({
    name: "backward",
    isExported: true,
    docs: ["Backpropagation through time from the upstream gradients: gradients for the parameters, the inputs and the initial states."],
    parameters: [
      { name: "params", type: "Params" },
      { name: "saved", type: "Saved" },
      { name: "upstream", type: "Upstream", initializer: "{}" },
    ],
    returnType: "Gradients",
    statements: (w) => {
      writeParamChecks(w, m);
      w.writeLine(`const _saved = typeof saved === "object" && saved !== null ? _saves.get(saved) : undefined;`);
      w.writeLine(`if (_saved === undefined) throw new Error("saved must be the saved object this module's forward() returned");`);
      const same = [
        "saved.batch === _saved.batch",
        "saved.steps === _saved.steps",
        "saved.lengths === _saved.lengths",
        ...cell.inputs.map((i) => `saved.inputs.${field(i.name)} === _saved.inputs.${field(i.name)}`),
        ...cell.states.map((s) => `saved.hist.${field(s.name)} === _saved.hist.${field(s.name)}`),
        ...cell.outputs.map((o) => `saved.outputs.${field(o.name)} === _saved.outputs.${field(o.name)}`),
        ...plan.tapes.map((_, i) => `saved.tape[${i}] === _saved.tape[${i}]`),
      ];
      w.writeLine(`if (!(${same.join(" && ")})) throw new Error("saved was changed after forward() returned it: pass it to backward() as it was");`);
      w.writeLine("const _B = _saved.batch;");
      w.writeLine("const _T = _saved.steps;");
      w.writeLine("const _lengths = _saved.lengths;");
      if (stepsRead(plan.backward.step)) w.writeLine("const _t0 = 0;");
      w.writeLine(`_checkRecord(upstream, "upstream", _UPSTREAM);`);
      w.writeLine(`if (upstream.outputs !== undefined) _checkRecord(upstream.outputs, "upstream.outputs", _OUTPUTS);`);
      w.writeLine(`if (upstream.final !== undefined) _checkRecord(upstream.final, "upstream.final", _STATES);`);
      // Before reserving backward's workspaces: the replay grows forward's, which may move the memory.
      w.writeLine(`const _forward = _saved.replay ? _replayForward(${withDerived("params")}, _saved) : _saved;`);
      if (simd) w.writeLine("_reserveBackward(_B, _T);");
      if (backwardParams(plan) !== "params") w.writeLine(`const ${backwardParams(plan)} = _withDerived(params);`);
      paramLocals(w, cell, new Set([...arraysRead(plan.backward.step.kernels), ...plan.derived.flatMap((d) => d.partials.flatMap((p) => [...scalarLocals(p.expr)]))]), backwardParams(plan));
      const read = backwardReads(plan);
      for (const i of cell.inputs) if (read.has(arrays.input(i.name))) w.writeLine(`const ${arrays.input(i.name)} = _saved.inputs.${field(i.name)};`);
      for (const s of cell.states) if (read.has(arrays.hist(s.name))) w.writeLine(`const ${arrays.hist(s.name)} = _forward.hist.${field(s.name)};`);
      for (const o of cell.outputs) if (read.has(arrays.output(o.name))) w.writeLine(`const ${arrays.output(o.name)} = _forward.outputs.${field(o.name)};`);
      // A tape may be read by the forward alone (a per-row reduction kept for the kernels after it): declare only those the backward reads.
      plan.tapes.forEach((t, i) => {
        if (read.has(t.array)) w.writeLine(`const ${t.array} = _forward.tape[${i}]!;`);
      });
      for (const o of cell.outputs) {
        const n = o.width;
        w.writeLine(`const ${generatedLocal("given", arrays.upstream(o.name))} = upstream.outputs?.${field(o.name)} === undefined ? new FloatArray(_T * _B * ${n}) : _checkLength(upstream.outputs.${field(o.name)}, _T * _B * ${n}, "upstream.outputs.${field(o.name)}");`);
      }
      writeBackwardLengths(w, m);
      for (const p of cell.params) if (gradientWritten(plan, p.name)) w.writeLine(`const ${arrays.gradParam(p.name)} = new FloatArray(${p.count});`);
      for (const i of cell.inputs) w.writeLine(`const ${arrays.gradInput(i.name)} = new FloatArray(${i.static ? "" : "_T * "}_B * ${i.width});`);
      for (const s of cell.states) {
        const n = stateLength(s.name);
        workspaces.use(w, "backward", arrays.carry(s.name), `_B * ${n}`, "let");
        workspaces.use(w, "backward", arrays.carryPrev(s.name), `_B * ${n}`, "let");
        w.writeLine(`if (upstream.final?.${field(s.name)} === undefined) ${arrays.carry(s.name)}.fill(0, 0, _B * ${n});`);
        w.writeLine(`else ${arrays.carry(s.name)}.set(_checkLength(upstream.final.${field(s.name)}, _B * ${n}, "upstream.final.${field(s.name)}"));`);
      }
      for (const g of plan.gradBuffers) {
        workspaces.use(w, "backward", g.array, `_T * _B * ${num(g.width)}`);
        w.writeLine(`${g.array}.fill(0, 0, _T * _B * ${num(g.width)});`);
      }
      w.writeLine(`_packTransposed(${withDerived("params")});`);
      for (const g of plan.groups) w.writeLine(`const ${g.packedT} = _ws${g.packedT};`);
      for (const t of plan.backward.step.temps) workspaces.use(w, "backward", t.array, `_B * ${num(t.width)}`);
      const swapCarries = () => {
        for (const s of cell.states) {
          w.writeLine(`const _swap_${field(s.name)} = ${arrays.carry(s.name)};`);
          w.writeLine(`${arrays.carry(s.name)} = ${arrays.carryPrev(s.name)};`);
          w.writeLine(`${arrays.carryPrev(s.name)} = _swap_${field(s.name)};`);
        }
      };
      const loop = () =>
        w.write("for (let _t = _T - 1; _t >= 0; _t--)").block(() => {
          writeParkEnded(w, m);
          writeStep(w, plan.backward.step, ctx);
          for (const s of plan.backward.zeroCarry) w.writeLine(`${arrays.carryPrev(s)}.fill(0, 0, _B * ${stateLength(s)});`);
          writeUnparkEnded(w, m);
          swapCarries();
        });
      if (m.fused?.backward) writeFusedBackward(w, m, m.fused.backward.arrays, loop, swapCarries);
      else loop();
      for (const k of plan.backward.after) writeAfterLoop(w, plan, k, ctx, (writer, array, length) => workspaces.use(writer, "backward", array, length));
      w.write("return").block(() => {
        w.writeLine(`params: { ${publicParams.map((p) => `${field(p.name)}: ${arrays.gradParam(p.name)}`).join(", ")} },`);
        w.writeLine(`inputs: { ${cell.inputs.map((i) => `${field(i.name)}: ${arrays.gradInput(i.name)}`).join(", ")} },`);
        w.writeLine(`initial: { ${cell.states.map((s) => `${field(s.name)}: ${arrays.carry(s.name)}.slice(0, _B * ${stateLength(s.name)})`).join(", ")} },`);
      });
      w.write(";");
    },
  });

}

function addReserves(m: ModuleContext): void {
  const { file, simd, workspaces } = m;
  if (simd) {
    const reserve = (name: string, list: Map<string, string>, parameters: string[], what: string) =>
      file.addFunction({
        name,
        docs: [`Grows every workspace ${what} uses, before it binds any.`],
        parameters: parameters.map((p) => ({ name: p, type: "number" })),
        statements: (w) => {
          for (const [array, length] of list) w.writeLine(`_ws${array} = _grow(_ws${array}, ${length});`);
        },
      });
    reserve("_reserveForward", workspaces.byEntry.forward, ["_B", "_T"], "forward() for B rows and T steps");
    reserve("_reserveStep", workspaces.byEntry.step, ["_B"], "step() for B rows (besides forward's, with T = 1)");
    reserve("_reserveBackward", workspaces.byEntry.backward, ["_B", "_T"], "backward() for B rows and T steps");
  }

}

function addWorkspaceDeclarations(m: ModuleContext): void {
  const { file, workspaces } = m;
  // The workspace variables, declared once all their users are known: a writer, run when the module is printed,
  // after the functions before it have registered every workspace they use.
  file.addStatements((w) => {
    const names = [...workspaces.all].sort();
    if (names.length === 0) return;
    w.writeLine("/** Workspaces, allocated once and grown when batch or steps grow. */");
    w.writeLine(`let ${names.map((a) => `_ws${a}: FloatArray = new FloatArray(0)`).join(", ")};`);
  });
}

function API_DOC(precision: string): string[] {
  return [
    "API (no dependencies; arrays are flat and row-major; FloatArray is " + (precision === "f32" ? "Float32Array" : "Float64Array") + "):",
    "  sizes, and one constant per size        the sizes this module was compiled for",
    "  initParams(seed): Params                 the spec's initializers (same numbers as lstmc for the seed)",
    "  forward(params, inputs, initial?, { batch?, lengths?, replay? }) -> { outputs, final, saved }",
    "      inputs [steps, batch, n] (steps = length / (batch·n)); initial states [batch, n] (default: the spec's)",
    "      lengths [batch]: each row's steps (pack_padded_sequence: frozen state and outputs 0 after them)",
    "      outputs [steps, batch, n]; final states [batch, n]; saved: what backward needs",
    "      replay (default: batch is 1): saved keeps only the inputs and initial states, backward runs the steps again",
    "  backward(params, saved, upstream?) -> { params, inputs, initial }",
    "      upstream: { outputs?: per-step output gradients, final?: final-state gradients } (missing = zeros)",
    "  saveParams(params, metadata?) -> Uint8Array / loadParams(bytes) -> Params   safetensors files",
    "  createState(batch?) / step(params, inputs, state) -> outputs",
    "      streaming inference: one step, `state` updated in place; the parameters' matrices are packed on the first",
    "      call and reused while the same arrays come back: after changing one in place, call invalidate() first",
    "  kernels: { products, forwardLoop, backwardLoop }   which code runs here: WebAssembly (SIMD) or JavaScript",
    "Workspaces are module-level and reused across calls: calls must not interleave across threads (they cannot in JS).",
    ...(precision === "f32"
      ? ["Matrix products run in a WebAssembly SIMD kernel carried in this file (base64, instantiated on load), with", "the workspaces in its memory; where WebAssembly SIMD is missing, in plain JS."]
      : []),
  ];
}

// Variable-length batches (the helpers' _freezeEnded ... _unparkEnded): every row is computed at every step, and
// the rows that have ended are put right once per step, from the first step at which one has (`_ended`; `_T`
// without lengths, so a call without them pays one comparison per step).

/** Forward, after each step: ended rows keep their state. */
function writeFreezeEnded(w: CodeBlockWriter, m: ModuleContext): void {
  if (m.cell.states.length === 0) return;
  w.write("if (_t >= _ended)").block(() => {
    for (const s of m.cell.states) w.writeLine(`_freezeEnded(${arrays.hist(s.name)}, _t, lengths!, ${num(m.stateLength(s.name))});`);
  });
}

/** Forward, after the loop: ended rows' outputs are 0. */
function writeZeroEndedOutputs(w: CodeBlockWriter, m: ModuleContext): void {
  if (m.cell.outputs.length === 0) return;
  w.write("if (lengths !== null)").block(() => {
    for (const o of m.cell.outputs) w.writeLine(`_zeroEnded(${arrays.output(o.name)}, _T, lengths, ${num(o.width)});`);
  });
}

/**
 * Backward, before the loop: an ended row's outputs are constants, so the gradients arriving there are dropped (on
 * a copy of the caller's); and the workspaces ended rows' carried gradients are parked in.
 */
function writeBackwardLengths(w: CodeBlockWriter, m: ModuleContext): void {
  if (m.cell.states.length > 0) w.writeLine("const _ended = _firstEnd(_lengths, _T);");
  for (const o of m.cell.outputs) {
    const up = arrays.upstream(o.name);
    w.writeLine(`const ${up} = _lengths === null ? ${generatedLocal("given", up)} : _zeroEnded(${generatedLocal("given", up)}.slice(), _T, _lengths, ${num(o.width)});`);
  }
  for (const s of m.cell.states) m.workspaces.use(w, "backward", arrays.parked(s.name), `_B * ${num(m.stateLength(s.name))}`);
}

/** Backward, before each step: ended rows' carried gradients are parked and zeroed. */
function writeParkEnded(w: CodeBlockWriter, m: ModuleContext): void {
  if (m.cell.states.length === 0) return;
  w.write("if (_t >= _ended)").block(() => {
    for (const s of m.cell.states) w.writeLine(`_parkEnded(${arrays.carry(s.name)}, ${arrays.parked(s.name)}, _t, _lengths!, ${num(m.stateLength(s.name))});`);
  });
}

/** Backward, after each step: ended rows pass their parked gradients on unchanged. */
function writeUnparkEnded(w: CodeBlockWriter, m: ModuleContext): void {
  if (m.cell.states.length === 0) return;
  w.write("if (_t >= _ended)").block(() => {
    for (const s of m.cell.states) w.writeLine(`_unparkEnded(${arrays.carryPrev(s.name)}, ${arrays.parked(s.name)}, _t, _lengths!, ${num(m.stateLength(s.name))});`);
  });
}
