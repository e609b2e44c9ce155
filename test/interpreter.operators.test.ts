// Every operator the language gained for the essay's advanced cells, each in a
// cell of its own: the interpreter's backward pass against central finite
// differences at sizes down to 1; the located errors of their misuse; that
// the code generators compile them; and their round trip through both printers.
import { describe, expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR } from "../src/ir/types.ts";
import { targetDiagnostics } from "../src/codegen/check.ts";
import { check, compile, run } from "../src/index.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { parseJsonSpec } from "../src/parse/json.ts";
import { printDsl } from "../src/parse/print-dsl.ts";
import { printJson } from "../src/parse/print-json.ts";
import { gradcheck } from "../src/run/gradcheck.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { stripSpans } from "./helpers/ir.ts";

const TOLERANCE = 1e-6;

/** A vector cell whose next state is tanh of the expression; a and b are two values every tensor reaches. */
function vectorCell(expression: string, extra = ""): string {
  return `cell op {
  size N
  input x[N]
  state h[N]
  param w[N] ~ uniform(-1, 1)
  param W[N, N] ~ uniform(-1, 1)
  ${extra}
  a = w * x + W @ h
  b = x - w * h
  h' = tanh(${expression})
  output h = h'
}`;
}

function build(text: string): CellIR {
  const outcome = check(text);
  if (!outcome.ir) throw new Error(outcome.diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.message}`).join("\n"));
  return outcome.ir;
}

const OPERATORS: readonly (readonly [string, string, string?])[] = [
  ["sqrt", "sqrt(1 + a * a) * b"],
  ["rsqrt", "rsqrt(1 + a * a) + b"],
  ["abs", "abs(a) * b"],
  ["floor (no gradient of its own)", "floor(3 * b) * a"],
  ["^ (base)", "a ^ 3 + b"],
  ["^ (exponent)", "2 ^ a * b"],
  ["^ (both)", "(1 + b * b) ^ a"],
  ["mod", "mod(a, 3 + b * b)"],
  ["min", "min(a, b)"],
  ["max (elementwise)", "max(a, b * 2)"],
  ["comparisons", "(a < b) * a + (a <= b) * b + (a > b) * a * b + (a >= 0.1) * b + (a == a) * a + (a != b) * b"],
  ["where", "where(a > b, a * a, b)"],
  ["sum", "sum(a) * b"],
  ["mean", "mean(a) * b"],
  ["max (reduction)", "max(a) * b"],
  ["dot", "dot(a, b) * a"],
  ["softmax", "softmax(a) * b"],
  ["layernorm", "layernorm(a, w, b, 1e-5)"],
  ["slices", "[a, b][N : 2 * N] * [a, b][0 : N]"],
  ["iota", "a * iota(N)"],
  ["the step index t", "a * t + b"],
  ["a const defined by a formula", "(W * M) @ a + b", "const M[i: N, j: N] = where(i <= j, 1, 0.5 ^ (i - j))"],
];

describe.each(OPERATORS.map(([name, expression, extra]) => [name, expression, extra ?? ""] as const))("%s", (_name, expression, extra) => {
  const ir = build(vectorCell(expression, extra));
  it.each([1, 3])("N=%i: every gradient agrees with finite differences", (n) => {
    const request = randomRequest(ir, { sizes: bindSizes(ir, { N: n }), steps: 3, batch: 2, seed: 11, uniformParams: true });
    const checks = gradcheck(ir, request);
    expect(checks.map((c) => c.tensor)).toEqual(["params.w", "params.W", "inputs.x", "initial.h"]);
    for (const c of checks) expect(c.worstRelativeError, c.tensor).toBeLessThan(TOLERANCE);
  });
});

describe("static inputs and values of rank 2", () => {
  const ir = build(`cell attend {
  size N, L
  input x[N]
  static input S[L, N]
  state h[N]
  param W[N, N] ~ uniform(-1, 1)
  param v[N] ~ uniform(-1, 1)
  alpha = softmax(tanh(W @ S + h) @ v)
  h' = tanh(alpha @ S + x)
  output h = h'
}`);
  it.each([
    [1, 1],
    [3, 2],
  ])("N=%i L=%i: every gradient, the static input's too, agrees with finite differences", (n, l) => {
    const request = randomRequest(ir, { sizes: bindSizes(ir, { N: n, L: l }), steps: 3, batch: 2, seed: 5, uniformParams: true });
    expect(request.sequence.inputs["S"]).toHaveLength(2 * l * n);
    const checks = gradcheck(ir, request);
    expect(checks.map((c) => c.tensor)).toContain("inputs.S");
    for (const c of checks) expect(c.worstRelativeError, c.tensor).toBeLessThan(TOLERANCE);
  });
});

describe("located errors", () => {
  const firstError = (text: string) => check(text).diagnostics.find((d) => d.severity === "error");

  it("a binding that disagrees with a defined size is refused, naming where the size is defined", async () => {
    const text = "cell c {\n  size G = 2, K = 3\n  size H = G * K\n  input x[H]\n  state h[H]\n  h' = tanh(x + h)\n  output h = h'\n}";
    expect(bindSizes(build(text), { G: 3 })["H"]).toBe(9);
    const outcome = await run(text, { example: { dims: { G: 2, H: 5 } } });
    expect(outcome.diagnostics[0]).toMatchObject({ code: "E401" });
    expect(outcome.diagnostics[0]!.message).toBe("size 'H' is defined at spec.lstm:3:8 as G * K = 6, but is bound to 5");
    const compiled = await compile(text, { target: "ts", dims: { I: 1 } });
    expect(compiled.diagnostics[0]).toMatchObject({ code: "E401" });
  });

  it("a size defined by a size declared after it is refused", () => {
    expect(firstError("cell c {\n  size H = G\n  size G\n  input x[H]\n  state h[H]\n  h' = x + h\n  output h = h'\n}")).toMatchObject({ code: "E204", span: { line: 2, column: 12 } });
  });

  it("a slice outside its vector is refused when the sizes are known, and when they are bound otherwise", async () => {
    const cell = (size: string, slice: string) => `cell c {\n  ${size}\n  input x[H]\n  state h[H]\n  h' = [x, h][${slice}]\n  output h = h'\n}`;
    const fixed = "cell c {\n  input x[2]\n  state h[2]\n  h' = [x, h][3 : 5]\n  output h = h'\n}";
    expect(firstError(fixed)).toMatchObject({ code: "E204", span: { line: 4, column: 8 } });
    const late = await run(cell("size H, K", "K : K + H"), { example: { dims: { H: 2, K: 3 } } });
    expect(late.diagnostics[0]).toMatchObject({ code: "E401" });
    expect(late.diagnostics[0]!.message).toBe("with these sizes, the slice [K : H + K] at spec.lstm:5:8 is [3 : 5], outside the vector's 4 elements");
  });

  it("a const's formula that reads a state or the step index is refused at the reference", () => {
    const cell = (formula: string) => `cell c {\n  size H\n  input x[H]\n  state h[H]\n  const M[i: H] = ${formula}\n  h' = x * M + h\n  output h = h'\n}`;
    expect(firstError(cell("i * h"))).toMatchObject({ code: "E109", span: { line: 5, column: 23 } });
    expect(firstError(cell("i + t"))).toMatchObject({ code: "E109", span: { line: 5, column: 23 } });
  });

  it("a chain of 5,000 powers is refused as nested too deeply, before the parser's recursion could overflow", () => {
    expect(firstError(vectorCell(`a${" ^ a".repeat(5000)}`))).toMatchObject({ code: "E007" });
  });

  it("a size outside a const's formula is still not a value", () => {
    expect(firstError("cell c {\n  size H\n  input x[H]\n  state h[H]\n  h' = x / H + h\n  output h = h'\n}")).toMatchObject({ code: "E109" });
  });

  it("a spec that declares its own t reads it, not the step index", () => {
    const ir = build(vectorCell("t + a", "").replace("b = x - w * h", "b = x - w * h\n  t = b * 2"));
    expect(ir.nodes.some((n) => n.op === "step")).toBe(false);
  });

  it("a reduction of a matrix, and @ between mismatched shapes, are refused", () => {
    expect(firstError(vectorCell("sum(W) + a"))).toMatchObject({ code: "E203" });
    expect(firstError(vectorCell("a @ b"))).toMatchObject({ code: "E202" });
    expect(firstError(vectorCell("min(a)"))).toMatchObject({ code: "E107" });
  });
});

describe("the code generators compile the rank-2 forms", () => {
  const text = vectorCell("a @ (W @ A) + b", "static input A[N, N]");

  it.each(["ts", "js", "wgsl"] as const)("--target %s: check accepts a static input, M @ X and v @ X, and compile writes the module", async (target) => {
    expect(targetDiagnostics(build(text), target)).toEqual([]);
    const compiled = await compile(text, { target, dims: { N: 2 } });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.files.length).toBeGreaterThan(0);
  });

  it("run on the ts engine agrees with the interpreter, the static input's gradient included", async () => {
    const [compiled, interpreted] = await Promise.all([run(text, { engine: "ts", grad: true, example: { dims: { N: 2 } } }), run(text, { grad: true, example: { dims: { N: 2 } } })]);
    const [ts, reference] = [compiled.response!, interpreted.response!];
    expect(ts.outputs["h"]).toHaveLength(reference.outputs["h"]!.length);
    ts.outputs["h"]!.forEach((v, i) => expect(v).toBeCloseTo(reference.outputs["h"]![i]!, 10));
    expect(reference.grads?.inputs["A"]?.some((g) => g !== 0)).toBe(true);
    ts.grads!.inputs["A"]!.forEach((g, i) => expect(g).toBeCloseTo(reference.grads!.inputs["A"]![i]!, 10));
  });

  it("the pointwise forms compile: where, comparisons, min, max, mod, powers, t, iota and consts", () => {
    const ir = build(vectorCell("where(a > b, a, b) + t + min(a, b) * max(a, 0) + mod(b, 2) + (1 + a * a) ^ b + iota(N) * r", "const r[i: N] = 2 ^ -i"));
    for (const target of ["ts", "js", "wgsl"] as const) expect(targetDiagnostics(ir, target), target).toEqual([]);
  });

  it("reductions and slices compile: sum, mean, max, dot, softmax, layernorm and v[a : b]", () => {
    const ir = build(vectorCell("a * sum(b) + mean(a) * max(b) + dot(a, b) + softmax(a) + layernorm(b, w, a, 0.1) + [a, b][N : 2 * N]"));
    for (const target of ["ts", "js", "wgsl"] as const) expect(targetDiagnostics(ir, target), target).toEqual([]);
  });

  it("the elementwise functions compile: sqrt, rsqrt, abs and floor are in every target's tables", () => {
    const ir = build(vectorCell("sqrt(1 + a * a) + rsqrt(1 + b * b) + abs(a) * floor(b)"));
    expect(targetDiagnostics(ir, "wgsl")).toEqual([]);
    expect(targetDiagnostics(ir, "ts")).toEqual([]);
  });
});

describe("round trips", () => {
  const text = `cell every {
  size I = 2, G = 2, K = 3
  size H = G * K
  input x[I]
  static input S[K, I]
  state h[H]
  param W[H, I]
  param v[K]
  const M[i: H, j: H] = floor(i / K) <= floor(j / K)
  const p[i: H] = 2 ^ -(i - 1) ^ 2
  a = mod(t, p) == 0
  z = softmax(tanh(S @ x) * v) @ S
  y = [W @ z, h][H : 2 * H]
  n = layernorm(y, 1, 0, 1e-5) + dot(y, y) + mean(y) - max(y) + sum(abs(y)) * min(sqrt(1 + y * y), rsqrt(2)) + max(y, -y)
  h' = where(a != 0, (M * (1 - M)) @ n, h) + (n < 1) - (n >= 2) + (n > 0) * (n <= 1) * iota(H)
  output h = h'
}`;

  it("DSL -> AST -> DSL and JSON give back the same tree", () => {
    const ast = parseDsl(text, "every.lstm").value!;
    expect(ast).not.toBeNull();
    expect(buildCell(ast).ir).not.toBeNull();
    expect(stripSpans(parseDsl(printDsl(ast), "again.lstm").value)).toEqual(stripSpans(ast));
    expect(stripSpans(parseJsonSpec(printJson(ast), "every.json").value)).toEqual(stripSpans(ast));
  });
});
