// The elementwise functions added with the essay's advanced cells (sqrt,
// rsqrt, abs, floor) are entries in every target's function and derivative
// tables: the TS module (f64) and the WGSL kernels agree with the interpreter,
// forward and backward.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { forwardBackward } from "../src/interp/interpret.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { typescriptEngine, webgpuEngine } from "../src/run/engines.ts";

const FILE = "test/fixtures/specs/new_functions.lstm";
const ir = buildCell(parseDsl(readFileSync(FILE, "utf8"), FILE).value!).ir!;
const worst = (got: Record<string, ArrayLike<number>>, want: Record<string, Float64Array>) =>
  Math.max(0, ...Object.entries(want).map(([k, w]) => Math.max(0, ...Array.from(w, (x, i) => Math.abs(got[k]![i]! - x) / Math.max(1, Math.abs(x))))));

it.each([
  [typescriptEngine, 1e-10],
  [webgpuEngine, 1e-4],
] as const)("$name agrees with the interpreter on sqrt, rsqrt, abs and floor, forward and backward", async (engine, tolerance) => {
  const sizes = bindSizes(ir, {});
  const request = randomRequest(ir, { sizes, batch: 2, steps: 3, seed: 9, uniformParams: true });
  const want = forwardBackward(ir, sizes, request.sequence, request.upstream);
  const got = await engine.run(ir, request, true);
  expect(worst(got.outputs, want.outputs)).toBeLessThan(tolerance);
  for (const group of ["params", "inputs", "initial"] as const) expect(worst(got.grads![group], want.grads[group]), group).toBeLessThan(tolerance);
});
