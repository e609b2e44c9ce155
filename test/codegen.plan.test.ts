// The module plan is plain data: JSON-serialisable with nothing lost (no
// functions, no undefined, no cycles), frozen so no renderer can change it,
// with a role for every buffer and groups referred to by index.
import { describe, expect, it } from "vitest";
import { planCell, planJson } from "../src/codegen/compile.ts";
import type { ModulePlan } from "../src/codegen/plan.ts";
import { freeSizes } from "../src/ir/bind.ts";
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
