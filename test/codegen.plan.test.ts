// The module plan is plain data: JSON-serialisable with nothing lost (no
// functions, no undefined, no cycles), frozen so no renderer can change it,
// with a role for every buffer and groups referred to by index.
import { describe, expect, it } from "vitest";
import { planCell, planJson } from "../src/codegen/compile.ts";
import type { ModulePlan } from "../src/codegen/plan.ts";
import { freeSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";

function everyObject(value: unknown, visit: (o: object) => void): void {
  if (value === null || typeof value !== "object") return;
  visit(value);
  for (const v of Object.values(value)) everyObject(v, visit);
}

/** Every array name a kernel or group mentions. */
function arraysMentioned(plan: ModulePlan): Set<string> {
  const names = new Set<string>();
  everyObject({ groups: plan.groups, forward: plan.forward, backward: plan.backward, derived: plan.derived, tapes: plan.tapes, gradBuffers: plan.gradBuffers }, (o) => {
    const record = o as Record<string, unknown>;
    if (typeof record.array === "string") names.add(record.array);
    for (const key of ["packed", "packedT", "out", "gradBuffer", "w", "gradient"]) if (typeof record[key] === "string") names.add(record[key] as string);
  });
  return names;
}

describe.each(specFiles())("the plan of %s", (file) => {
  for (const target of ["ts", "wgsl"] as const) {
    it(`is plain data that survives JSON unchanged, and frozen (${target})`, () => {
      const plan = planCell(loadSpec(file), { target, dims: freeSizes(loadSpec(file), { I: 3, H: 5 }) });
      expect(JSON.parse(planJson(plan))).toEqual(plan);
      everyObject(plan, (o) => {
        expect(Object.isFrozen(o)).toBe(true);
        for (const v of Object.values(o)) expect(typeof v).not.toBe("function");
      });
      expect(() => {
        (plan.groups as unknown as unknown[]).push({});
      }).toThrow(TypeError);
    });
  }

  it("gives every array a kernel reads or writes a buffer with a role, and names groups by index", () => {
    const plan = planCell(loadSpec(file), { target: "ts", dims: freeSizes(loadSpec(file), { I: 3, H: 5 }) });
    const buffers = new Map(plan.buffers.map((b) => [b.name, b]));
    expect(buffers.size).toBe(plan.buffers.length);
    for (const name of arraysMentioned(plan)) expect(buffers.has(name), name).toBe(true);
    for (const k of [...plan.forward.step.kernels, ...plan.backward.step.kernels]) if (k.kind === "gemm") expect(plan.groups[k.group]).toBeDefined();
    for (const k of [...plan.forward.before, ...plan.backward.after]) if ("group" in k) expect(plan.groups[k.group]).toBeDefined();
    plan.groups.forEach((g, i) => expect(g.index).toBe(i));
  });
});

describe("reductions in the plan", () => {
  // max(x) only feeds a comparison (no gradient); max(h) and sum(h) pass gradients on.
  const text = ["cell c {", "  size H = 3", "  input x[H]", "  state h[H]", "  h' = tanh(x * sum(h) + (max(x) > 0) * h + max(h))", "  output h = h'", "}"].join("\n");
  const plan = planCell(buildCell(parseDsl(text, "c.lstm").value!).ir!, { target: "ts" });

  it("a reduction is a kernel of its own, one number per batch row, kept for every step forward", () => {
    const reduces = plan.forward.step.kernels.filter((k) => k.kind === "reduce");
    expect(reduces.map((k) => (k.kind === "reduce" ? [k.fn, k.length] : null))).toEqual([
      ["sum", 3],
      ["max", 3],
      ["max", 3],
    ]);
    for (const k of reduces) expect(k.kind === "reduce" && k.out).toMatchObject({ timed: true, perRow: true, width: 1, scalar: true });
  });

  it("max keeps its first largest element's index only where a gradient reaches it", () => {
    const argmax = plan.forward.step.kernels.flatMap((k) => (k.kind === "reduce" && k.argmax ? [k.argmax] : []));
    expect(argmax).toHaveLength(1);
    expect(plan.tapes.filter((t) => t.array === argmax[0]!.array)).toEqual([expect.objectContaining({ width: 1 })]);
  });

  it("backward sums the gradient of a broadcast per-row value with a reduction into a per-step scratch", () => {
    const reduces = plan.backward.step.kernels.filter((k) => k.kind === "reduce");
    expect(reduces.map((k) => k.kind === "reduce" && k.fn)).toContain("sum");
    for (const k of reduces) expect(k.kind === "reduce" && k.out).toMatchObject({ timed: false, perRow: true, width: 1, scalar: true });
  });
});
