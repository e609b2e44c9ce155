// A seeded, count-bounded sample of the fuzz campaign (scripts/fuzz.ts), so CI
// runs the same oracles as the full campaign: one test per surface, each
// failing with the list of failure classes it found and an example of each.
import { beforeAll, describe, expect, it } from "vitest";
import { describeThrown, runCampaign, type Part, type PartReport } from "../scripts/fuzz.ts";

// Count-bounded; slowMs Infinity keeps the result independent of the machine's speed.
const SAMPLE = { count: 360, seed: 20261130, specs: ["lstm"], precisions: ["f64"], slowMs: Number.POSITIVE_INFINITY } as const;

function failures(report: PartReport | undefined): string[] {
  return [...(report?.failures.values() ?? [])].map((f) => `${f.name} (${f.count}×), e.g. ${f.example}`);
}

describe("fuzz sample", () => {
  let reports: Map<Part, PartReport>;
  beforeAll(async () => {
    reports = new Map((await runCampaign(SAMPLE)).map((r) => [r.part, r]));
  });

  it("ran every part on its share of the inputs", () => {
    expect([...reports.values()].map((r) => [r.part, r.inputs])).toEqual([["frontend", 180], ["data", 90], ["module", 90]]);
  });

  it("front ends: mutated and deeply nested specs give a located error or an IR that runs to finite numbers", () => {
    expect(failures(reports.get("frontend"))).toEqual([]);
  });

  it("run --data: mutated data gives a data error or finite numbers", () => {
    expect(failures(reports.get("data"))).toEqual([]);
  });

  it("generated module API: hostile arguments give an Error naming the argument or the clean call's numbers", () => {
    expect(failures(reports.get("module"))).toEqual([]);
  });
});

describe("the fuzz oracle's names for what was thrown", () => {
  it("tells a stack overflow, a non-Error and an Error apart, blanking numbers and quotes", () => {
    const overflow = (depth: number): number => (depth === 0 ? 0 : 1 + overflow(depth + 1));
    let thrown: unknown;
    try {
      overflow(1);
    } catch (e) {
      thrown = e;
    }
    expect(describeThrown(thrown)).toBe("stack overflow");
    expect(describeThrown("boom")).toBe("a non-Error (string)");
    expect(describeThrown(new TypeError("Cannot read 'x' of 12 things"))).toBe("TypeError: Cannot read … of N things");
  });
});
