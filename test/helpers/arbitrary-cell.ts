// fast-check arbitraries for random WELL-FORMED cells: every value has the
// right shape, every state has a next-state equation, next-state references
// `c'` never form a cycle and every parameter is used. buildCell accepts each
// one without errors (warnings, e.g. an unused intermediate, may remain).
//
// The cells use sizes I and H and vectors of length H, I, H + I and 2 * H;
// matrices are parameters named W_<rows>_<columns> (W_H_HI is [H, H + I]), or
// matrix expressions of them (`W * W`, `s * W`, `tanh(W)`, ...), and meet a
// vector of their column length: a reference, or a concatenation such as
// [h, x] for H + I.
import fc from "fast-check";
import type { BinaryOp, DimAst, EquationAst, ExprAst, InitializerAst, ParamAst, SpecAst } from "../../src/parse/ast.ts";
import type { Span } from "../../src/diagnostics/diagnostic.ts";
import { UNARY_FUNCTIONS } from "../../src/ir/types.ts";

export const ARBITRARY_CELL_FILE = "random.lstm";

/**
 * Every unary function but floor, whose value jumps at whole numbers: where a value lies within
 * float32's rounding of one, an f32 engine and the interpreter would rightly disagree by 1.
 */
const GENERATED_FUNCTIONS = UNARY_FUNCTIONS.filter((fn) => fn !== "floor");

type VectorLength = "H" | "I" | "H+I" | "2H";
type ValueShape = VectorLength | "scalar";

const VECTOR_LENGTHS: readonly VectorLength[] = ["H", "I", "H+I", "2H"];
/** What states and inputs may be; intermediates and outputs may also be H + I. */
const DECLARED_LENGTHS: readonly VectorLength[] = ["H", "I"];
const INTERMEDIATE_SHAPES: readonly ValueShape[] = ["scalar", "H", "I", "H+I"];
const OUTPUT_LENGTHS: readonly VectorLength[] = ["H", "I", "H+I"];
/** How a concatenation can make each length. */
const CONCAT_PARTS: Record<VectorLength, readonly (readonly VectorLength[])[]> = {
  H: [["H"]],
  I: [["I"]],
  "H+I": [["H", "I"], ["I", "H"]],
  "2H": [["H", "H"]],
};
const TAG: Record<VectorLength, string> = { H: "H", I: "I", "H+I": "HI", "2H": "HH" };

const INPUT_NAMES = ["x", "u"];
/** The static input a cell may read (with the staticInputs option): a set of H rows of length I, one per batch row. */
const STATIC_INPUT = "A";

interface Forms {
  readonly pointwiseForms: boolean;
  readonly reductions: boolean;
  readonly staticInputs: boolean;
}
const STATE_NAMES = ["h", "c", "m"];
const SCALAR_PARAM = "s";

const placeholder: Span = { file: ARBITRARY_CELL_FILE, line: 1, column: 1, endLine: 1, endColumn: 2 };

function lineSpan(line: number): Span {
  return { file: ARBITRARY_CELL_FILE, line, column: 3, endLine: line, endColumn: 4 };
}

const size = (name: string): DimAst => ({ kind: "size", name, span: placeholder });
const DIM: Record<VectorLength, DimAst> = {
  H: size("H"),
  I: size("I"),
  "H+I": { kind: "binary", op: "+", left: size("H"), right: size("I"), span: placeholder },
  "2H": { kind: "binary", op: "*", left: { kind: "number", value: 2, span: placeholder }, right: size("H"), span: placeholder },
};

const ref = (name: string, next = false): ExprAst => ({ kind: "ref", name, next, span: placeholder });
const binary = (op: BinaryOp, left: ExprAst, right: ExprAst): ExprAst => ({ kind: "binary", op, left, right, span: placeholder });

const matrixName = (rows: VectorLength, columns: VectorLength) => `W_${TAG[rows]}_${TAG[columns]}`;
const biasName = (length: VectorLength) => `b_${TAG[length]}`;

/** The matrix of a product: mostly the parameter itself, else a matrix expression of it (hoisted by the code generators). */
function matrixOperand(rows: VectorLength, columns: VectorLength): fc.Arbitrary<ExprAst> {
  const W = ref(matrixName(rows, columns));
  const two: ExprAst = { kind: "number", value: 2, span: placeholder };
  return fc.oneof(
    { arbitrary: fc.constant(W), weight: 3 },
    fc.constantFrom(
      binary("*", W, W),
      binary("*", ref(SCALAR_PARAM), W),
      binary("-", W, two),
      binary("/", W, ref(SCALAR_PARAM)),
      { kind: "call", fn: "tanh", args: [W], span: placeholder, fnSpan: placeholder },
      { kind: "neg", operand: W, span: placeholder },
    ),
  );
}

/** Every parameter a random cell may use, in declaration order; unused ones are dropped. */
const PARAM_POOL: readonly { name: string; shape: readonly DimAst[]; rank: number }[] = [
  ...VECTOR_LENGTHS.flatMap((rows) => VECTOR_LENGTHS.map((columns) => ({ name: matrixName(rows, columns), shape: [DIM[rows], DIM[columns]], rank: 2 }))),
  ...VECTOR_LENGTHS.map((length) => ({ name: biasName(length), shape: [DIM[length]], rank: 1 })),
  { name: SCALAR_PARAM, shape: [], rank: 0 },
];

/** Hundredths keep values tame for numeric comparisons; a few exponents exercise the number syntax. */
const hundredths = (min: number, max: number) => fc.integer({ min, max }).map((n) => n / 100 + 0);
/** Non-negative: the DSL writes a negative number as `-` applied to one. */
const literal = fc.oneof({ arbitrary: hundredths(0, 500), weight: 5 }, { arbitrary: fc.constantFrom(1e-7, 2.5e-3, 1e21), weight: 1 });
const signed = hundredths(-200, 200);

function initializerArbitrary(rank: number): fc.Arbitrary<InitializerAst | null> {
  const named = (name: string, args: number[] = []): InitializerAst => ({ name, args, span: placeholder });
  const forms: fc.Arbitrary<InitializerAst | null>[] = [
    fc.constant(null),
    fc.constantFrom("zeros", "ones").map((name) => named(name)),
    signed.map((value) => named("constant", [value])),
    fc.tuple(fc.integer({ min: -100, max: 100 }), fc.integer({ min: 1, max: 100 })).map(([low, width]) => named("uniform", [low / 100, (low + width) / 100])),
    hundredths(1, 200).map((std) => named("normal", [std])),
  ];
  if (rank === 2) forms.push(fc.constantFrom("glorot", "xavier", "orthogonal").map((name) => named(name)));
  return fc.oneof(...forms);
}

interface ScopedValue {
  readonly expr: ExprAst;
  readonly shape: ValueShape;
}

/** Random expressions of each shape over the values in scope, at most `maxDepth` operators deep. */
function expressionArbitrary(scope: readonly ScopedValue[], maxDepth: number, forms: Forms): (shape: ValueShape) => fc.Arbitrary<ExprAst> {
  const { pointwiseForms, reductions, staticInputs } = forms;
  const memo = new Map<string, fc.Arbitrary<ExprAst>>();
  const of = (shape: ValueShape, depth: number): fc.Arbitrary<ExprAst> => {
    const key = `${shape}:${depth}`;
    const known = memo.get(key);
    if (known) return known;
    const inScope = scope.filter((v) => v.shape === shape).map((v) => v.expr);
    const constants = shape === "scalar" ? fc.oneof(literal.map((value): ExprAst => ({ kind: "number", value, span: placeholder })), fc.constant(ref(SCALAR_PARAM))) : fc.constant(ref(biasName(shape)));
    // Prefer the cell's own values, so most cells read their inputs and states.
    const leaf = inScope.length > 0 ? fc.oneof({ arbitrary: constants, weight: 1 }, { arbitrary: fc.constantFrom(...inScope), weight: 3 }) : constants;
    if (depth === 0) {
      memo.set(key, leaf);
      return leaf;
    }
    const same = of(shape, depth - 1);
    const scalar = of("scalar", depth - 1);
    const operands = shape === "scalar" ? fc.tuple(scalar, scalar) : fc.oneof(fc.tuple(same, same), fc.tuple(same, scalar), fc.tuple(scalar, same));
    const compound: fc.Arbitrary<ExprAst>[] = [
      fc.tuple(fc.constantFrom(...GENERATED_FUNCTIONS), same).map(([fn, arg]): ExprAst => ({ kind: "call", fn, args: [arg], span: placeholder, fnSpan: placeholder })),
      same.map((operand): ExprAst => ({ kind: "neg", operand, span: placeholder })),
      // Dividing by a constant sub-expression could divide by zero, which lstmc check refuses (E307).
      fc.tuple(fc.constantFrom<BinaryOp>("+", "-", "*", "/"), operands).map(([op, [left, right]]) => binary(op === "/" && isConstant(right) ? "*" : op, left, right)),
    ];
    if (pointwiseForms) {
      const call = (fn: string, args: ExprAst[]): ExprAst => ({ kind: "call", fn, args, span: placeholder, fnSpan: placeholder });
      compound.push(
        fc.tuple(fc.constantFrom<BinaryOp>("^", "<", "<=", ">", ">=", "==", "!="), operands).map(([op, [left, right]]) => binary(op, left, right)),
        fc.tuple(fc.constantFrom("min", "max", "mod"), operands).map(([fn, [left, right]]) => call(fn, [left, right])),
        fc.tuple(operands, same).map(([[condition, a], b]) => call("where", [condition, a, b])),
      );
    }
    if (reductions) compound.push(shape === "scalar" ? reduction(depth) : fc.oneof(...vectorReductions(shape, depth)));
    if (staticInputs && (shape === "H" || shape === "I")) compound.push(overRows(shape, depth));
    if (shape !== "scalar") {
      compound.push(fc.oneof(...VECTOR_LENGTHS.map((columns) => fc.tuple(matrixOperand(shape, columns), of(columns, depth - 1)).map(([matrix, vector]) => binary("@", matrix, vector)))));
      compound.push(
        fc.oneof(
          ...CONCAT_PARTS[shape].map((parts) => fc.tuple(...parts.map((p) => of(p, depth - 1))).map((items): ExprAst => ({ kind: "concat", items, span: placeholder }))),
        ),
      );
    }
    const result = fc.oneof({ arbitrary: leaf, weight: 2 }, ...compound.map((arbitrary) => ({ arbitrary, weight: 1 })));
    memo.set(key, result);
    return result;
  };
  const call = (fn: string, args: ExprAst[]): ExprAst => ({ kind: "call", fn, args, span: placeholder, fnSpan: placeholder });
  /** A vector of any length reduced to a scalar: sum, mean, max, or a dot product. */
  const reduction = (depth: number): fc.Arbitrary<ExprAst> =>
    fc.oneof(
      ...VECTOR_LENGTHS.map((length) => fc.tuple(fc.constantFrom("sum", "mean", "max"), of(length, depth - 1)).map(([fn, v]) => call(fn, [v]))),
      ...VECTOR_LENGTHS.map((length) => fc.tuple(of(length, depth - 1), of(length, depth - 1)).map(([a, b]) => call("dot", [a, b]))),
    );
  /**
   * A vector made from the rows of the static input A[H, I]: a weighted sum of its rows `v @ A` (length I), or a
   * rank-2 value of A times a vector (length H): `A @ u`, `(W @ A) @ v`, `tanh(W @ A + b) @ v`, where `W @ A`
   * applies W[H, I] to each row and b[H] is broadcast over the rows.
   */
  const overRows = (shape: "H" | "I", depth: number): fc.Arbitrary<ExprAst> => {
    const A = ref(STATIC_INPUT);
    if (shape === "I") return of("H", depth - 1).map((weights) => binary("@", weights, A));
    const mapped = binary("@", ref(matrixName("H", "I")), A);
    return fc.oneof(
      of("I", depth - 1).map((u) => binary("@", A, u)),
      of("H", depth - 1).map((v) => binary("@", mapped, v)),
      fc.tuple(of("H", depth - 1), of("H", depth - 1)).map(([b, v]) => binary("@", call("tanh", [binary("+", mapped, b)]), v)),
    );
  };
  /** softmax, layernorm (eps 1: well conditioned at any length), and the slices of longer vectors that have this length. */
  const vectorReductions = (shape: VectorLength, depth: number): fc.Arbitrary<ExprAst>[] => {
    const zero: DimAst = { kind: "number", value: 0, span: placeholder };
    const one: ExprAst = { kind: "number", value: 1, span: placeholder };
    const slice = (from: VectorLength, start: DimAst, end: DimAst) => of(from, depth - 1).map((operand): ExprAst => ({ kind: "slice", operand, start, end, span: placeholder }));
    return [
      of(shape, depth - 1).map((v) => call("softmax", [v])),
      of(shape, depth - 1).map((v) => call("layernorm", [v, ref(biasName(shape)), ref(biasName(shape)), one])),
      ...(shape === "H" ? [slice("2H", zero, DIM.H), slice("2H", DIM.H, DIM["2H"]), slice("H+I", zero, DIM.H)] : []),
      ...(shape === "I" ? [slice("H+I", DIM.H, DIM["H+I"])] : []),
    ];
  };
  return (shape) => of(shape, maxDepth);
}

/** An intermediate `t0 = …` or a state's next value `c' = …`, in the order they may depend on each other. */
interface Definition {
  readonly target: string;
  readonly next: boolean;
  readonly shape: ValueShape;
}

/** Could be a constant (and so zero): reads nothing, or only intermediates (`t0`, …), which may themselves be constants. */
function isConstant(e: ExprAst): boolean {
  return references(e).every((name) => /^t\d+$/.test(name));
}

function references(e: ExprAst): string[] {
  switch (e.kind) {
    case "number":
      return [];
    case "ref":
      return [e.name];
    case "neg":
      return references(e.operand);
    case "binary":
      return [...references(e.left), ...references(e.right)];
    case "concat":
      return e.items.flatMap(references);
    case "call":
      return e.args.flatMap(references);
    case "slice":
      return references(e.operand);
  }
}

/** Gives every node of an expression the span of the line it is written on. */
function relocate(e: ExprAst, span: Span): ExprAst {
  switch (e.kind) {
    case "number":
    case "ref":
      return { ...e, span };
    case "neg":
      return { ...e, operand: relocate(e.operand, span), span };
    case "binary":
      return { ...e, left: relocate(e.left, span), right: relocate(e.right, span), span };
    case "concat":
      return { ...e, items: e.items.map((i) => relocate(i, span)), span };
    case "call":
      return { ...e, args: e.args.map((a) => relocate(a, span)), span, fnSpan: span };
    case "slice":
      return { ...e, operand: relocate(e.operand, span), span };
  }
}

export interface ArbitraryCellOptions {
  /** Operators nested at most this deep in one equation (default 3). */
  readonly maxDepth?: number;
  /**
   * Also the pointwise forms beside the arithmetic (^, comparisons, min, max, mod, where), which
   * every engine runs.
   */
  readonly pointwiseForms?: boolean;
  /** Also reductions (sum, mean, max of a vector, dot, softmax, layernorm) and slices, which every engine runs. */
  readonly reductions?: boolean;
  /** Also a static input A[H, I] and the rank-2 forms over it (`v @ A`, `W @ A`, rows times a vector), which every engine runs. */
  readonly staticInputs?: boolean;
}

/** A random well-formed cell, as a front end would produce it (spans point at one line per declaration). */
export function arbitraryCell(options: ArbitraryCellOptions = {}): fc.Arbitrary<SpecAst> {
  const maxDepth = options.maxDepth ?? 3;
  const forms: Forms = { pointwiseForms: options.pointwiseForms ?? false, reductions: options.reductions ?? false, staticInputs: options.staticInputs ?? false };
  const layout = fc.record({
    name: fc.constantFrom("random_cell", "rnn", "gated_cell", "C2"),
    doc: fc.array(fc.stringMatching(/^[ -~σ⊙]{0,30}$/), { maxLength: 2 }),
    sizeDefaults: fc.tuple(fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }), fc.option(fc.integer({ min: 1, max: 8 }), { nil: null })),
    inputs: fc.array(fc.constantFrom(...DECLARED_LENGTHS), { minLength: 1, maxLength: INPUT_NAMES.length }),
    states: fc.array(fc.tuple(fc.constantFrom(...DECLARED_LENGTHS), fc.oneof(fc.constant(0), signed)), { minLength: 1, maxLength: STATE_NAMES.length }),
    intermediates: fc.array(fc.constantFrom(...INTERMEDIATE_SHAPES), { maxLength: 4 }),
    outputs: fc.array(fc.constantFrom(...OUTPUT_LENGTHS), { minLength: 1, maxLength: 2 }),
    // Sort keys: one order in which definitions may depend on earlier ones, another in which they are written.
    dependencyKeys: fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
    writtenKeys: fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
    inits: fc.tuple(...PARAM_POOL.map((p) => initializerArbitrary(p.rank))),
  });

  return layout.chain((l) => {
    const inputs = l.inputs.map((length, i) => ({ name: INPUT_NAMES[i]!, length }));
    const states = l.states.map(([length, init], i) => ({ name: STATE_NAMES[i]!, length, init }));
    const definitions: Definition[] = [
      ...l.intermediates.map((shape, i) => ({ target: `t${i}`, next: false, shape })),
      ...states.map((s) => ({ target: s.name, next: true, shape: s.length })),
    ];
    const byKey = (keys: number[]) => (a: number, b: number) => keys[a]! - keys[b]! || a - b;
    const dependencyOrder = definitions.map((_, i) => i).sort(byKey(l.dependencyKeys));
    const writtenOrder = definitions.map((_, i) => i).sort(byKey(l.writtenKeys));

    const declared: ScopedValue[] = [...inputs.map((i) => ({ expr: ref(i.name), shape: i.length })), ...states.map((s) => ({ expr: ref(s.name), shape: s.length }))];
    const defined = (d: Definition): ScopedValue => ({ expr: ref(d.target, d.next), shape: d.shape });
    const values = dependencyOrder.map((index, position) => {
      const visible = [...declared, ...dependencyOrder.slice(0, position).map((earlier) => defined(definitions[earlier]!))];
      return expressionArbitrary(visible, maxDepth, forms)(definitions[index]!.shape);
    });
    const everything = expressionArbitrary([...declared, ...definitions.map(defined)], maxDepth, forms);

    return fc.tuple(fc.tuple(...values), fc.tuple(...l.outputs.map((length) => everything(length)))).map(([valuesInDependencyOrder, outputValues]): SpecAst => {
      const valueOf = new Map(dependencyOrder.map((index, position) => [index, valuesInDependencyOrder[position]!]));
      const used = new Set([...valuesInDependencyOrder, ...outputValues].flatMap(references));
      const params = PARAM_POOL.map((p, i) => ({ ...p, init: l.inits[i]! })).filter((p) => used.has(p.name));

      let line = 1 + l.doc.length;
      const next = () => lineSpan(++line);
      const nameSpan = lineSpan(line);
      const sizes = (["I", "H"] as const).map((name, i) => ({ name, default: l.sizeDefaults[i]!, formula: null, span: next() }));
      const inputDecls = inputs.map((i) => ({ name: i.name, static: false, shape: [DIM[i.length]], span: next() }));
      // Declared only where read, as the parameters are.
      if (used.has(STATIC_INPUT)) inputDecls.push({ name: STATIC_INPUT, static: true, shape: [DIM.H, DIM.I], span: next() });
      const stateDecls = states.map((s) => ({ name: s.name, shape: [DIM[s.length]], init: s.init, span: next() }));
      const paramDecls: ParamAst[] = params.map((p) => ({ name: p.name, shape: p.shape, init: p.init, span: next() }));
      const equations: EquationAst[] = writtenOrder.map((index) => {
        const d = definitions[index]!;
        const span = next();
        return { target: d.target, next: d.next, value: relocate(valueOf.get(index)!, span), span, targetSpan: span };
      });
      const outputs = outputValues.map((value, i) => {
        const span = next();
        return { name: `y${i}`, value: relocate(value, span), span };
      });
      return {
        file: ARBITRARY_CELL_FILE,
        name: l.name,
        nameSpan,
        doc: l.doc,
        sizes,
        inputs: inputDecls,
        states: stateDecls,
        params: paramDecls,
        consts: [],
        equations,
        outputs,
      };
    });
  });
}
