// Random cells whose values stay finite and well-conditioned on random data,
// for tests that compare engines numerically.
import type { ExprAst, SpecAst } from "../../src/parse/ast.ts";

/**
 * Keeps a random cell's values finite and well-conditioned on random data, without changing which
 * operations it uses: `log`, `sqrt` and `rsqrt` read 1 + v·v (positive), `exp` reads tanh(v) (no overflow when nested),
 * `/` and `mod` divide by 1 + v·v (never near 0), `a ^ b` is (1 + a·a) ^ tanh(b), and literals stay below 10 (the generator's 1e21 turns
 * summation-order rounding into differences far above any tolerance).
 */
function tame(e: ExprAst): ExprAst {
  const { span } = e;
  const one: ExprAst = { kind: "number", value: 1, span };
  const onePlusSquare = (v: ExprAst): ExprAst => ({ kind: "binary", op: "+", left: one, right: { kind: "binary", op: "*", left: v, right: v, span }, span });
  switch (e.kind) {
    case "number":
      return e.value > 10 ? { ...e, value: 10 } : e;
    case "ref":
      return e;
    case "neg":
      return { ...e, operand: tame(e.operand) };
    case "concat":
      return { ...e, items: e.items.map(tame) };
    case "slice":
      return { ...e, operand: tame(e.operand) };
    case "binary": {
      const [left, right] = [tame(e.left), tame(e.right)];
      // A power's base is positive (no NaN) and its exponent within (-1, 1) (no overflow when nested).
      if (e.op === "^") return { ...e, left: onePlusSquare(left), right: { kind: "call", fn: "tanh", args: [right], span, fnSpan: span } };
      return { ...e, left, right: e.op === "/" ? onePlusSquare(right) : right };
    }
    case "call": {
      const args = e.args.map(tame);
      // mod divides by its second argument.
      if (e.fn === "mod") return { ...e, args: [args[0]!, onePlusSquare(args[1]!)] };
      if (args.length !== 1) return { ...e, args };
      const arg = args[0]!;
      const wrapped = ["log", "sqrt", "rsqrt"].includes(e.fn) ? onePlusSquare(arg) : e.fn === "exp" ? ({ kind: "call", fn: "tanh", args: [arg], span, fnSpan: span } as const) : arg;
      return { ...e, args: [wrapped] };
    }
  }
}

export const tameCell = (spec: SpecAst): SpecAst => ({
  ...spec,
  equations: spec.equations.map((eq) => ({ ...eq, value: tame(eq.value) })),
  outputs: spec.outputs.map((o) => ({ ...o, value: tame(o.value) })),
});

