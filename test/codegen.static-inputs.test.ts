// Static inputs and rank-2 values on every compiled engine: each form in a cell
// of its own (a static vector read pointwise and by a product, a matrix applied
// to each row, rows times a vector, a weighted sum of rows, pointwise maths over
// rows with vectors broadcast over them, a parameter expression applied to each
// row, a matrix applied to rows that depend on the state), forward and backward
// against the interpreter, at sizes down to 1. The f64 modules must agree within
// 1e-10 (scaled), f32 and WGSL within 1e-4 relative.
import { describe, expect, test } from "vitest";
import { forwardBackward } from "../src/interp/interpret.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR } from "../src/ir/types.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { writeRunResponse } from "../src/run/contract.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { ORACLE_ENGINES } from "./helpers/oracle-engines.ts";
import { compareRunResponse } from "./helpers/torch-oracle.ts";
import { skipWithoutGpu } from "./helpers/webgpu.ts";

/** A cell over sizes N and L with input x[N], state h[N] and the declarations and equation given. */
function cell(name: string, declarations: string, next: string): CellIR {
  const text = [
    `cell ${name} {`,
    "  size N = 3, L = 2",
    "  input x[N]",
    "  state h[N]",
    "  param W[N, N] ~ uniform(-1, 1)",
    "  param M[N, N] ~ uniform(-1, 1)",
    "  param q[L] ~ uniform(-1, 1)",
    "  param b[N] ~ uniform(-1, 1)",
    `  ${declarations}`,
    `  h' = ${next}`,
    "  output h = h'",
    "}",
  ].join("\n");
  const built = buildCell(parseDsl(text, `${name}.lstm`).value!);
  if (!built.ir) throw new Error(built.diagnostics.map((d) => d.message).join("\n"));
  return built.ir;
}

const FORMS: readonly (readonly [string, CellIR, readonly string[]])[] = [
  // Through a product too: a static input is never projected for every step at once, as a per-step input is.
  ["a static vector read pointwise and by a product", cell("static_vector", "static input s[N]", "tanh(W @ x + s * h + M @ s)"), ["grads.inputs.s", "grads.params.M"]],
  ["a matrix applied to each row of a static input (M @ A)", cell("rowmap", "static input A[L, N]", "tanh(q @ (M @ A) + W @ h + x)"), ["grads.inputs.A", "grads.params.M"]],
  ["rows times a vector, then a weighted sum of rows ((A @ h) @ A)", cell("vecmat", "static input A[L, N]", "tanh((A @ h) @ A + W @ x)"), ["grads.inputs.A", "grads.initial.h"]],
  ["pointwise maths over rows with vectors broadcast over them", cell("broadcast", "static input A[L, N]", "tanh(q @ sigmoid(A * h + b) + x)"), ["grads.inputs.A", "grads.params.b", "grads.initial.h"]],
  // Both matrix expressions are hoisted (computed once per call); the rows they meet stay in the step.
  ["a parameter expression applied to each row, beside a product of a matrix expression", cell("derived_rowmap", "static input A[L, N]", "tanh(q @ ((M * 2 + 1) @ A) + (W * M) @ h + x)"), ["grads.inputs.A", "grads.params.M", "grads.params.W"]],
  ["a matrix applied to rows that depend on the state", cell("state_rows", "static input A[L, N]", "tanh(q @ (M @ tanh(A + h)) + x)"), ["grads.params.M", "grads.params.q", "grads.initial.h"]],
];

const SIZES: readonly Readonly<Record<string, number>>[] = [
  { N: 1, L: 1 },
  { N: 2, L: 5 },
];

const skipGpu = await skipWithoutGpu();

const cases = FORMS.flatMap(([form, ir, fields]) => SIZES.map((sizes) => [form, JSON.stringify(sizes), ir, fields, sizes] as const));

describe.each(ORACLE_ENGINES.filter((e) => e.name !== "interp").map((e) => [e.name, e] as const))("%s against the interpreter", (_name, engine) => {
  const run = engine.gpu && skipGpu ? test.skip : test;
  // The float64 modules sum in the interpreter's order: they agree far closer than the oracle tolerance.
  const tolerance = engine.measure === "scaled" ? 1e-10 : engine.tolerance;
  run.each(cases)(`%s at %s, forward and backward, within ${tolerance} (${engine.measure})`, async (_form, _sizes, ir, fields, sizes) => {
    const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 7, uniformParams: true });
    const reference = forwardBackward(ir, request.sizes, request.sequence, request.upstream);
    const response = await engine.run(ir, request);
    const { worstByField, failures } = compareRunResponse(response, writeRunResponse(reference, reference.grads), tolerance, engine.measure);
    expect(failures).toEqual([]);
    expect(Object.keys(worstByField)).toEqual(expect.arrayContaining(["outputs.h", "final.h", ...fields]));
  });
});

test("a static input is one row per batch row: a module refuses one given per step, and its gradient has the static input's length", async () => {
  const [, ir] = FORMS[1]!;
  const request = randomRequest(ir, { sizes: { N: 3, L: 2 }, batch: 2, steps: 3, seed: 1 });
  expect(request.sequence.inputs["A"]).toHaveLength(2 * 2 * 3);
  const tsF64 = ORACLE_ENGINES.find((e) => e.name === "ts f64")!;
  const response = await tsF64.run(ir, request);
  expect(response.grads!.inputs["A"]).toHaveLength(2 * 2 * 3);
  const perStep = { ...request, sequence: { ...request.sequence, inputs: { ...request.sequence.inputs, A: new Float64Array(3 * 2 * 2 * 3) } } };
  await expect(tsF64.run(ir, perStep)).rejects.toThrow(/inputs\.A/);
});
